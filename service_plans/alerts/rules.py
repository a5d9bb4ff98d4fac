"""Rules R1–R10 and E1 of DOMAIN.md §5.2 (and the lifecycle rules L1, L2): each one query over the whole
portfolio, returning its hits.

A rule's SQL filters with the loosest threshold of any tier, and the exact per-tier threshold is
applied to the (few) rows that come back, so per-tier settings never cost a query per tier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import NPS_DEFAULT_WEIGHT, NPS_ROLE_WEIGHTS
from accounts.models import Account, Contact, Contract, Invoice
from service_plans.models import (
    AccountPlan,
    AlertPriority,
    Escalation,
    PlanReview,
    PlanStatus,
    ReviewKind,
    ReviewStatus,
    Rule,
    ServiceRequest,
    SurveyResponse,
    TeamRole,
    WhitespaceCell,
)

# DOMAIN.md §5.2 and §8. Tier rows in RuleConfig override single keys (T1 thresholds are tighter).
DEFAULTS: dict[str, dict[str, Any]] = {
    # rfm_quintile_drop: 5 turns the quintile signal off (a quintile can fall by 4 at most).
    "R1": {"window_days": 90, "drop_pct": 20, "high_drop_pct": 35, "rfm_quintile_drop": 2, "rfm_compare_months": 3},
    "R2": {
        "nps_detractor_max": 6.0,
        "nps_drop_points": 2.0,
        "key_role_max_score": 6,
        "recent_days": 90,
        "csat_min_pct": 70,
        "csat_drop_pp": 10,
    },
    "R3": {"medium_days": 30, "high_days": 60, "critical_days": 90, "critical_share_pct": 10, "dbt_rise_days": 15},
    "R4": {"lookback_days": 90},
    "R5": {"window_days": 90, "critical_days": 60, "activity_days": 30},
    "R6": {"sev1_open_days": 2, "open_escalations": 3, "sla_window_days": 30, "sla_min_pct": 90},
    "R7": {"exec_meeting_days": 90, "qbr_grace_days": 30, "tiers": ["T1"]},
    "R8": {"delta_30d": -15, "high_delta_30d": -25},
    "R9": {"min_covered_contacts": 2, "eb_min_support": -1, "tiers": ["T1", "T2"]},
    # A downgrade stays a signal for a quarter (like R4's look-back); the manual news flag (litigation,
    # restructuring) is an R10 alert raised by hand.
    "R10": {"lookback_days": 90, "downgrade_grades": 1},
    # §7.4: "QBR follow-up missing" fires 2 business days after a QBR without recap or next QBR.
    "L1": {"after_business_days": 2, "lookback_days": 120},
    # §7.3: T1 needs an ACTIVE plan within 30 days of the fiscal year's start; scheduled plan reviews
    # (the standard's cadence) are overdue after a grace period.
    "L2": {"plan_within_days": 30, "plan_tiers": ["T1"], "review_grace_days": 14},
    # §5.2 E1, the positive signal: a Green account with a gap that at least ``min_peers`` accounts of its
    # industry own, or whose NPS mean (role-weighted, as R2 reads it) over ``nps_window_days`` is a
    # promoter's (≥ ``nps_promoter_min``, §4.7: promoters score 9–10).
    "E1": {"min_peers": 2, "nps_window_days": 365, "nps_promoter_min": 9.0},
}
# Shared by every rule unless a row overrides them.
COMMON: dict[str, Any] = {"tiers": None, "cooldown_days": 14}
# §5.2; the lifecycle rules (not in the table) take §5.3's Medium offset.
DUE_BUSINESS_DAYS = {
    "R1": 5, "R2": 5, "R3": 3, "R4": 5, "R5": 5, "R6": 2, "R7": 10, "R8": 5, "R9": 10, "R10": 3, "L1": 10, "L2": 10,
    "E1": 10,
}  # fmt: skip
# §5.3 due_offset_by_priority (§8 cta.due_offsets_bd): alerts raised by hand, which no table row covers.
DUE_BUSINESS_DAYS_BY_PRIORITY = {"critical": 2, "high": 5, "medium": 10}
OWNER_ROLES = {"R3": TeamRole.FINANCE, "R6": TeamRole.SERVICE_LEAD, "R10": TeamRole.FINANCE}
TIER_DEFAULT_ROWS: dict[tuple[str, str], dict[str, Any]] = {
    ("R1", "T1"): {"drop_pct": 15},
    ("R5", "T1"): {"window_days": 180},
    ("R5", "T2"): {"window_days": 120},
    ("R6", "T1"): {"sla_min_pct": 95},
    ("L2", "T1"): {"review_grace_days": 7},
}

REASON_LABELS = {
    "purchase_drop": _("Purchases fell against the same period last year"),
    "rfm_drop": _("Purchase recency or frequency fell two quintiles against the previous quarter"),
    "nps_detractor": _("Account NPS fell to detractor"),
    "nps_drop": _("Account NPS dropped against the previous year"),
    "key_detractor": _("The economic buyer or champion answered as a detractor"),
    "csat_low": _("CSAT below target"),
    "csat_drop": _("CSAT dropped"),
    "overdue": _("Invoices overdue"),
    "dbt_rising": _("Days beyond terms rising"),
    "economic_buyer_left": _("The economic buyer left"),
    "coach_champion_left": _("The champion left"),
    "economic_buyer_changed": _("The economic buyer changed role or title"),
    "coach_champion_changed": _("The champion changed role or title"),
    "renewal": _("Renewal near with no renewal in progress or no recent activity"),
    "sev1_open": _("A Sev-1 escalation is open"),
    "escalations_open": _("Several escalations are open"),
    "sla_attainment": _("SLA attainment below target"),
    "no_exec_meeting": _("No executive meeting"),
    "qbr_overdue": _("QBR overdue"),
    "health_drop": _("Health dropped"),
    "single_threaded": _("Single-threaded relationship"),
    "credit_downgrade": _("Credit rating downgraded"),
    "no_economic_buyer": _("No economic buyer identified"),
    "economic_buyer_unsupportive": _("The economic buyer does not support us"),
    "qbr_follow_up": _("QBR follow-up missing: no recap sent or next QBR not scheduled"),
    "plan_missing": _("No active account plan for the fiscal year"),
    "plan_review_overdue": _("Account plan review overdue"),
    "expansion": _("Healthy account with room to grow"),
}

# Parameters with a range (lowest, highest; None: open) and whole numbers only where said: the ones
# a nonsensical value would silently turn into "every account" or "never".
PARAM_BOUNDS: dict[tuple[str, str], tuple[float | None, float | None, bool]] = {
    ("E1", "min_peers"): (1, None, True),
    ("E1", "nps_window_days"): (1, 3650, True),
    ("E1", "nps_promoter_min"): (0, 10, False),
}

BAND_RANK = {"red": 0, "yellow": 1, "green": 2}
EXECUTIVE_MEETINGS = ("executive", "ebr")
# Plan reviews held with the customer's executives (§7.4: EBR, annual joint business plan).
EXECUTIVE_REVIEWS = (ReviewKind.EBR, ReviewKind.ANNUAL_JBP)


def validate_params(rule: str, params: Any) -> list[str]:
    """Messages for parameters that are not known for ``rule`` or have the wrong type."""
    if not isinstance(params, dict):
        return [str(_("Give the parameters as an object."))]
    known = {**COMMON, **DEFAULTS.get(rule, {})}
    errors = []
    for key, value in params.items():
        if key not in known:
            errors.append(str(_("Unknown parameter %(key)s for rule %(rule)s.") % {"key": key, "rule": rule}))
        elif key in ("tiers", "plan_tiers"):
            if value is not None and (not isinstance(value, list) or any(t not in {"T1", "T2", "T3", "T4"} for t in value)):
                errors.append(str(_("%(key)s must be empty (every tier) or a list of T1–T4.") % {"key": key}))
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(str(_("%(key)s must be a number.") % {"key": key}))
        elif (rule, key) in PARAM_BOUNDS:
            low, high, whole = PARAM_BOUNDS[(rule, key)]
            if whole and value != int(value):
                errors.append(str(_("%(key)s must be a whole number.") % {"key": key}))
            elif (low is not None and value < low) or (high is not None and value > high):
                errors.append(_range_message(key, low, high))
    return errors


def _range_message(key: str, low: float | None, high: float | None) -> str:
    if high is None:
        return str(_("%(key)s must be at least %(low)s.") % {"key": key, "low": low})
    return str(_("%(key)s must be between %(low)s and %(high)s.") % {"key": key, "low": low, "high": high})


@dataclass
class RuleSettings:
    """Effective settings of one rule: defaults, then the all-tier row, then the tier's row."""

    rule: str
    base: dict[str, Any]
    enabled: bool = True
    tiers: dict[str, tuple[bool, dict[str, Any]]] = field(default_factory=dict)

    def params(self, tier: str) -> dict[str, Any]:
        return {**self.base, **self.tiers.get(tier, (True, {}))[1]}

    def applies_to(self, tier: str) -> bool:
        scope = self.base.get("tiers")
        if scope is not None and tier not in scope:
            return False
        return self.tiers.get(tier, (self.enabled, {}))[0]

    def loosest(self, key: str, pick: Callable[..., Any]) -> Any:
        return pick([self.base[key], *(p[key] for _, p in self.tiers.values() if key in p)])

    def scope_q(self, prefix: str = "account__") -> Q:
        q = Q(**{f"{prefix}status": "active"})
        scope = self.base.get("tiers")
        if scope is not None:
            q &= Q(**{f"{prefix}tier__in": scope})
        return q


