"""Imports and exports (issue 8): 100,000 account rows and 100,000 contract rows from CSV, each
under 60 s and 1 GiB; an export of 100,000 accounts under 20 s.

The import cases add rows to the dataset (new accounts under the scale's size; contracts on its
existing accounts), time the command-line path (a job run in this process), re-import the same
file (every row unchanged), then delete what they added so the dataset stays reusable.
"""

from __future__ import annotations

import io
import time
from typing import Any

from bench.registry import case

PREFIX = "BENCHIMP"


def _cleanup() -> None:
    from django.db import connection, transaction

    like = f"{PREFIX}%"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_historicalcontract WHERE number LIKE %s", [like])
        cursor.execute("DELETE FROM accounts_contract WHERE number LIKE %s", [like])
        cursor.execute("DELETE FROM accounts_historicalaccount WHERE external_id LIKE %s", [like])
        cursor.execute(
            "DELETE FROM accounts_accountancestry WHERE descendant_id IN (SELECT id FROM accounts_account WHERE external_id LIKE %s)",
            [like],
        )
        cursor.execute("UPDATE accounts_account SET parent_id = NULL, group_root_id = NULL WHERE external_id LIKE %s", [like])
        cursor.execute("DELETE FROM accounts_account WHERE external_id LIKE %s", [like])
        records = "SELECT id FROM imports_importrecord WHERE file_name = %s"
        cursor.execute(f"DELETE FROM imports_importfile WHERE record_id IN ({records})", [f"{PREFIX}.csv"])
        cursor.execute("DELETE FROM imports_importrecord WHERE file_name = %s", [f"{PREFIX}.csv"])


def _import(kind: str, content: bytes) -> tuple[float, Any]:
    from imports.models import ImportRecord
    from imports.services import import_record_create
    from kam.jobs import job_execute
    from kam.models import JobKind, JobRun

    start = time.perf_counter()
    record = import_record_create(user=None, kind=kind, file_name=f"{PREFIX}.csv", content=content)
    job = JobRun.objects.create(kind=JobKind.IMPORT_DATA, params={"record_id": record.pk, "dry_run": False})
    job_execute(job.pk)
    seconds = time.perf_counter() - start
    record = ImportRecord.objects.get(pk=record.pk)
    assert record.status == "done", (record.message, record.errors[:5])
    return seconds, record


def _result(kind: str, content: bytes, rows: int) -> dict[str, Any]:
    _cleanup()
    try:
        first_s, first = _import(kind, content)
        again_s, again = _import(kind, content)
    finally:
        _cleanup()
    assert (first.created_count, again.unchanged_count) == (rows, rows)
    return {
        "median_s": first_s,
        "p95_s": first_s,
        "runs": 1,
        "rows": rows,
        "check_s": first.timings.get("check"),
        "write_s": first.timings.get("write"),
        "reimport_unchanged_s": round(again_s, 2),
    }


@case("import_accounts_csv", target="100,000 rows < 60 s, < 1 GiB")
def import_accounts(*, scale: Any) -> dict[str, Any]:
    from imports.samples import accounts_csv

    rows = scale.accounts
    return _result("accounts", accounts_csv(rows, owner="manager1", prefix=PREFIX), rows)


@case("import_contracts_csv", target="100,000 rows < 60 s, < 1 GiB")
def import_contracts(*, scale: Any) -> dict[str, Any]:
    from accounts.models import Account
    from imports.samples import contracts_csv

    refs = list(Account.objects.exclude(external_id="").values_list("external_id", flat=True)[: scale.accounts])
    rows = scale.accounts
    return _result("contracts", contracts_csv(rows, prefix=PREFIX, account_refs=refs), rows)


@case("export_accounts_csv", target="100,000 accounts < 20 s")
def export_accounts(*, scale: Any) -> dict[str, Any]:
    from imports.exports import export_rows, write_csv

    class Sink(io.RawIOBase):
        size = 0

        def write(self, data: bytes) -> int:
            self.size += len(data)
            return len(data)

    sink = Sink()
    start = time.perf_counter()
    rows = write_csv(sink, "accounts", export_rows("accounts"))
    seconds = time.perf_counter() - start
    return {"median_s": seconds, "p95_s": seconds, "runs": 1, "rows": rows, "bytes": sink.size}


def _list_export(url: str) -> dict[str, Any]:
    """A list export through its page's URL, as the executive (every row), the body read to the end."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="exec"))
    start = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = sum(len(part) for part in response.streaming_content)
    seconds = time.perf_counter() - start
    return {"median_s": seconds, "p95_s": seconds, "runs": 1, "bytes": size, "url": url}


@case("export_list_contracts_csv", target="every contract < 20 s")
def export_list_contracts_csv(*, scale: Any) -> dict[str, Any]:
    return _list_export("/exports/contracts/?format=csv")


@case("export_list_accounts_xlsx", target="100,000 accounts < 60 s")
def export_list_accounts_xlsx(*, scale: Any) -> dict[str, Any]:
    return _list_export("/exports/accounts/?format=xlsx")
