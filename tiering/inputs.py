"""Every raw measure of every group, aggregated set-based: seven queries whatever the portfolio size.

This module is the input side of a score run and nothing else, so that a benchmark can time it
against a hand-written SQL floor. Each query groups a whole table by group (``group_root``) — and,
for money, by currency — and Python only converts, divides and looks up:

1. accounts (membership, status, committee ratings, wallet estimates),
2. exchange rates,
3. invoices: revenue per fiscal year, trailing-window revenue and margin, payment days (one scan),
4. NPS responses (role-weighted mean),
5. executive-level meetings (latest),
6. service requests (SLA attainment),
7. contracts up for renewal (the demotion freeze).

Currency (DOMAIN.md §0.1a): amounts of a fiscal year convert at that year's rate; trailing windows
(T12M, prior T12M, T36M, T180) convert at the rate of the fiscal year that contains ``as_of``, so
exchange-rate moves never show up as growth. A missing rate stops the run with a message naming
the currency and the year; it is never read as zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import NPS_DEFAULT_WEIGHT, NPS_ROLE_WEIGHTS
from accounts.models import Account, Contract, ExchangeRate, Invoice, Meeting
from kam.parallel import can_run_concurrently, meanwhile
from service_plans.models import ServiceRequest, SurveyResponse
from tiering.measures import EXECUTIVE_MEETING_KINDS, NPS_KEY_ROLES

ZERO = Decimal(0)
# Share of twelve-month revenue that must carry a margin figure for "current value" and ABC to rank
# on gross margin (DOMAIN.md §1.1); below it they rank on revenue, for every group alike.
MARGIN_BASIS_MIN_COVERAGE = Decimal("0.9")


class MissingExchangeRate(Exception):
    """Amounts in a currency cannot be converted: the rate of a fiscal year is missing."""

    def __init__(self, missing: set[tuple[str, int]], base: str) -> None:
        self.missing = sorted(missing)
        listed = ", ".join(f"{currency} in fiscal year {year}" for currency, year in self.missing)
        super().__init__(
            f"No exchange rate to {base} for {listed}. Add the rate under exchange rates and run again; "
            "amounts are never converted at zero."
        )


# --- Periods ------------------------------------------------------------------------------------


def fiscal_year_of(day: dt.date) -> int:
    """Fiscal years are named after the calendar year in which they start."""
    start = settings.KAM_FISCAL_YEAR_START_MONTH
    return day.year if day.month >= start else day.year - 1


def fiscal_year_start(year: int) -> dt.date:
    return dt.date(year, settings.KAM_FISCAL_YEAR_START_MONTH, 1)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def period_start(day: dt.date, months: int) -> dt.date:
    """First day of the evaluation period (of ``months`` months, aligned on the fiscal year) containing ``day``."""
    first = fiscal_year_start(fiscal_year_of(day))
    elapsed = (day.year - first.year) * 12 + day.month - first.month
    offset = elapsed - elapsed % months
    month = first.month - 1 + offset
    return dt.date(first.year + month // 12, month % 12 + 1, 1)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DaysLate(Func):
    """``max(0, paid_on − due_on)`` in whole days."""

    output_field = IntegerField()

    def __init__(self) -> None:
        super().__init__(F("paid_on"), F("due_on"))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="GREATEST(%(expressions)s, 0)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="MAX(CAST(julianday(%(expressions)s) AS INTEGER), 0)",
            arg_joiner=") - julianday(",
            **extra,
        )


GROUP = Coalesce("account__group_root_id", "account_id")
MONEY = DecimalField(max_digits=24, decimal_places=2)


@dataclass
class PortfolioInputs:
    as_of: dt.date
    base_currency: str
    fiscal_years: list[int]  # FY−n … FY0, completed years only
    groups: list[int] = field(default_factory=list)  # every group root, sorted
    status: dict[int, str] = field(default_factory=dict)  # active / prospect / churned
    member_count: dict[int, int] = field(default_factory=dict)
    fy_revenue: dict[int, list[Decimal]] = field(default_factory=dict)
    company_fy_revenue: list[Decimal] = field(default_factory=list)
    t12m_revenue: dict[int, Decimal] = field(default_factory=dict)
    value_metric: dict[int, Decimal] = field(default_factory=dict)
    value_basis: str = "revenue"
    measures: dict[str, dict[int, Any]] = field(default_factory=lambda: defaultdict(dict))
    notes: dict[str, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    open_renewal: set[int] = field(default_factory=set)
    windows: dict[str, Any] = field(default_factory=dict)

    def measure(self, code: str, group: int) -> Any:
        return self.measures.get(code, {}).get(group)


def collect_inputs(
    *,
    as_of: dt.date,
    fiscal_years_needed: int,
    renewal_freeze_days: int,
    step: Callable[[], None] | None = None,
) -> PortfolioInputs:
    """Aggregate every measure for every group as of ``as_of`` (end of that day, company time zone).

    ``fiscal_years_needed`` completed fiscal years are summed (the gate rule needs years + 1 and the
    three-year CAGR needs four). ``step`` is called after each query, for progress.
    """
    step = step or (lambda: None)
    base = settings.KAM_BASE_CURRENCY
    fy0 = fiscal_year_of(as_of) - 1
    fiscal_years = list(range(fy0 - fiscal_years_needed + 1, fy0 + 1))
    current_fy = fiscal_year_of(as_of)
    t12_start, t24_start, t36_start = (years_before(as_of, n) for n in (1, 2, 3))
    t180_start = as_of - dt.timedelta(days=180)
    end_at = _midnight(as_of + dt.timedelta(days=1))
    t12_start_at = _midnight(t12_start + dt.timedelta(days=1))
    t90_start_at = _midnight(as_of - dt.timedelta(days=89))
    data = PortfolioInputs(as_of=as_of, base_currency=base, fiscal_years=fiscal_years)
    data.windows = {
        # [first day, last day], both inclusive, as the "why" view's links filter them.
        "t12m": [str(t12_start + dt.timedelta(days=1)), str(as_of)],
        "t24m": [str(t24_start + dt.timedelta(days=1)), str(as_of)],
        "t36m": [str(t36_start + dt.timedelta(days=1)), str(as_of)],
        "t180": [str(t180_start + dt.timedelta(days=1)), str(as_of)],
        "t90": [str(as_of - dt.timedelta(days=89)), str(as_of)],
        "fiscal_years": [str(fiscal_year_start(fiscal_years[0])), str(fiscal_year_start(fy0 + 1) - dt.timedelta(days=1))],
        "fiscal_year_labels": fiscal_years,
        "as_of": str(as_of),
    }

    # Queries 4–7 do not depend on the first three: on PostgreSQL they run on a second connection
    # while this one runs the accounts and invoice queries.
    # Each query reads its own snapshot either way, as when they ran one after the other; inside a
    # transaction (tests, a caller's atomic block) they run on this connection, which alone sees its
    # uncommitted rows.
    side_queries = _side_queries(
        as_of=as_of,
        t12_start_at=t12_start_at,
        end_at=end_at,
        t90_start_at=t90_start_at,
        renewal_freeze_days=renewal_freeze_days,
    )
    side_rows = meanwhile(lambda: [list(qs) for qs in side_queries], aside=can_run_concurrently())

    # 1. Accounts: groups, status, ratings of the group's root, wallet estimates of every member.
    account_rows = list(
        Account.objects.values_list(
            "id", "group_root_id", "status", "currency", "credit_rating", "market_influence", "integration_potential",
            "relationship_stage", "wallet_estimate_amount",
        )
    )  # fmt: skip
    step()
    # 2. Exchange rates (a few hundred rows at most).
    rates = {(c, y): r for c, y, r in ExchangeRate.objects.values_list("currency", "year", "rate_to_base")}
    step()
    missing: set[tuple[str, int]] = set()

    def convert(amount: Decimal | None, currency: str, year: int) -> Decimal:
        if not amount:
            return ZERO
        if currency == base:
            return amount
        rate = rates.get((currency, year))
        if rate is None:
            missing.add((currency, year))
            return ZERO
        return amount * rate

    statuses: dict[int, set[str]] = defaultdict(set)
    wallet: dict[int, Decimal] = {}
    for account_id, root_id, status, currency, credit, influence, integration, stage, wallet_amount in account_rows:
        group = root_id or account_id
        statuses[group].add(status)
        data.member_count[group] = data.member_count.get(group, 0) + 1
        if wallet_amount is not None:
            wallet[group] = wallet.get(group, ZERO) + convert(wallet_amount, currency, current_fy)
        if account_id == group:
            data.measures["credit_rating"][group] = credit or None
            data.measures["market_influence"][group] = influence
            data.measures["integration_potential"][group] = integration
            data.measures["relationship_stage"][group] = stage
    data.groups = sorted(statuses)
    for group, found in statuses.items():
        data.status[group] = "active" if "active" in found else "prospect" if "prospect" in found else "churned"

    # 3. Invoices: one scan, conditional sums per (group, currency).
    n_years = len(fiscal_years)
    fy_bounds = [(fiscal_year_start(y), fiscal_year_start(y + 1)) for y in fiscal_years]
    t12 = Q(issued_on__gt=t12_start, issued_on__lte=as_of)
    has_margin = Q(margin_amount__isnull=False)
    paid = Q(paid_on__gt=t180_start, paid_on__lte=as_of, is_disputed=False)
    sums: dict[str, Any] = {
        f"fy{k}": Sum("amount", filter=Q(issued_on__gte=start, issued_on__lt=end)) for k, (start, end) in enumerate(fy_bounds)
    }
    sums.update(
        t12_revenue=Sum("amount", filter=t12),
        t12_margin=Sum("margin_amount", filter=t12 & has_margin),
        t12_margin_revenue=Sum("amount", filter=t12 & has_margin),
        prior_revenue=Sum("amount", filter=Q(issued_on__gt=t24_start, issued_on__lte=t12_start)),
        t36_revenue=Sum("amount", filter=Q(issued_on__gt=t36_start, issued_on__lte=as_of)),
        paid_amount=Sum("amount", filter=paid),
        paid_days_weighted=Sum(ExpressionWrapper(F("amount") * DaysLate(), output_field=MONEY), filter=paid),
    )
    lower = min(fy_bounds[0][0], t36_start + dt.timedelta(days=1))
    invoice_rows = (
        Invoice.objects.filter(Q(issued_on__gte=lower, issued_on__lte=as_of) | paid)
        .values("currency", group=GROUP)
        .annotate(**sums)
        .order_by()
    )
    fy_revenue: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * n_years)
    totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in invoice_rows:
        group, currency = row["group"], row["currency"]
        revenues = fy_revenue[group]
        for k, year in enumerate(fiscal_years):
            revenues[k] += convert(row[f"fy{k}"], currency, year)
        acc = totals[group]
        for key in ("t12_revenue", "t12_margin", "t12_margin_revenue", "prior_revenue", "t36_revenue", "paid_amount"):
            acc[key] += convert(row[key], currency, current_fy)
        acc["paid_days_weighted"] += convert(row["paid_days_weighted"], currency, current_fy)
    step()
    if missing:
        raise MissingExchangeRate(missing, base)

    data.fy_revenue = dict(fy_revenue)
    data.company_fy_revenue = [sum((r[k] for r in fy_revenue.values()), ZERO) for k in range(n_years)]
    company = defaultdict(lambda: ZERO)
    for acc in totals.values():
        for key, value in acc.items():
            company[key] += value
    company_gm_pct = company["t12_margin"] / company["t12_margin_revenue"] if company["t12_margin_revenue"] > 0 else None
    if company_gm_pct is not None and company_gm_pct <= 0:
        company_gm_pct = None
    margin_covered = (
        company["t12_revenue"] > 0 and company["t12_margin_revenue"] >= MARGIN_BASIS_MIN_COVERAGE * company["t12_revenue"]
    )
    data.value_basis = "gross_margin" if margin_covered else "revenue"

    measures = data.measures
    for group in data.groups:
        acc = totals.get(group) or defaultdict(lambda: ZERO)
        revenues = data.fy_revenue.get(group) or [ZERO] * n_years
        data.t12m_revenue[group] = acc["t12_revenue"]
        metric = acc["t12_margin"] if margin_covered else acc["t12_revenue"]
        data.value_metric[group] = metric
        measures["t12m_value"][group] = float(metric)
        measures["revenue_cagr_3y"][group] = _cagr(revenues[-4] if n_years >= 4 else None, revenues[-1])
        measures["wallet_headroom"][group] = float(wallet[group] - acc["t36_revenue"]) if group in wallet else None
        measures["margin_index"][group] = (
            float(acc["t12_margin"] / acc["t12_margin_revenue"] / company_gm_pct)
            if company_gm_pct is not None and acc["t12_margin_revenue"] > 0
            else None
        )
        measures["days_beyond_terms_t180"][group] = (
            float(acc["paid_days_weighted"] / acc["paid_amount"]) if acc["paid_amount"] > 0 else None
        )
        measures["revenue_yoy_t12m"][group] = (
            float((acc["t12_revenue"] / acc["prior_revenue"] - 1) * 100) if acc["prior_revenue"] > 0 else None
        )

    # 4.–7. (their queries run meanwhile, see ``_side_queries``)
    nps_rows, meeting_rows, sla_rows, renewal_groups = side_rows()
    for row in nps_rows:
        if row["weights"]:
            measures["nps_role_weighted_12m"][row["group"]] = row["weighted"] / row["weights"]
            if not row["key_roles"]:
                data.notes["nps_role_weighted_12m"][row["group"]] = "low_confidence"
    step()
    for row in meeting_rows:
        measures["days_since_exec_meeting"][row["group"]] = (as_of - timezone.localdate(row["last"])).days
    step()
    for row in sla_rows:
        eligible = row["due1"] + row["due2"]
        if eligible:
            measures["sla_attainment_t90"][row["group"]] = 100.0 * (row["met1"] + row["met2"]) / eligible
    step()
    data.open_renewal = set(renewal_groups)
    step()
    data.windows["value_basis"] = data.value_basis
    return data


def _side_queries(
    *, as_of: dt.date, t12_start_at: dt.datetime, end_at: dt.datetime, t90_start_at: dt.datetime, renewal_freeze_days: int
) -> list[QuerySet]:
    """The queries of measures 4–7 (NPS, executive meetings, SLA attainment, open renewals)."""
    # 4. NPS: role-weighted mean of the last twelve months (§4.7); low confidence without a key role.
    by_weight: dict[int, list[str]] = defaultdict(list)
    for role, weight in NPS_ROLE_WEIGHTS.items():
        by_weight[weight].append(role)
    weight = Case(
        *[When(respondent_role__in=roles, then=Value(w)) for w, roles in sorted(by_weight.items())],
        default=Value(NPS_DEFAULT_WEIGHT),
        output_field=IntegerField(),
    )
    nps_rows = (
        SurveyResponse.objects.filter(kind="nps", responded_at__gte=t12_start_at, responded_at__lt=end_at)
        .values(group=GROUP)
        .annotate(
            weighted=Sum(F("score") * weight, output_field=IntegerField()),
            weights=Sum(weight),
            key_roles=Count("id", filter=Q(respondent_role__in=NPS_KEY_ROLES)),
        )
        .order_by()
    )

    # 5. Executive-level meetings: days since the latest one.
    meeting_rows = (
        Meeting.objects.filter(kind__in=EXECUTIVE_MEETING_KINDS, occurred_at__lt=end_at)
        .values(group=GROUP)
        .annotate(last=Max("occurred_at"))
        .order_by()
    )

    # 6. SLA attainment, T90 (§4.11): first-response and resolution targets that fell due, or were
    # met, in the window; an open instance past its target is breached, one not yet due is pending.
    def within(name: str) -> Q:
        return Q(**{f"{name}__gte": t90_start_at, f"{name}__lt": end_at})

    first_due = Q(first_response_due_at__isnull=False) & (within("first_response_due_at") | within("first_response_at"))
    first_met = first_due & Q(first_response_at__isnull=False, first_response_at__lte=F("first_response_due_at"))
    resolve_due = Q(resolution_due_at__isnull=False) & (within("resolution_due_at") | within("resolved_at"))
    resolve_met = resolve_due & Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
    sla_rows = (
        ServiceRequest.objects.filter(
            within("first_response_due_at") | within("first_response_at") | within("resolution_due_at") | within("resolved_at")
        )
        .values(group=GROUP)
        .annotate(
            due1=Count("id", filter=first_due),
            met1=Count("id", filter=first_met),
            due2=Count("id", filter=resolve_due),
            met2=Count("id", filter=resolve_met),
        )
        .order_by()
    )

    # 7. Renewals falling due within the freeze window and not renewed yet (§1.8 "freeze").
    renewal_groups = (
        Contract.objects.filter(
            end_date__gte=as_of, end_date__lte=as_of + dt.timedelta(days=renewal_freeze_days), renewal__isnull=True
        )
        .exclude(status__in=["draft", "terminated", "renewed"])
        .values_list(GROUP, flat=True)
        .distinct()
    )
    return [nps_rows, meeting_rows, sla_rows, renewal_groups]


def _cagr(begin: Decimal | None, end: Decimal) -> float | None:
    from tiering.scoring import cagr_pct

    return cagr_pct(begin, end, 3)
