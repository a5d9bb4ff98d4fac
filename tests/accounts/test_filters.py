"""The shared FilterSets filter within what the user may see."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.filters import AccountFilterSet, InvoiceFilterSet
from accounts.models import Account, Invoice
from tests.factories import AccountFactory, ContractFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def _names(data, user):
    return set(AccountFilterSet(data, queryset=Account.objects.visible_to(user)).qs.values_list("name", flat=True))


def test_search_status_and_owner(account_manager, other_manager, executive):
    AccountFactory(name="Acme Shanghai", owner=account_manager, external_id="ERP-1")
    AccountFactory(name="Acme Beijing", owner=other_manager)
    AccountFactory(name="Zenith", owner=account_manager, status="churned")
    assert _names({"q": "acme"}, account_manager) == {"Acme Shanghai"}
    assert _names({"q": "acme"}, executive) == {"Acme Shanghai", "Acme Beijing"}
    assert _names({"q": "ERP-1"}, executive) == {"Acme Shanghai"}
    assert _names({"status": ["churned"]}, account_manager) == {"Zenith"}
    assert _names({"owner": other_manager.pk}, account_manager) == set()


def test_renewal_due_within_days(account_manager):
    today = timezone.localdate()
    soon = AccountFactory(name="Soon", owner=account_manager)
    later = AccountFactory(name="Later", owner=account_manager)
    renewed = AccountFactory(name="Renewed", owner=account_manager)
    ContractFactory(account=soon, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=20))
    ContractFactory(account=later, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=200))
    old = ContractFactory(account=renewed, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=10))
    ContractFactory(
        account=renewed, renewal_of=old, start_date=today + dt.timedelta(days=11), end_date=today + dt.timedelta(days=376)
    )
    assert _names({"renewal_due_within": 30}, account_manager) == {"Soon"}
    assert _names({"renewal_due_within": 365}, account_manager) == {"Soon", "Later"}


def test_invalid_filter_values_are_reported_per_field(account_manager):
    filterset = AccountFilterSet({"tier": ["T9"], "renewal_due_within": "soon"}, queryset=Account.objects.all())
    assert not filterset.is_valid()
    assert set(filterset.errors) == {"tier", "renewal_due_within"}


def test_overdue_invoices(account_manager):
    account = AccountFactory(owner=account_manager)
    overdue = InvoiceFactory(account=account, issued_on=dt.date(2025, 1, 1), due_on=dt.date(2025, 1, 31))
    InvoiceFactory(account=account, issued_on=dt.date(2025, 1, 1), due_on=dt.date(2025, 1, 31), paid_on=dt.date(2025, 2, 5))
    qs = InvoiceFilterSet({"is_overdue": "true"}, queryset=Invoice.objects.visible_to(account_manager)).qs
    assert list(qs) == [overdue]
