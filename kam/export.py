"""Streaming exports of any list to CSV or XLSX, in flat memory whatever the number of rows.

A list view builds its (visible, filtered, sorted) queryset as usual, describes its columns, and
hands ``queryset.iterator()`` to ``export_response``:

    columns = [Column(_("Name"), lambda a: a.name), Column(_("Tier"), lambda a: a.tier)]
    return export_response(rows=qs.iterator(chunk_size=2000), columns=columns, filename="accounts", fmt="csv")

- CSV is produced by a generator behind a ``StreamingHttpResponse``: rows go to the client as the
  database cursor yields them. It starts with a UTF-8 byte-order mark so that Excel reads Chinese.
- XLSX uses openpyxl's write-only mode (rows are spooled to a temporary file, not kept in memory);
  the finished file is then streamed from disk by ``FileResponse``. A zip archive cannot be sent
  before it is complete, so this is as close to streaming as XLSX allows.

Both neutralise spreadsheet formulas in text cells (CSV injection): a text value starting with
``= + - @`` or a control character is written as text, never evaluated.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import content_disposition_header

FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XLSX = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


@dataclass(frozen=True)
class Column:
    """One exported column: a (translatable) header and how to get the value from a row."""

    header: Any
    value: Callable[[Any], Any]


def _plain(value: Any) -> Any:
    """Values as spreadsheets take them: aware datetimes in the local zone, lazy strings resolved."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    if value is None or isinstance(value, int | float | Decimal | dt.date | bool):
        return value
    return force_str(value)


def _csv_cell(value: Any) -> Any:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Any], columns: Sequence[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([force_str(c.header) for c in columns])
    for row in rows:
        yield writer.writerow([_csv_cell(c.value(row)) for c in columns])


def stream_csv(*, rows: Iterable[Any], columns: Sequence[Column], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{filename}.csv")
    return response


def write_xlsx(target: Any, *, rows: Iterable[Any], columns: Sequence[Column], sheet_title: str) -> None:
    """Write the rows to ``target`` (a path or binary file) with openpyxl in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "Sheet1")
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=force_str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column in columns:
            value = _plain(column.value(row))
            if isinstance(value, str):
                value = _ILLEGAL_XLSX.sub("", value)
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text, even when it starts with "=": never a formula
            else:
                cell = WriteOnlyCell(sheet, value=value)
            cells.append(cell)
        sheet.append(cells)
    workbook.save(target)


def stream_xlsx(*, rows: Iterable[Any], columns: Sequence[Column], filename: str, sheet_title: str = "") -> FileResponse:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    write_xlsx(spool, rows=rows, columns=columns, sheet_title=sheet_title or filename)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)


def export_response(
    *, rows: Iterable[Any], columns: Sequence[Column], filename: str, fmt: str, sheet_title: str = ""
) -> HttpResponseBase:
    if fmt == "csv":
        return stream_csv(rows=rows, columns=columns, filename=filename)
    if fmt == "xlsx":
        return stream_xlsx(rows=rows, columns=columns, filename=filename, sheet_title=sheet_title)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
