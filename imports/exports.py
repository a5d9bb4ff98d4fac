"""Exports in the importer's own format: the same columns, under the same names, so that an
exported file imports back unchanged.

``export_rows`` streams: it reads the queryset with ``iterator()`` in chunks and fetches
many-to-many values per chunk, so 100,000 rows never sit in memory. Files are written by
``kam.export`` (the list pages' writer) with ``export_columns``: a list page can offer "export for
re-import" by passing its filtered queryset to ``export_rows``; ``manage.py export_data`` writes a
whole kind.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db import models
from django.utils import timezone, translation

from imports.definitions import Column, KindSpec, _contact_ref, kind_spec
from imports.engine import batched
from kam import export

CHUNK = 2_000

# Many-to-many columns: what a row shows for each target (an expression on the through table).
_M2M_EXPORT = {
    "buying_roles": lambda target: models.F(f"{target}__code"),
    "contacts": lambda target: _contact_ref(f"{target}__")(),
    "attendees": lambda target: models.F(f"{target}__username"),
}


def export_headers(kind: str, *, labels: bool = False) -> list[str]:
    """Column names (``labels=False``: the canonical names) or the field labels in the current
    language (which the importer also recognises)."""
    spec = kind_spec(kind)
    return [spec.label(c) if labels else c.name for c in spec.columns]


def export_queryset(kind: str, user: Any = None) -> models.QuerySet:
    """Every row of ``kind`` the user may see (all of them for ``user=None``, the command line)."""
    model = kind_spec(kind).model
    return model.objects.all() if user is None else model.objects.visible_to(user)


def _expression(column: Column) -> Any:
    if column.export is not None:
        return models.F(column.export) if isinstance(column.export, str) else column.export()
    if column.type == "ref":
        return models.F(f"{column.field}_id")
    return models.F(column.field)


def export_rows(kind: str, queryset: models.QuerySet | None = None, *, user: Any = None) -> Iterator[list[Any]]:
    """Rows of Python values (dates, Decimals, booleans, text), in ``export_headers`` order."""
    spec = kind_spec(kind)
    queryset = export_queryset(kind, user) if queryset is None else queryset
    plain = [c for c in spec.columns if c.type not in {"refs", "choices"}]
    many = [c for c in spec.columns if c.type in {"refs", "choices"}]
    names = {c.name: f"_x_{c.name}" for c in plain}
    values = queryset.order_by("pk").annotate(**{names[c.name]: _expression(c) for c in plain}).values_list("pk", *names.values())
    for chunk in batched(values.iterator(chunk_size=CHUNK), CHUNK):
        links = _links(spec, many, [row[0] for row in chunk])
        for row in chunk:
            plain_values = dict(zip(names, row[1:], strict=True))
            yield [
                plain_values[c.name] if c.name in plain_values else sorted(links[c.name].get(row[0], [])) for c in spec.columns
            ]


def _links(spec: KindSpec, columns: list[Column], ids: list[int]) -> dict[str, dict[int, list[str]]]:
    found: dict[str, dict[int, list[str]]] = {}
    for column in columns:
        m2m = spec.model._meta.get_field(column.field)
        through = m2m.remote_field.through
        owner = m2m.m2m_field_name()
        target = m2m.m2m_reverse_field_name()
        per_owner: dict[int, list[str]] = {}
        links = through.objects.filter(**{f"{owner}_id__in": ids}).annotate(_x_ref=_M2M_EXPORT[column.field](target))
        for owner_id, value in links.values_list(f"{owner}_id", "_x_ref"):
            if value:
                per_owner.setdefault(owner_id, []).append(value)
        found[column.name] = per_owner
    return found


def import_value(value: Any) -> Any:
    """A value as the importer reads it back: datetimes as ISO text in the company time zone with
    their offset and microseconds (Excel cannot store a time zone, and its serial numbers lose
    microseconds), lists joined by "; "; dates, numbers, booleans and text as they are."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(sep=" ")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def export_columns(kind: str, *, labels: bool = False) -> list[export.Column]:
    """``kam.export`` columns for the rows of ``export_rows``: the list pages and the commands
    write files with the same writer (streamed, with spreadsheet formulas neutralised)."""
    return [
        export.Column(header, lambda row, index=index: import_value(row[index]))
        for index, header in enumerate(export_headers(kind, labels=labels))
    ]


def write_csv(out: IO[bytes], kind: str, rows: Iterable[list[Any]], *, labels: bool = False) -> int:
    count = -1
    for count, line in enumerate(export.csv_lines(rows, export_columns(kind, labels=labels))):  # noqa: B007
        out.write(line.encode())
    return max(count, 0)


def write_xlsx(out: IO[bytes] | str, kind: str, rows: Iterable[list[Any]], *, labels: bool = False) -> int:
    counted = _Counter(rows)
    export.write_xlsx(out, rows=counted, columns=export_columns(kind, labels=labels), sheet_title=kind)
    return counted.count


class _Counter:
    def __init__(self, rows: Iterable[Any]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[Any]:
        for row in self.rows:
            self.count += 1
            yield row


def export_file(kind: str, *, fmt: str = "csv", user: Any = None, labels: bool = False, language: str | None = None) -> bytes:
    """A whole export in memory: for tests and small downloads only (the command streams)."""
    with translation.override(language or translation.get_language()):
        rows = export_rows(kind, user=user)
        buffer = io.BytesIO()
        if fmt == "xlsx":
            write_xlsx(buffer, kind, rows, labels=labels)
        else:
            write_csv(buffer, kind, rows, labels=labels)
    return buffer.getvalue()
