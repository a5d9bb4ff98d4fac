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
from accounts.selectors import CLOSED_CONTRACT_STATUSES, not_renewed, renewals_due
from service_plans.models import ActionStatus, Alert, AlertTask, PlanAction, ServiceRequest, TaskStatus
from web.money import RateTable, fiscal_year_of
from web.pagination import SortKey
from web.selectors.history import Change, recent_changes
from web.visible import Visibility

RENEWAL_WINDOWS = (30, 60, 90, 180)
LIST_COUNT_LIMIT = 1000


def _open_contracts() -> QuerySet[Contract]:
    return Contract.objects.filter(not_renewed()).exclude(status__in=CLOSED_CONTRACT_STATUSES)


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


def account_list_queryset(*, user: Any, today: dt.date | None = None, visible: Visibility | None = None) -> QuerySet[Account]:
    """Visible accounts with what the list shows; the FilterSet narrows it, the paginator orders it.

    The next renewal date is a correlated subquery in the SELECT list, so PostgreSQL evaluates it
    only for the rows of the page, not for the whole table. With ``visible`` (the page's
    ``web.visible.Visibility``) a manager's list walks the sort's index and checks each account
    against the ids, stopping after a page, instead of joining and sorting their whole book.
    """
    today = today or timezone.localdate()
    next_renewal = (
        _open_contracts().filter(account=OuterRef("pk"), end_date__gte=today).order_by("end_date").values("end_date")[:1]
    )
    accounts = visible.filter(Account.objects.all()) if visible is not None else Account.objects.visible_to(user)
    return accounts.select_related("owner").annotate(next_renewal_on=Subquery(next_renewal))


# --- Home -----------------------------------------------------------------------------------------
#
# The home page reads the visibility rule once (``web.visible``) and filters each of its queries by
# the ids: with the rule's subquery in every query, PostgreSQL planned each of them from the whole
# book (2,400 accounts for a manager at 100,000 accounts) and took 30–110 ms per list.


def sla_breaching_requests(*, visible: Visibility, now: dt.datetime) -> QuerySet[ServiceRequest]:
    """Open service requests past a first-response or resolution target (DOMAIN.md §4.11)."""
    late_response = Q(first_response_at__isnull=True, first_response_due_at__lt=now)
    late_resolution = Q(resolution_due_at__lt=now)
    return (
        visible.filter(ServiceRequest.objects.all())
        .filter(Q(resolved_at__isnull=True) & (late_response | late_resolution))
        .select_related("account")
        .order_by("first_response_due_at", "resolution_due_at", "id")
    )


DUE_SOON_DAYS = 14
HOME_ROWS = 8
HOME_COUNT_LIMIT = 100
HOME_RENEWALS_LIMIT = 1000
HOME_BREACHING_ROWS = 10


