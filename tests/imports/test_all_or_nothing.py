"""A real run is all or nothing: one bad row, or a failure while writing, and nothing is committed."""

import pytest

from accounts.models import Account, AccountAncestry, Contract
from imports import writer
from imports.importers.accounts import AccountImporter
from imports.models import ImportFile, ImportFileRole, ImportRecord, ImportStatus
from imports.services import import_record_create, import_run
from tests.imports.conftest import csv_bytes, errors, run_import

pytestmark = pytest.mark.django_db


def group_rows(n):
    """``n`` accounts: a holding and subsidiaries listed before it, so the load builds a hierarchy."""
    rows = [["external_id", "name", "parent"]]
    rows += [[f"S-{i}", f"Sub {i}", "HOLD"] for i in range(n - 1)]
    rows.append(["HOLD", "Holding", ""])
    return rows


def snapshot():
    return (
        Account.objects.count(),
        AccountAncestry.objects.count(),
        Account.history.count(),
        list(Account.objects.order_by("pk").values_list("pk", "version", "region")),
    )


def test_one_bad_row_at_the_end_and_nothing_is_imported(account_manager, acme):
    before = snapshot()
    rows = group_rows(50)
    rows.append(["LAST", "Last", "NO-SUCH-PARENT"])
    record = run_import("accounts", csv_bytes(rows), user=account_manager)
    assert (record.status, record.is_dry_run) == (ImportStatus.INVALID, False)
    assert errors(record) == [(52, "parent", "Unknown account “NO-SUCH-PARENT”.")]
    assert record.created_count == 50  # what would have been created: the report says so
    assert snapshot() == before
    report = bytes(ImportFile.objects.get(record=record, role=ImportFileRole.ERROR_REPORT).content).decode("utf-8-sig")
    assert report.splitlines() == ["row,column,value,message", "52,parent,NO-SUCH-PARENT,Unknown account “NO-SUCH-PARENT”."]


def test_a_failure_after_the_hierarchy_was_written_rolls_everything_back(account_manager, acme, monkeypatch):
    """Injected after the accounts, their history and their closure rows are written, before commit."""
    before = snapshot()
    written = {}
    original = AccountImporter.after_write

    def after_write_then_fail(self, created_ids, updated_ids):
        original(self, created_ids, updated_ids)
        written["ancestry"] = AccountAncestry.objects.count()
        written["accounts"] = Account.objects.count()
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccountImporter, "after_write", after_write_then_fail)
    rows = group_rows(20)
    rows.append(["ACME", "Acme Group", "HOLD"])  # an update too: moved under the new holding
    record = import_record_create(user=account_manager, kind="accounts", file_name="g.csv", content=csv_bytes(rows))
    with pytest.raises(RuntimeError, match="disk full"):
        import_run(record=record, dry_run=False)
    assert written["accounts"] == before[0] + 20 and written["ancestry"] > before[1]  # it had been written…
    assert snapshot() == before  # …and none of it was committed
    record.refresh_from_db()
    assert (record.status, record.message) == (
        ImportStatus.FAILED, "The import failed unexpectedly and nothing was imported. The error has been logged.",
    )  # fmt: skip


def test_a_failure_writing_the_last_history_rows_rolls_back_contracts(account_manager, acme, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("history table locked")

    monkeypatch.setattr(writer, "write_history", fail)
    rows = [["number", "account", "start_date", "end_date", "annual_value"]]
    rows += [[f"C-{i}", "ACME", "2025-01-01", "2025-12-31", "1"] for i in range(30)]
    with pytest.raises(RuntimeError):
        run_import("contracts", csv_bytes(rows), user=account_manager)
    assert not Contract.objects.exists()
    assert ImportRecord.objects.get().status == ImportStatus.FAILED


def test_a_dry_run_writes_nothing_and_reports_what_would_happen(account_manager, acme):
    before = snapshot()
    record = run_import("accounts", csv_bytes(group_rows(10)), user=account_manager, dry_run=True)
    assert (record.status, record.created_count, record.updated_count) == (ImportStatus.VALIDATED, 10, 0)
    assert snapshot() == before
