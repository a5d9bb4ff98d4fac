"""Reporting periods: fiscal years, fiscal quarters and calendar months (API.md "Periods").

A period is the half-open interval ``[start, end)`` in the company time zone (DOMAIN.md §0.1).
Labels: ``2025`` is the fiscal year that *starts* in 2025 (in ``KAM_FISCAL_YEAR_START_MONTH``),
``2025-Q1`` its first quarter, ``2025-03`` the calendar month March 2025. With the default January
start the three read as calendar periods.

``until`` is where the data of a period stop: its end, or the day after ``as_of`` for the period
that has not finished (``is_partial``). Flows are summed over ``[start, until)`` and "value at the
period end" is measured on ``until`` (DOMAIN.md §0.1a "Period instants").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

YEAR, QUARTER, MONTH = "year", "quarter", "month"
PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?$")
ONE_DAY = dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; only used on first days of months, so the day always exists."""
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def fiscal_year_of(day: dt.date) -> int:
    start_month = settings.KAM_FISCAL_YEAR_START_MONTH
    return day.year if day.month >= start_month else day.year - 1


def fiscal_year_start(year: int) -> dt.date:
    return dt.date(year, settings.KAM_FISCAL_YEAR_START_MONTH, 1)


@dataclass(frozen=True)
class Period:
    label: str
    kind: str
    start: dt.date
    end: dt.date  # exclusive
    until: dt.date  # exclusive end of the data: ``end``, or the day after ``as_of`` if partial
    fiscal_year: int  # whose exchange rates convert the period's amounts (constant currency)
    is_partial: bool
    is_baseline: bool = False  # an earlier window that a KPI compares with, never published

    @property
    def last_day(self) -> dt.date:
        """The last day with data: the period's last day, or ``as_of`` for a partial period."""
        return self.until - ONE_DAY

    @property
    def days(self) -> int:
        return (self.until - self.start).days

    def shifted(self, years: int) -> Period:
        """The same window ``years`` earlier (negative) for baselines: same length, so a partial
        period compares with the same stretch of the earlier year (DOMAIN.md §0.1), converted at
        this period's rates so that exchange-rate moves never show up as growth."""
        return replace(
            self,
            label=f"{self.label}@{years:+d}y",
            start=shift_years(self.start, years),
            end=shift_years(self.end, years),
            until=shift_years(self.until, years),
            is_baseline=True,
        )


def _period(label: str, kind: str, start: dt.date, end: dt.date, fiscal_year: int, as_of: dt.date) -> Period:
    until = min(end, as_of + ONE_DAY)
    return Period(label, kind, start, end, until, fiscal_year, is_partial=end > as_of)


def period_for_label(label: str, *, as_of: dt.date) -> Period:
    """Parse ``2025``, ``2025-Q1`` or ``2025-03``; a period that has not started is refused."""
    match = PERIOD_RE.match(label or "")
    unknown = ValidationError(
        {
            "period": _("Unknown period “%(label)s”: use a fiscal year (2025), a quarter (2025-Q1) or a month (2025-03).")
            % {"label": label}
        }
    )
    if not match:
        raise unknown
    year = int(match["year"])
    try:
        if match["quarter"]:
            quarter = int(match["quarter"])
            start = add_months(fiscal_year_start(year), 3 * (quarter - 1))
            period = _period(label, QUARTER, start, add_months(start, 3), year, as_of)
        elif match["month"]:
            start = dt.date(year, int(match["month"]), 1)
            period = _period(label, MONTH, start, add_months(start, 1), fiscal_year_of(start), as_of)
        else:
            start = fiscal_year_start(year)
            period = _period(label, YEAR, start, add_months(start, 12), year, as_of)
    except (ValueError, OverflowError):  # year 0000, or a period ending after 9999
        raise unknown from None
    if period.start > as_of:
        raise ValidationError({"period": _("The period %(label)s has not started yet.") % {"label": label}})
    return period


def month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_label(day: dt.date) -> str:
    year = fiscal_year_of(day)
    months_in = (day.year * 12 + day.month) - (year * 12 + settings.KAM_FISCAL_YEAR_START_MONTH)
    return f"{year:04d}-Q{months_in // 3 + 1}"


def default_periods(*, as_of: dt.date, months: int = 12, quarters: int = 4, years: int = 2) -> list[Period]:
    """What a full recompute publishes: the last 12 months, 4 fiscal quarters and 2 fiscal years,
    the current (partial) ones included."""
    first_of_month = as_of.replace(day=1)
    labels = [month_label(add_months(first_of_month, -i)) for i in range(months)]
    labels += [quarter_label(add_months(first_of_month, -3 * i)) for i in range(quarters)]
    labels += [f"{fiscal_year_of(as_of) - i:04d}" for i in range(years)]
    return [period_for_label(label, as_of=as_of) for label in labels]


def periods_for_labels(labels: list[str], *, as_of: dt.date) -> list[Period]:
    seen: dict[str, Period] = {}
    for label in labels:
        period = period_for_label(label.strip(), as_of=as_of)
        seen.setdefault(period.label, period)
    return list(seen.values())


def local_today() -> dt.date:
    return timezone.localdate()


def local_midnight(day: dt.date) -> dt.datetime:
    """The aware start of ``day`` in the company time zone (periods are local, DOMAIN.md §0.1)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
