"""Bad input is refused with a message naming the field, and nothing is written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Account, Contact, Contract, Invoice
from kam.errors import StaleVersion
from tests.factories import AccountFactory, ContactFactory, ContractFactory, ExchangeRateFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def _field_errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_hierarchy_cycle_is_refused_and_nothing_changes(account_manager):
    group = AccountFactory(owner=account_manager, name="Group")
    child = AccountFactory(owner=account_manager, parent=group)
    grandchild = AccountFactory(owner=account_manager, parent=child)
    with pytest.raises(ValidationError) as exc:
        services.account_update(account=group, parent=grandchild)
    assert "parent" in _field_errors(exc)
    assert "subsidiaries" in _field_errors(exc)["parent"][0]
    group.refresh_from_db()
    assert group.parent_id is None
    assert group.version == 1


def test_account_cannot_be_its_own_parent(account_manager):
    account = AccountFactory(owner=account_manager)
    with pytest.raises(ValidationError) as exc:
        services.account_update(account=account, parent=account)
    assert "parent" in _field_errors(exc)


def test_end_before_start_is_refused_with_the_field_named():
    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        services.contract_create(
            account=account, number="C-9", start_date=dt.date(2025, 6, 1), end_date=dt.date(2025, 5, 31),
            annual_value=Decimal("10"), currency="CNY",
        )  # fmt: skip
    assert _field_errors(exc)["end_date"] == ["The end date cannot be before the start date."]
    assert not Contract.objects.exists()


def test_negative_amount_is_refused():
    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        services.invoice_create(
            account=account, number="I-9", issued_on=dt.date(2025, 1, 1), due_on=dt.date(2025, 1, 31),
            amount=Decimal("-100"), currency="CNY",
        )  # fmt: skip
    assert "amount" in _field_errors(exc)
    assert not Invoice.objects.exists()


def test_duplicate_contract_number_is_refused():
    existing = ContractFactory(number="KAM-2025-001")
    with pytest.raises(ValidationError) as exc:
        services.contract_create(
            account=existing.account, number="KAM-2025-001", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
            annual_value=Decimal("10"), currency="CNY",
        )  # fmt: skip
    assert "number" in _field_errors(exc)
    assert Contract.objects.count() == 1


def test_unknown_currency_without_exchange_rate_is_refused():
    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        services.contract_create(
            account=account, number="C-USD", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
            annual_value=Decimal("10"), currency="USD",
        )  # fmt: skip
    assert "Unknown currency USD" in _field_errors(exc)["currency"][0]
    ExchangeRateFactory(currency="USD", year=2025)
    contract = services.contract_create(
        account=account, number="C-USD", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
        annual_value=Decimal("10"), currency="USD",
    )  # fmt: skip
    assert contract.currency == "USD"


def test_malformed_currency_code_is_refused(account_manager):
    with pytest.raises(ValidationError) as exc:
        services.account_create(owner=account_manager, name="X", currency="yuan")
    assert "currency" in _field_errors(exc)
    assert not Account.objects.exists()


def test_invoice_contract_must_belong_to_the_same_account():
    contract = ContractFactory()
    other = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        InvoiceFactory(account=other, contract=contract)
    assert "contract" in _field_errors(exc)


def test_contact_must_report_to_someone_of_the_same_account():
    boss = ContactFactory()
    with pytest.raises(ValidationError) as exc:
        ContactFactory(reports_to=boss)  # a new account by default
    assert "reports_to" in _field_errors(exc)
    assert Contact.objects.count() == 1


def test_a_contacts_replacement_is_a_colleague_not_themselves():
    leaver = ContactFactory()
    colleague = ContactFactory(account=leaver.account)
    with pytest.raises(ValidationError) as exc:
        services.contact_update(contact=leaver, replaced_by=ContactFactory())  # a new account by default
    assert _field_errors(exc) == {"replaced_by": ["The replacement must be a contact of the same account."]}
    with pytest.raises(ValidationError) as exc:
        services.contact_update(contact=leaver, replaced_by=leaver)
    assert _field_errors(exc) == {"replaced_by": ["A contact cannot be replaced by themselves."]}
    leaver = services.contact_update(contact=leaver, is_active=False, replaced_by=colleague)
    assert (leaver.replaced_by, leaver.version) == (colleague, 2)


def test_contact_buying_roles_are_set_and_unknown_ones_refused():
    contact = ContactFactory(buying_roles=["economic_buyer", "approver"])
    assert set(contact.buying_roles.values_list("code", flat=True)) == {"economic_buyer", "approver"}
    with pytest.raises(ValidationError) as exc:
        services.contact_update(contact=contact, buying_roles=["king_maker"])
    assert "buying_roles" in _field_errors(exc)
    assert set(contact.buying_roles.values_list("code", flat=True)) == {"economic_buyer", "approver"}


def test_update_bumps_the_version_and_refuses_a_stale_one(account_manager):
    account = AccountFactory(owner=account_manager)
    updated = services.account_update(account=account, expected_version=1, region="North China")
    assert (updated.version, updated.region) == (2, "North China")
    with pytest.raises(StaleVersion) as exc:
        services.account_update(account=account, expected_version=1, region="South China")
    assert exc.value.current_version == 2
    account.refresh_from_db()
    assert account.region == "North China"


def test_changes_are_recorded_in_history_with_the_actor(account_manager):
    account = AccountFactory(owner=account_manager)
    services.account_update(account=account, actor=account_manager, region="West")
    latest = account.history.first()
    assert latest.region == "West"
    assert latest.history_user == account_manager
    assert account.history.count() == 2
