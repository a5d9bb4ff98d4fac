"""Reading files: formats, encodings and files that are not spreadsheets."""

import datetime as dt

import pytest

from imports.readers import ImportFileError, open_table
from tests.imports.conftest import csv_bytes, xlsx_bytes

CHINESE = [["名称", "客户编号", "币种"], ["深圳长城精密制造有限公司", "C-001", "CNY"]]


def rows(table):
    return [cells for _number, cells in table.rows()]


@pytest.mark.parametrize(("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                                     ("gb18030", "gb18030"), ("utf-16", "utf-16")])  # fmt: skip
def test_encodings_are_detected(encoding, detected):
    table = open_table(csv_bytes(CHINESE, encoding=encoding))
    assert table.encoding == detected
    assert table.headers == ["名称", "客户编号", "币种"]
    assert rows(table) == [["深圳长城精密制造有限公司", "C-001", "CNY"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_sniffed(delimiter):
    table = open_table(csv_bytes([["a", "b"], ["1", "2"], ["3", "4"]], delimiter=delimiter))
    assert table.headers == ["a", "b"]
    assert rows(table) == [["1", "2"], ["3", "4"]]


def test_row_numbers_are_the_spreadsheets_and_blank_rows_are_skipped():
    table = open_table(b"a,b\r\n1,2\r\n,\r\n3,4\r\n")
    assert [number for number, _cells in table.rows()] == [2, 4]


def test_xlsx_is_read_with_typed_cells():
    content = xlsx_bytes([["number", "start_date", "amount"], ["C-1", dt.datetime(2025, 3, 1), 12.5], ["C-2", 45717, 3]])
    table = open_table(content)
    assert (table.format, table.headers) == ("xlsx", ["number", "start_date", "amount"])
    assert rows(table) == [["C-1", dt.datetime(2025, 3, 1), 12.5], ["C-2", 45717, 3]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \r\n  ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a spreadsheet"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "not a spreadsheet"),
        (b"PK\x03\x04not really a zip file", "not a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Old Excel files"),
        (b"name,\x00\x01\x02binary", "not a spreadsheet"),
        (b"name\r\n\xff\xff\xff\r\n", "encoding"),
        (b"\xff\xfe\xfd\x80\x81", "encoding"),  # a UTF-16 byte order mark, then nonsense
    ],
)
def test_bad_files_get_a_clear_error(content, message):
    with pytest.raises(ImportFileError, match=message):
        open_table(content)


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ImportFileError, match="not a spreadsheet"):
        open_table(buffer.getvalue())


def test_row_estimates_choose_the_background_path():
    table = open_table(csv_bytes([["a"]] + [[str(i)] for i in range(5000)]))
    assert table.estimated_rows == 5000
    assert open_table(xlsx_bytes([["a"]] + [[i] for i in range(300)])).estimated_rows == 300


def test_a_row_the_csv_module_cannot_read_is_a_file_error():
    content = b"name,notes\r\nok,fine\r\nbad," + b'"' + b"x" * 200_000 + b'"\r\n'
    table = open_table(content)
    with pytest.raises(ImportFileError, match="cannot be read at row 3"):
        list(table.rows())
