"""The daily scan that announces ``contract.expiring`` at fixed milestones before a contract ends.

Milestones (``KAM_CONTRACT_EXPIRING_DAYS``, by default 90, 60 and 30 days) are remembered in
``ContractExpiryNotice``, so each is announced once per contract and end date even if the scan runs
twice, runs late, or misses days (it then catches up, announcing only the nearest milestone). A few
queries per milestone, whatever the portfolio's size.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.choices import ContractStatus
from accounts.models import Contract
from integrations.models import ContractExpiryNotice
from kam.events import publish_many
from kam.locks import advisory_lock


def contracts_expiring_scan(*, today: dt.date | None = None, milestones: list[int] | None = None) -> int:
    """Announce contracts that reached a milestone since the last scan. Returns how many were announced."""
    today = today or timezone.localdate()
    milestones = sorted(milestones or settings.KAM_CONTRACT_EXPIRING_DAYS)
    with advisory_lock("contracts_expiring_scan") as acquired:
        if not acquired:
            return 0
        return _scan(today, milestones)


@transaction.atomic
def _scan(today: dt.date, milestones: list[int]) -> int:
    open_contracts = Contract.objects.filter(status=ContractStatus.ACTIVE, end_date__gte=today).exclude(
        Exists(Contract.objects.filter(renewal_of=OuterRef("pk")))
    )
    nearest: dict[int, tuple[int, dt.date, int]] = {}  # contract id -> (milestone, end date, account id)
    notices = []
    for days in milestones:  # nearest first, so a contract that crossed several gets the nearest
        crossed = open_contracts.filter(end_date__lte=today + dt.timedelta(days=days)).exclude(
            Exists(ContractExpiryNotice.objects.filter(contract=OuterRef("pk"), days=days, end_date=OuterRef("end_date")))
        )
        for contract_id, end_date, account_id in crossed.values_list("id", "end_date", "account_id"):
            notices.append(ContractExpiryNotice(contract_id=contract_id, days=days, end_date=end_date))
            nearest.setdefault(contract_id, (days, end_date, account_id))
    ContractExpiryNotice.objects.bulk_create(notices, batch_size=1000, ignore_conflicts=True)
    publish_many(
        "contract.expiring",
        (
            {
                "contract_id": contract_id,
                "account_id": account_id,
                "end_date": end_date.isoformat(),
                "days_left": (end_date - today).days,
                "milestone_days": days,
            }
            for contract_id, (days, end_date, account_id) in sorted(nearest.items())
        ),
    )
    return len(nearest)
