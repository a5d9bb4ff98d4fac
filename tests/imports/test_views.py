"""The import pages: upload → map → check → confirm → result; lists, downloads, visibility."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Contract
from imports.models import ImportRecord, ImportStatus
from tests.imports.conftest import csv_bytes, run_import

pytestmark = pytest.mark.django_db

GOOD = [["合同编号", "客户", "开始日期", "结束日期", "金额", "备注列"], ["W-1", "ACME", "2025-01-01", "2025-12-31", "100", "x"]]
BAD_ROW = ["W-2", "ACME", "2025-12-31", "2025-01-01", "-1", "y"]


def upload(client, rows, kind="contracts", name="contracts.csv"):
    return client.post(
        reverse("imports:upload"), {"kind": kind, "file": SimpleUploadedFile(name, csv_bytes(rows, encoding="gbk"))}
    )


def no_inline_code(html):
    """CSP: no inline script, no inline style attribute, no event handler attributes."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_upload_map_check_confirm_result(manager_client, account_manager, acme):
    page = manager_client.get(reverse("imports:upload"))
    assert page.status_code == 200
    no_inline_code(page.text)

    response = upload(manager_client, [*GOOD, BAD_ROW])
    record = ImportRecord.objects.get()
    assert response.url == reverse("imports:detail", args=[record.pk])
    assert (record.user, record.encoding, record.status) == (account_manager, "gb18030", ImportStatus.UPLOADED)

    page = manager_client.get(response.url)
    no_inline_code(page.text)
    # Chinese headers are recognised and pre-selected; the unknown column is left out.
    assert re.search(r'name="col_number"[^>]*>.*?<option value="合同编号" selected>', page.text, re.S)
    assert re.search(r'name="col_annual_value"[^>]*>.*?<option value="金额" selected>', page.text, re.S)
    assert "备注列" in page.text

    mapping = {f"col_{k}": v for k, v in record.mapping.items()}
    page = manager_client.post(response.url, mapping, follow=True)
    record.refresh_from_db()
    assert (record.status, record.is_dry_run, record.error_count) == (ImportStatus.INVALID, True, 2)
    assert "The end date cannot be before the start date." in page.text
    assert "Ensure this value is greater than or equal to 0." in page.text
    assert Contract.objects.count() == 0

    report = manager_client.get(reverse("imports:error_report", args=[record.pk]))
    assert report["Content-Type"].startswith("text/csv")
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,message"
    assert lines[1:] == [
        "3,结束日期,2025-01-01,The end date cannot be before the start date.",
        "3,金额,-1,Ensure this value is greater than or equal to 0.",
    ]

    # A corrected file: check, then confirm.
    manager_client.post(reverse("imports:upload"), {"kind": "contracts", "file": SimpleUploadedFile("ok.csv", csv_bytes(GOOD))})
    record = ImportRecord.objects.latest("pk")
    page = manager_client.post(
        reverse("imports:detail", args=[record.pk]), {f"col_{k}": v for k, v in record.mapping.items()}, follow=True
    )
    record.refresh_from_db()
    assert record.status == ImportStatus.VALIDATED
    assert "Importing it will create 1, update 0 and leave 0 unchanged." in page.text
    page = manager_client.post(reverse("imports:confirm", args=[record.pk]), follow=True)
    record.refresh_from_db()
    assert (record.status, record.is_dry_run, record.created_count) == (ImportStatus.DONE, False, 1)
    assert "Imported 1 rows: 1 created, 0 updated, 0 unchanged." in page.text
    assert Contract.objects.get().number == "W-1"


def test_mapping_errors_are_shown_on_the_form(manager_client, acme):
    upload(manager_client, GOOD)
    record = ImportRecord.objects.get()
    page = manager_client.post(reverse("imports:detail", args=[record.pk]), {"col_number": "合同编号", "col_account": "合同编号"})
    assert page.status_code == 200
    assert "is already used for" in page.text
    assert "This column is required" in page.text
    record.refresh_from_db()
    assert record.status == ImportStatus.UPLOADED