def load_settings() -> dict[str, RuleSettings]:
    """Every rule's settings from the RuleConfig rows (one query)."""
    from service_plans.models import RuleConfig

    result = {code: RuleSettings(code, {**COMMON, **DEFAULTS[code]}) for code in DEFAULTS}
    for row in RuleConfig.objects.all():
        settings = result[row.rule]
        if row.tier:
            settings.tiers[row.tier] = (row.is_enabled, dict(row.params))
        else:
            settings.base.update(row.params)
            settings.enabled = row.is_enabled
    return result


@dataclass
class Hit:
    account_id: int
    reason: str
    priority: str
    evidence: dict[str, Any]


@dataclass
class Context:
    today: dt.date
    now: dt.datetime
    settings: dict[str, RuleSettings]
    qbr_months: dict[str, int]  # tier -> months between QBRs, from the active service standards
    clock: Any = None  # the default business calendar's clock (service_plans.sla.BusinessClock)
    open_r8: list[dict[str, Any]] = field(default_factory=list)


class DaysBetween(Func):
    """Whole days from the second date to the first (``a - b``), on PostgreSQL and SQLite."""

    output_field = IntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)", arg_joiner=") - julianday(", **extra
        )


def _num(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _tier(value: str | None) -> str:
    return value or ""


# --- R1 purchase drop --------------------------------------------------------------------------------


def r1_purchase_drop(ctx: Context) -> list[Hit]:
    s = ctx.settings["R1"]
    window = int(s.base["window_days"])
    cur_from = ctx.today - dt.timedelta(days=window - 1)
    prev_to = ctx.today - dt.timedelta(days=365)
    prev_from = prev_to - dt.timedelta(days=window - 1)
    loosest = Decimal(str(s.loosest("drop_pct", min))) / 100
    rows = (
        Invoice.objects.filter(s.scope_q())
        .filter(Q(issued_on__gte=cur_from, issued_on__lte=ctx.today) | Q(issued_on__gte=prev_from, issued_on__lte=prev_to))
        .values("account_id", "account__tier")
        .annotate(
            current=Coalesce(Sum("amount", filter=Q(issued_on__gte=cur_from)), Decimal("0")),
            previous=Sum("amount", filter=Q(issued_on__lte=prev_to)),
            # Volume (§5.2 "revenue or volume"): only invoices that carry a quantity count, and only when
            # the year-ago window has some; a price rise can hide a volume fall, and a discount the reverse.
            # the windows' own invoices without quantities say nothing of volume (a fall to zero purchases
            # is revenue's −100 %)
            current_qty=Sum("quantity", filter=Q(issued_on__gte=cur_from)),
            previous_qty=Sum("quantity", filter=Q(issued_on__lte=prev_to)),
        )
        .filter(
            Q(previous__gt=0, current__lte=F("previous") * (1 - loosest))
            | Q(previous_qty__gt=0, current_qty__isnull=False, current_qty__lte=F("previous_qty") * (1 - loosest))
        )
        .order_by()
    )
    hits = []
    for row in rows:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        changes = {
            measure: (row[current] - row[previous]) / row[previous] * 100
            for measure, current, previous in (("revenue", "current", "previous"), ("volume", "current_qty", "previous_qty"))
            if row[previous] and row[current] is not None
        }
        measure, change = min(changes.items(), key=lambda item: item[1])  # the steeper fall decides
        if change > -Decimal(str(p["drop_pct"])):
            continue
        priority = AlertPriority.HIGH if change <= -Decimal(str(p["high_drop_pct"])) else AlertPriority.MEDIUM
        evidence = {"measure": measure, "change_pct": _num(change, 1)}
        if "revenue" in changes:
            evidence.update(
                current=_num(row["current"]), previous=_num(row["previous"]), revenue_change_pct=_num(changes["revenue"], 1)
            )
        if "volume" in changes:
            evidence.update(
                current_qty=_num(row["current_qty"]),
                previous_qty=_num(row["previous_qty"]),
                volume_change_pct=_num(changes["volume"], 1),
            )
        hits.append(Hit(row["account_id"], "purchase_drop", priority, evidence))
    return hits + _r1_rfm_drop(ctx)


# §1.9: R = days since the last order, F = orders in T12M, each scored 1–5 by quintile within the
# account's tier (5 = most recent / most frequent) as ceil(5 × cumulative share): tied accounts share
# a quintile, so accounts billed on the same day never land in different quintiles by chance. Only the orders the
# two T12M windows need are read (15 months): an account without an order in the year before a date
# counts as "lost" at that date (lowest R, §1.9).
RFM_SQL = """
WITH stats AS (
    SELECT a.id AS account_id, COALESCE(a.tier, '') AS tier,
           COALESCE(MAX(i.issued_on) FILTER (WHERE i.issued_on <= %(today)s), DATE '0001-01-01') AS last_now,
           COALESCE(MAX(i.issued_on) FILTER (WHERE i.issued_on <= %(then)s), DATE '0001-01-01') AS last_then,
           COUNT(*) FILTER (WHERE i.issued_on > %(year_before_today)s AND i.issued_on <= %(today)s) AS freq_now,
           COUNT(*) FILTER (WHERE i.issued_on > %(year_before_then)s AND i.issued_on <= %(then)s) AS freq_then
    FROM accounts_account a
    JOIN accounts_invoice i ON i.account_id = a.id
    WHERE a.status = 'active' {scope} AND i.issued_on > %(floor)s AND i.issued_on <= %(today)s
    GROUP BY a.id, a.tier
),
sizes AS (SELECT tier, COUNT(*) AS n FROM stats GROUP BY tier),
{steps}
SELECT s.account_id, s.tier, s.freq_now, s.freq_then, s.last_now, s.last_then,
       CEIL(5.0 * rn.upto / z.n) AS r_now, CEIL(5.0 * rt.upto / z.n) AS r_then,
       CEIL(5.0 * fn.upto / z.n) AS f_now, CEIL(5.0 * ft.upto / z.n) AS f_then
FROM stats s
JOIN sizes z ON z.tier = s.tier
JOIN rn ON rn.tier = s.tier AND rn.v = s.last_now
JOIN rt ON rt.tier = s.tier AND rt.v = s.last_then
JOIN fn ON fn.tier = s.tier AND fn.v = s.freq_now
JOIN ft ON ft.tier = s.tier AND ft.v = s.freq_then
WHERE CEIL(5.0 * rt.upto / z.n) - CEIL(5.0 * rn.upto / z.n) >= %(min_drop)s
   OR CEIL(5.0 * ft.upto / z.n) - CEIL(5.0 * fn.upto / z.n) >= %(min_drop)s
"""
# cume_dist(v) = accounts of the tier with a value <= v / accounts of the tier, computed on the distinct
# values (a few hundred) rather than per account: CUME_DIST() over 100,000 rows with large tie groups
# costs seconds per column.
RFM_STEPS = ",\n".join(
    f"{name} AS (SELECT tier, {column} AS v, SUM(COUNT(*)) OVER (PARTITION BY tier ORDER BY {column}) AS upto "
    f"FROM stats GROUP BY tier, {column})"
    for name, column in (("rn", "last_now"), ("rt", "last_then"), ("fn", "freq_now"), ("ft", "freq_then"))
)


def _r1_rfm_drop(ctx: Context) -> list[Hit]:
    """The R/F quintile trigger of R1: one windowed query over the portfolio (PostgreSQL)."""
    from django.db import connection

    s = ctx.settings["R1"]
    if connection.vendor != "postgresql":
        return []  # CUME_DIST … FILTER: the production database only
    months = int(s.base["rfm_compare_months"])
    then = _add_months(ctx.today, -months)
    scope = s.base.get("tiers")
    params = {
        "today": ctx.today,
        "then": then,
        "year_before_today": ctx.today - dt.timedelta(days=365),
        "year_before_then": then - dt.timedelta(days=365),
        "floor": then - dt.timedelta(days=365),
        "min_drop": int(s.loosest("rfm_quintile_drop", min)),
        "scope": list(scope or []),
    }
    sql = RFM_SQL.format(scope="AND a.tier = ANY(%(scope)s)" if scope is not None else "", steps=RFM_STEPS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    hits = []
    for row in rows:
        tier = row["tier"]
        if not s.applies_to(tier):
            continue
        drop = int(s.params(tier)["rfm_quintile_drop"])
        r_drop, f_drop = int(row["r_then"] - row["r_now"]), int(row["f_then"] - row["f_now"])
        if r_drop < drop and f_drop < drop:
            continue
        evidence = {
            "compared_with": then.isoformat(),
            "recency_quintile": int(row["r_now"]),
            "previous_recency_quintile": int(row["r_then"]),
            "frequency_quintile": int(row["f_now"]),
            "previous_frequency_quintile": int(row["f_then"]),
            "orders_t12m": row["freq_now"],
            "last_order_on": row["last_now"].isoformat() if row["last_now"].year > 1 else None,
        }
        hits.append(Hit(row["account_id"], "rfm_drop", AlertPriority.MEDIUM, evidence))
    return hits


# --- R2 satisfaction drop ---------------------------------------------------------------------------


def r2_satisfaction(ctx: Context) -> list[Hit]:
    s = ctx.settings["R2"]
    now = ctx.now
    year_ago, two_years_ago = now - dt.timedelta(days=365), now - dt.timedelta(days=730)
    recent = now - dt.timedelta(days=int(s.loosest("recent_days", max)))
    prev_recent = recent - (now - recent)
    weight = Case(
        *(When(respondent_role=role, then=Value(w)) for role, w in NPS_ROLE_WEIGHTS.items()),
        default=Value(NPS_DEFAULT_WEIGHT),
        output_field=IntegerField(),
    )
    nps, csat = Q(kind="nps"), Q(kind="csat")
    current, previous = Q(responded_at__gt=year_ago), Q(responded_at__lte=year_ago)
    key_roles = Q(respondent_role__in=["economic_buyer", "coach_champion"])
    rows = (
        SurveyResponse.objects.filter(s.scope_q(), responded_at__gt=two_years_ago, responded_at__lte=now)
        .values("account_id", "account__tier")
        .annotate(
            nps_num=Sum(F("score") * weight, filter=nps & current),
            nps_den=Sum(weight, filter=nps & current),
            prev_num=Sum(F("score") * weight, filter=nps & previous),
            prev_den=Sum(weight, filter=nps & previous),
            key_low=Min("score", filter=nps & key_roles & Q(responded_at__gt=recent)),
            csat_n=Count("id", filter=csat & Q(responded_at__gt=recent)),
            csat_ok=Count("id", filter=csat & Q(responded_at__gt=recent, score__gte=4)),
            csat_prev_n=Count("id", filter=csat & Q(responded_at__gt=prev_recent, responded_at__lte=recent)),
            csat_prev_ok=Count("id", filter=csat & Q(responded_at__gt=prev_recent, responded_at__lte=recent, score__gte=4)),
        )
        .order_by()
    )
    hits = []
    for row in rows:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        mean = row["nps_num"] / row["nps_den"] if row["nps_den"] else None
        prev_mean = row["prev_num"] / row["prev_den"] if row["prev_den"] else None
        if mean is not None and mean <= p["nps_detractor_max"]:
            hits.append(Hit(row["account_id"], "nps_detractor", AlertPriority.HIGH, {"nps_mean": _num(mean)}))
        if mean is not None and prev_mean is not None and prev_mean - mean >= p["nps_drop_points"] - 1e-9:
            evidence = {"nps_mean": _num(mean), "previous_mean": _num(prev_mean)}
            hits.append(Hit(row["account_id"], "nps_drop", AlertPriority.HIGH, evidence))
        if row["key_low"] is not None and row["key_low"] <= p["key_role_max_score"]:
            hits.append(Hit(row["account_id"], "key_detractor", AlertPriority.HIGH, {"lowest_score": row["key_low"]}))
        if row["csat_n"]:
            pct = row["csat_ok"] * 100 / row["csat_n"]
            if pct < p["csat_min_pct"]:
                hits.append(
                    Hit(row["account_id"], "csat_low", AlertPriority.HIGH, {"csat_pct": _num(pct, 1), "n": row["csat_n"]})
                )
            if row["csat_prev_n"]:
                prev_pct = row["csat_prev_ok"] * 100 / row["csat_prev_n"]
                if prev_pct - pct >= p["csat_drop_pp"] - 1e-9:
                    evidence = {"csat_pct": _num(pct, 1), "previous_pct": _num(prev_pct, 1)}
                    hits.append(Hit(row["account_id"], "csat_drop", AlertPriority.HIGH, evidence))
    return hits


# --- R3 overdue invoices ----------------------------------------------------------------------------


def r3_overdue(ctx: Context) -> list[Hit]:
    s = ctx.settings["R3"]
    today = ctx.today
    unpaid = Q(paid_on__isnull=True, due_on__lt=today, written_off_amount__lt=F("amount"))
    t12m = Q(issued_on__gt=today - dt.timedelta(days=365), issued_on__lte=today)
    recent_paid = Q(paid_on__gt=today - dt.timedelta(days=90), paid_on__lte=today)
    prev_paid = Q(paid_on__gt=today - dt.timedelta(days=180), paid_on__lte=today - dt.timedelta(days=90))
    late_days = Greatest(DaysBetween(F("paid_on"), F("due_on")), Value(0))
    rows = (
        Invoice.objects.filter(s.scope_q())
        .filter(unpaid | t12m | recent_paid | prev_paid)
        .values("account_id", "account__tier")
        .annotate(
            oldest_due=Min("due_on", filter=unpaid, output_field=DateField()),
            overdue=Sum(F("amount") - F("written_off_amount"), filter=unpaid),
            revenue=Sum("amount", filter=t12m),
            recent_weighted=Sum(F("amount") * late_days, filter=recent_paid),
            recent_amount=Sum("amount", filter=recent_paid),
            prev_weighted=Sum(F("amount") * late_days, filter=prev_paid),
            prev_amount=Sum("amount", filter=prev_paid),
        )
        .filter(Q(oldest_due__lt=today - dt.timedelta(days=int(s.loosest("medium_days", min)))) | Q(prev_amount__gt=0))
        .order_by()
    )
    hits = []
    for row in rows:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        if row["oldest_due"] is not None:
            days = (today - row["oldest_due"]).days
            share = row["overdue"] / row["revenue"] * 100 if row["revenue"] else None
            priority = None
            if days > p["critical_days"] or (share is not None and share > p["critical_share_pct"] and days > p["medium_days"]):
                priority = AlertPriority.CRITICAL
            elif days > p["high_days"]:
                priority = AlertPriority.HIGH
            elif days > p["medium_days"]:
                priority = AlertPriority.MEDIUM
            if priority:
                evidence = {"days_overdue": days, "overdue": _num(row["overdue"]), "share_pct": _num(share, 1)}
                hits.append(Hit(row["account_id"], "overdue", priority, evidence))
        if row["recent_amount"] and row["prev_amount"]:
            recent = row["recent_weighted"] / row["recent_amount"]
            previous = row["prev_weighted"] / row["prev_amount"]
            if recent - previous >= p["dbt_rise_days"]:
                evidence = {"days_beyond_terms": _num(recent, 1), "previous": _num(previous, 1)}
                hits.append(Hit(row["account_id"], "dbt_rising", AlertPriority.MEDIUM, evidence))
    return hits


# --- R4 champion or economic buyer left --------------------------------------------------------------


def r4_key_contact_left(ctx: Context) -> list[Hit]:
    s = ctx.settings["R4"]
    lookback = ctx.today - dt.timedelta(days=int(s.loosest("lookback_days", max)))
    key_roles = ["economic_buyer", "coach_champion"]
    still_covered = Contact.objects.filter(account_id=OuterRef("account_id"), is_active=True, buying_roles=OuterRef("role"))
    rows = (
        Contact.buying_roles.through.objects.filter(
            buyingrole_id__in=key_roles,
            contact__is_active=False,
            contact__left_on__gte=lookback,
        )
        .filter(s.scope_q("contact__account__"))
        .annotate(account_id=F("contact__account_id"), role=F("buyingrole_id"))
        .filter(~Exists(still_covered))
        .values("account_id", "role", "contact_id", "contact__name", "contact__left_on", "contact__account__tier")
        .order_by("contact_id")
    )
    hits: dict[tuple[int, str], Hit] = {}
    for row in rows:
        tier = _tier(row["contact__account__tier"])
        if not s.applies_to(tier):
            continue
        if row["contact__left_on"] < ctx.today - dt.timedelta(days=int(s.params(tier)["lookback_days"])):
            continue
        key = (row["account_id"], f"{row['role']}_left")
        hit = hits.setdefault(key, Hit(row["account_id"], key[1], AlertPriority.CRITICAL, {"contacts": []}))
        hit.evidence["contacts"].append(
            {"id": row["contact_id"], "name": row["contact__name"], "left_on": row["contact__left_on"].isoformat()}
        )
    return list(hits.values()) + _r4_role_changes(ctx)


# Each historical row of a contact in the look-back window is compared with the row just before it
# (same contact, previous history_date). Only the economic buyer / champion role of the *previous* row
# matters: a key contact whose title changed or who lost that role fires; gaining a role does not.
ROLE_CHANGE_SQL = """
SELECT h.id AS contact_id, h.name, h.account_id, h.history_date, h.title, p.title AS previous_title,
       pr.buyingrole_id AS role,
       EXISTS (SELECT 1 FROM {roles} n WHERE n.history_id = h.history_id AND n.buyingrole_id = pr.buyingrole_id)
           AS still_holds,
       COALESCE(a.tier, '') AS tier
FROM {history} h
JOIN {history} p ON p.history_id = (
    SELECT q.history_id FROM {history} q
    WHERE q.id = h.id AND (q.history_date, q.history_id) < (h.history_date, h.history_id)
    ORDER BY q.history_date DESC, q.history_id DESC LIMIT 1
)
JOIN {roles} pr ON pr.history_id = p.history_id AND pr.buyingrole_id IN ('economic_buyer', 'coach_champion')
JOIN {contact} c ON c.id = h.id AND c.is_active
JOIN accounts_account a ON a.id = c.account_id AND a.status = 'active' {scope}
WHERE h.history_type = '~' AND h.history_date >= %(since)s AND h.history_date <= %(now)s AND h.is_active AND p.is_active
  AND (LOWER(TRIM(h.title)) <> LOWER(TRIM(p.title))
       OR NOT EXISTS (SELECT 1 FROM {roles} n WHERE n.history_id = h.history_id AND n.buyingrole_id = pr.buyingrole_id))
ORDER BY h.history_date, h.history_id
"""


def _r4_role_changes(ctx: Context) -> list[Hit]:
    """R4's "changed role" half (§5.2, [S-95]): an economic buyer or champion whose title changed or
    who no longer holds that buying role, within ``lookback_days``.

    Design: the contact history simple-history already keeps (``Contact.history`` with the buying
    roles snapshotted per row) is the record of changes. Every writer fills it (services, admin, API
    and the importer, which writes the historical rows itself), so no extra column or trigger has to
    be kept in step, and one query with a correlated "previous row" lookup finds every change of the
    window. A contact who has since left is R4's "left" reason instead.
    """
    from django.db import connection

    s = ctx.settings["R4"]
    history = Contact.history.model
    roles = history._history_m2m_fields[0]
    roles_table = apps.get_model(history._meta.app_label, f"{history.__name__}_{roles.name}")._meta.db_table
    since = ctx.now - dt.timedelta(days=int(s.loosest("lookback_days", max)))
    params: dict[str, Any] = {"since": since, "now": ctx.now}
    # The tier scope as one named parameter per tier, not an array: the embedded SQLite binds no lists.
    scope = s.base.get("tiers")
    scope_sql = ""
    if scope is not None:
        params.update({f"scope_{i}": tier for i, tier in enumerate(scope)})
        scope_sql = "AND a.tier IN ({})".format(", ".join(f"%(scope_{i})s" for i in range(len(scope)))) if scope else "AND FALSE"
    sql = ROLE_CHANGE_SQL.format(
        history=connection.ops.quote_name(history._meta.db_table),
        roles=connection.ops.quote_name(roles_table),
        contact=connection.ops.quote_name(Contact._meta.db_table),
        scope=scope_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    hits: dict[tuple[int, str], Hit] = {}
    for row in rows:
        tier = row["tier"]
        if not s.applies_to(tier):
            continue
        # Raw SQL on the embedded SQLite returns the stored UTC time without its zone.
        changed_at = row["history_date"]
        if timezone.is_naive(changed_at):
            changed_at = timezone.make_aware(changed_at, dt.UTC)
        if changed_at < ctx.now - dt.timedelta(days=int(s.params(tier)["lookback_days"])):
            continue
        key = (row["account_id"], f"{row['role']}_changed")
        hit = hits.setdefault(key, Hit(row["account_id"], key[1], AlertPriority.CRITICAL, {"contacts": []}))
        change = {
            "id": row["contact_id"],
            "name": row["name"],
            "changed_on": timezone.localtime(changed_at).date().isoformat(),
            "role_removed": not row["still_holds"],
        }
        if row["title"].strip().lower() != row["previous_title"].strip().lower():
            change.update(previous_title=row["previous_title"], title=row["title"])
        contacts = hit.evidence["contacts"]
        if not any(c == change for c in contacts):
            contacts.append(change)
    return list(hits.values())


# --- R5 renewal near with no activity ---------------------------------------------------------------


def r5_renewal(ctx: Context) -> list[Hit]:
    s = ctx.settings["R5"]
    horizon = ctx.today + dt.timedelta(days=int(s.loosest("window_days", max)))
    renewal = Contract.objects.filter(renewal_of=OuterRef("pk"))
    rows = (
        Contract.objects.filter(s.scope_q(), end_date__gte=ctx.today, end_date__lte=horizon)
        .exclude(status__in=["draft", "terminated", "renewed"])
        .annotate(
            renewed=Exists(renewal.exclude(status="draft")),
            renewal_in_progress=Exists(renewal.filter(status="draft")),
            last_activity=Max("account__meetings__occurred_at"),
        )
        .filter(renewed=False)
        .values("id", "number", "account_id", "account__tier", "end_date", "renewal_in_progress", "last_activity")
        .order_by("account_id", "end_date", "id")
    )
    hits: dict[int, Hit] = {}
    for row in rows:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        days_left = (row["end_date"] - ctx.today).days
        if days_left > p["window_days"]:
            continue
        active = row["last_activity"] is not None and row["last_activity"] >= ctx.now - dt.timedelta(days=int(p["activity_days"]))
        if row["renewal_in_progress"] and active:
            continue
        priority = AlertPriority.CRITICAL if days_left <= p["critical_days"] else AlertPriority.HIGH
        if row["account_id"] in hits:
            continue  # the earliest ending contract sets the priority (ordered by end date)
        evidence = {
            "contract": row["number"],
            "end_date": row["end_date"].isoformat(),
            "days_left": days_left,
            "renewal_in_progress": row["renewal_in_progress"],
            "last_activity": row["last_activity"].date().isoformat() if row["last_activity"] else None,
        }
        hits[row["account_id"]] = Hit(row["account_id"], "renewal", priority, evidence)
    return list(hits.values())


# --- R6 escalations and SLA ---------------------------------------------------------------------------


def r6_escalations(ctx: Context) -> list[Hit]:
    """Two grouped queries: open escalations, and SLA attainment over the window (DOMAIN.md §4.11)."""
    s = ctx.settings["R6"]
    now = ctx.now
    sev1_before = now - dt.timedelta(days=int(s.loosest("sev1_open_days", min)))
    escalations = (
        Escalation.objects.filter(s.scope_q(), closed_at__isnull=True)
        .values("account_id", "account__tier")
        .annotate(open_count=Count("id"), oldest_sev1=Min("opened_at", filter=Q(severity="sev1")))
        .order_by()
    )
    since = now - dt.timedelta(days=int(s.loosest("sla_window_days", max)))
    fr_due_in = Q(first_response_due_at__gt=since, first_response_due_at__lte=now)
    fr_done_in = Q(first_response_at__gt=since, first_response_at__lte=now, first_response_due_at__isnull=False)
    rs_due_in = Q(resolution_due_at__gt=since, resolution_due_at__lte=now)
    rs_done_in = Q(resolved_at__gt=since, resolved_at__lte=now, resolution_due_at__isnull=False)
    fr_ok = Q(first_response_at__isnull=False, first_response_at__lte=F("first_response_due_at"))
    rs_ok = Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
    sla = (
        ServiceRequest.objects.filter(s.scope_q())
        .filter(fr_due_in | fr_done_in | rs_due_in | rs_done_in)
        .values("account_id", "account__tier")
        .annotate(
            eligible_fr=Count("id", filter=fr_due_in | fr_done_in),
            attained_fr=Count("id", filter=(fr_due_in | fr_done_in) & fr_ok),
            eligible_rs=Count("id", filter=rs_due_in | rs_done_in),
            attained_rs=Count("id", filter=(rs_due_in | rs_done_in) & rs_ok),
        )
        .order_by()
    )
    hits = []
    for row in escalations:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        oldest = row["oldest_sev1"]
        if oldest is not None and oldest <= now - dt.timedelta(days=int(p["sev1_open_days"])) and oldest <= sev1_before:
            days = (now - oldest).days
            hits.append(Hit(row["account_id"], "sev1_open", AlertPriority.CRITICAL, {"open_days": days}))
        if row["open_count"] >= p["open_escalations"]:
            hits.append(Hit(row["account_id"], "escalations_open", AlertPriority.HIGH, {"open": row["open_count"]}))
    for row in sla:
        tier = _tier(row["account__tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        eligible = row["eligible_fr"] + row["eligible_rs"]
        if not eligible:
            continue
        pct = (row["attained_fr"] + row["attained_rs"]) * 100 / eligible
        if pct < p["sla_min_pct"]:
            hits.append(
                Hit(row["account_id"], "sla_attainment", AlertPriority.HIGH, {"attainment_pct": _num(pct, 1), "n": eligible})
            )
    return hits


# --- R7 executive disengagement ----------------------------------------------------------------------


def _last_held_review(kinds: tuple[str, ...]) -> Subquery:
    """The date of the account's latest held (or completed) plan review of ``kinds``."""
    return Subquery(
        PlanReview.objects.filter(
            plan__account_id=OuterRef("pk"),
            kind__in=kinds,
            status__in=[ReviewStatus.HELD, ReviewStatus.COMPLETE],
            held_on__isnull=False,
        )
        .order_by("-held_on")
        .values("held_on")[:1],
        output_field=DateField(),
    )


def _latest_day(moment: dt.datetime | None, day: dt.date | None, tz: Any) -> dt.date | None:
    days = [d for d in (moment.astimezone(tz).date() if moment else None, day) if d is not None]
    return max(days, default=None)


def r7_exec_disengagement(ctx: Context) -> list[Hit]:
    """A QBR or EBR counts whether it was logged as a meeting or recorded as a held plan review
    (§7.4: linking a meeting to the review is optional); internal plan reviews do not count."""
    s = ctx.settings["R7"]
    rows = (
        Account.objects.filter(s.scope_q(prefix=""))
        .annotate(
            last_exec=Max("meetings__occurred_at", filter=Q(meetings__kind__in=EXECUTIVE_MEETINGS)),
            last_qbr=Max("meetings__occurred_at", filter=Q(meetings__kind="qbr")),
            last_exec_review=_last_held_review(EXECUTIVE_REVIEWS),
            last_qbr_review=_last_held_review((ReviewKind.QBR,)),
        )
        .values("id", "tier", "created_at", "last_exec", "last_qbr", "last_exec_review", "last_qbr_review")
        .order_by()
    )
    tz = ctx.now.tzinfo
    hits = []
    for row in rows:
        tier = _tier(row["tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        last_exec = _latest_day(row["last_exec"], row["last_exec_review"], tz)
        # Whole calendar days, as for a meeting at the start of its day.
        days = (ctx.today - last_exec).days if last_exec else (ctx.now - row["created_at"]).days
        if days > p["exec_meeting_days"]:
            evidence = {"days_since": days, "last_meeting": last_exec.isoformat() if last_exec else None}
            hits.append(Hit(row["id"], "no_exec_meeting", AlertPriority.MEDIUM, evidence))
        months = ctx.qbr_months.get(tier)
        if months:
            last = _latest_day(row["last_qbr"], row["last_qbr_review"], tz) or row["created_at"].astimezone(tz).date()
            due = _add_months(last, months)
            overdue = (ctx.today - due).days
            if overdue > p["qbr_grace_days"]:
                evidence = {"qbr_due_on": due.isoformat(), "days_overdue": overdue}
                hits.append(Hit(row["id"], "qbr_overdue", AlertPriority.MEDIUM, evidence))
    return hits


def _add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- R8 health drop (event-driven; the nightly run only checks open alerts for recovery) -------------


def r8_priority(*, new_band: str | None, delta_30d: float | None, params: dict[str, Any]) -> str:
    if new_band == "red" or (delta_30d is not None and delta_30d <= params["high_delta_30d"]):
        return AlertPriority.HIGH
    return AlertPriority.MEDIUM


def r8_triggered(*, old_band: str | None, new_band: str | None, delta_30d: float | None, params: dict[str, Any]) -> bool:
    fell = old_band in BAND_RANK and new_band in BAND_RANK and BAND_RANK[new_band] < BAND_RANK[old_band]
    return fell or (delta_30d is not None and delta_30d <= params["delta_30d"])


def r8_health(ctx: Context) -> list[Hit]:
    """Open R8 alerts whose account has not recovered: the band is not above the one it fell to
    and the score is below where it was 30 days before the drop. Plus new drops of Δ30 ≤ ``delta_30d``
    inside a band, which raise no band event (``_r8_score_drops``)."""
    hits = []
    for row in ctx.open_r8:
        evidence = row["evidence"]
        band, score = row["health_band"], row["health_score"]
        band_recovered = band in BAND_RANK and BAND_RANK[band] > BAND_RANK.get(evidence.get("new_band"), -1)
        before = evidence.get("score_before")
        score_recovered = score is not None and before is not None and float(score) >= before
        if not (band_recovered or score_recovered):
            hits.append(Hit(row["account_id"], "health_drop", row["priority"], evidence))
    return hits + _r8_score_drops(ctx, skip={row["account_id"] for row in ctx.open_r8})


# How recent a group's latest health snapshot must be to raise a new score-drop alert: scoring runs
# nightly, and a stale snapshot should not open alerts days later (open ones are checked above).
R8_SNAPSHOT_MAX_AGE_DAYS = 7


def _r8_score_drops(ctx: Context, *, skip: set[int]) -> list[Hit]:
    """§5.2 R8 "or Δ30 ≤ −15": the health band events fire only when the band changes, so a fall of
    15 points within a band (98 → 80, still Green) is found here, from each group's latest health
    snapshot of a finished run. Two queries: the groups, then their member accounts."""
    from django.db import connection

    from tiering.choices import RunStatus
    from tiering.models import HealthSnapshot

    s = ctx.settings["R8"]
    if connection.vendor != "postgresql":
        return []  # DISTINCT ON: the production database only
    latest = (
        HealthSnapshot.objects.filter(
            run__status=RunStatus.DONE,
            as_of__gt=ctx.today - dt.timedelta(days=R8_SNAPSHOT_MAX_AGE_DAYS),
            as_of__lte=ctx.today,
        )
        .order_by("account_id", "-as_of", "-id")
        .distinct("account_id")
        .values("id")
    )
    drops = {
        row["account_id"]: row
        for row in HealthSnapshot.objects.filter(pk__in=Subquery(latest), delta__lte=s.loosest("delta_30d", max)).values(
            "account_id", "delta", "score_before", "effective_score", "effective_band"
        )
    }
    if not drops:
        return []
    hits = []
    accounts = Account.objects.filter(s.scope_q(prefix=""), group_root_id__in=list(drops)).values("id", "tier", "group_root_id")
    for row in accounts.order_by("id"):
        tier = _tier(row["tier"])
        if row["id"] in skip or not s.applies_to(tier):
            continue
        p = s.params(tier)
        snap = drops[row["group_root_id"]]
        delta = float(snap["delta"])
        if delta > p["delta_30d"]:
            continue
        band = snap["effective_band"] or None
        evidence = {
            "old_band": band,
            "new_band": band,
            "score": _num(snap["effective_score"]),
            "delta_30d": delta,
            "score_before": _num(snap["score_before"]),
        }
        hits.append(Hit(row["id"], "health_drop", r8_priority(new_band=band, delta_30d=delta, params=p), evidence))
    return hits


# --- R9 single-threaded / coverage gap ---------------------------------------------------------------


def r9_coverage(ctx: Context) -> list[Hit]:
    s = ctx.settings["R9"]
    active = Q(contacts__is_active=True)
    eb = active & Q(contacts__buying_roles__code="economic_buyer")
    rows = (
        Account.objects.filter(s.scope_q(prefix=""))
        .annotate(
            covered=Count("contacts", filter=active & Q(contacts__coverage__in=["multiple", "in_depth"]), distinct=True),
            economic_buyers=Count("contacts", filter=eb, distinct=True),
            eb_support=Max("contacts__support", filter=eb),
        )
        .values("id", "tier", "covered", "economic_buyers", "eb_support")
        .order_by()
    )
    hits = []
    for row in rows:
        tier = _tier(row["tier"])
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        if row["covered"] < p["min_covered_contacts"]:
            hits.append(Hit(row["id"], "single_threaded", AlertPriority.MEDIUM, {"covered_contacts": row["covered"]}))
        if not row["economic_buyers"]:
            hits.append(Hit(row["id"], "no_economic_buyer", AlertPriority.MEDIUM, {}))
        elif row["eb_support"] is not None and row["eb_support"] <= p["eb_min_support"]:
            hits.append(Hit(row["id"], "economic_buyer_unsupportive", AlertPriority.MEDIUM, {"support": row["eb_support"]}))
    return hits


# --- R10 credit / financial distress ------------------------------------------------------------------


# One pass over the account history (simple-history keeps it; every writer fills it). Per history row,
# LAG gives the rating of the row before it: for the first row inside the look-back window that is the
# rating in force when the window began, for later ones a rating inside the window. So the best rating
# held in the window, counting the one in force at its start, is the least of the window rows' own
# ratings and their predecessors'. Only accounts with a rated row in the loosest window are read;
# ``best`` must exist (a rated row in the account's own window), as before.
CREDIT_SQL = """
WITH recent AS (
    SELECT DISTINCT h.id FROM {history} h
    WHERE h.history_date > %(earliest)s AND h.history_date <= %(now)s AND h.credit_rating <> ''
),
steps AS (
    SELECT a.id, a.tier, a.credit_rating AS rating, h.history_date > {since} AS in_window,
           NULLIF(h.credit_rating, '') AS rated,
           NULLIF(LAG(h.credit_rating) OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id), '') AS before
    FROM recent r
    JOIN {account} a ON a.id = r.id
    JOIN {history} h ON h.id = r.id AND h.history_date <= %(now)s
    WHERE a.status = 'active' AND a.credit_rating <> '' {scope}
)
SELECT id, tier, rating, MIN(rated) FILTER (WHERE in_window) AS best, MIN(before) FILTER (WHERE in_window) AS prior
FROM steps
GROUP BY id, tier, rating
HAVING MIN(rated) FILTER (WHERE in_window) IS NOT NULL
   AND (MIN(rated) FILTER (WHERE in_window) < rating OR MIN(before) FILTER (WHERE in_window) < rating)
"""


def r10_credit_downgrade(ctx: Context) -> list[Hit]:
    """The account's credit rating is at least ``downgrade_grades`` worse (A best … E worst) than the best
    rating it held in the look-back window, counting the rating in force when the window began.

    One query (``CREDIT_SQL``): a window function over the history rows, grouped by account; each tier's
    window start is a CASE, so per-tier look-backs cost nothing extra.
    """
    from django.db import connection

    s = ctx.settings["R10"]
    history = Account.history.model
    scope = s.base.get("tiers")

    def since(tier: str) -> Any:
        return connection.ops.adapt_datetimefield_value(ctx.now - dt.timedelta(days=int(s.params(tier)["lookback_days"])))

    params: dict[str, Any] = {
        "now": connection.ops.adapt_datetimefield_value(ctx.now),
        "earliest": connection.ops.adapt_datetimefield_value(ctx.now - dt.timedelta(days=int(s.loosest("lookback_days", max)))),
        "since_default": since(""),
    }
    whens = []
    for i, tier in enumerate(s.tiers):
        params[f"tier_{i}"], params[f"since_{i}"] = tier, since(tier)
        whens.append(f"WHEN a.tier = %(tier_{i})s THEN %(since_{i})s")
    scope_sql = ""
    if scope is not None:
        params.update({f"scope_{i}": tier for i, tier in enumerate(scope)})
        scope_sql = "AND a.tier IN ({})".format(", ".join(f"%(scope_{i})s" for i in range(len(scope)))) if scope else "AND FALSE"
    quote = connection.ops.quote_name
    sql = CREDIT_SQL.format(
        history=quote(history._meta.db_table),
        account=quote(Account._meta.db_table),
        since=f"CASE {' '.join(whens)} ELSE %(since_default)s END" if whens else "%(since_default)s",
        scope=scope_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    hits = []
    for row in rows:
        tier = _tier(row["tier"])
        if not s.applies_to(tier):
            continue
        best = min(r for r in (row["best"], row["prior"]) if r)  # "A" < "B": the better rating
        grades = ord(row["rating"]) - ord(best)
        if grades < int(s.params(tier)["downgrade_grades"]):
            continue
        evidence = {"credit_rating": row["rating"], "previous_rating": best, "grades": grades}
        hits.append(Hit(row["id"], "credit_downgrade", AlertPriority.HIGH, evidence))
    return hits


# --- L1 QBR follow-up missing (DOMAIN.md §7.4) ---------------------------------------------------------


def l1_qbr_follow_up(ctx: Context) -> list[Hit]:
    """The latest held QBR of each account is complete only when its recap was sent and the next QBR
    is scheduled (within the tier's QBR cadence when the standard has one); otherwise this fires
    ``after_business_days`` working days after the QBR. Older QBRs are R7's business (QBR overdue)."""
    s = ctx.settings["L1"]
    since = ctx.today - dt.timedelta(days=int(s.loosest("lookback_days", max)))
    # Business days are never more than calendar days: the SQL bound is loose, Python is exact.
    held_before = ctx.today - dt.timedelta(days=int(s.loosest("after_business_days", min)))
    held = Q(kind=ReviewKind.QBR, status__in=[ReviewStatus.HELD, ReviewStatus.COMPLETE], held_on__isnull=False)
    later_held = PlanReview.objects.filter(held, plan__account_id=OuterRef("plan__account_id"), held_on__gt=OuterRef("held_on"))
    next_qbr = (
        PlanReview.objects.filter(
            plan__account_id=OuterRef("plan__account_id"), kind=ReviewKind.QBR, scheduled_on__gt=OuterRef("held_on")
        )
        .exclude(status=ReviewStatus.CANCELLED)
        .order_by("scheduled_on")
        .values("scheduled_on")[:1]
    )
    rows = (
        PlanReview.objects.filter(held, s.scope_q("plan__account__"), held_on__gte=since, held_on__lte=held_before)
        .filter(~Exists(later_held))
        .annotate(next_on=Subquery(next_qbr, output_field=DateField()))
        .values("id", "plan__account_id", "plan__account__tier", "held_on", "recap_sent_at", "next_on")
        .order_by("plan__account_id", "-held_on", "-id")
    )
    hits: dict[int, Hit] = {}
    for row in rows:
        account_id, tier = row["plan__account_id"], _tier(row["plan__account__tier"])
        if account_id in hits or not s.applies_to(tier):
            continue
        p = s.params(tier)
        if row["held_on"] < ctx.today - dt.timedelta(days=int(p["lookback_days"])):
            continue
        if ctx.clock.business_days_between(row["held_on"], ctx.today) < int(p["after_business_days"]):
            continue
        months = ctx.qbr_months.get(tier)
        window_end = _add_months(row["held_on"], months) if months else None
        next_ok = row["next_on"] is not None and (window_end is None or row["next_on"] <= window_end)
        if row["recap_sent_at"] is not None and next_ok:
            continue
        evidence = {
            "review": row["id"],
            "held_on": row["held_on"].isoformat(),
            "recap_sent": row["recap_sent_at"] is not None,
            "next_qbr_on": row["next_on"].isoformat() if row["next_on"] else None,
            "next_qbr_due_by": window_end.isoformat() if window_end else None,
        }
        hits[account_id] = Hit(account_id, "qbr_follow_up", AlertPriority.MEDIUM, evidence)
    return list(hits.values())


# --- L2 account plan lifecycle (DOMAIN.md §7.3, §7.4) --------------------------------------------------


def l2_plan_lifecycle(ctx: Context) -> list[Hit]:
    """Two grouped queries: accounts of ``plan_tiers`` with no ACTIVE plan for the current fiscal year
    ``plan_within_days`` after the year started (or after the account's group entered its tier, if
    later); and active plans with a scheduled review (not a QBR: R7 watches those) left unheld for
    more than ``review_grace_days``."""
    from service_plans.services.plans import fiscal_year_bounds, fiscal_year_of
    from tiering.models import TierAssignment

    s = ctx.settings["L2"]
    year = fiscal_year_of(ctx.today)
    year_start, _year_end = fiscal_year_bounds(year)
    hits = []
    # plan_tiers: the tiers that must have a plan; empty (null) means every tier.
    tier_lists = [s.base["plan_tiers"], *(p["plan_tiers"] for _, p in s.tiers.values() if "plan_tiers" in p)]
    plan_tiers = None if any(t is None for t in tier_lists) else sorted(set().union(*tier_lists))
    within = int(s.loosest("plan_within_days", min))
    if ctx.today >= year_start + dt.timedelta(days=within):
        active_plan = AccountPlan.objects.filter(account_id=OuterRef("pk"), fiscal_year=year, status=PlanStatus.ACTIVE)
        tier_since = TierAssignment.objects.filter(account_id=OuterRef("group_root_id"), valid_to__isnull=True).values(
            "valid_from"
        )[:1]
        rows = (
            Account.objects.filter(s.scope_q(prefix=""))
            .filter(Q(tier__in=plan_tiers) if plan_tiers is not None else Q())
            .filter(~Exists(active_plan))
            .annotate(tier_since=Subquery(tier_since, output_field=DateField()))
            .values("id", "tier", "tier_since")
            .order_by()
        )
        for row in rows:
            tier = _tier(row["tier"])
            if not s.applies_to(tier):
                continue
            p = s.params(tier)
            if p["plan_tiers"] is not None and tier not in p["plan_tiers"]:
                continue
            due = max(year_start, row["tier_since"] or year_start) + dt.timedelta(days=int(p["plan_within_days"]))
            if ctx.today < due:
                continue
            evidence = {"fiscal_year": year, "plan_due_on": due.isoformat()}
            hits.append(Hit(row["id"], "plan_missing", AlertPriority.MEDIUM, evidence))
    late_before = ctx.today - dt.timedelta(days=int(s.loosest("review_grace_days", min)))
    reviews = (
        PlanReview.objects.filter(
            s.scope_q("plan__account__"),
            plan__status=PlanStatus.ACTIVE,
            status=ReviewStatus.SCHEDULED,
            scheduled_on__lt=late_before,
        )
        .exclude(kind=ReviewKind.QBR)
        .values("plan__account_id", "plan__account__tier")
        .annotate(oldest=Min("scheduled_on"), overdue_reviews=Count("id"))
        .order_by()
    )
    for row in reviews:
        tier = _tier(row["plan__account__tier"])
        if not s.applies_to(tier):
            continue
        days_late = (ctx.today - row["oldest"]).days
        if days_late <= int(s.params(tier)["review_grace_days"]):
            continue
        evidence = {
            "oldest_scheduled_on": row["oldest"].isoformat(),
            "days_overdue": days_late,
            "reviews": row["overdue_reviews"],
        }
        hits.append(Hit(row["plan__account_id"], "plan_review_overdue", AlertPriority.MEDIUM, evidence))
    return hits


# --- E1 expansion signal (DOMAIN.md §5.2, the positive signal; §7.2 whitespace) -----------------------


# Two branches of one statement, both over Green active accounts: (1) each gap offering of an ACTIVE plan
# (offerings matched case-insensitively, spaces trimmed) with the number of peers owning it: other active
# accounts of the same industry, outside the account's own group, with an OWNED cell for it on an ACTIVE
# plan; (2) each account's role-weighted NPS sums over its window (the weights R2 and the health score use).
# "Other" is no industry: its accounts have no peers. Loosest thresholds in SQL, exact per tier in Python.
# Peers are counted once per (industry, offering) and once per group within it, then subtracted: joining
# every gap cell to every owned cell of its offering would grow with the square of the portfolio.
EXPANSION_SQL = """
WITH owners AS (
    SELECT DISTINCT pa.industry, LOWER(TRIM(pc.offering)) AS k, pa.id AS account_id,
           COALESCE(pa.group_root_id, pa.id) AS grp
    FROM {cell} pc
    JOIN {plan} pp ON pp.id = pc.plan_id AND pp.status = 'active'
    JOIN {account} pa ON pa.id = pp.account_id AND pa.status = 'active'
    WHERE pc.state = 'owned' AND pa.industry <> 'other'
),
adoption AS (SELECT industry, k, COUNT(*) AS n FROM owners GROUP BY industry, k),
in_group AS (SELECT industry, k, grp, COUNT(*) AS n FROM owners GROUP BY industry, k, grp),
gaps AS (
    SELECT a.id AS account_id, COALESCE(a.tier, '') AS tier, a.industry, COALESCE(a.group_root_id, a.id) AS grp,
           LOWER(TRIM(c.offering)) AS k, MIN(TRIM(c.offering)) AS offering
    FROM {account} a
    JOIN {plan} p ON p.account_id = a.id AND p.status = 'active'
    JOIN {cell} c ON c.plan_id = p.id AND c.state = 'gap'
    WHERE {green} AND a.industry <> 'other'
    GROUP BY a.id, a.tier, a.industry, a.group_root_id, LOWER(TRIM(c.offering))
)
SELECT g.account_id, g.tier, g.offering, ad.n - COALESCE(ig.n, 0) AS peers, NULL AS nps_num, NULL AS nps_den
FROM gaps g
JOIN adoption ad ON ad.industry = g.industry AND ad.k = g.k
LEFT JOIN in_group ig ON ig.industry = g.industry AND ig.k = g.k AND ig.grp = g.grp
WHERE ad.n - COALESCE(ig.n, 0) >= %(min_peers)s
UNION ALL
SELECT a.id, COALESCE(a.tier, ''), NULL, NULL, SUM(s.score * {weight}), SUM({weight})
FROM {account} a
JOIN {survey} s ON s.account_id = a.id AND s.kind = 'nps' AND s.responded_at > {since} AND s.responded_at <= %(now)s
WHERE {green}
GROUP BY a.id, a.tier
HAVING SUM(s.score * {weight}) >= %(promoter_min)s * SUM({weight})
ORDER BY 1, 3
"""


def e1_expansion(ctx: Context) -> list[Hit]:
    """§5.2 E1: a Green account with a whitespace gap its industry peers have adopted, or an NPS promoter.

    One query (``EXPANSION_SQL``). One alert per account (reason ``expansion``): its evidence names the
    offerings with their peer counts and the NPS mean, whichever hold; it clears when neither does.
    The signal has no severity in §5.2: it takes the lowest priority there is (Medium) and is no risk
    (``service_plans.models.POSITIVE_RULES``: left out of ARR at risk).
    """
    from django.db import connection

    s = ctx.settings["E1"]
    quote = connection.ops.quote_name
    scope = s.base.get("tiers")
    params: dict[str, Any] = {
        "now": connection.ops.adapt_datetimefield_value(ctx.now),
        "min_peers": int(s.loosest("min_peers", min)),
        "promoter_min": float(s.loosest("nps_promoter_min", min)),
    }

    def since(tier: str) -> Any:
        days = int(s.params(tier)["nps_window_days"])
        return connection.ops.adapt_datetimefield_value(ctx.now - dt.timedelta(days=days))

    params["since_default"] = since("")
    whens = []
    for i, tier in enumerate(s.tiers):
        params[f"tier_{i}"], params[f"since_{i}"] = tier, since(tier)
        whens.append(f"WHEN a.tier = %(tier_{i})s THEN %(since_{i})s")
    weights = []
    for i, (role, w) in enumerate(NPS_ROLE_WEIGHTS.items()):
        params[f"role_{i}"] = role
        weights.append(f"WHEN %(role_{i})s THEN {int(w)}")
    green = "a.status = 'active' AND a.health_band = 'green'"
    if scope is not None:
        params.update({f"scope_{i}": tier for i, tier in enumerate(scope)})
        green += " AND a.tier IN ({})".format(", ".join(f"%(scope_{i})s" for i in range(len(scope)))) if scope else " AND 1 = 0"
    sql = EXPANSION_SQL.format(
        account=quote(Account._meta.db_table),
        plan=quote(AccountPlan._meta.db_table),
        cell=quote(WhitespaceCell._meta.db_table),
        survey=quote(SurveyResponse._meta.db_table),
        green=green,
        weight=f"(CASE s.respondent_role {' '.join(weights)} ELSE {int(NPS_DEFAULT_WEIGHT)} END)",
        since=f"CASE {' '.join(whens)} ELSE %(since_default)s END" if whens else "%(since_default)s",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    evidence: dict[int, dict[str, Any]] = {}
    for account_id, tier, offering, peers, nps_num, nps_den in rows:
        tier = _tier(tier)
        if not s.applies_to(tier):
            continue
        p = s.params(tier)
        if offering is not None:
            if peers < int(p["min_peers"]):
                continue
            entry = evidence.setdefault(account_id, {"health_band": "green"})
            entry.setdefault("offerings", []).append({"offering": offering, "peers": int(peers)})
        else:
            mean = float(nps_num) / float(nps_den)
            if mean < float(p["nps_promoter_min"]) - 1e-9:
                continue
            evidence.setdefault(account_id, {"health_band": "green"})["nps_mean"] = _num(mean)
    return [Hit(account_id, "expansion", AlertPriority.MEDIUM, e) for account_id, e in evidence.items()]


# Reasons whose text reads the alert's evidence (``reason_text``); the others are a fixed label.
DETAILED_REASONS = frozenset({"expansion"})


def reason_text(reason: str, evidence: dict[str, Any] | None) -> str:
    """The reason in words, translated, with what the evidence says where the reason needs it (E1 names
    the offerings its peers use and the NPS mean); a reason typed by hand (manual alerts) as typed."""
    from django.utils.formats import number_format
    from django.utils.translation import gettext, ngettext, pgettext

    label = str(REASON_LABELS.get(reason, reason))
    if reason not in DETAILED_REASONS or not isinstance(evidence, dict):
        return label
    parts = []
    offerings = [o for o in evidence.get("offerings") or [] if isinstance(o, dict)]
    if offerings:
        named = [
            ngettext("%(offering)s (%(peers)d peer)", "%(offering)s (%(peers)d peers)", int(o.get("peers") or 0))
            % {"offering": o.get("offering", ""), "peers": int(o.get("peers") or 0)}
            for o in offerings
        ]
        parts.append(
            gettext("peers in its industry use %(offerings)s") % {"offerings": pgettext("list separator", ", ").join(named)}
        )
    if evidence.get("nps_mean") is not None:
        mean = number_format(evidence["nps_mean"], 1)
        parts.append(gettext("account NPS mean %(mean)s (promoter)") % {"mean": mean})
    return gettext("%(label)s: %(details)s") % {"label": label, "details": "; ".join(parts)} if parts else label


RULES: dict[str, Callable[[Context], list[Hit]]] = {
    Rule.R1: r1_purchase_drop,
    Rule.R2: r2_satisfaction,
    Rule.R3: r3_overdue,
    Rule.R4: r4_key_contact_left,
    Rule.R5: r5_renewal,
    Rule.R6: r6_escalations,
    Rule.R7: r7_exec_disengagement,
    Rule.R8: r8_health,
    Rule.R9: r9_coverage,
    Rule.R10: r10_credit_downgrade,
    Rule.L1: l1_qbr_follow_up,
    Rule.L2: l2_plan_lifecycle,
    Rule.E1: e1_expansion,
}
