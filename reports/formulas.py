"""The KPI formulas of DOMAIN.md §4 as pure functions (DOMAIN.md §9).

Two layers: ``*_from_sums`` functions turn the sums the SQL engine aggregates per scope and period
into a ``KpiResult`` (the ratio, its parts and why it is empty), and row-level functions build those
sums from plain values, as the worked examples of §4 state them. The engine uses the first layer, so
the rules that decide a value (empty denominators are ``None`` with a reason, never 0; thin samples
are low-confidence) live here once and are unit-tested on the worked examples.

Ratios are fractions (0.92, not 92%); NPS is −100…100; HHI 0…10,000; days are days (API.md).
Nothing is rounded here: rounding is for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounts.choices import NPS_DEFAULT_WEIGHT, NPS_ROLE_WEIGHTS

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

# DOMAIN.md §0.1 [S-29]: fewer than 30 accounts (NPS) or responses (CSAT) is a thin sample.
MIN_SAMPLE = 30
# DOMAIN.md §8 renewal.grace_days: "eventual" renewals may be dated up to 30 days after the period.
RENEWAL_GRACE_DAYS = 30
# DOMAIN.md §8 nps.role_weights (accounts.choices); any other role (or none) weighs 1.
ROLE_WEIGHTS = NPS_ROLE_WEIGHTS
DEFAULT_ROLE_WEIGHT = NPS_DEFAULT_WEIGHT
PROMOTER_MIN = Decimal(9)  # promoter: role-weighted mean ≥ 9.0
PASSIVE_MIN = Decimal(7)  # passive: 7.0–8.99; detractor below 7.0
CSAT_SATISFIED_MIN = 4  # 4 or 5 on the 1–5 scale
CES_EASY_MIN = 5  # §4.9: "easy" = 5–7 on Gartner's 7-point agreement scale (at least "somewhat agree")
TOP_N = 5
# DOMAIN.md §8 concentration.top_n: the top-1, top-5 and top-10 shares are published.
TOP_NS = (1, 5, 10)
MAJOR_CUSTOMER_SHARE = Decimal("0.10")  # US GAAP major-customer disclosure threshold [S-36]
CLV_DISCOUNT_RATE = Decimal("0.10")
CLV_RETENTION_CAP = Decimal("0.97")


class Reason:
    """Why a value is empty. Stored codes (never translated); labels live in ``reports.catalogue``."""

    NO_COHORT = "no_revenue_at_start"
    NO_CONTRACTS_DUE = "no_contracts_due"
    NO_VALUE_DUE = "no_value_due"
    NO_RESPONSES = "no_responses"
    NO_REVENUE = "no_revenue"
    NO_PAID_INVOICES = "no_paid_invoices"
    NO_RECEIVABLES = "no_receivables"
    NO_MARGIN = "no_margin"
    NO_SLA_INSTANCES = "no_sla_instances"
    NO_KEY_ACCOUNTS = "no_key_accounts"
    NO_KEY_PROJECTS = "no_key_account_projects"
    NO_KEY_REQUESTS = "no_key_account_requests"
    NO_BASELINE = "no_baseline"
    NO_TIERED_ACCOUNTS = "no_tiered_accounts"
    NEGATIVE_VALUE = "negative_value"
    NO_ARR = "no_recurring_revenue"


@dataclass(frozen=True)
class KpiResult:
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    n: int | None = None
    low_confidence: bool = False
    reason: str = ""


def dec(value: Any) -> Decimal | None:
    """A Decimal from what a database returns (Decimal on PostgreSQL, float or int on SQLite)."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def ratio(
    numerator: Any,
    denominator: Any,
    *,
    reason: str,
    n: int | None = None,
    scale: Decimal | int = 1,
    low_confidence: bool = False,
) -> KpiResult:
    """``numerator / denominator × scale``; ``None`` with ``reason`` when the denominator is empty
    (zero or negative: every denominator here is a total that cannot meaningfully be negative)."""
    num, den = dec(numerator) or ZERO, dec(denominator)
    if den is None or den <= 0:
        return KpiResult(None, num, den if den is not None else ZERO, n, low_confidence, reason)
    return KpiResult(num * Decimal(scale) / den, num, den, n, low_confidence)


# --- §4.1–4.3 GRR, NRR, logo churn --------------------------------------------------------------