def my_tasks_due(*, user: Any, visible: Visibility, today: dt.date) -> QuerySet[AlertTask]:
    """The user's open playbook tasks due within two weeks or overdue, on accounts they may see."""
    return (
        visible.filter(AlertTask.objects.all())
        .filter(owner=user, status=TaskStatus.OPEN, due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
        .select_related("alert__account")
        .order_by("due_on", "id")
    )


def my_actions_due(*, user: Any, visible: Visibility, today: dt.date) -> QuerySet[PlanAction]:
    """The user's open plan actions due within two weeks or overdue (index ``plan_action_owner_due``)."""
    return (
        visible.filter(PlanAction.objects.all())
        .filter(owner_user=user, status=ActionStatus.OPEN, due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
        .select_related("plan__account")
        .order_by("due_on", "id")
    )


def my_open_alerts(*, user: Any, visible: Visibility) -> QuerySet[Alert]:
    """The user's open alerts, most urgent first: the stored priority codes sort critical, high,
    medium, so the index ``alert_owner_open`` returns them in order (no sort of the whole set)."""
    return visible.filter(Alert.objects.open()).filter(owner=user).select_related("account").order_by("priority", "due_on", "id")


def home_summary(*, visible: Visibility, today: dt.date) -> dict[str, Any]:
    """The figures and short lists at the top of the home page: 4 queries whatever the portfolio's size.

    The counts are one GROUP BY over (status, tier, health band), which the covering index
    ``account_status_tier_band`` answers without reading the table (web/migrations/0001_page_indexes.py).
    """
    accounts = visible.filter(Account.objects.all())
    counts = dict.fromkeys(("total", "active", "t1", "t2", "red", "yellow", "green"), 0)
    for row in accounts.order_by().values("status", "tier", "health_band").annotate(n=Count("*")):
        counts["total"] += row["n"]
        counts["active"] += row["n"] if row["status"] == "active" else 0
        for key, field, value in (("t1", "tier", "T1"), ("t2", "tier", "T2")):
            counts[key] += row["n"] if row[field] == value else 0
        if row["health_band"] in ("red", "yellow", "green"):
            counts[row["health_band"]] += row["n"]
    due = renewals_due(user=None, contracts=visible.filter(Contract.objects.all()), within_days=90, today=today)
    # The ids in date order, from the index ``contract_open_end`` alone (its INCLUDE columns answer
    # the visibility test); a whole portfolio has thousands due: stop at the limit ("1,000+"). Then
    # the 10 shown, by id: reading whole rows while looking for them cost a heap visit for every
    # contract of the period, most of them renewed already.
    due_ids = list(due.values_list("pk", flat=True)[: HOME_RENEWALS_LIMIT + 1])
    return {
        "counts": counts,
        "renewals_count": min(len(due_ids), HOME_RENEWALS_LIMIT),
        "renewals_more": len(due_ids) > HOME_RENEWALS_LIMIT,
        "renewals": list(Contract.objects.filter(pk__in=due_ids[:10]).select_related("account").order_by("end_date", "id")),
        "top_accounts": list(
            # Unscored accounts would come first in a descending order: they are not "top" accounts.
            accounts.filter(status="active", value_score__isnull=False)
            .select_related("owner")
            .order_by("-value_score", "name", "id")[:10]
        ),
        "recent_meetings": list(
            visible.filter(Meeting.objects.all()).select_related("account").order_by("-occurred_at", "-id")[:10]
        ),
    }


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


def _first_and_count(queryset: QuerySet, shown: int, limit: int) -> tuple[list[Any], int, bool]:
    """The first ``shown`` rows and the number of rows up to ``limit`` ("100+"), from one query of at
    most ``limit + 1`` rows instead of a list query and a count query."""
    rows = list(queryset[: limit + 1])
    return rows[:shown], min(len(rows), limit), len(rows) > limit


def home_page(*, user: Any, now: dt.datetime | None = None) -> HomePage:
    now = now or timezone.now()
    today = timezone.localdate(now)
    visible = Visibility.of(user)
    summary = home_summary(visible=visible, today=today)
    rates = RateTable.load()
    fy_now = fiscal_year_of(today)
    breaching, breaching_count, breaching_more = _first_and_count(
        sla_breaching_requests(visible=visible, now=now), HOME_BREACHING_ROWS, HOME_COUNT_LIMIT
    )
    # One row more than shown tells whether there are more, without a count query.
    tasks = list(my_tasks_due(user=user, visible=visible, today=today)[: HOME_ROWS + 1])
    actions = list(my_actions_due(user=user, visible=visible, today=today)[: HOME_ROWS + 1])
    alerts, alerts_count, alerts_more = _first_and_count(my_open_alerts(user=user, visible=visible), HOME_ROWS, HOME_COUNT_LIMIT)
    return HomePage(
        summary=summary,
        renewal_values={c.pk: rates.convert(c.annual_value, c.currency, fy_now) for c in summary["renewals"]},
        upcoming_meetings=list(
            visible.filter(Meeting.objects.all())
            .filter(occurred_at__gt=now)
            .select_related("account")
            .order_by("occurred_at", "id")[:5]
        ),
        breaching=breaching,
        breaching_count=breaching_count,
        breaching_more=breaching_more,
        changes=recent_changes(account_filter=visible.q, limit=10),
        base_currency=rates.base,
        missing_rates=rates.missing_labels,
        tasks=tasks[:HOME_ROWS],
        tasks_more=len(tasks) > HOME_ROWS,
        actions=actions[:HOME_ROWS],
        actions_more=len(actions) > HOME_ROWS,
        alerts=alerts,
        alerts_count=(alerts_count, alerts_more),
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