def test_confirm_needs_a_clean_check_first(manager_client, acme):
    upload(manager_client, GOOD)
    record = ImportRecord.objects.get()
    manager_client.post(reverse("imports:confirm", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == ImportStatus.UPLOADED
    assert Contract.objects.count() == 0


def test_a_file_that_is_not_a_spreadsheet_says_so(manager_client):
    manager_client.post(reverse("imports:upload"), {"kind": "accounts", "file": SimpleUploadedFile("x.pdf", b"%PDF-1.4 binary")})
    record = ImportRecord.objects.get()
    page = manager_client.get(reverse("imports:detail", args=[record.pk]))
    assert record.status == ImportStatus.INVALID
    assert "This file is not a spreadsheet" in page.text


def test_a_large_file_shows_progress_while_it_runs(manager_client, acme, settings, django_capture_on_commit_callbacks):
    settings.KAM_IMPORT_INLINE_MAX_ROWS = 0
    upload(manager_client, GOOD)
    record = ImportRecord.objects.get()
    ImportRecord.objects.filter(pk=record.pk).update(status=ImportStatus.RUNNING)
    page = manager_client.get(reverse("imports:detail", args=[record.pk]))
    assert f'hx-get="{reverse("imports:progress", args=[record.pk])}"' in page.text
    partial = manager_client.get(reverse("imports:progress", args=[record.pk]))
    assert 'hx-trigger="every 2s"' in partial.text and "<progress" in partial.text
    ImportRecord.objects.filter(pk=record.pk).update(status=ImportStatus.UPLOADED)
    # The job path (run eagerly here): the record is checked through a JobRun.
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("imports:detail", args=[record.pk]), {f"col_{k}": v for k, v in record.mapping.items()})
    record.refresh_from_db()
    assert (record.status, record.job.status, record.job.progress) == (ImportStatus.VALIDATED, "done", 100)
    finished = manager_client.get(reverse("imports:progress", args=[record.pk]))
    assert (finished.status_code, finished["HX-Refresh"]) == (204, "true")


def test_managers_see_their_own_imports_and_administrators_see_all(client, account_manager, other_manager, admin_user, acme):
    mine = run_import("contracts", csv_bytes(GOOD), user=account_manager, dry_run=True)
    theirs = run_import("contracts", csv_bytes(GOOD), user=other_manager, dry_run=True)
    client.force_login(account_manager)
    listing = client.get(reverse("imports:list"))
    assert reverse("imports:detail", args=[mine.pk]) in listing.text
    assert reverse("imports:detail", args=[theirs.pk]) not in listing.text
    no_inline_code(listing.text)
    for name in ("imports:detail", "imports:error_report", "imports:progress"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("imports:confirm", args=[theirs.pk])).status_code == 404
    client.force_login(admin_user)
    listing = client.get(reverse("imports:list"))
    assert reverse("imports:detail", args=[theirs.pk]) in listing.text and "am_other" in listing.text


def test_executives_are_told_they_cannot_import(client, executive):
    client.force_login(executive)
    page = client.get(reverse("imports:upload"))
    assert "Your role cannot import data." in page.text


def test_pages_read_in_chinese(manager_client, acme):
    upload(manager_client, GOOD)
    record = ImportRecord.objects.get()
    page = manager_client.get(reverse("imports:detail", args=[record.pk]), headers={"accept-language": "zh-hans"})
    assert "映射文件的列" in page.text
    assert "导入" in manager_client.get(reverse("imports:list"), headers={"accept-language": "zh-hans"}).text


def test_export_downloads_in_the_import_format(manager_client, acme, hidden):
    response = manager_client.get(reverse("imports:export", args=["accounts", "csv"]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("external_id,name,parent,owner")
    assert "ACME" in body and "HID" not in body
    xlsx = manager_client.get(reverse("imports:export", args=["accounts", "xlsx"]))
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert manager_client.get(reverse("imports:export", args=["nothing", "csv"])).status_code == 404


def test_login_is_required(client):
    assert client.get(reverse("imports:list")).status_code == 302
