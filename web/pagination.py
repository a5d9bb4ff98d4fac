"""Keyset ("cursor") pagination for HTML lists: page 2,000 costs what page 1 costs.

OFFSET pagination makes the database walk past every earlier row, so deep pages get slower as the
table grows. Here a page starts *after the last row of the previous one* on the sort key plus the
id (a unique tie-breaker), so every page is one index range or one top-N sort over the filtered
rows, whatever its position. Rows without a value (NULL, or blank text) sort last in both
directions, which is what a user expects of "sort by tier" when some accounts have no tier yet.

The cursor is an opaque URL-safe string; a tampered one is a clear 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

PAGE_SIZES = (25, 50, 100)


class BadCursor(ValueError):
    """The cursor or sort parameter cannot be used (tampered, or from another sort)."""


def _parse_str(value: str) -> str:
    return value


def _parse_decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise BadCursor(value) from exc


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadCursor(value) from exc


PARSERS: dict[str, Callable[[str], Any]] = {"str": _parse_str, "decimal": _parse_decimal, "date": _parse_date}


@dataclass(frozen=True)
class SortKey:
    """A sortable column: its URL name, the field path it orders by, and what "no value" looks like."""

    name: str
    field: str
    label: Any
    empty: Literal["null", "blank"] | None = None
    kind: Literal["str", "decimal", "date"] = "str"


@dataclass
class Page:
    rows: list[Any]
    sort: str
    next_cursor: str | None
    prev_cursor: str | None
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _encode(direction: str, empty: bool, value: Any, pk: int) -> str:
    if isinstance(value, Decimal | dt.date):
        value = str(value)
    raw = json.dumps([direction, empty, value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, bool, Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, empty, value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    if direction not in ("n", "p") or not isinstance(empty, bool) or not isinstance(pk, int):
        raise BadCursor(cursor)
    if value is not None and not isinstance(value, str):
        raise BadCursor(cursor)
    return direction, empty, value, pk


class KeysetPaginator:
    """Pages over ``queryset`` sorted by one of ``keys`` (``"name"`` or ``"-name"``) plus ``id``."""

    def __init__(self, queryset: QuerySet, *, keys: list[SortKey], default_sort: str, page_size: int = 50) -> None:
        self.queryset = queryset
        self.keys = {key.name: key for key in keys}
        self.default_sort = default_sort
        self.page_size = page_size

    def parse_sort(self, sort: str | None) -> tuple[SortKey, bool]:
        sort = sort or self.default_sort
        key = self.keys.get(sort.removeprefix("-"))
        if key is None:
            raise BadCursor(sort)
        return key, sort.startswith("-")

    def ordered(self, sort: str | None) -> QuerySet:
        """The queryset in page order, without paging: for exports."""
        key, desc = self.parse_sort(sort)
        return self._order(self._annotate(key), key, desc)

    def _annotate(self, key: SortKey) -> QuerySet:
        qs = self.queryset.annotate(_sortval=F(key.field))
        if key.empty == "null":
            qs = qs.annotate(_empty=ExpressionWrapper(Q(**{f"{key.field}__isnull": True}), output_field=BooleanField()))
        elif key.empty == "blank":
            qs = qs.annotate(_empty=ExpressionWrapper(Q(**{key.field: ""}), output_field=BooleanField()))
        return qs

    @staticmethod
    def _order(qs: QuerySet, key: SortKey, desc: bool, reverse: bool = False) -> QuerySet:
        # Empty values last in both directions; ``reverse`` walks the same order backwards (previous page).
        ordering = []
        if key.empty:
            ordering.append(F("_empty").desc() if reverse else F("_empty").asc())
        value_desc = desc != reverse
        ordering.append(F(key.field).desc() if value_desc else F(key.field).asc())
        ordering.append(F("id").desc() if value_desc else F("id").asc())
        return qs.order_by(*ordering)

    @staticmethod
    def _beyond(key: SortKey, desc: bool, reverse: bool, empty: bool, value: Any, pk: int) -> Q:
        """Rows strictly after (empty, value, pk) in the order given by ``desc`` and ``reverse``."""
        value_desc = desc != reverse
        vcmp = "lt" if value_desc else "gt"
        id_after = Q(**{f"id__{vcmp}": pk})
        if key.empty is None:
            # A redundant bound on the leading column lets PostgreSQL start the index scan at the cursor.
            bound = Q(**{f"{key.field}__{'lte' if value_desc else 'gte'}": value})
            return bound & (Q(**{f"{key.field}__{vcmp}": value}) | (Q(**{key.field: value}) & id_after))
        if empty:
            # In the group of rows without a value: only ids move on; going back, the valued rows come next.
            same_group = Q(_empty=True) & id_after
            return same_group | Q(_empty=False) if reverse else same_group
        within = Q(_empty=False) & (Q(**{f"{key.field}__{vcmp}": value}) | (Q(**{key.field: value}) & id_after))
        return within if reverse else within | Q(_empty=True)

    def page(self, *, sort: str | None, cursor: str | None) -> Page:
        key, desc = self.parse_sort(sort)
        sort_name = ("-" if desc else "") + key.name
        qs = self._annotate(key)
        direction = "n"
        if cursor:
            direction, empty, raw_value, pk = _decode(cursor)
            if not empty and raw_value is None:
                raise BadCursor(cursor)
            value = None if empty else PARSERS[key.kind](raw_value)
            reverse = direction == "p"
            qs = self._order(qs.filter(self._beyond(key, desc, reverse, empty, value, pk)), key, desc, reverse)
        else:
            qs = self._order(qs, key, desc)
        rows = list(qs[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if direction == "p":
            rows.reverse()
        has_next = more if direction == "n" else bool(cursor)
        has_prev = bool(cursor) if direction == "n" else more

        def cursor_at(row: Any, to: str) -> str:
            empty = bool(getattr(row, "_empty", False))
            return _encode(to, empty, None if empty else row._sortval, row.pk)

        return Page(
            rows=rows,
            sort=sort_name,
            next_cursor=cursor_at(rows[-1], "n") if rows and has_next else None,
            prev_cursor=cursor_at(rows[0], "p") if rows and has_prev else None,
            page_size=self.page_size,
        )


def count_upto(queryset: QuerySet, limit: int) -> tuple[int, bool]:
    """Count matching rows but stop at ``limit``: (count, more). Never a COUNT(*) of the whole table."""
    found = queryset.order_by().values("pk")[: limit + 1].count()
    return min(found, limit), found > limit


BAD_CURSOR_MESSAGE = _("This page link is no longer valid. Start again from the first page.")
