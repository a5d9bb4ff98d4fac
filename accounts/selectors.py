"""Reads that back pages and reports. Each returns what the page shows in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.choices import ContractStatus
from accounts.models import Contract


def not_renewed() -> Any:
    """The condition "no contract renews this one", for a Contract queryset.

    ``renewal__isnull=True`` would LEFT JOIN the contract table to itself, which PostgreSQL answers by
    hashing every contract; NOT EXISTS probes the unique index on ``renewal_of`` for each candidate.
    """
    return ~Exists(Contract.objects.filter(renewal_of=OuterRef("pk")))


# Contracts that can still come up for renewal. Keep the list in this order: the partial index
# ``contract_open_end`` (web/migrations/0001_page_indexes.py) repeats it as its predicate.
CLOSED_CONTRACT_STATUSES = [ContractStatus.DRAFT, ContractStatus.TERMINATED, ContractStatus.RENEWED]


def renewals_due(
    *, user: Any, within_days: int, today: dt.date | None = None, contracts: QuerySet[Contract] | None = None
) -> QuerySet[Contract]:
    """Contracts of visible accounts ending within ``within_days`` that have not been renewed yet.

    ``contracts``: the user's visible contracts when the caller has already applied the visibility
    rule (``web.visible``); otherwise ``user``'s are used.
    """
    today = today or timezone.localdate()
    return (
        (contracts if contracts is not None else Contract.objects.visible_to(user))
        .filter(not_renewed(), end_date__gte=today, end_date__lte=today + dt.timedelta(days=within_days))
        .exclude(status__in=CLOSED_CONTRACT_STATUSES)
        .select_related("account")
        .order_by("end_date", "id")
    )
