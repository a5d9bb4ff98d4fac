"""Cell values → Python values, in the formats people's spreadsheets actually contain.

Parsers raise ``ValidationError`` with a message for the cell; the rules of the model field are
applied afterwards by the engine (``field.clean``), so a parser only decides *what value* a cell
means, never whether the value is allowed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Excel counts days from 1899-12-30 (the 1900 leap-year bug included), the serial XLSX stores.
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

INVALID_DATE = _("Enter a date such as 2025-03-01, 2025/3/1, 01/03/2025 or 2025年3月1日.")
INVALID_DATETIME = _("Enter a date and time such as 2025-03-01 14:30 or 2025年3月1日 14:30.")
INVALID_BOOLEAN = _("Enter yes or no (true/false, 1/0, 是/否).")

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.(\d{1,6}))?)?$")
_TIME_TAIL = re.compile(r"^\d{1,2}[:：]\d{2}([:：]\d{2}(\.\d+)?)?\s*([+-]\d{2}:?\d{2}|Z)?$")
_CURRENCY_MARKS = str.maketrans("", "", "¥￥$€£元 \u00a0\u3000,，")
FORMULA_START = frozenset("=+-@\t\r")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "是", "对", "真", "x", "✓", "✔"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "否", "不", "假"})


def cell_text(value: Any) -> str:
    """A cell as text. XLSX numbers that are whole (an id typed into a number cell) lose the ``.0``;
    the apostrophe that marks text in spreadsheets (and that exports put before text starting
    with = + - @, so it is never run as a formula) is dropped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        return text[1:]
    return text


def _date_from_parts(year: str, month: str, day: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(INVALID_DATE, code="invalid") from None


def parse_date(value: Any, *, day_first: bool = False, excel_serials: bool = False) -> dt.date | None:
    """2025-03-01, 2025/3/1, 2025.3.1, 20250301, 2025年3月1日, 01/03/2025 (``day_first`` decides),
    a trailing time ("2025-03-01 00:00:00", as some exports write dates), XLSX date cells and, from
    XLSX only, Excel serial numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if excel_serials and 1 <= value < 2_958_466:  # up to 9999-12-31
            return (EXCEL_EPOCH + dt.timedelta(days=int(value))).date()
        value = cell_text(value)
    text = str(value).strip()
    if " " in text or "T" in text:
        head, _sep, tail = text.replace("T", " ").partition(" ")
        if _TIME_TAIL.match(tail.strip()):
            text = head
    if match := _YMD.match(text) or _COMPACT.match(text):
        return _date_from_parts(*match.groups())
    if match := _DMY.match(text):
        first, second, year = match.groups()
        day, month = (first, second) if day_first else (second, first)
        return _date_from_parts(year, month, day)
    raise ValidationError(INVALID_DATE, code="invalid")


def parse_datetime(value: Any, *, day_first: bool = False, excel_serials: bool = False) -> dt.datetime | None:
    """A date with an optional time; naive values are in the company time zone (``KAM_TIME_ZONE``).

    ISO 8601 with an offset (what the export writes) is read exactly, microseconds included, so a
    round trip finds the same meeting again.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and excel_serials:
        if not 1 <= value < 2_958_466:
            raise ValidationError(INVALID_DATETIME, code="invalid")
        result = EXCEL_EPOCH + dt.timedelta(days=float(value))
        result = result.replace(microsecond=0) if result.microsecond < 500 else result
    else:
        text = cell_text(value)
        try:
            result = dt.datetime.fromisoformat(text)
        except ValueError:
            date_part, _sep, time_part = text.replace("T", " ").partition(" ")
            time_part = time_part.strip()
            try:
                day = parse_date(date_part, day_first=day_first)
            except ValidationError:
                raise ValidationError(INVALID_DATETIME, code="invalid") from None
            moment = dt.time()
            if time_part:
                match = _TIME.match(time_part)
                if not match:
                    raise ValidationError(INVALID_DATETIME, code="invalid") from None
                hour, minute, second, fraction = match.groups()
                try:
                    moment = dt.time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
                except ValueError:
                    raise ValidationError(INVALID_DATETIME, code="invalid") from None
            result = dt.datetime.combine(day, moment)
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def parse_decimal(value: Any) -> Decimal | str | None:
    """1234.56, "1,234.56", "¥1,234.56", "3%" (a percentage column holds 3). Text that is not a
    number is returned as it is, so that the model field's own message names the problem."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that reads back as the same float
    text = str(value).strip().translate(_CURRENCY_MARKS).rstrip("%")
    if text.startswith("(") and text.endswith(")"):  # accounting notation for negatives
        text = f"-{text[1:-1]}"
    try:
        number = Decimal(text)
    except InvalidOperation:
        return str(value).strip()
    return number if number.is_finite() else str(value).strip()


def parse_integer(value: Any) -> int | str | None:
    """Whole numbers, including "3.0" (an XLSX number cell). Anything else goes to the field as text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    text = str(value).strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return str(value).strip()
    return int(number) if number.is_finite() and number == number.to_integral_value() else str(value).strip()


def parse_boolean(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(INVALID_BOOLEAN, code="invalid")


def split_list(value: Any) -> list[str]:
    """ "a, b; c、d" → ["a", "b", "c", "d"]: the separators spreadsheets use for several values in a cell."""
    if value is None:
        return []
    return [part.strip() for part in re.split(r"[,;，；、|\n]", cell_text(value)) if part.strip()]


ParseFn = Callable[..., Any]
