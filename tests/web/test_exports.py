"""``/exports/<list>/``: every list and KPI table as CSV and XLSX, filtered, visible rows only,
streamed, at a constant query count; the importable kinds import back unchanged."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportStatus
from reports.models import KpiRun, KpiValue
from reports.services import kpi_target_create
from service_plans.models import Notification
from service_plans.services import alerts as alert_services
from service_plans.services import delivery, sla
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, MeetingFactory
from tests.imports.conftest import run_import
from web.exports import EXPORTS

pytestmark = pytest.mark.django_db
IMPORTABLE = {
    "accounts": "accounts",
    "contacts": "contacts",
    "contracts": "contracts",
    "invoices": "invoices",
    "meetings": "meetings",
    "survey-responses": "survey_responses",
}


def url(name, **params):
    return reverse("web:list_export", kwargs={"name": name}), params


def get(client, name, **params):
    path, params = url(name, **params)
    return client.get(path, params)


def read(response):
    """The rows of a CSV or XLSX response (header first), as text."""
    content = b"".join(response.streaming_content)
    if response["Content-Type"].startswith("text/csv"):
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def build_book(user, tag, *, n=1):
    """``n`` rows of every list on an account of ``user``, each naming ``tag`` somewhere."""
    today = timezone.localdate()
    now = timezone.now()
    account = AccountFactory(owner=user, name=f"{tag} account", external_id=f"{tag}-A")
    for i in range(n):
        contact = ContactFactory(account=account, name=f"{tag} contact {i}", email=f"{tag.lower()}{i}@example.com")
        contract = ContractFactory(
            account=account,
            number=f"{tag}-C{i}",
            start_date=today - dt.timedelta(days=300),
            end_date=today + dt.timedelta(days=30),
        )
        InvoiceFactory(account=account, contract=contract, number=f"{tag}-I{i}")
        MeetingFactory(
            account=account, title=f"{tag} meeting {i}", occurred_at=now - dt.timedelta(days=i + 1), contacts=[contact]
        )
        delivery.survey_response_create(account=account, contact=contact, kind="nps", score=9, responded_at=now - dt.timedelta(i))
        sla.service_request_create(account=account, title=f"{tag} request {i}", priority="p2", opened_at=now)
        delivery.project_create(account=account, name=f"{tag} project {i}", started_on=today)
        delivery.escalation_create(account=account, title=f"{tag} escalation {i}", opened_at=now)
        alert_services.alert_create_manual(account=account, rule="R1", reason=f"{tag}{i}", priority="high", actor=None)
        Notification.objects.create(user=user, kind="alert", text=f"{tag} note {i}")
    return account


@pytest.fixture
def kpis(account_manager, other_manager):
    run = KpiRun.objects.create(as_of=dt.date(2025, 6, 30), status="published")
    for username in (account_manager.username, other_manager.username, "company"):
        scope = "company" if username == "company" else f"owner:{username}"
        KpiValue.objects.create(
            run=run, code="nps", period="2025-06", period_kind="month", period_start=dt.date(2025, 6, 1),
            period_end=dt.date(2025, 7, 1), scope=scope, as_of=dt.date(2025, 6, 30), value=Decimal("12.5"),
            computed_at=timezone.now(),
        )  # fmt: skip
    kpi_target_create(code="nps", target_value=Decimal("30"), scope="", period="")


@pytest.fixture
def books(account_manager, other_manager, kpis):
    return build_book(account_manager, "Mine"), build_book(other_manager, "Theirs")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_list_exports_in_both_formats(client, admin_user, books, name, fmt):
    Notification.objects.create(user=admin_user, kind="alert", text="Yours")  # notifications are per user
    client.force_login(admin_user)
    response = get(client, name, format=fmt)
    assert response.status_code == 200, response.content[:500]
    assert response.streaming  # CSV row by row; XLSX from its spool file, never built in memory
    assert response["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    rows = read(response)
    assert len(rows) >= 2 and all(rows[0])  # a header and data
    if fmt == "csv":
        assert isinstance(response, StreamingHttpResponse)


ACCOUNT_SCOPED = [n for n in EXPORTS if n not in {"kpi-targets"}]


@pytest.mark.parametrize("name", ACCOUNT_SCOPED)
def test_a_manager_exports_only_what_they_see(client, account_manager, books, name):
    client.force_login(account_manager)
    text = "\n".join(",".join(row) for row in read(get(client, name)))
    if name == "kpis":
        assert f"owner:{account_manager.username}" in text and "company" not in text and "owner:other" not in text
        return
    assert "Mine" in text and "Theirs" not in text


def test_executives_export_everything(client, executive, books):
    client.force_login(executive)
    text = "\n".join(",".join(row) for row in read(get(client, "contracts")))
    assert "Mine-C0" in text and "Theirs-C0" in text


@pytest.mark.parametrize(
    ("name", "params", "present", "absent"),
    [
        ("contracts", {"number": "Mine-C0"}, "Mine-C0", "Theirs-C0"),
        ("invoices", {"account": "ACCOUNT"}, "Mine-I0", "Theirs-I0"),
        ("alerts", {"status": "closed_resolved"}, None, "Mine0"),
        ("service-requests", {"priority": "p1"}, None, "request"),
        ("kpis", {"scope": "company"}, "company", "owner:"),
        ("renewals", {"within": "30", "number": "Theirs-C0"}, "Theirs-C0", "Mine-C0"),
    ],
)
def test_the_filters_of_the_list_apply(client, admin_user, books, name, params, present, absent):
    client.force_login(admin_user)
    params = {k: (books[0].pk if v == "ACCOUNT" else v) for k, v in params.items()}
    rows = read(get(client, name, **params))
    text = "\n".join(",".join(row) for row in rows[1:])
    if present:
        assert present in text
    assert absent not in text


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("contracts", {"format": "pdf"}, "Unknown export format"),
        ("contracts", {"end_date_after": "someday"}, "Ends on or after"),
        ("meetings", {"kind": "party"}, "Kind"),
        ("renewals", {"within": "7"}, "within"),
        ("alerts", {"sort": "nonsense"}, "Unknown sort column"),
        ("kpis", {"code": "happiness"}, "code"),
        ("kpis", {"kind": "week"}, "kind"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, account_manager, name, params, needle):
    client.force_login(account_manager)
    response = get(client, name, **params)
    assert response.status_code == 400 and needle in response.text, response.text[:400]


def test_unknown_lists_and_anonymous_users_get_nothing(client, account_manager):
    assert get(client, "contracts").status_code == 302  # to the login page
    client.force_login(account_manager)
    assert get(client, "planets").status_code == 404


def _queries(client, name, fmt):
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, name, format=fmt)
        read(response)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", list(EXPORTS))
def test_query_counts_do_not_grow_with_the_rows(client, account_manager, other_manager, kpis, name):
    client.force_login(account_manager)
    build_book(account_manager, "Small", n=2)
    small = {fmt: _queries(client, name, fmt) for fmt in ("csv", "xlsx")}
    build_book(account_manager, "Large", n=8)
    build_book(other_manager, "Other", n=2)
    assert {fmt: _queries(client, name, fmt) for fmt in ("csv", "xlsx")} == small


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("name", list(IMPORTABLE))
def test_a_downloaded_list_imports_back_unchanged(client, account_manager, books, name, fmt):
    client.force_login(account_manager)
    response = get(client, name, format=fmt)
    content = b"".join(response.streaming_content)
    record = run_import(IMPORTABLE[name], content, user=account_manager, file_name=f"{name}.{fmt}")
    assert record.status == ImportStatus.DONE, (record.message, record.errors)
    assert (record.created_count, record.updated_count) == (0, 0)
    assert record.unchanged_count == record.rows_total > 0


def test_a_filtered_download_imports_back_unchanged_too(client, admin_user, books):
    client.force_login(admin_user)
    content = b"".join(get(client, "contracts", number="Theirs-C0").streaming_content)
    record = run_import("contracts", content, user=admin_user)
    assert (record.status, record.unchanged_count, record.rows_total) == (ImportStatus.DONE, 1, 1), record.errors


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("web:account_list", {"accounts"}),
        ("web:renewal_pipeline", {"renewals"}),
        ("web:alert_list", {"alerts"}),
        ("web:notification_list", {"notifications"}),
        ("web:dashboard", {"kpis", "kpi-targets"}),
        ("account", {"contacts", "contracts", "invoices", "meetings", "survey-responses", "service-requests", "alerts"}),
    ],
)
def test_each_list_page_links_to_its_exports_and_the_links_work(client, account_manager, books, page, expected):
    import html
    import re

    client.force_login(account_manager)
    path = reverse("web:account_detail", kwargs={"pk": books[0].pk}) if page == "account" else reverse(page)
    response = client.get(path)
    assert response.status_code == 200
    links = {html.unescape(href) for href in re.findall(r'href="(/exports/[^"]+)"', response.text)}
    names = {re.match(r"/exports/([^/]+)/", link).group(1) for link in links}
    assert expected <= names, names
    for link in links:
        assert "format=csv" in link or "format=xlsx" in link
        download = client.get(link)
        assert download.status_code == 200, (link, download.content[:300])
        if page == "account":
            text = b"".join(download.streaming_content).decode("utf-8-sig") if "csv" in link else ""
            assert "Theirs" not in text


def test_csv_rows_are_read_while_the_response_is_sent_not_before(client, account_manager, books):
    """The view returns before any row is fetched: rows come from the cursor as the client reads."""
    client.force_login(account_manager)
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, "contracts")
        before = [q["sql"] for q in ctx.captured_queries if 'FROM "accounts_contract"' in q["sql"]]
        lines = list(response.streaming_content)
        during = [q["sql"] for q in ctx.captured_queries if 'FROM "accounts_contract"' in q["sql"]]
    assert before == [] and len(during) == 1
    assert len(lines) == 2  # the header, then one line per row as the cursor yields it