def retention_from_sums(*, start: Any, kept: Any, end: Any, cohort: int, churned: int) -> dict[str, KpiResult]:
    """``start`` = Σ value at period start over the cohort C0, ``kept`` = Σ min(start, end),
    ``end`` = Σ value at period end over the same cohort; ``churned`` = cohort members ending at 0."""
    return {
        "grr": ratio(kept, start, reason=Reason.NO_COHORT, n=cohort),
        "nrr": ratio(end, start, reason=Reason.NO_COHORT, n=cohort),
        "logo_churn": ratio(churned, cohort, reason=Reason.NO_COHORT, n=cohort),
    }


def retention(accounts: Iterable[tuple[Any, Any]]) -> dict[str, KpiResult]:
    """GRR, NRR and logo churn from (start value, end value) per account (group).

    Accounts without value at the start (new logos, reactivations) are not in the cohort (§4.2).
    """
    cohort = [(dec(s), dec(e) or ZERO) for s, e in accounts if (dec(s) or ZERO) > 0]
    return retention_from_sums(
        start=sum((s for s, _ in cohort), ZERO),
        kept=sum((min(s, e) for s, e in cohort), ZERO),
        end=sum((e for _, e in cohort), ZERO),
        cohort=len(cohort),
        churned=sum(1 for _, e in cohort if e <= 0),
    )


def arr_at_risk_from_sums(*, at_risk: Any, total: Any, groups: int) -> KpiResult:
    """ARR at risk: the recurring revenue (at the period's end) of the groups with an open high or
    critical alert then. An amount in the base currency, not a ratio: ``value`` = ``numerator`` =
    the ARR at risk, ``denominator`` = all ARR (so its share is numerator / denominator), ``n`` =
    the groups at risk. Empty, with a reason, when there is no ARR at all."""
    amount, whole = dec(at_risk) or ZERO, dec(total)
    if whole is None or whole <= 0:
        return KpiResult(None, amount, whole if whole is not None else ZERO, groups, False, Reason.NO_ARR)
    return KpiResult(amount, amount, whole, groups)


# --- §4.4 contract renewal rates -----------------------------------------------------------------


@dataclass(frozen=True)
class DueContract:
    """A contract whose end date falls in the period, and its renewal if there is one."""

    prior_value: Decimal
    renewed_on: dt.date | None = None
    new_value: Decimal | None = None
    auto_renewed: bool = False  # renewed by itself on its end date (no notice, no renewal recorded)


def renewal_rates_from_sums(
    *,
    due: int,
    due_value: Any,
    renewed: int,
    renewed_eventual: int,
    gross: Any,
    auto_renewed: int = 0,
    net: Any,
    gross_eventual: Any,
    net_eventual: Any,
) -> dict[str, KpiResult]:
    no_value = Reason.NO_CONTRACTS_DUE if not due else Reason.NO_VALUE_DUE
    return {
        "renewal_rate_logo": ratio(renewed, due, reason=Reason.NO_CONTRACTS_DUE, n=due),
        "renewal_rate_logo_eventual": ratio(renewed_eventual, due, reason=Reason.NO_CONTRACTS_DUE, n=due),
        # §4.4: auto-renewals are counted in the rates above and reported separately here.
        "renewal_rate_logo_auto": ratio(auto_renewed, due, reason=Reason.NO_CONTRACTS_DUE, n=due),
        "renewal_rate_value_gross": ratio(gross, due_value, reason=no_value, n=due),
        "renewal_rate_value_net": ratio(net, due_value, reason=no_value, n=due),
        "renewal_rate_value_gross_eventual": ratio(gross_eventual, due_value, reason=no_value, n=due),
        "renewal_rate_value_net_eventual": ratio(net_eventual, due_value, reason=no_value, n=due),
    }


def renewal_rates(due: Sequence[DueContract], *, last_day: dt.date, grace_days: int = RENEWAL_GRACE_DAYS) -> dict[str, KpiResult]:
    """Renewal rates of the contracts due in a period that ends on ``last_day``.

    In-period: renewals dated by ``last_day`` (early renewals count in the period of the original
    end date, never in the signing period). Eventual: up to ``grace_days`` later (§4.4).
    """
    grace_day = last_day + dt.timedelta(days=grace_days)
    in_period = [c for c in due if c.renewed_on is not None and c.renewed_on <= last_day]
    eventual = [c for c in due if c.renewed_on is not None and c.renewed_on <= grace_day]

    def gross(contracts: list[DueContract]) -> Decimal:
        return sum((min(c.prior_value, c.new_value or ZERO) for c in contracts), ZERO)

    def net(contracts: list[DueContract]) -> Decimal:
        return sum((c.new_value or ZERO for c in contracts), ZERO)

    return renewal_rates_from_sums(
        due=len(due),
        due_value=sum((c.prior_value for c in due), ZERO),
        renewed=len(in_period),
        renewed_eventual=len(eventual),
        auto_renewed=sum(1 for c in due if c.auto_renewed),
        gross=gross(in_period),
        net=net(in_period),
        gross_eventual=gross(eventual),
        net_eventual=net(eventual),
    )


