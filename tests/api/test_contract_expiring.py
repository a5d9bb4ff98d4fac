"""The daily scan announcing contract.expiring at 90, 60 and 30 days, once per milestone."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.expiry import contracts_expiring_scan
from integrations.models import ContractExpiryNotice
from kam.events import event_published
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 10, 1)


@pytest.fixture
def announced(django_capture_on_commit_callbacks):
    seen: list[dict] = []

    def receiver(sender, name, payloads, **kwargs):
        if name == "contract.expiring":
            seen.extend(payloads)

    event_published.connect(receiver, dispatch_uid="test-expiring")

    def scan(today: dt.date = TODAY) -> list[dict]:
        seen.clear()
        with django_capture_on_commit_callbacks(execute=True):
            contracts_expiring_scan(today=today, milestones=[90, 60, 30])
        return sorted(seen, key=lambda p: p["contract_id"])

    yield scan
    event_published.disconnect(dispatch_uid="test-expiring")


def _ending(days: int, **kwargs):
    return ContractFactory(start_date=TODAY - dt.timedelta(days=300), end_date=TODAY + dt.timedelta(days=days), **kwargs)


def test_contracts_reaching_a_milestone_are_announced_once(announced):
    in_90 = _ending(90)
    in_95 = _ending(95)
    events = announced()
    assert events == [
        {
            "contract_id": in_90.pk,
            "account_id": in_90.account_id,
            "end_date": in_90.end_date.isoformat(),
            "days_left": 90,
            "milestone_days": 90,
        }
    ]
    assert announced() == []  # run twice the same day: nothing new
    assert announced(TODAY + dt.timedelta(days=1)) == []  # between milestones: nothing
    later = announced(TODAY + dt.timedelta(days=30))
    # the first crosses 60; the other, missed at 90 while the scan was idle, gets its 90 now
    assert [(e["contract_id"], e["milestone_days"], e["days_left"]) for e in later] == [(in_90.pk, 60, 60), (in_95.pk, 90, 65)]


def test_a_missed_scan_catches_up_with_the_nearest_milestone_only(announced):
    contract = _ending(25)
    events = announced()
    assert [(e["contract_id"], e["milestone_days"], e["days_left"]) for e in events] == [(contract.pk, 30, 25)]
    assert set(ContractExpiryNotice.objects.values_list("days", flat=True)) == {30, 60, 90}


def test_renewed_ended_and_inactive_contracts_are_not_announced(announced):
    renewed = _ending(20)
    from accounts import services

    services.contract_renew(contract=renewed, number="C-REN")
    _ending(20, status="draft")
    _ending(20, status="terminated")
    _ending(-1)
    assert [e["contract_id"] for e in announced()] == []


def test_a_new_end_date_is_announced_again(announced):
    contract = _ending(30)
    assert len(announced()) == 1
    from accounts import services

    services.contract_update(contract=contract, end_date=TODAY + dt.timedelta(days=29))
    events = announced()
    assert [(e["contract_id"], e["days_left"]) for e in events] == [(contract.pk, 29)]


def test_the_scan_costs_a_few_queries_whatever_the_portfolio(announced, django_assert_max_num_queries):
    for days in (10, 40, 70):
        for _ in range(5):
            _ending(days, account=AccountFactory())
    with django_assert_max_num_queries(10):
        events = announced()
    assert len(events) == 15
