"""Reads that back pages and reports. Each returns what the page shows in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.choices import ContractStatus
from accounts.models import Account, Contract, Meeting


def renewals_due(*, user: Any, within_days: int, today: dt.date | None = None) -> QuerySet[Contract]:
    """Contracts of visible accounts ending within ``within_days`` that have not been renewed yet."""
    today = today or timezone.localdate()
    return (
        Contract.objects.visible_to(user)
        .filter(end_date__gte=today, end_date__lte=today + dt.timedelta(days=within_days), renewal__isnull=True)
        .exclude(status__in=[ContractStatus.DRAFT, ContractStatus.TERMINATED, ContractStatus.RENEWED])
        .select_related("account")
        .order_by("end_date", "id")
    )


def account_home_summary(*, user: Any) -> dict[str, Any]:
    """The figures and short lists of the home page: 5 queries whatever the portfolio's size."""
    accounts = Account.objects.visible_to(user)
    counts = accounts.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status="active")),
        t1=Count("id", filter=Q(tier="T1")),
        t2=Count("id", filter=Q(tier="T2")),
        red=Count("id", filter=Q(health_band="red")),
        yellow=Count("id", filter=Q(health_band="yellow")),
        green=Count("id", filter=Q(health_band="green")),
    )
    due = renewals_due(user=user, within_days=90)
    return {
        "counts": counts,
        "renewals_count": due.count(),
        "renewals": list(due[:10]),
        "top_accounts": list(
            accounts.filter(status="active").select_related("owner").order_by("-value_score", "name", "id")[:10]
        ),
        "recent_meetings": list(Meeting.objects.visible_to(user).select_related("account").order_by("-occurred_at", "-id")[:10]),
    }
