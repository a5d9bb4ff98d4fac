"""The account page's round-2 sections: why this tier, health, tier history, plan, needs and alerts.

Each section is one function with a fixed number of queries (tests pin the page at N and 5N rows).
Scores and overrides belong to the account's group (docs/tiering.md); the tiering selectors are
called with the account the page already found through the visibility rule, so it is not looked up
again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, Case, ExpressionWrapper, IntegerField, Q, Value, When
from django.urls import reverse

from accounts.models import Account
from service_plans.models import (
    OPEN_STATUSES,
    AccountPlan,
    ActionStatus,
    Alert,
    Need,
    NeedStatus,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlanStatus,
    ReviewKind,
    ReviewStatus,
    WhitespaceCell,
)
from service_plans.selectors import whitespace_headroom
from service_plans.services.plans import fiscal_year_of, objective_progress
from tiering.models import ScoringModel, TierAssignment
from tiering.selectors import health_explanation_of, health_history_of, tier_explanation_of, tier_history_of

TIER_HISTORY_ROWS = 12
HEALTH_TREND_DAYS = 365
MAX_NEEDS = 30
MAX_ALERTS = 15
MAX_ACTIONS = 60

# Where the rows behind a factor are shown: a section of the group's account page, or the field
# on the account form for the committee's ratings.
SOURCE_SECTIONS = {
    "accounts.invoice": "finance",
    "accounts.meeting": "meetings",
    "accounts.contract": "contracts",
    "service_plans.surveyresponse": "surveys",
    "service_plans.servicerequest": "service",
}


def _float(value: Any) -> float | None:
    return None if value is None else float(round(Decimal(str(value)), 2))


def source_link(ref: dict[str, Any], *, group_id: int, page_account_id: int, group_visible: bool) -> str:
    """A link to the data behind a factor, or "" when there is nothing to link to.

    The rows are the group's; they are listed on the group root's page (the finance charts there
    cover every member). A user who sees a subsidiary but not its root gets the subsidiary's page.
    """
    model = ref.get("model")
    if not model:
        return ""
    target = group_id if group_visible else page_account_id
    if "field" in ref:
        return reverse("web:account_edit", args=[target]) + f"#field-{ref['field']}"
    section = SOURCE_SECTIONS.get(model)
    return reverse("web:account_detail", args=[target]) + (f"#{section}" if section else "")


def factor_chart(factors: list[dict[str, Any]], holding_down: list[dict[str, Any]]) -> dict[str, Any]:
    """Data for the bar per factor: points contributed and points lost (§1.7), the top three marked."""
    top = {f["code"] for f in holding_down}
    shown = [f for f in factors if not f.get("missing")]
    return {
        "labels": [f["label"] for f in shown],
        "codes": [f["code"] for f in shown],
        "contribution": [_float(f["contribution"]) for f in shown],
        "lost": [_float(f["lost"]) for f in shown],
        "top": [f["code"] in top for f in shown],
    }


@dataclass
class ScoresSection:
    """ "Why this tier", health and the tier history of the account's group."""

    tier: dict[str, Any]
    health: dict[str, Any]
    tier_history: list[TierAssignment]
    value_chart: dict[str, Any] | None
    health_chart: dict[str, Any] | None
    health_trend: dict[str, Any]
    thresholds: dict[str, Any]
    is_member: bool  # the account is a subsidiary: scores are its group's
    group_id: int


