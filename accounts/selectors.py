"""Reads that back pages and reports. Each returns what the page shows in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.choices import ContractStatus
from accounts.models import Account, Contract, Meeting


def not_renewed() -> Any:
    """The condition "no contract renews this one", for a Contract queryset.

    ``renewal__isnull=True`` would LEFT JOIN the contract table to itself, which PostgreSQL answers by
    hashing every contract; NOT EXISTS probes the unique index on ``renewal_of`` for each candidate.
    """
    return ~Exists(Contract.objects.filter(renewal_of=OuterRef("pk")))


# Contracts that can still come up for renewal. Keep the list in this order: the partial index
# ``contract_open_end`` (web/migrations/0001_page_indexes.py) repeats it as its predicate.
CLOSED_CONTRACT_STATUSES = [ContractStatus.DRAFT, ContractStatus.TERMINATED, ContractStatus.RENEWED]


def renewals_due(*, user: Any, within_days: int, today: dt.date | None = None) -> QuerySet[Contract]:
    """Contracts of visible accounts ending within ``within_days`` that have not been renewed yet."""
    today = today or timezone.localdate()
    return (
        Contract.objects.visible_to(user)
        .filter(not_renewed(), end_date__gte=today, end_date__lte=today + dt.timedelta(days=within_days))
        .exclude(status__in=CLOSED_CONTRACT_STATUSES)
        .select_related("account")
        .order_by("end_date", "id")
    )


HOME_COUNT_LIMIT = 1000


def account_home_summary(*, user: Any) -> dict[str, Any]:
    """The figures and short lists of the home page: 5 queries whatever the portfolio's size.

    The counts are one GROUP BY over (status, tier, health band), which the covering index
    ``account_status_tier_band`` answers without reading the table (web/migrations/0001_page_indexes.py).
    """
    accounts = Account.objects.visible_to(user)
    counts = dict.fromkeys(("total", "active", "t1", "t2", "red", "yellow", "green"), 0)
    for row in accounts.order_by().values("status", "tier", "health_band").annotate(n=Count("*")):
        counts["total"] += row["n"]
        counts["active"] += row["n"] if row["status"] == "active" else 0
        for key, field, value in (("t1", "tier", "T1"), ("t2", "tier", "T2")):
            counts[key] += row["n"] if row[field] == value else 0
        if row["health_band"] in ("red", "yellow", "green"):
            counts[row["health_band"]] += row["n"]
    due = renewals_due(user=user, within_days=90)
    # A whole portfolio has thousands due: stop counting at the limit ("1,000+"), like the lists do.
    found = due.order_by().values("pk")[: HOME_COUNT_LIMIT + 1].count()
    return {
        "counts": counts,
        "renewals_count": min(found, HOME_COUNT_LIMIT),
        "renewals_more": found > HOME_COUNT_LIMIT,
        "renewals": list(due[:10]),
        "top_accounts": list(
            # Unscored accounts would come first in a descending order: they are not "top" accounts.
            accounts.filter(status="active", value_score__isnull=False)
            .select_related("owner")
            .order_by("-value_score", "name", "id")[:10]
        ),
        "recent_meetings": list(Meeting.objects.visible_to(user).select_related("account").order_by("-occurred_at", "-id")[:10]),
    }
