"""Checking is set-based: a fixed number of queries per chunk, whatever the rows in it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports import engine
from imports.models import ImportStatus
from imports.services import import_record_create, import_run
from tests.factories import AccountFactory
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(account_manager):
    # Every row below names a different account, so the lookups cannot lean on repetition.
    return [AccountFactory(external_id=f"Q-{i}", owner=account_manager) for i in range(50)]


def contracts_file(n):
    rows = [["number", "account", "start_date", "end_date", "annual_value", "renewal_of"]]
    for i in range(n):
        # Odd rows renew the row before, on the same account (renewals stay within a group).
        rows.append([f"QC-{i}", f"Q-{i // 2 % 50}", "2025-01-01", "2025-12-31", "10", f"QC-{i - 1}" if i % 2 else ""])
    return csv_bytes(rows)


def accounts_file(n):
    rows = [["external_id", "name", "parent", "owner"]]
    for i in range(n):
        parent = f"Q-{i % 50}" if i % 3 else (f"QA-{i + 1}" if i + 1 < n else "")  # some parents further down
        rows.append([f"QA-{i}", f"Account {i}", parent, "am_owner"])
    return csv_bytes(rows)


FILES = {"contracts": contracts_file, "accounts": accounts_file}


def count_queries(kind, n, user):
    record = import_record_create(user=user, kind=kind, file_name="q.csv", content=FILES[kind](n))
    with CaptureQueriesContext(connection) as captured:
        record = import_run(record=record, dry_run=True)
    assert record.status == ImportStatus.VALIDATED, record.errors
    return len(captured)


@pytest.mark.parametrize(("kind", "expected"), [("contracts", 15), ("accounts", 14)])
def test_one_chunk_costs_the_same_at_n_and_5n_rows(accounts, account_manager, django_assert_num_queries, kind, expected):
    for n in (40, 200):
        record = import_record_create(user=account_manager, kind=kind, file_name="q.csv", content=FILES[kind](n))
        with django_assert_num_queries(expected):
            import_run(record=record, dry_run=True)


@pytest.mark.parametrize("kind", ["contracts", "accounts"])
def test_queries_grow_with_chunks_not_rows(accounts, account_manager, monkeypatch, kind):
    """Per chunk at most a handful of queries (fewer once references repeat: lookups are cached)."""
    monkeypatch.setattr(engine, "CHUNK_ROWS", 20)
    one, two, ten = (count_queries(kind, n, account_manager) for n in (20, 40, 200))
    per_chunk = two - one
    assert 0 < per_chunk <= 5
    assert one + 5 * per_chunk <= ten <= one + 9 * per_chunk


@pytest.mark.parametrize("kind", ["contacts", "meetings"])
def test_exports_cost_the_same_queries_at_n_and_5n_rows(account_manager, kind, django_assert_num_queries):
    """Exports stream: one query per chunk of rows plus one per many-to-many column, whatever N."""
    from imports.exports import export_rows
    from tests.factories import ContactFactory, MeetingFactory

    account = AccountFactory(owner=account_manager)
    for n in (10, 50):
        while len(list(export_rows(kind))) < n:
            contact = ContactFactory(account=account)
            contact.buying_roles.set(["approver"])
            MeetingFactory(account=account, contacts=[contact])
        with django_assert_num_queries(1 + (1 if kind == "contacts" else 2)):
            assert len(list(export_rows(kind))) == n
