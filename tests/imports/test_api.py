"""``/api/v1/imports/``: upload, dry run, confirm, job progress, error report, visibility."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contract
from imports.models import ImportRecord, ImportStatus
from kam.models import JobStatus
from tests.api.conftest import token_client
from tests.imports.conftest import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db
LIST = reverse("api:import-list")
HEADER = ["number", "account", "start_date", "end_date", "annual_value"]


def contracts(n, account="ACME", prefix="A"):
    return csv_bytes([HEADER] + [[f"{prefix}-{i}", account, "2025-01-01", "2025-12-31", "100"] for i in range(n)])


def post(client, content, *, kind="contracts", name="c.csv", **data):
    return client.post(LIST, {"file": SimpleUploadedFile(name, content), "kind": kind, **data}, format="multipart")


def detail(pk):
    return reverse("api:import-detail", kwargs={"pk": pk})


def test_a_small_file_is_imported_at_once(manager_api, account_manager, acme):
    response = post(manager_api, contracts(3))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "done" and body["dry_run"] is False
    assert (body["rows_total"], body["created"], body["updated"], body["unchanged"], body["errors"]) == (3, 3, 0, 0, 0)
    assert (body["run_by"], body["progress"], body["job"], body["error_report"]) == (account_manager.username, 100, None, None)
    assert response["Location"].endswith(detail(body["id"]))
    assert Contract.objects.filter(account=acme).count() == 3
    again = post(manager_api, contracts(3))
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 3)


def test_a_dry_run_writes_nothing_and_can_be_confirmed(manager_api, acme):
    response = post(
        manager_api, xlsx_bytes([HEADER, ["X-1", "ACME", "2025-01-01", "2025-12-31", 5]]), name="c.xlsx", dry_run="true"
    )
    body = response.json()
    assert (response.status_code, body["status"], body["created"], body["file_format"]) == (201, "validated", 1, "xlsx")
    assert not Contract.objects.exists()
    confirmed = manager_api.post(reverse("api:import-confirm", kwargs={"pk": body["id"]}))
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "done")
    assert Contract.objects.get().number == "X-1"
    twice = manager_api.post(reverse("api:import-confirm", kwargs={"pk": body["id"]}))
    assert twice.status_code == 409 and "status" in twice.json()


def test_row_errors_are_listed_and_downloadable_and_nothing_is_written(manager_api, acme):
    rows = [HEADER, ["E-1", "ACME", "2025-01-01", "2025-12-31", "100"], ["E-2", "ACME", "2025-06-01", "2025-01-01", "-5"]]
    response = post(manager_api, csv_bytes(rows))
    body = response.json()
    assert (response.status_code, body["status"], body["errors"]) == (201, "invalid", 2)
    assert {(e["row"], e["column"]) for e in body["first_errors"]} == {(3, "end_date"), (3, "annual_value")}
    assert not Contract.objects.exists()
    report = manager_api.get(body["error_report"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "value", "message"] and len(lines) == 3
    assert manager_api.post(reverse("api:import-confirm", kwargs={"pk": body["id"]})).status_code == 409


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b"%PDF-1.4 binary \x00\x01\x02", "c.pdf", "not a spreadsheet"),
        (b"", "c.csv", "empty"),
        (csv_bytes([HEADER]), "c.csv", "no data rows"),
        (csv_bytes([["number", "account"], ["N-1", "ACME"]]), "c.csv", "start_date"),
    ],
)
def test_a_bad_file_is_a_400_naming_the_problem_and_leaves_nothing(manager_api, acme, content, name, needle):
    response = post(manager_api, content, name=name)
    assert response.status_code == 400, response.content
    assert needle in response.json()["file"][0]
    assert not ImportRecord.objects.exists() and not Contract.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"kind": "planets"}, "kind"), ({"mapping": "{not json"}, "mapping"), ({"mapping": '{"Nope": "number"}'}, "mapping")],
)
def test_bad_parameters_are_a_400_naming_the_field(manager_api, acme, data, field):
    response = post(manager_api, contracts(1), **data)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not ImportRecord.objects.exists()


def test_a_missing_file_is_a_400(manager_api):
    response = manager_api.post(LIST, {"kind": "contracts"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_a_column_mapping_renames_headers(manager_api, acme):
    rows = [
        ["Contract no", "account", "start_date", "end_date", "annual_value"],
        ["M-1", "ACME", "2025-01-01", "2025-12-31", "1"],
    ]
    response = post(manager_api, csv_bytes(rows), mapping='{"Contract no": "number"}')
    assert (response.status_code, response.json()["status"]) == (201, "done"), response.content
    assert response.json()["mapping"]["number"] == "Contract no"


def test_a_gbk_file_with_chinese_headers(manager_api, acme):
    rows = [["合同编号", "客户", "开始日期", "结束日期", "金额"], ["G-1", "ACME", "2025年1月1日", "2025/12/31", "1,000元"]]
    response = post(manager_api, csv_bytes(rows, encoding="gbk"))
    assert (response.status_code, response.json()["status"], response.json()["encoding"]) == (201, "done", "gb18030")
    assert Contract.objects.get().annual_value == 1000


def test_a_manager_cannot_import_into_an_account_they_cannot_see(manager_api, acme, hidden):
    response = post(manager_api, contracts(1, account="HID"))
    body = response.json()
    assert (response.status_code, body["status"], body["errors"]) == (201, "invalid", 1)
    assert "Unknown account" in body["first_errors"][0]["message"]
    assert not Contract.objects.exists()
    accounts = csv_bytes([["name", "external_id", "notes"], ["Hidden Corp", "HID", "taken over"]])
    response = post(manager_api, accounts, kind="accounts")
    # An account the manager cannot see is not theirs to update: it reads as a new one, refused as taken.
    assert Account.objects.get(external_id="HID").notes != "taken over"


def test_executives_cannot_import(executive_api, acme):
    assert post(executive_api, contracts(1)).status_code == 403


def test_a_read_only_token_cannot_import(account_manager, acme):
    assert post(token_client(account_manager, scope="read"), contracts(1)).status_code == 403


def test_imports_are_seen_by_their_author_and_administrators(manager_api, other_api, admin_api, account_manager, acme):
    mine = post(manager_api, contracts(1)).json()["id"]
    assert [r["id"] for r in manager_api.get(LIST).json()["results"]] == [mine]
    assert other_api.get(LIST).json()["results"] == []
    assert other_api.get(detail(mine)).status_code == 404
    assert other_api.get(reverse("api:import-errors", kwargs={"pk": mine})).status_code == 404
    assert other_api.post(reverse("api:import-confirm", kwargs={"pk": mine})).status_code == 404
    assert admin_api.get(detail(mine)).json()["run_by"] == account_manager.username
    assert manager_api.get(LIST, {"status": "done", "kind": "contracts"}).json()["results"][0]["id"] == mine
    assert manager_api.get(LIST, {"kind": "accounts"}).json()["results"] == []


def test_a_record_without_errors_has_no_report(manager_api, acme):
    pk = post(manager_api, contracts(1)).json()["id"]
    assert manager_api.get(reverse("api:import-errors", kwargs={"pk": pk})).status_code == 404


def test_a_large_file_runs_as_a_job_with_progress(manager_api, acme, settings, django_capture_on_commit_callbacks):
    settings.KAM_IMPORT_INLINE_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True):
        response = post(manager_api, contracts(20))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["progress"]) == ("queued", 0) and body["job"]
    after = manager_api.get(detail(body["id"])).json()  # tasks run eagerly in tests: the job has finished
    assert (after["status"], after["created"], after["progress"]) == ("done", 20, 100)
    job = manager_api.get(reverse("api:job-detail", kwargs={"pk": body["job"]})).json()
    assert (job["status"], job["progress"]) == (JobStatus.DONE, 100)
    assert Contract.objects.count() == 20


def test_the_list_costs_the_same_queries_at_n_and_5n(manager_api, acme):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert manager_api.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        post(manager_api, contracts(1, prefix=f"N{i}"))
    small = count()
    for i in range(8):
        post(manager_api, contracts(1, prefix=f"F{i}"))
    assert count() == small
    assert ImportRecord.objects.filter(status=ImportStatus.DONE).count() == 10


def test_an_idempotency_key_replays_the_upload_instead_of_importing_twice(manager_api, acme):
    first = manager_api.post(
        LIST,
        {"file": SimpleUploadedFile("c.csv", contracts(2)), "kind": "contracts"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    again = manager_api.post(
        LIST,
        {"file": SimpleUploadedFile("c.csv", contracts(2)), "kind": "contracts"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json()["id"] == first.json()["id"] and ImportRecord.objects.count() == 1
    other = manager_api.post(
        LIST,
        {"file": SimpleUploadedFile("c.csv", contracts(3)), "kind": "contracts"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert other.status_code == 422