# --- §4.7 NPS, §4.8 CSAT -------------------------------------------------------------------------


def nps_respondent_level(scores: Iterable[int]) -> KpiResult:
    """Method 1 of §4.7: every response counts (promoters 9–10, detractors 0–6)."""
    scores = list(scores)
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return ratio(promoters - detractors, len(scores), reason=Reason.NO_RESPONSES, n=len(scores), scale=HUNDRED)


def role_weight(role: str | None) -> int:
    return ROLE_WEIGHTS.get(role or "", DEFAULT_ROLE_WEIGHT)


def role_weighted_mean(responses: Iterable[tuple[int, str | None]]) -> Decimal | None:
    """The account's signal: Σ weight·score / Σ weight over its (score, respondent role) pairs."""
    pairs = [(Decimal(score), role_weight(role)) for score, role in responses]
    total = sum(w for _, w in pairs)
    return sum((s * w for s, w in pairs), ZERO) / total if total else None


def nps_class(mean: Decimal | None) -> str | None:
    if mean is None:
        return None
    return "promoter" if mean >= PROMOTER_MIN else "passive" if mean >= PASSIVE_MIN else "detractor"


def nps_from_counts(*, promoters: int, detractors: int, accounts: int) -> KpiResult:
    """Portfolio NPS = % promoter accounts − % detractor accounts; under 30 accounts is thin."""
    return ratio(
        promoters - detractors,
        accounts,
        reason=Reason.NO_RESPONSES,
        n=accounts,
        scale=HUNDRED,
        low_confidence=0 < accounts < MIN_SAMPLE,
    )


def portfolio_nps(classes: Iterable[str | None]) -> KpiResult:
    classes = [c for c in classes if c is not None]
    return nps_from_counts(promoters=classes.count("promoter"), detractors=classes.count("detractor"), accounts=len(classes))


def csat_from_counts(*, satisfied: int, responses: int) -> KpiResult:
    return ratio(satisfied, responses, reason=Reason.NO_RESPONSES, n=responses, low_confidence=0 < responses < MIN_SAMPLE)


def csat(scores: Iterable[int]) -> KpiResult:
    scores = list(scores)
    return csat_from_counts(satisfied=sum(1 for s in scores if s >= CSAT_SATISFIED_MIN), responses=len(scores))


# --- §4.9 CES ---------------------------------------------------------------------------------------


def ces_from_sums(*, total: Any, easy: int, responses: int) -> dict[str, KpiResult]:
    """CES on the 1–7 agreement scale: ``ces`` = Σscore / n (the mean, 1–7) and ``ces_easy`` =
    count(score ≥ 5) / n (a fraction); no responses ⇒ both empty; under 30 responses is thin (as CSAT)."""
    thin = 0 < responses < MIN_SAMPLE
    return {
        "ces": ratio(total, responses, reason=Reason.NO_RESPONSES, n=responses, low_confidence=thin),
        "ces_easy": ratio(easy, responses, reason=Reason.NO_RESPONSES, n=responses, low_confidence=thin),
    }


def ces(scores: Iterable[int]) -> dict[str, KpiResult]:
    scores = list(scores)
    return ces_from_sums(total=sum(scores), easy=sum(1 for s in scores if s >= CES_EASY_MIN), responses=len(scores))


def change(current: KpiResult, baseline: KpiResult, *, scale: Decimal | int = 1) -> KpiResult:
    """current − baseline (× scale): satisfaction improvement in points (§4.16). For a change, the
    stored numerator is the current value and the denominator the baseline's."""
    if current.value is None:
        return KpiResult(None, None, baseline.value, current.n, current.low_confidence, current.reason)
    if baseline.value is None:
        return KpiResult(None, current.value, None, current.n, current.low_confidence, Reason.NO_BASELINE)
    return KpiResult(
        (current.value - baseline.value) * Decimal(scale),
        current.value,
        baseline.value,
        current.n,
        current.low_confidence or baseline.low_confidence,
    )


