"""Reads behind the account manager's home page, the accounts list and the renewal pipeline.

All of them start from the visibility rule and run a fixed number of queries whatever the size of
the portfolio; lists are paged by keyset (``web.pagination``), never by OFFSET.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contract, Meeting
from accounts.selectors import CLOSED_CONTRACT_STATUSES, account_home_summary, not_renewed, renewals_due
from accounts.visibility import visible_account_ids
from service_plans.models import ActionStatus, Alert, AlertTask, PlanAction, ServiceRequest, TaskStatus
from web.money import RateTable, fiscal_year_of
from web.pagination import SortKey, count_upto
from web.selectors.history import Change, recent_changes

RENEWAL_WINDOWS = (30, 60, 90, 180)
LIST_COUNT_LIMIT = 1000


def _open_contracts() -> QuerySet[Contract]:
    return Contract.objects.filter(not_renewed()).exclude(status__in=CLOSED_CONTRACT_STATUSES)


def visible_history_filter(user: Any) -> Any:
    ids = visible_account_ids(user)
    return (lambda lookup: Q()) if ids is None else (lambda lookup: Q(**{f"{lookup}__in": ids}))


# --- Accounts list --------------------------------------------------------------------------------

ACCOUNT_SORT_KEYS = [
    SortKey("name", "name", _("Name")),
    SortKey("tier", "tier", _("Tier"), empty="blank"),
    SortKey("value_score", "value_score", _("Value score"), empty="null", kind="decimal"),
    SortKey("health_score", "health_score", _("Health"), empty="null", kind="decimal"),
    SortKey("status", "status", _("Status")),
    SortKey("industry", "industry", _("Industry")),
    SortKey("region", "region", _("Region"), empty="blank"),
    SortKey("owner", "owner__username", _("Owner")),
]


def account_list_queryset(*, user: Any, today: dt.date | None = None) -> QuerySet[Account]:
    """Visible accounts with what the list shows; the FilterSet narrows it, the paginator orders it.

    The next renewal date is a correlated subquery in the SELECT list, so PostgreSQL evaluates it
    only for the rows of the page, not for the whole table.
    """
    today = today or timezone.localdate()
    next_renewal = (
        _open_contracts().filter(account=OuterRef("pk"), end_date__gte=today).order_by("end_date").values("end_date")[:1]
    )
    return Account.objects.visible_to(user).select_related("owner").annotate(next_renewal_on=Subquery(next_renewal))


# --- Home -----------------------------------------------------------------------------------------


def sla_breaching_requests(*, user: Any, now: dt.datetime) -> QuerySet[ServiceRequest]:
    """Open service requests past a first-response or resolution target (DOMAIN.md §4.11)."""
    late_response = Q(first_response_at__isnull=True, first_response_due_at__lt=now)
    late_resolution = Q(resolution_due_at__lt=now)
    return (
        ServiceRequest.objects.visible_to(user)
        .filter(Q(resolved_at__isnull=True) & (late_response | late_resolution))
        .select_related("account")
        .order_by("first_response_due_at", "resolution_due_at", "id")
    )


DUE_SOON_DAYS = 14
HOME_ROWS = 8
HOME_COUNT_LIMIT = 100


def my_tasks_due(*, user: Any, today: dt.date) -> QuerySet[AlertTask]:
    """The user's open playbook tasks due within two weeks or overdue, on accounts they may see."""
    return (
        AlertTask.objects.visible_to(user)
        .filter(owner=user, status=TaskStatus.OPEN, due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
        .select_related("alert__account")
        .order_by("due_on", "id")
    )


def my_actions_due(*, user: Any, today: dt.date) -> QuerySet[PlanAction]:
    """The user's open plan actions due within two weeks or overdue (index ``plan_action_owner_due``)."""
    return (
        PlanAction.objects.visible_to(user)
        .filter(owner_user=user, status=ActionStatus.OPEN, due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
        .select_related("plan__account")
        .order_by("due_on", "id")
    )


def my_open_alerts(*, user: Any) -> QuerySet[Alert]:
    """The user's open alerts, most urgent first: the stored priority codes sort critical, high,
    medium, so the index ``alert_owner_open`` returns them in order (no sort of the whole set)."""
    return Alert.objects.visible_to(user).open().filter(owner=user).select_related("account").order_by("priority", "due_on", "id")


@dataclass
class HomePage:
    summary: dict[str, Any]
    renewal_values: dict[int, Decimal | None]
    upcoming_meetings: list[Meeting]
    breaching: list[ServiceRequest]
    breaching_count: int
    breaching_more: bool
    changes: list[Change]
    base_currency: str
    missing_rates: list[str]
    tasks: list[AlertTask]
    tasks_more: bool
    actions: list[PlanAction]
    actions_more: bool
    alerts: list[Alert]
    alerts_count: tuple[int, bool]
    today: dt.date


def home_page(*, user: Any, now: dt.datetime | None = None) -> HomePage:
    now = now or timezone.now()
    summary = account_home_summary(user=user)
    rates = RateTable.load()
    fy_now = fiscal_year_of(timezone.localdate(now))
    breaching_qs = sla_breaching_requests(user=user, now=now)
    breaching = list(breaching_qs[:10])
    count, more = count_upto(breaching_qs, 100)
    today = timezone.localdate(now)
    # One row more than shown tells whether there are more, without a count query.
    tasks = list(my_tasks_due(user=user, today=today)[: HOME_ROWS + 1])
    actions = list(my_actions_due(user=user, today=today)[: HOME_ROWS + 1])
    alerts = my_open_alerts(user=user)
    return HomePage(
        summary=summary,
        renewal_values={c.pk: rates.convert(c.annual_value, c.currency, fy_now) for c in summary["renewals"]},
        upcoming_meetings=list(
            Meeting.objects.visible_to(user)
            .filter(occurred_at__gt=now)
            .select_related("account")
            .order_by("occurred_at", "id")[:5]
        ),
        breaching=breaching,
        breaching_count=count,
        breaching_more=more,
        changes=recent_changes(account_filter=visible_history_filter(user), limit=10),
        base_currency=rates.base,
        missing_rates=rates.missing_labels,
        tasks=tasks[:HOME_ROWS],
        tasks_more=len(tasks) > HOME_ROWS,
        actions=actions[:HOME_ROWS],
        actions_more=len(actions) > HOME_ROWS,
        alerts=list(alerts[:HOME_ROWS]),
        alerts_count=count_upto(alerts, HOME_COUNT_LIMIT),
        today=today,
    )


# --- Renewal pipeline -----------------------------------------------------------------------------


@dataclass
class PipelineWindow:
    days: int
    count: int
    value: Decimal | None


def renewal_windows(*, user: Any, today: dt.date, rates: RateTable) -> list[PipelineWindow]:
    """Contracts due within 30/60/90/180 days and their annual value in the base currency: one query."""
    edges = {days: today + dt.timedelta(days=days) for days in RENEWAL_WINDOWS}
    aggregates: dict[str, Any] = {}
    for days, edge in edges.items():
        aggregates[f"n{days}"] = Count("id", filter=Q(end_date__lte=edge))
        aggregates[f"v{days}"] = Sum("annual_value", filter=Q(end_date__lte=edge))
    rows = list(
        renewals_due(user=user, within_days=max(RENEWAL_WINDOWS), today=today)
        .order_by()
        .values("currency")
        .annotate(**aggregates)
    )
    fy_now = fiscal_year_of(today)
    return [
        PipelineWindow(
            days=days,
            count=sum(row[f"n{days}"] for row in rows),
            value=rates.total((row[f"v{days}"], row["currency"], fy_now) for row in rows if row[f"v{days}"] is not None),
        )
        for days in RENEWAL_WINDOWS
    ]


RENEWAL_SORT_KEYS = [
    SortKey("end_date", "end_date", _("Ends"), kind="date"),
    SortKey("account", "account__name", _("Account")),
    SortKey("number", "number", _("Contract")),
]


def renewal_queryset(*, user: Any, within_days: int, today: dt.date) -> QuerySet[Contract]:
    """Contracts due within the window, with the account's last logged activity (a meeting)."""
    last_meeting = Meeting.objects.filter(account=OuterRef("account_id"), occurred_at__lte=timezone.now())
    return (
        renewals_due(user=user, within_days=within_days, today=today)
        .select_related("account", "account__owner")
        .annotate(last_activity_at=Subquery(last_meeting.order_by("-occurred_at").values("occurred_at")[:1]))
    )
