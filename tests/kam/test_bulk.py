"""COPY-based bulk insert keeps every value exactly (quotes, commas, newlines, NULL vs empty)."""

from decimal import Decimal

import pytest

from accounts.models import Account
from kam.bulk import bulk_insert, next_ids, reset_sequence
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_awkward_values_round_trip():
    owner = UserFactory()
    start = next_ids(Account, 3).start
    names = ['Quote "this", please', "Line\nbreak", "\\N"]
    rows = [
        (start + i, name, owner.pk, "CNY", note, wallet)
        for i, (name, note, wallet) in enumerate(
            zip(names, ["", "x,y", "你好"], [None, Decimal("1.50"), Decimal("0")], strict=True)
        )
    ]
    columns = ("id", "name", "owner_id", "currency", "notes", "wallet_estimate_amount")
    assert bulk_insert(Account, columns, rows) == 3
    reset_sequence(Account)
    stored = list(
        Account.objects.order_by("id").values_list("name", "notes", "wallet_estimate_amount", "status", "version", "external_id")
    )
    assert stored == [
        (names[0], "", None, "active", 1, ""),
        (names[1], "x,y", Decimal("1.50"), "active", 1, ""),
        (names[2], "你好", Decimal("0"), "active", 1, ""),
    ]
    assert all(a.created_at is not None for a in Account.objects.all())  # defaults filled in
    # The sequence moved past the explicit ids: a normal insert does not collide.
    assert AccountFactory().pk > start + 2


def test_bulk_update_writes_many_rows_in_one_statement(django_assert_max_num_queries):
    from kam.bulk import bulk_update

    accounts = [AccountFactory(name=f"Account {i}") for i in range(30)]
    for i, account in enumerate(accounts):
        account.region = f"Region {i}" if i % 2 else ""
        account.wallet_estimate_amount = Decimal(i) if i % 3 else None
    with django_assert_max_num_queries(6):  # savepoint, temp table, COPY, UPDATE, DROP, release
        assert bulk_update(Account, accounts, ["region", "wallet_estimate_amount"]) == 30
    stored = dict(Account.objects.values_list("pk", "region"))
    assert all(stored[a.pk] == a.region for a in accounts)
    assert Account.objects.get(pk=accounts[3].pk).wallet_estimate_amount is None
    assert Account.objects.get(pk=accounts[4].pk).wallet_estimate_amount == Decimal(4)
    assert bulk_update(Account, [], ["region"]) == 0


def test_copy_csv_converts_each_type_as_postgresql_reads_it():
    """The converters are chosen by exact type; subclasses (a TextChoices member, a datetime) and
    JSON columns must come out as before."""
    import csv
    import datetime as dt

    from django.utils import timezone

    from kam.bulk import _csv_buffer
    from tiering.choices import TierChangeReason

    at = timezone.make_aware(dt.datetime(2025, 6, 30, 12, 30))
    row = (None, True, False, Decimal("1.50"), dt.date(2025, 6, 30), at, 7, 2.5, "", TierChangeReason.PROMOTED, [{"a": None}])
    text = _csv_buffer([row], {10: None}).getvalue()
    assert text.split(",", 1)[0] == ""  # NULL: empty and unquoted
    assert next(csv.reader([text])) == [
        "", "t", "f", "1.50", "2025-06-30", at.isoformat(), "7", "2.5", "", "promoted", '[{"a":null}]',
    ]  # fmt: skip
