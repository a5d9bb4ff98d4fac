"""contract_renew: the renewal carries the terms forward, the original is marked renewed, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Contract
from kam.errors import Conflict, StaleVersion
from kam.events import event_published
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    seen = []

    def receiver(sender, name, payloads, **kwargs):
        seen.append((name, payloads))

    event_published.connect(receiver, dispatch_uid="test-renew-events")
    yield seen
    event_published.disconnect(dispatch_uid="test-renew-events")


def test_renewal_carries_the_terms_forward(django_capture_on_commit_callbacks, events):
    original = ContractFactory(
        start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31), annual_value=Decimal("500000.00"), auto_renew=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        renewal = services.contract_renew(contract=original, number="C-R1", signed_on=dt.date(2025, 11, 20))
    original.refresh_from_db()
    assert (original.status, original.version) == ("renewed", 2)
    assert (renewal.renewal_of_id, renewal.account_id, renewal.status) == (original.pk, original.account_id, "active")
    assert (renewal.start_date, renewal.end_date) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert (renewal.annual_value, renewal.currency, renewal.auto_renew) == (Decimal("500000.00"), "CNY", True)
    assert renewal.signed_on == dt.date(2025, 11, 20)
    assert events == [
        ("contract.renewed", [{"contract_id": original.pk, "renewal_id": renewal.pk, "account_id": original.account_id}])
    ]


def test_renewal_terms_can_be_changed():
    original = ContractFactory(annual_value=Decimal("100.00"))
    renewal = services.contract_renew(
        contract=original, number="C-R2", annual_value=Decimal("120.00"), end_date=dt.date(2027, 12, 31)
    )
    assert (renewal.annual_value, renewal.end_date) == (Decimal("120.00"), dt.date(2027, 12, 31))


def test_a_contract_is_renewed_once():
    original = ContractFactory()
    services.contract_renew(contract=original, number="C-R3")
    with pytest.raises(Conflict, match="already been renewed"):
        services.contract_renew(contract=original, number="C-R4")
    assert Contract.objects.filter(renewal_of=original).count() == 1


@pytest.mark.parametrize("status", ["draft", "terminated"])
def test_only_active_or_expired_contracts_renew(status):
    original = ContractFactory(status=status)
    with pytest.raises(ValidationError):
        services.contract_renew(contract=original, number="C-R5")
    original.refresh_from_db()
    assert original.status == status and not Contract.objects.filter(renewal_of=original).exists()


def test_bad_renewal_dates_leave_nothing_half_written():
    original = ContractFactory()
    with pytest.raises(ValidationError) as exc:
        services.contract_renew(contract=original, number="C-R6", start_date=dt.date(2026, 6, 1), end_date=dt.date(2026, 1, 1))
    assert "end_date" in exc.value.message_dict
    original.refresh_from_db()
    assert (original.status, original.version) == ("active", 1)


def test_stale_version_is_refused():
    original = ContractFactory()
    with pytest.raises(StaleVersion):
        services.contract_renew(contract=original, number="C-R7", expected_version=5)


def test_duplicate_renewal_number_is_a_field_error():
    ContractFactory(number="TAKEN")
    original = ContractFactory(account=AccountFactory())
    with pytest.raises(ValidationError) as exc:
        services.contract_renew(contract=original, number="TAKEN")
    assert "number" in exc.value.message_dict
