"""Reads behind the alert inbox, plan pages and lists; each starts from ``visible_to(user)``."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, IntegerField, Prefetch, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest

from service_plans.models import (
    AccountPlan,
    Alert,
    AlertEvent,
    AlertTask,
    BenchmarkCase,
    PlanAction,
    PlanObjective,
    PlanReview,
    ServiceStandard,
    TeamRole,
    WhitespaceCell,
)

PRIORITY_ORDER = Case(
    When(priority="critical", then=Value(0)), When(priority="high", then=Value(1)), default=Value(2), output_field=IntegerField()
)


def alert_list(*, user: Any, open_only: bool = True, mine: bool = False) -> QuerySet[Alert]:
    """The alert inbox: most urgent first (priority, then due date), with account and owner joined."""
    qs = Alert.objects.visible_to(user)
    if open_only:
        qs = qs.open()
    if mine:
        qs = qs.filter(owner=user)
    return (
        qs.select_related("account", "owner").annotate(priority_order=PRIORITY_ORDER).order_by("priority_order", "due_on", "id")
    )


def alert_get(*, user: Any, pk: int) -> Alert:
    """One alert with its tasks and history; ``Alert.DoesNotExist`` (a 404) when not visible."""
    return (
        Alert.objects.visible_to(user)
        .select_related("account", "owner", "playbook", "closed_by")
        .prefetch_related(
            Prefetch("tasks", queryset=AlertTask.objects.select_related("owner").order_by("order", "id")),
            Prefetch("events", queryset=AlertEvent.objects.select_related("actor").order_by("at", "id")),
        )
        .get(pk=pk)
    )


def alert_task_list(*, user: Any, open_only: bool = True) -> QuerySet[AlertTask]:
    """Tasks the user owns on accounts they can see."""
    qs = AlertTask.objects.visible_to(user).filter(owner=user).select_related("alert__account")
    return (qs.filter(status="open") if open_only else qs).order_by("due_on", "id")


def plan_list(*, user: Any) -> QuerySet[AccountPlan]:
    return (
        AccountPlan.objects.visible_to(user)
        .select_related("account", "owner", "standard")
        .order_by("-fiscal_year", "account__name", "id")
    )


def plan_get(*, user: Any, pk: int) -> AccountPlan:
    """A plan with objectives (and their % complete inputs), actions and reviews, in 5 queries."""
    return (
        AccountPlan.objects.visible_to(user)
        .select_related("account", "owner", "standard", "approved_by")
        .prefetch_related(
            Prefetch(
                "objectives", queryset=PlanObjective.objects.with_progress().select_related("owner").order_by("due_on", "id")
            ),
            Prefetch(
                "actions",
                queryset=PlanAction.objects.select_related("owner_user", "owner_contact", "objective").order_by("due_on", "id"),
            ),
            Prefetch("reviews", queryset=PlanReview.objects.prefetch_related("commitments").order_by("scheduled_on", "id")),
        )
        .get(pk=pk)
    )


def whitespace_headroom(*, plan_ids: Iterable[int]) -> dict[int, dict[str, Decimal]]:
    """Headroom per plan and currency (DOMAIN.md §7.2): ``Σ max(0, est_total_spend − our_annual_value)``
    over the plan's cells, in one GROUP BY query. Plans without cells are absent; cells in another
    currency than the account's add up separately (nothing is converted here)."""
    money = DecimalField(max_digits=20, decimal_places=2)
    rows = (
        WhitespaceCell.objects.filter(plan_id__in=list(plan_ids))
        .values("plan_id", "currency")
        .annotate(
            headroom=Coalesce(
                Sum(Greatest(F("est_total_spend") - F("our_annual_value"), Value(Decimal("0")), output_field=money)),
                Value(Decimal("0")),
                output_field=money,
            )
        )
        .order_by("plan_id", "currency")
    )
    result: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        result.setdefault(row["plan_id"], {})[row["currency"]] = row["headroom"]
    return result


def whitespace_cells(*, user: Any, plan: AccountPlan) -> QuerySet[WhitespaceCell]:
    return WhitespaceCell.objects.visible_to(user).filter(plan=plan).order_by("buying_centre", "offering", "id")


def benchmark_case_search(*, user: Any, tag: str = "", text: str = "") -> QuerySet[BenchmarkCase]:
    """Cases of visible accounts, plus every case approved for reference or public (§7.6: reusable)."""
    from django.db.models import Q

    from accounts.visibility import visible_account_ids

    ids = visible_account_ids(user)
    qs = BenchmarkCase.objects.all()
    if ids is not None:
        qs = qs.filter(Q(account_id__in=ids) | Q(approval_status__in=["approved_for_reference", "public"]))
    if tag:
        qs = qs.filter(tags__contains=[tag])
    if text:
        qs = qs.filter(Q(title__icontains=text) | Q(problem__icontains=text) | Q(solution__icontains=text))
    return qs.select_related("account").order_by("-published_on", "-id")


def team_missing_roles(*, account: Any, roles: Iterable[str]) -> list[str]:
    """The team roles the active service standard of the account's tier requires and ``roles`` (the
    team's) lack, in the standard's order (DOMAIN.md §7.5: T1 needs KAM, executive sponsor and service
    lead — a warning, never a refusal). The owner is the account manager. One query with a tier."""
    if not account.tier:
        return []
    required = ServiceStandard.objects.current().filter(tier=account.tier).values_list("required_roles", flat=True).first() or []
    present = {*roles, TeamRole.ACCOUNT_MANAGER}
    return [role for role in required if role not in present]