# --- §4.10 receivables ---------------------------------------------------------------------------


def dso(*, receivables: Any, credit_sales: Any, days: int) -> KpiResult:
    """DSO = AR at the period end / credit sales of the period × days of the period."""
    return ratio(receivables, credit_sales, reason=Reason.NO_REVENUE, scale=days)


@dataclass(frozen=True)
class PaidInvoice:
    amount: Decimal
    issued_on: dt.date
    due_on: dt.date
    paid_on: dt.date
    is_disputed: bool = False


def payment_days_from_sums(
    *, paid_amount: Any, days_weighted: Any, terms_amount: Any, beyond_weighted: Any, n: int
) -> dict[str, KpiResult]:
    return {
        "avg_days_to_pay": ratio(days_weighted, paid_amount, reason=Reason.NO_PAID_INVOICES, n=n),
        "days_beyond_terms": ratio(beyond_weighted, terms_amount, reason=Reason.NO_PAID_INVOICES, n=n),
    }


def payment_days(invoices: Iterable[PaidInvoice], *, exclude_disputed: bool = True) -> dict[str, KpiResult]:
    """Amount-weighted days to pay and days beyond terms of the invoices paid in the period.
    Disputed invoices stay out of days beyond terms (§4.10 ``exclude_disputed``)."""
    invoices = list(invoices)
    in_terms = [i for i in invoices if not (exclude_disputed and i.is_disputed)]
    return payment_days_from_sums(
        paid_amount=sum((i.amount for i in invoices), ZERO),
        days_weighted=sum((i.amount * (i.paid_on - i.issued_on).days for i in invoices), ZERO),
        terms_amount=sum((i.amount for i in in_terms), ZERO),
        beyond_weighted=sum((i.amount * max(0, (i.paid_on - i.due_on).days) for i in in_terms), ZERO),
        n=len(invoices),
    )


def overdue_ratio(*, past_due: Any, receivables: Any) -> KpiResult:
    return ratio(past_due, receivables, reason=Reason.NO_RECEIVABLES)


def bad_debt_ratio(*, written_off: Any, credit_sales: Any) -> KpiResult:
    return ratio(written_off, credit_sales, reason=Reason.NO_REVENUE)


# --- §4.11 SLA ------------------------------------------------------------------------------------


def sla_attainment(*, attained: int, eligible: int) -> KpiResult:
    return ratio(attained, eligible, reason=Reason.NO_SLA_INSTANCES, n=eligible)


