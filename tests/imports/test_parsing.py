"""Cell parsing: the date, number and yes/no formats spreadsheets hold."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from imports import parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01", dt.date(2025, 3, 1)),
        ("2025/3/1", dt.date(2025, 3, 1)),
        ("2025.3.1", dt.date(2025, 3, 1)),
        ("20250301", dt.date(2025, 3, 1)),
        ("2025年3月1日", dt.date(2025, 3, 1)),
        ("2025 年 3 月 1 日", dt.date(2025, 3, 1)),
        ("01/03/2025", dt.date(2025, 1, 3)),  # month first unless told otherwise
        ("2025-03-01 00:00:00", dt.date(2025, 3, 1)),
        ("2025-03-01T00:00:00+08:00", dt.date(2025, 3, 1)),
        ("", None),
    ],
)
def test_dates_in_common_formats(text, expected):
    assert parsing.parse_date(text) == expected


def test_day_first_is_configurable():
    assert parsing.parse_date("01/03/2025", day_first=True) == dt.date(2025, 3, 1)
    assert parsing.parse_date("31.12.2025", day_first=True) == dt.date(2025, 12, 31)


def test_excel_serial_dates_only_from_xlsx():
    assert parsing.parse_date(45717, excel_serials=True) == dt.date(2025, 3, 1)
    assert parsing.parse_date(45717.0, excel_serials=True) == dt.date(2025, 3, 1)
    with pytest.raises(ValidationError):
        parsing.parse_date(45717)  # a number in a CSV date column is not a date


@pytest.mark.parametrize("text", ["2025-02-30", "next week", "13/13/2025", "2025-3"])
def test_impossible_or_unknown_dates_are_refused(text):
    with pytest.raises(ValidationError, match="Enter a date"):
        parsing.parse_date(text)


def test_datetimes_are_aware_in_the_company_time_zone():
    value = parsing.parse_datetime("2025年3月1日 14:30")
    assert timezone.is_aware(value)
    assert timezone.localtime(value).replace(tzinfo=None) == dt.datetime(2025, 3, 1, 14, 30)


def test_iso_datetimes_keep_offset_and_microseconds():
    value = parsing.parse_datetime("2025-03-01 14:30:05.123456+00:00")
    assert value == dt.datetime(2025, 3, 1, 14, 30, 5, 123456, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234.56", Decimal("1234.56")), ("1,234.56", Decimal("1234.56")), ("¥1,234.56", Decimal("1234.56")),
     ("3%", Decimal("3")), ("(100)", Decimal("-100")), (1234.5, Decimal("1234.5")), (7, Decimal(7)), ("", None)],
)  # fmt: skip
def test_decimals(text, expected):
    assert parsing.parse_decimal(text) == expected


def test_a_decimal_that_is_not_a_number_is_left_for_the_field_to_refuse():
    assert parsing.parse_decimal("lots") == "lots"


@pytest.mark.parametrize(("text", "expected"), [("3", 3), ("3.0", 3), (3.0, 3), ("1,000", 1000), ("2.5", "2.5"), ("x", "x")])
def test_integers(text, expected):
    assert parsing.parse_integer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("yes", True), ("是", True), ("TRUE", True), ("1", True), ("否", False), ("no", False), (False, False)]
)
def test_booleans(text, expected):
    assert parsing.parse_boolean(text) is expected


def test_unknown_boolean_is_refused():
    with pytest.raises(ValidationError, match="yes or no"):
        parsing.parse_boolean("maybe")


def test_lists_split_on_the_separators_people_use():
    assert parsing.split_list("a, b；c、d") == ["a", "b", "c", "d"]


def test_the_apostrophe_that_marks_text_is_dropped():
    assert parsing.cell_text("'=SUM(A1)") == "=SUM(A1)"
    assert parsing.cell_text("'+86 138") == "+86 138"
    assert parsing.cell_text("'quoted'") == "'quoted'"
