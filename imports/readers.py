"""Open an uploaded file as a table: a header row and an iterator of data rows.

CSV goes through Python's ``csv`` module, XLSX through openpyxl in read-only mode; both stream rows,
so a 100,000-row file never becomes a 100,000-row object in memory. The format is decided by the
file's content, not its name: people rename files.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc)
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why, for the person who uploaded it."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


NOT_A_SPREADSHEET = _("This file is not a spreadsheet: upload a CSV file or an Excel workbook (.xlsx).")
LEGACY_XLS = _("Old Excel files (.xls) cannot be read: save the workbook as .xlsx or CSV and upload it again.")
UNKNOWN_ENCODING = _("The file's text encoding is not recognised: save it as UTF-8 or GBK/GB18030 CSV.")
EMPTY_FILE = _("The file is empty.")
NO_DATA_ROWS = _("The file has a header row but no data rows.")
UNREADABLE_ROW = _("The file cannot be read at row %(row)s (%(error)s).")


@dataclass
class Table:
    format: str  # "csv" or "xlsx"
    encoding: str
    headers: list[str]
    estimated_rows: int
    _rows: Iterator[tuple[int, list[Any]]] = field(repr=False)
    _close: Any = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as the spreadsheet shows it, cells) for every non-blank data row."""
        try:
            yield from self._rows
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _header_names(cells: list[Any]) -> list[str]:
    from imports.parsing import cell_text

    return [cell_text(c) for c in cells]


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode text"), else GB18030.

    Strict UTF-8 decoding almost never succeeds on GBK text (its lead bytes are followed by bytes
    that are invalid UTF-8 continuations), so trying UTF-8 first and GB18030 (a superset of GBK and
    GB2312) second tells them apart without a statistical detector.
    """
    candidates = [name for bom, name in BOMS if data.startswith(bom)] or ["utf-8", "gb18030"]
    for name in candidates:
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    raise ImportFileError(UNKNOWN_ENCODING)


def _open_csv(data: bytes) -> Table:
    encoding = detect_encoding(data)
    if encoding != "utf-16" and b"\x00" in data[:65536]:
        raise ImportFileError(NOT_A_SPREADSHEET)
    text = data.decode(encoding)
    # Line breaks count rows closely enough for progress and for choosing a background job.
    estimated = max(data.count(b"\n") - 1, 0)
    del data
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    if sample and any(ch in sample for ch in "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10"):
        raise ImportFileError(NOT_A_SPREADSHEET)  # control characters: a binary file, not text
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    del text
    rows = _numbered(reader)
    headers = _first_row(rows)
    return Table("csv", encoding, headers, estimated, rows)


def _numbered(reader: Any) -> Iterator[tuple[int, list[Any]]]:
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if not _blank(cells):
                yield number, cells
    except csv.Error as exc:  # a NUL byte, a field longer than the csv module allows…
        raise ImportFileError(UNREADABLE_ROW % {"row": number + 1, "error": exc}) from exc


def _first_row(rows: Iterator[tuple[int, list[Any]]]) -> list[str]:
    try:
        _number, cells = next(rows)
    except StopIteration:
        raise ImportFileError(EMPTY_FILE) from None
    return _header_names(cells)


def _sheet_key(title: Any) -> str:
    return "".join(ch for ch in str(title).casefold() if ch.isalnum())


def _pick_sheet(worksheets: list[Any], prefer: Iterable[str]) -> Any:
    """The sheet whose title names what is imported ("Contracts", "合同"…), else the first: a workbook
    exported with several lists, or with a notes sheet first, still imports the right one."""
    wanted = {_sheet_key(name) for name in prefer}
    if len(worksheets) > 1 and wanted:
        for sheet in worksheets:
            if _sheet_key(sheet.title) in wanted:
                return sheet
    return worksheets[0] if worksheets else None


def _open_xlsx(data: bytes, prefer_sheets: Iterable[str] = ()) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ImportFileError(NOT_A_SPREADSHEET) from exc
    except Exception as exc:  # openpyxl's InvalidFileException and friends: not a workbook
        raise ImportFileError(NOT_A_SPREADSHEET) from exc
    sheet = _pick_sheet(workbook.worksheets, prefer_sheets)
    if sheet is None:
        workbook.close()
        raise ImportFileError(EMPTY_FILE)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        number = 0
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = list(cells)
                if not _blank(cells):
                    yield number, cells
        except Exception as exc:  # a damaged workbook fails in openpyxl with many exception types
            raise ImportFileError(UNREADABLE_ROW % {"row": number + 1, "error": exc}) from exc

    rows = numbered()
    try:
        headers = _first_row(rows)
    except ImportFileError:
        workbook.close()
        raise
    while headers and not headers[-1]:
        headers.pop()  # formatting often extends a sheet's used range past the last column
    # The sheet's stored dimensions give the row count; some writers omit them (then guess from size).
    estimated = max((sheet.max_row or 0) - 1, 0) or len(data) // 40
    return Table("xlsx", "", headers, estimated, rows, workbook.close)


def open_table(data: bytes, *, prefer_sheets: Iterable[str] = ()) -> Table:
    """Open ``data`` as a CSV or XLSX table; raises ``ImportFileError`` with the reason otherwise.

    In a workbook of several sheets, the first sheet titled like one of ``prefer_sheets`` is read,
    else the first sheet."""
    if not data or not data.strip():
        raise ImportFileError(EMPTY_FILE)
    if data.startswith(OLE2_MAGIC):
        raise ImportFileError(LEGACY_XLS)
    if data.startswith(XLSX_MAGIC):
        return _open_xlsx(data, prefer_sheets)
    if data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")):
        raise ImportFileError(NOT_A_SPREADSHEET)
    return _open_csv(data)
