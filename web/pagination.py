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

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import NullIf
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


def _parse_datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadCursor(value) from exc
    if parsed.tzinfo is None:  # cursors carry aware datetimes; a naive one was not made here
        raise BadCursor(value)
    return parsed


PARSERS: dict[str, Callable[[str], Any]] = {
    "str": _parse_str,
    "decimal": _parse_decimal,
    "date": _parse_date,
    "datetime": _parse_datetime,
}


@dataclass(frozen=True)
class SortKey:
    """A sortable column: its URL name, the field path it orders by, and what "no value" looks like."""

    name: str
    field: str
    label: Any
    empty: Literal["null", "blank"] | None = None
    kind: Literal["str", "decimal", "date", "datetime"] = "str"
    # An optional second column between the key and the id ("priority, then due date"); it must
    # never be empty and only keys without empty values may have one.
    then: str | None = None
    then_kind: Literal["str", "decimal", "date"] = "str"


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


def _text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal | dt.date) else value


def _encode(direction: str, empty: bool, value: Any, pk: int, then: Any = None) -> str:
    items = [direction, empty, _text(value), pk]
    if then is not None:
        items.append(_text(then))
    raw = json.dumps(items, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, bool, Any, int, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) not in (4, 5):
            raise ValueError(cursor)
        direction, empty, value, pk = items[:4]
        then = items[4] if len(items) == 5 else None
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    if direction not in ("n", "p") or not isinstance(empty, bool) or not isinstance(pk, int) or isinstance(pk, bool):
        raise BadCursor(cursor)
    if (value is not None and not isinstance(value, str)) or (then is not None and not isinstance(then, str)):
        raise BadCursor(cursor)
    return direction, empty, value, pk, then


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
        if key.then:
            qs = qs.annotate(_thenval=F(key.then))
        if key.empty == "null":
            qs = qs.alias(_key=F(key.field))
        elif key.empty == "blank":
            # Blank text compares as NULL, so one "NULLS LAST" order puts it last; the expression
            # indexes of web/migrations repeat this expression.
            qs = qs.alias(_key=NullIf(F(key.field), Value("")))
        return qs

    @staticmethod
    def _order(qs: QuerySet, key: SortKey, desc: bool, reverse: bool = False) -> QuerySet:
        # Empty values last in both directions; ``reverse`` walks the same order backwards (previous
        # page). Each order is one an index serves, read forwards or backwards.
        value_desc = desc != reverse
        ordering = []
        if key.empty:
            empty_last = {"nulls_first": True} if reverse else {"nulls_last": True}
            ordering.append(F("_key").desc(**empty_last) if value_desc else F("_key").asc(**empty_last))
        for name in (None if key.empty else key.field, key.then, "id"):
            if name:
                ordering.append(F(name).desc() if value_desc else F(name).asc())
        return qs.order_by(*ordering)

    @staticmethod
    def _beyond(key: SortKey, desc: bool, reverse: bool, empty: bool, value: Any, pk: int, then: Any = None) -> list[Q]:
        """Rows strictly after (empty, value, [then,] pk) in the order given by ``desc`` and ``reverse``,
        as conditions to read one after the other: each is a single index range, so a page deep in
        the list costs what the first one costs. (One condition with "… OR value IS NULL" would make
        PostgreSQL read the index from its start.)"""
        value_desc = desc != reverse
        vcmp = "lt" if value_desc else "gt"
        id_after = Q(**{f"id__{vcmp}": pk})
        if key.then:
            # (value, then, id) beyond the cursor's triple, spelled out (Django has no row comparison).
            id_after = Q(**{f"{key.then}__{vcmp}": then}) | (Q(**{key.then: then}) & id_after)
        if key.empty is None:
            # A redundant bound on the leading column lets PostgreSQL start the index scan at the cursor.
            bound = Q(**{f"{key.field}__{'lte' if value_desc else 'gte'}": value})
            return [bound & (Q(**{f"{key.field}__{vcmp}": value}) | (Q(**{key.field: value}) & id_after))]
        valued, blank = Q(_key__isnull=False), Q(_key__isnull=True)
        if empty:
            # In the group without a value (last): only ids move on; going back, the valued rows follow.
            return [blank & id_after, valued] if reverse else [blank & id_after]
        bound = Q(**{f"_key__{'lte' if value_desc else 'gte'}": value})
        within = valued & bound & (Q(**{f"_key__{vcmp}": value}) | (Q(_key=value) & id_after))
        return [within] if reverse else [within, blank]

    def page(self, *, sort: str | None, cursor: str | None) -> Page:
        key, desc = self.parse_sort(sort)
        sort_name = ("-" if desc else "") + key.name
        qs = self._annotate(key)
        direction = "n"
        wanted = self.page_size + 1
        if cursor:
            direction, empty, raw_value, pk, raw_then = _decode(cursor)
            if (not empty and raw_value is None) or (key.then is not None) != (raw_then is not None):
                raise BadCursor(cursor)
            if empty and not key.empty:
                raise BadCursor(cursor)
            value = None if empty else PARSERS[key.kind](raw_value)
            then = PARSERS[key.then_kind](raw_then) if key.then else None
            reverse = direction == "p"
            rows: list[Any] = []
            # A second query only on the page where the valued rows end and the empty ones begin.
            for condition in self._beyond(key, desc, reverse, empty, value, pk, then):
                rows += list(self._order(qs.filter(condition), key, desc, reverse)[: wanted - len(rows)])
                if len(rows) >= wanted:
                    break
        else:
            rows = list(self._order(qs, key, desc)[:wanted])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if direction == "p":
            rows.reverse()
        has_next = more if direction == "n" else bool(cursor)
        has_prev = bool(cursor) if direction == "n" else more

        def cursor_at(row: Any, to: str) -> str:
            empty = key.empty is not None and row._sortval in (None, "")
            return _encode(to, empty, None if empty else row._sortval, row.pk, row._thenval if key.then else None)

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
