"""Converting amounts to the base currency for display, and fiscal years (DOMAIN.md §0.1, §0.1a).

Pages convert with the rate of the fiscal year the figure belongs to (constant currency), loading
the whole rate table once per request: it holds a few currencies × a few years. A missing rate is
never a silent 0: the converted value is ``None`` and the page says which rate is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from accounts.models import ExchangeRate


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year a day belongs to, named after the calendar year in which that fiscal year starts."""
    start_month = settings.KAM_FISCAL_YEAR_START_MONTH
    return day.year if day.month >= start_month else day.year - 1


def fiscal_year_of_month(year: int, month: int) -> int:
    start_month = settings.KAM_FISCAL_YEAR_START_MONTH
    return year if month >= start_month else year - 1


def fiscal_year_start(year: int) -> dt.date:
    return dt.date(year, settings.KAM_FISCAL_YEAR_START_MONTH, 1)


@dataclass
class RateTable:
    """Rates to the base currency by (currency, fiscal year); records the pairs it could not convert."""

    base: str
    rates: dict[tuple[str, int], Decimal]
    missing: set[tuple[str, int]] = field(default_factory=set)

    @classmethod
    def load(cls) -> RateTable:
        rows = ExchangeRate.objects.values_list("currency", "year", "rate_to_base")
        return cls(base=settings.KAM_BASE_CURRENCY, rates={(c, y): r for c, y, r in rows})

    def convert(self, amount: Decimal | None, currency: str, year: int) -> Decimal | None:
        if amount is None:
            return None
        if currency == self.base:
            return amount
        rate = self.rates.get((currency, year))
        if rate is None:
            self.missing.add((currency, year))
            return None
        return amount * rate

    def total(self, pairs: Iterable[tuple[Decimal | None, str, int]]) -> Decimal | None:
        """Sum of converted amounts; ``None`` if any of them cannot be converted."""
        result = Decimal("0")
        for amount, currency, year in pairs:
            converted = self.convert(amount, currency, year)
            if converted is None and amount is not None:
                return None
            result += converted or Decimal("0")
        return result

    @property
    def missing_labels(self) -> list[str]:
        return [f"{currency} {year}" for currency, year in sorted(self.missing)]