def median(values: Iterable[Any]) -> Decimal | None:
    ordered = sorted(dec(v) for v in values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def improvement(*, baseline: Any, current: Any, n: int | None = None) -> KpiResult:
    """(baseline − current) / baseline: positive when the current figure is lower (faster)."""
    base, cur = dec(baseline), dec(current)
    if cur is None:
        return KpiResult(None, None, base, n, reason=Reason.NO_KEY_REQUESTS)
    if base is None or base <= 0:
        return KpiResult(None, cur, base, n, reason=Reason.NO_BASELINE)
    return KpiResult((base - cur) / base, cur, base, n)


# --- §4.12–4.13 concentration ---------------------------------------------------------------------


def concentration_from_sums(
    *, total: Any, top: Any, sum_squares: Any, customers: int, tops: Mapping[int, Any] | None = None
) -> dict[str, KpiResult]:
    """``top`` is the revenue of the five largest groups; ``tops`` that of the N largest for the other
    N of ``TOP_NS`` (``top1_share``, ``top10_share``)."""
    total = dec(total) or ZERO
    # HHI = Σ (100·share)² = 10,000 · (Σ revenue² / Σ revenue) / Σ revenue. The numerator stored is
    # Σ revenue² / Σ revenue (the revenue-weighted mean customer size), which keeps both parts at
    # the scale of revenue instead of its square.
    weighted_size = dec(sum_squares) / total if total > 0 else ZERO
    results = {
        "top5_share": ratio(top, total, reason=Reason.NO_REVENUE, n=customers),
        "hhi": ratio(weighted_size, total, reason=Reason.NO_REVENUE, n=customers, scale=10_000),
    }
    for n, amount in (tops or {}).items():
        results[f"top{n}_share"] = ratio(amount, total, reason=Reason.NO_REVENUE, n=customers)
    return results


def concentration(revenues: Iterable[Any], *, top_n: int = TOP_N) -> dict[str, KpiResult]:
    """Top-N share and HHI from revenue per customer (group)."""
    values = sorted((v for v in (dec(r) for r in revenues) if v is not None and v > 0), reverse=True)
    return concentration_from_sums(
        total=sum(values, ZERO),
        top=sum(values[:top_n], ZERO),
        sum_squares=sum((v * v for v in values), ZERO),
        customers=len(values),
        tops={n: sum(values[:n], ZERO) for n in TOP_NS if n != TOP_N},
    )


def effective_number_of_customers(hhi: Decimal | None) -> Decimal | None:
    return Decimal(10_000) / hhi if hhi else None


def major_customers(revenues: Mapping[Any, Any], *, threshold: Decimal = MAJOR_CUSTOMER_SHARE) -> list[Any]:
    """Customers (groups) with at least ``threshold`` of revenue, largest first."""
    total = sum((dec(v) or ZERO for v in revenues.values()), ZERO)
    if total <= 0:
        return []
    found = [(dec(v), k) for k, v in revenues.items() if dec(v) / total >= threshold]
    return [k for _, k in sorted(found, key=lambda pair: pair[0], reverse=True)]


def share(part: Any, total: Any, *, reason: str = Reason.NO_REVENUE, n: int | None = None) -> KpiResult:
    """Key accounts' share of revenue or gross margin (§4.12, §4.13)."""
    return ratio(part, total, reason=reason, n=n)


# --- §4.14 CLV, §4.15 CAGR ------------------------------------------------------------------------


def clv_forward(
    *, margin: Any, retention: Any, discount_rate: Any = CLV_DISCOUNT_RATE, retention_cap: Any = CLV_RETENTION_CAP
) -> KpiResult:
    """Infinite-horizon CLV = m·r / (1 + d − r), with r capped (r ≥ 1 + d would diverge)."""
    m = dec(margin)
    if m is None:
        return KpiResult(None, reason=Reason.NO_MARGIN)
    r = min(dec(retention), dec(retention_cap))
    numerator = m * r
    return ratio(numerator, ONE + dec(discount_rate) - r, reason=Reason.NO_MARGIN)


def clv_finite(*, margins: Sequence[Any], retention: Any, discount_rate: Any = CLV_DISCOUNT_RATE) -> Decimal:
    """Σ_{t=1..T} m_t · r^(t−1) / (1+d)^t."""
    r, d = dec(retention), dec(discount_rate)
    return sum((dec(m) * r ** (t - 1) / (ONE + d) ** t for t, m in enumerate(margins, start=1)), ZERO)


def cagr(*, begin: Any, end: Any, years: int) -> KpiResult:
    """(V_end / V_begin)^(1/n) − 1; undefined when V_begin ≤ 0 or V_end < 0 (§4.15)."""
    v_begin, v_end = dec(begin), dec(end)
    if v_begin is None or v_begin <= 0:
        return KpiResult(None, v_end, v_begin, reason=Reason.NO_BASELINE)
    if v_end is None or v_end < 0:
        return KpiResult(None, v_end, v_begin, reason=Reason.NEGATIVE_VALUE)
    if v_end == 0:
        return KpiResult(-ONE, v_end, v_begin)
    return KpiResult((v_end / v_begin) ** (ONE / Decimal(years)) - ONE, v_end, v_begin)


# --- targets ---------------------------------------------------------------------------------------

HIGHER, LOWER = "higher", "lower"
MET, AT_RISK, MISSED = "met", "at_risk", "missed"
# A value that misses its target by at most this share of the target is "at risk", not "missed"
# (design: 5% of |target| unless the target says otherwise, e.g. GRR target 0.90 → at risk from 0.855).
DEFAULT_TOLERANCE_SHARE = Decimal("0.05")


def target_status(value: Any, *, target: Any, direction: str, tolerance: Any = None) -> str:
    """``met`` when the value reaches the target in its direction; ``at_risk`` when it misses by no
    more than the tolerance (absolute, in the KPI's unit; default 5% of |target|); else ``missed``.
    An empty value has no status ("")."""
    v, t = dec(value), dec(target)
    if v is None or t is None:
        return ""
    tol = dec(tolerance) if tolerance is not None else abs(t) * DEFAULT_TOLERANCE_SHARE
    gap = t - v if direction == HIGHER else v - t  # how far the value falls short
    if gap <= 0:
        return MET
    return AT_RISK if gap <= tol else MISSED
