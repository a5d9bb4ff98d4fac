"""manage.py import_data and export_data."""

import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from accounts.models import Account, Contract
from imports.models import ImportRecord, ImportStatus
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts_csv(tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes([["客户编号", "客户全称", "负责人"], ["CLI-1", "命令行客户", "am_owner"]], encoding="gbk"))
    return path


def test_dry_run_then_real_run(accounts_csv, account_manager, capsys):
    mapping = json.dumps({"客户全称": "name"})
    call_command("import_data", str(accounts_csv), "--kind", "accounts", "--dry-run", "--mapping", mapping, "--no-progress")
    out = capsys.readouterr().out
    assert "'客户全称' → name" in out and "1 rows: 1 created, 0 updated, 0 unchanged (would be); 0 errors" in out
    assert not Account.objects.exists()
    call_command(
        "import_data", str(accounts_csv), "--kind", "accounts", "--mapping", mapping, "--user", "am_owner", "--no-progress"
    )
    assert "1 created" in capsys.readouterr().out
    account = Account.objects.get()
    assert (account.name, account.owner) == ("命令行客户", account_manager)
    record = ImportRecord.objects.latest("pk")
    assert (record.user, record.status, record.job.status) == (account_manager, ImportStatus.DONE, "done")


def test_errors_fail_the_command_and_write_the_report(tmp_path, account_manager, acme):
    source = tmp_path / "contracts.csv"
    source.write_bytes(
        csv_bytes(
            [["number", "account", "start_date", "end_date", "annual_value"], ["E-1", "ACME", "2025-02-01", "2025-01-01", "5"]]
        )
    )
    report = tmp_path / "errors.csv"
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_data", str(source), "--kind", "contracts", "--user", "am_owner", "--errors", str(report), "--no-progress"
        )
    assert (
        report.read_text(encoding="utf-8-sig").splitlines()[1]
        == "2,end_date,2025-01-01,The end date cannot be before the start date."
    )
    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "ghost"], "No user named 'ghost'"),
        (["--mapping", "{not json"], "--mapping is not valid JSON"),
        (["--mapping", '{"nope": "name"}'], "The file has no column “nope”"),
        (["--mapping", '{"客户全称": "colour"}'], "Unknown column name: colour"),
    ],
)
def test_bad_arguments_are_clear(accounts_csv, account_manager, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_data", str(accounts_csv), "--kind", "accounts", "--no-progress", *args)


def test_a_file_that_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CommandError, match="not a spreadsheet"):
        call_command("import_data", str(path), "--kind", "accounts", "--no-progress")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_data_writes_what_import_data_reads_back(tmp_path, acme, admin_user, fmt, capsys):
    out = tmp_path / f"accounts.{fmt}"
    call_command("export_data", str(out), "--kind", "accounts")
    assert "1 rows written" in capsys.readouterr().out
    if fmt == "xlsx":
        assert next(load_workbook(out, read_only=True).active.iter_rows(values_only=True))[:3] == (
            "external_id",
            "name",
            "parent",
        )
    call_command("import_data", str(out), "--kind", "accounts", "--user", "admin_user", "--no-progress")
    assert "0 created, 0 updated, 1 unchanged" in capsys.readouterr().out


def test_export_to_standard_output(acme, capfdbinary):
    call_command("export_data", "-", "--kind", "accounts", "--user", "am_owner")
    assert "ACME" in capfdbinary.readouterr().out.decode("utf-8-sig")