def account_scores(*, account: Account, group_visible: bool, today: dt.date) -> ScoresSection:
    """8 queries: two explanations (3 each), the tier history, the health trend."""
    tier = tier_explanation_of(account)
    health = health_explanation_of(account)
    history = list(tier_history_of(account)[:TIER_HISTORY_ROWS])
    trend_rows = list(health_history_of(account, since=today - dt.timedelta(days=HEALTH_TREND_DAYS)))
    model = ScoringModel.objects.filter(is_active=True).first()
    thresholds: dict[str, Any] = {}
    if model is not None:
        thresholds = {
            "t1": model.t1_entry, "t2": model.t2_entry, "t3": model.t3_entry, "band_gap": model.band_gap,
            "yellow": model.health_yellow_min, "green": model.health_green_min,
            "tier_override_max_days": model.tier_override_max_days,
            "health_override_default_days": model.health_override_default_days,
            "health_override_max_days": model.health_override_max_days,
        }  # fmt: skip
    group_id = tier["group_id"]
    for explanation in (tier, health):
        snapshot = explanation["snapshot"]
        if not snapshot:
            continue
        top = {f["code"] for f in snapshot["holding_down"]}
        for factor in snapshot["factors"]:  # the holding-down list holds the same dicts
            factor["link"] = source_link(
                factor.get("source_ref") or {}, group_id=group_id, page_account_id=account.pk, group_visible=group_visible
            )
            factor["is_top"] = factor["code"] in top
    return ScoresSection(
        tier=tier,
        health=health,
        tier_history=history,
        value_chart=factor_chart(tier["snapshot"]["factors"], tier["snapshot"]["holding_down"]) if tier["snapshot"] else None,
        health_chart=(
            factor_chart(health["snapshot"]["factors"], health["snapshot"]["holding_down"]) if health["snapshot"] else None
        ),
        health_trend={
            "dates": [row.as_of.isoformat() for row in trend_rows],
            "computed": [_float(row.score) for row in trend_rows],
            "shown": [_float(row.effective_score) for row in trend_rows],
            "yellow": _float(thresholds.get("yellow")),
            "green": _float(thresholds.get("green")),
        },
        thresholds=thresholds,
        is_member=group_id != account.pk,
        group_id=group_id,
    )


# --- The account plan -----------------------------------------------------------------------------


@dataclass
class ReviewCadence:
    kind: str
    label: Any
    last_held: PlanReview | None
    next_scheduled: PlanReview | None
    overdue: bool


@dataclass
class WhitespaceRow:
    buying_centre: str
    slots: list[tuple[str, WhitespaceCell | None]]  # (offering, its cell or None), one per column


@dataclass
class WhitespaceGrid:
    """The plan's whitespace map (DOMAIN.md §7.2): rows are buying centres, columns offerings."""

    offerings: list[str]
    rows: list[WhitespaceRow]
    headroom: dict[str, Decimal]  # currency → Σ max(0, spend − ours), computed in SQL
    counts: dict[str, int]  # state → cells

    @property
    def empty(self) -> bool:
        return not self.rows


def whitespace_grid(*, plan: AccountPlan) -> WhitespaceGrid:
    """The cells of a plan laid out as a grid, and its headroom per currency: 2 queries."""
    cells = list(WhitespaceCell.objects.filter(plan=plan).order_by("buying_centre", "offering", "id"))
    offerings = sorted({c.offering for c in cells}, key=str.casefold)
    by_centre: dict[str, dict[str, WhitespaceCell]] = {}
    for cell in cells:
        by_centre.setdefault(cell.buying_centre, {})[cell.offering] = cell
    rows = [
        WhitespaceRow(buying_centre=centre, slots=[(o, by_centre[centre].get(o)) for o in offerings])
        for centre in sorted(by_centre, key=str.casefold)
    ]
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell.state] = counts.get(cell.state, 0) + 1
    headroom = whitespace_headroom(plan_ids=[plan.pk]).get(plan.pk, {}) if cells else {}
    return WhitespaceGrid(offerings=offerings, rows=rows, headroom=headroom, counts=counts)


@dataclass
class PlanSection:
    plan: AccountPlan | None
    objectives: list[PlanObjective]
    actions: list[PlanAction]
    reviews: list[PlanReview]
    cadence: list[ReviewCadence]
    actions_truncated: bool
    current_fiscal_year: int
    whitespace: WhitespaceGrid | None = None


