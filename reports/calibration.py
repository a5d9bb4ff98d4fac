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
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DateField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Contract
from service_plans.models import Alert

HORIZON_DAYS = 180  # §5.5


@dataclass
class SignalCalibration:
    rule: str
    fired: int
    pending: int
    judged: int
    followed: int
    precision: Decimal | None  # None when nothing could be judged (§0.1: no silent 0)
    median_lead_days: float | None


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
        result.append(SignalCalibration(rule, e["fired"], e["pending"], e["judged"], followed, precision, median))
    return result
