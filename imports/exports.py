"""Exports in the importer's own format: the same columns, under the same names, so that an
exported file imports back unchanged.

``export_rows`` streams: it reads the queryset with ``iterator()`` in chunks and fetches
many-to-many values per chunk, so 100,000 rows never sit in memory. The list pages' export (built
by the UI) passes its filtered queryset here; ``manage.py export_data`` writes a whole kind.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.db import models
from django.utils import timezone, translation

from imports.definitions import Column, KindSpec, _contact_ref, kind_spec
from imports.engine import batched

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


def cell_text(value: Any) -> str:
    """How a value is written to CSV: ISO dates, datetimes in the company time zone with their
    offset and microseconds, plain decimals, true/false, lists joined by "; "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def xlsx_value(value: Any) -> Any:
    """XLSX keeps dates, numbers and booleans typed; datetimes are written as text because Excel
    cannot store a time zone (and its serial numbers lose microseconds)."""
    if isinstance(value, (dt.datetime, list)) or value is None:
        return cell_text(value)
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """CSV bytes line by line (for ``StreamingHttpResponse``), UTF-8 with a BOM for Excel."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff".encode()
    yield writer.writerow(headers).encode()
    for row in rows:
        yield writer.writerow([cell_text(v) for v in row]).encode()


def write_csv(out: IO[bytes], headers: list[str], rows: Iterable[list[Any]]) -> int:
    count = -1
    for count, chunk in enumerate(stream_csv(headers, rows)):  # noqa: B007 - the count is the result
        out.write(chunk)
    return max(count - 1, 0)


def write_xlsx(out: IO[bytes] | str, headers: list[str], rows: Iterable[list[Any]], *, title: str = "") -> int:
    """A workbook in openpyxl's write-only mode, which streams rows to a temporary file."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or "export")[:31])
    sheet.append(headers)
    count = 0
    for row in rows:
        sheet.append([xlsx_value(v) for v in row])
        count += 1
    workbook.save(out)
    return count


def export_file(kind: str, *, fmt: str = "csv", user: Any = None, labels: bool = False, language: str | None = None) -> bytes:
    """A whole export in memory: for tests and small downloads only (the command streams)."""
    with translation.override(language or translation.get_language()):
        headers = export_headers(kind, labels=labels)
        rows = export_rows(kind, user=user)
        buffer = io.BytesIO()
        if fmt == "xlsx":
            write_xlsx(buffer, headers, rows, title=kind)
        else:
            write_csv(buffer, headers, rows)
    return buffer.getvalue()
