"""Alert calibration (DOMAIN.md §5.5): for each signal, the share of fired alerts followed by churn or
contraction within 180 days (precision) and how long before it they fired (lead time).

What counts as churn and contraction follows §0.1a and §4.3, from contracts, not from the outcome
people typed when closing an alert (§5.5 stresses checking signals against churn that happened):
- churn: a contract of the account (not a draft) ends in the window without a renewal and without
  being replaced in a consolidation; it happens on its end date;
- contraction: a renewal (not a draft) of one of the account's contracts, dated in the window
  (``signed_on``, else ``start_date``), with a lower annual value in the same currency.
Alerts opened less than ``horizon_days`` before ``as_of`` cannot be judged yet: they are counted as
pending and left out of the precision.

``calibration_window`` reads the period the page and the API ask for (a fiscal quarter, by default the
last completed one, or ``from``/``to`` dates) and names the parameter it refuses.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DateField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from accounts.models import Contract
from reports.formulas import MIN_SAMPLE
from reports.periods import ONE_DAY, period_for_label, quarter_label
from service_plans.models import Alert, Rule

HORIZON_DAYS = 180  # §5.5
QUARTER_RE = re.compile(r"^\d{4}-Q[1-4]$")


@dataclass
class SignalCalibration:
    rule: str
    fired: int
    pending: int
    judged: int
    followed: int
    precision: Decimal | None  # None when nothing could be judged (§0.1: no silent 0)
    median_lead_days: float | None
    mean_lead_days: float | None = None

    @property
    def name(self) -> str:
        """The rule's label in the active language ("R1 Purchase drop"); the code for a retired rule."""
        return str(Rule(self.rule).label) if self.rule in Rule.values else self.rule

    @property
    def low_sample(self) -> bool:
        """Fewer judged alerts than the KPIs' minimum sample (``reports.formulas.MIN_SAMPLE``)."""
        return 0 < self.judged < MIN_SAMPLE


def alert_calibration(
    *, user: Any, start: dt.date, end: dt.date, as_of: dt.date, horizon_days: int = HORIZON_DAYS
) -> list[SignalCalibration]:
    """Alerts opened from ``start`` to ``end`` (inclusive) on accounts ``user`` may see, per rule;
    ``user=None`` is the whole portfolio (the ``alert_calibration`` command, an operator's tool).

    One query: each alert carries the first churn and the first contraction date of its account's
    window as correlated subqueries; the per-rule counts are summed in Python over those rows.
    """
    window_end = ExpressionWrapper(OuterRef("opened_on") + dt.timedelta(days=horizon_days), output_field=DateField())
    live = Q(account_id=OuterRef("account_id")) & ~Q(status="draft")
    renewal = Contract.objects.filter(renewal_of=OuterRef("pk")).exclude(status="draft")
    churn = (
        Contract.objects.filter(live, end_date__gt=OuterRef("opened_on"), end_date__lte=window_end, superseded_by__isnull=True)
        .filter(~Exists(renewal))
        .order_by()
        .values("account_id")
        .annotate(first=Min("end_date"))
        .values("first")
    )
    renewal_on = Coalesce("signed_on", "start_date")
    contraction = (
        Contract.objects.annotate(renewed_on=renewal_on)
        .filter(
            live,
            renewal_of__isnull=False,
            renewed_on__gt=OuterRef("opened_on"),
            renewed_on__lte=window_end,
            annual_value__lt=F("renewal_of__annual_value"),
            currency=F("renewal_of__currency"),
        )
        .order_by()
        .values("account_id")
        .annotate(first=Min("renewed_on"))
        .values("first")
    )
    rows = (
        (Alert.objects.all() if user is None else Alert.objects.visible_to(user))
        .annotate(opened_on=TruncDate("opened_at"))
        .filter(opened_on__gte=start, opened_on__lte=end)
        .annotate(
            churn_on=Subquery(churn, output_field=DateField()),
            contraction_on=Subquery(contraction, output_field=DateField()),
        )
        .values_list("rule", "opened_on", "churn_on", "contraction_on")
    )
    per_rule: dict[str, dict[str, Any]] = {}
    mature_before = as_of - dt.timedelta(days=horizon_days)
    for rule, opened_on, churn_on, contraction_on in rows:
        entry = per_rule.setdefault(rule, {"fired": 0, "pending": 0, "judged": 0, "leads": []})
        entry["fired"] += 1
        if opened_on > mature_before:
            entry["pending"] += 1
            continue
        entry["judged"] += 1
        events = [d for d in (churn_on, contraction_on) if d is not None]
        if events:
            entry["leads"].append((min(events) - opened_on).days)
    result = []
    for rule in sorted(per_rule):
        e = per_rule[rule]
        followed = len(e["leads"])
        precision = (Decimal(followed) / Decimal(e["judged"])).quantize(Decimal("0.0001")) if e["judged"] else None
        median = float(statistics.median(e["leads"])) if e["leads"] else None
        mean = statistics.fmean(e["leads"]) if e["leads"] else None
        result.append(SignalCalibration(rule, e["fired"], e["pending"], e["judged"], followed, precision, median, mean))
    return result


@dataclass(frozen=True)
class CalibrationWindow:
    """The alerts' opening days a report covers, ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date
    quarter: str | None  # "2026-Q3" when the window is a fiscal quarter


def last_completed_quarter(today: dt.date) -> str:
    """The fiscal quarter before the one ``today`` is in (``2026-Q3`` on 27 November 2026)."""
    current = period_for_label(quarter_label(today), as_of=today)
    return quarter_label(current.start - ONE_DAY)


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: _("Enter a date as YYYY-MM-DD.")}) from None


def calibration_window(
    *, quarter: str | None = None, start: str | None = None, end: str | None = None, today: dt.date
) -> CalibrationWindow:
    """The window of ``?quarter=2026-Q3`` or ``?from=…&to=…`` (both), by default the last completed
    quarter. Raises ``ValidationError`` naming ``quarter``, ``from`` or ``to``."""
    quarter, start, end = (v.strip() if v else "" for v in (quarter, start, end))
    if quarter and (start or end):
        raise ValidationError({"quarter": _("Give either a quarter or from and to dates, not both.")})
    if start or end:
        first = _date(start, "from") if start else None
        last = _date(end, "to") if end else None
        if first is None:
            raise ValidationError({"from": _("Give both from and to, or a quarter.")})
        if last is None:
            raise ValidationError({"to": _("Give both from and to, or a quarter.")})
        if last < first:
            raise ValidationError({"to": _("The end date must be on or after the start date.")})
        return CalibrationWindow(first, last, None)
    quarter = quarter or last_completed_quarter(today)
    unknown = ValidationError({"quarter": _("Unknown quarter “%(value)s”: use YYYY-Qn (2026-Q3).") % {"value": quarter}})
    if not QUARTER_RE.match(quarter):
        raise unknown
    try:
        period = period_for_label(quarter, as_of=today)
    except ValueError:  # year 0000, or 9999-Q4 whose end is past the calendar
        raise unknown from None
    except ValidationError:
        raise ValidationError({"quarter": _("The quarter %(value)s has not started yet.") % {"value": quarter}}) from None
    return CalibrationWindow(period.start, period.end - ONE_DAY, quarter)


def recent_quarters(today: dt.date, count: int = 8) -> list[str]:
    """The current quarter and the ``count - 1`` before it, newest first: the page's choices."""
    labels = [quarter_label(today)]
    while len(labels) < count:
        labels.append(quarter_label(period_for_label(labels[-1], as_of=today).start - ONE_DAY))
    return labels