def _cadence(reviews: list[PlanReview], today: dt.date) -> list[ReviewCadence]:
    """Per review kind in use: the last review held and the next one scheduled (QBR/EBR status)."""
    result = []
    for kind, label in ReviewKind.choices:
        mine = [r for r in reviews if r.kind == kind]
        if not mine:
            continue
        held = [r for r in mine if r.status in (ReviewStatus.HELD, ReviewStatus.COMPLETE)]
        scheduled = [r for r in mine if r.status == ReviewStatus.SCHEDULED]
        next_scheduled = min(scheduled, key=lambda r: (r.scheduled_on, r.pk)) if scheduled else None
        result.append(
            ReviewCadence(
                kind=kind,
                label=label,
                last_held=max(held, key=lambda r: (r.held_on or r.scheduled_on, r.pk)) if held else None,
                next_scheduled=next_scheduled,
                overdue=bool(next_scheduled and next_scheduled.scheduled_on < today),
            )
        )
    return result


def account_plan(*, account: Account, today: dt.date) -> PlanSection:
    """The account's current plan (this fiscal year's active one, else the latest) with objectives and
    their progress, actions, reviews and whitespace: 1 query without a plan; with one, 5 (the reviews'
    commitments included), 2 more for the attendees of the reviews' meetings (none when no review has a
    meeting), plus 2 for the whitespace grid and its headroom (1 when it has no cells)."""
    fiscal_year = fiscal_year_of(today)
    plan = (
        AccountPlan.objects.filter(account=account)
        .select_related("owner", "approved_by")
        .annotate(
            rank=Case(
                When(status=PlanStatus.ACTIVE, fiscal_year=fiscal_year, then=Value(0)),
                When(status=PlanStatus.ACTIVE, then=Value(1)),
                When(status=PlanStatus.DRAFT, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "-fiscal_year", "-id")
        .first()
    )
    if plan is None:
        return PlanSection(None, [], [], [], [], False, fiscal_year)
    objectives = list(PlanObjective.objects.with_progress().filter(plan=plan).select_related("owner").order_by("due_on", "id"))
    for objective in objectives:
        objective.progress = objective_progress(objective)
    actions = list(
        PlanAction.objects.filter(plan=plan)
        .select_related("owner_user", "owner_contact", "objective")
        .annotate(is_open=ExpressionWrapper(Q(status=ActionStatus.OPEN), output_field=BooleanField()))
        .order_by("-is_open", "due_on", "id")[: MAX_ACTIONS + 1]
    )
    for action in actions:
        action.is_overdue = action.status == ActionStatus.OPEN and action.due_on is not None and action.due_on < today
    # Who attended on both sides is kept on each review's meeting (§7.4).
    reviews = list(
        PlanReview.objects.filter(plan=plan)
        .select_related("meeting")
        .prefetch_related("commitments", "meeting__contacts", "meeting__attendees")
        .order_by("scheduled_on", "id")
    )
    return PlanSection(
        plan=plan,
        objectives=objectives,
        actions=actions[:MAX_ACTIONS],
        reviews=reviews,
        cadence=_cadence(reviews, today),
        actions_truncated=len(actions) > MAX_ACTIONS,
        current_fiscal_year=fiscal_year,
        whitespace=whitespace_grid(plan=plan),
    )


# --- Needs and alerts -----------------------------------------------------------------------------


def account_needs(*, account: Account) -> list[Need]:
    """Open and in-progress needs first, then the rest, most important first (1 query)."""
    return list(
        Need.objects.filter(account=account)
        .annotate(
            is_open=ExpressionWrapper(Q(status__in=[NeedStatus.OPEN, NeedStatus.IN_PROGRESS]), output_field=BooleanField()),
            priority_rank=Case(
                When(priority="high", then=Value(0)),
                When(priority="medium", then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by("-is_open", "priority_rank", "-updated_at", "id")[:MAX_NEEDS]
    )


def account_alerts(*, account: Account) -> list[Alert]:
    """The account's open alerts by priority (the stored codes sort critical, high, medium) and due
    date, then the latest closed ones (1 query)."""
    return list(
        Alert.objects.filter(account=account)
        .select_related("account", "owner")
        .annotate(open_first=ExpressionWrapper(Q(status__in=OPEN_STATUSES), output_field=BooleanField()))
        .order_by("-open_first", "priority", "due_on", "-closed_at", "-id")[:MAX_ALERTS]
    )
