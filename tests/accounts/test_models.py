"""Database constraints hold even when Python validation is bypassed (bulk loads, raw SQL)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Account, Contact, Contract, ExchangeRate, Invoice
from service_plans.models import AccountTeamMember
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def _refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_contract_end_before_start_is_refused_by_the_database():
    contract = ContractFactory()
    _refused(lambda: Contract.objects.filter(pk=contract.pk).update(end_date=dt.date(2024, 1, 1)))


def test_negative_amounts_are_refused_by_the_database():
    contract = ContractFactory()
    invoice = InvoiceFactory(account=contract.account)
    _refused(lambda: Contract.objects.filter(pk=contract.pk).update(annual_value=Decimal("-1")))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(amount=Decimal("-0.01")))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(written_off_amount=Decimal("-5")))


def test_write_off_cannot_exceed_the_invoice_or_lack_a_date():
    invoice = InvoiceFactory(amount=Decimal("100.00"))
    _refused(
        lambda: Invoice.objects.filter(pk=invoice.pk).update(
            written_off_amount=Decimal("100.01"), written_off_on=dt.date(2025, 9, 1)
        )
    )
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(written_off_amount=Decimal("50")))


def test_invoice_dates_are_ordered():
    invoice = InvoiceFactory()
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(due_on=dt.date(2025, 2, 1)))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(paid_on=dt.date(2025, 2, 1)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_rating", "F"),
        ("market_influence", 6),
        ("integration_potential", 0),
        ("relationship_stage", 9),
        ("status", "lost"),
    ],
)
def test_account_ratings_and_codes_are_in_range(field, value):
    account = AccountFactory()
    _refused(lambda: Account.objects.filter(pk=account.pk).update(**{field: value}))


def test_account_cannot_be_its_own_parent():
    account = AccountFactory()
    _refused(lambda: Account.objects.filter(pk=account.pk).update(parent=account))


def test_contract_and_invoice_numbers_are_unique():
    contract = ContractFactory(number="C-1")
    invoice = InvoiceFactory(number="I-1")
    _refused(lambda: Contract.objects.create(
        account=contract.account, number="C-1", start_date=contract.start_date, end_date=contract.end_date,
        annual_value=1, currency="CNY",
    ))  # fmt: skip
    _refused(lambda: Invoice.objects.create(
        account=invoice.account, number="I-1", issued_on=invoice.issued_on, due_on=invoice.due_on, amount=1, currency="CNY",
    ))  # fmt: skip


def test_a_contract_is_renewed_at_most_once():
    original = ContractFactory()
    ContractFactory(account=original.account, renewal_of=original, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    _refused(lambda: Contract.objects.create(
        account=original.account, number="C-dup", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
        annual_value=1, currency="CNY", renewal_of=original,
    ))  # fmt: skip


def test_one_role_per_user_per_account():
    member = TeamMemberFactory()
    _refused(lambda: AccountTeamMember.objects.create(account=member.account, user=member.user, role="finance"))


def test_contact_email_is_unique_ignoring_case():
    contact = ContactFactory(email="Li.Wei@example.com")
    from accounts.models import Contact

    _refused(lambda: Contact.objects.create(account=contact.account, name="Other", email="li.wei@EXAMPLE.com"))


def test_exchange_rate_is_positive_and_unique_per_year():
    ExchangeRate.objects.create(currency="USD", year=2025, rate_to_base=Decimal("7.1"))
    _refused(lambda: ExchangeRate.objects.create(currency="USD", year=2025, rate_to_base=Decimal("7.2")))
    _refused(lambda: ExchangeRate.objects.create(currency="EUR", year=2025, rate_to_base=Decimal("0")))


def test_money_is_decimal_with_a_currency():
    contract = ContractFactory(annual_value=Decimal("1250000.10"))
    contract.refresh_from_db()
    assert contract.annual_value == Decimal("1250000.10")
    assert isinstance(contract.annual_value, Decimal)
    assert contract.currency == "CNY"


def test_a_contact_replaced_by_themselves_is_refused_by_the_database():
    contact = ContactFactory()
    _refused(lambda: Contact.objects.filter(pk=contact.pk).update(replaced_by=contact))
    _refused(lambda: Contact.objects.filter(pk=contact.pk).update(reports_to=contact))
