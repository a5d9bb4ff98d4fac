"""The business-hours clock behind SLA targets (DOMAIN.md §4.11) and business-day due dates (§5.3).

``BusinessClock`` is a plain value built once from a ``BusinessCalendar`` (one query for its holidays)
and then used for any number of requests without touching the database, so the demo generator and
bulk recomputes stay set-based.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

Interval = tuple[dt.datetime, dt.datetime | None]

# Safety net against a calendar without working time (validation forbids it): about ten years.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessClock:
    time_zone: str = "Asia/Shanghai"
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    day_starts_at: dt.time = dt.time(9, 0)
    day_ends_at: dt.time = dt.time(18, 0)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def from_calendar(cls, calendar) -> BusinessClock:
        return cls(
            time_zone=calendar.time_zone,
            working_days=frozenset(calendar.working_days),
            day_starts_at=calendar.day_starts_at,
            day_ends_at=calendar.day_ends_at,
            holidays=frozenset(calendar.holidays.values_list("date", flat=True)),
        )

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def minutes_per_day(self) -> int:
        start = dt.datetime.combine(dt.date(2000, 1, 3), self.day_starts_at)
        end = dt.datetime.combine(dt.date(2000, 1, 3), self.day_ends_at)
        return int((end - start).total_seconds() // 60)

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def add_business_days(self, day: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``day`` (a non-working start counts from the next one)."""
        current = day
        remaining = days
        for _ in range(_MAX_DAYS):
            if remaining <= 0:
                return current
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        raise ValueError("the calendar has no working days")

    def business_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end ≤ start)."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def _working_intervals(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        tz = self.tz
        local = start.astimezone(tz)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                opens = dt.datetime.combine(day, self.day_starts_at, tzinfo=tz)
                closes = dt.datetime.combine(day, self.day_ends_at, tzinfo=tz)
                opens = max(opens, local)
                if opens < closes:
                    yield opens, closes
            day += dt.timedelta(days=1)

    @staticmethod
    def _minus_pauses(
        interval: tuple[dt.datetime, dt.datetime], pauses: Sequence[Interval]
    ) -> Iterator[tuple[dt.datetime, dt.datetime]] | None:
        """The parts of ``interval`` outside every pause; None when an open pause covers its start."""
        pieces = [interval]
        for p_start, p_end in pauses:
            next_pieces = []
            for a, b in pieces:
                if p_end is None:
                    if p_start <= a:
                        continue  # everything from an open pause on is stopped
                    next_pieces.append((a, min(b, p_start)))
                    continue
                if p_end <= a or p_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < p_start:
                    next_pieces.append((a, p_start))
                if p_end < b:
                    next_pieces.append((p_end, b))
            pieces = next_pieces
        return iter(sorted(pieces))

    def add_business_minutes(self, start: dt.datetime, minutes: float, pauses: Sequence[Interval] = ()) -> dt.datetime | None:
        """When ``minutes`` of business time after ``start`` run out, pauses excluded.

        Returns None while an open pause stops the clock before the target is reached (the due time
        is not known until the pause ends).
        """
        remaining = dt.timedelta(minutes=minutes)
        open_pause_from = min((p for p, e in pauses if e is None), default=None)
        if remaining <= dt.timedelta(0):
            return start
        for interval in self._working_intervals(start):
            if open_pause_from is not None and interval[0] >= open_pause_from:
                return None
            for a, b in self._minus_pauses(interval, pauses):
                span = b - a
                if span >= remaining:
                    return (a + remaining).astimezone(dt.UTC)
                remaining -= span
        raise ValueError("the calendar has no working time")

    def business_minutes_between(self, start: dt.datetime, end: dt.datetime, pauses: Sequence[Interval] = ()) -> float:
        if end <= start:
            return 0.0
        total = dt.timedelta(0)
        for interval in self._working_intervals(start):
            if interval[0] >= end:
                break
            clipped = (interval[0], min(interval[1], end))
            for a, b in self._minus_pauses(clipped, pauses):
                total += b - a
        return total.total_seconds() / 60


def pause_intervals(rows: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> list[Interval]:
    return sorted(rows, key=lambda r: r[0])


def default_clock() -> BusinessClock:
    """The clock of the default calendar, or Monday–Friday 09:00–18:00 in the site's time zone."""
    from django.conf import settings

    from service_plans.models import BusinessCalendar

    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    if calendar is None:
        return BusinessClock(time_zone=settings.TIME_ZONE)
    return BusinessClock.from_calendar(calendar)
