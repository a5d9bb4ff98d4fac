"""``kpis/`` (the published snapshot, read-only) and ``kpi-targets/`` (executives and administrators write).

The values come from a real KPI run over a small portfolio of two managers' accounts
(``tests.reports.builders``); the API only reads what the run published.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.models import WebhookDelivery
from integrations.webhooks import subscription_create
from reports.models import KpiRun, KpiTarget, KpiValue
from reports.services import kpi_target_create
from tests.api.conftest import token_client
from tests.reports.builders import account, contract, invoice, owner, run

pytestmark = pytest.mark.django_db
M = 1_000_000
API_FIELDS = {"code", "period", "scope", "value", "numerator", "denominator", "reason", "computed_at"}


@pytest.fixture
def portfolio():
    a = account(owner_name="am_a", tier="T1")
    contract(a, "2024-01-01", "2025-06-30", 2 * M)
    invoice(a, "2025-02-01", M, paid="2025-03-01")
    b = account(owner_name="am_b", region="North China", tier="T3")
    contract(b, "2024-01-01", "2026-12-31", M)
    invoice(b, "2025-02-01", 3 * M)
    run(["2025-Q1", "2025"], "2026-02-01")
    return a, b


@pytest.fixture
def am_a_api(portfolio):
    return token_client(owner("am_a"))


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- kpis/ ----------------------------------------------------------------------------------------


def test_kpis_serve_the_published_values_with_the_contract_fields(portfolio, executive_api):
    rows = _results(executive_api.get("/api/v1/kpis/", {"code": "grr", "period": "2025", "scope": "company"}))
    assert len(rows) == 1
    row = rows[0]
    assert API_FIELDS <= set(row)
    assert {"sample_size", "is_partial", "low_confidence", "target_status"} <= set(row)
    stored = KpiValue.objects.get(code="grr", period="2025", scope="company")
    assert row["value"] == (None if stored.value is None else float(stored.value))  # a number, not a string
    assert (row["reason"], row["sample_size"], row["is_partial"]) == (stored.reason, stored.n, stored.is_partial)


def test_a_manager_sees_the_kpis_of_their_own_book_only(portfolio, am_a_api, executive_api):
    scopes = {row["scope"] for row in _results(am_a_api.get("/api/v1/kpis/", {"page_size": 500}))}
    assert scopes == {"owner:am_a"}
    assert _results(am_a_api.get("/api/v1/kpis/", {"scope": "company"})) == []
    company = KpiValue.objects.filter(scope="company").first()
    theirs = KpiValue.objects.filter(scope="owner:am_b").first()
    assert am_a_api.get(f"/api/v1/kpis/{company.pk}/").status_code == 404
    assert am_a_api.get(f"/api/v1/kpis/{theirs.pk}/").status_code == 404
    assert executive_api.get(f"/api/v1/kpis/{theirs.pk}/").status_code == 200
    all_scopes = {row["scope"] for row in _results(executive_api.get("/api/v1/kpis/", {"page_size": 500}))}
    assert {"company", "owner:am_a", "owner:am_b"} <= all_scopes


@pytest.mark.parametrize(
    ("params", "field"),
    [({"code": "ebitda"}, "code"), ({"period": "2025-Q5"}, "period"), ({"scope": "team:x"}, "scope")],
)
def test_bad_kpi_filters_are_400_naming_the_parameter(portfolio, executive_api, params, field):
    response = executive_api.get("/api/v1/kpis/", params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_kpis_list_and_filter_the_ces_codes(portfolio, executive_api):
    for code in ("ces", "ces_easy"):
        rows = _results(executive_api.get("/api/v1/kpis/", {"code": code, "period": "2025", "scope": "company"}))
        assert [(row["code"], row["value"], row["reason"]) for row in rows] == [(code, None, "no_responses")]
    schema = executive_api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "ces_easy" in schema.content.decode()  # the code filter's enum


def test_kpis_are_read_only(portfolio, admin_api):
    value = KpiValue.objects.first()
    assert admin_api.post("/api/v1/kpis/", {"code": "grr"}, format="json").status_code == 405
    assert admin_api.patch(f"/api/v1/kpis/{value.pk}/", {"value": 1}, format="json").status_code == 405


# --- kpi-targets/ ---------------------------------------------------------------------------------


def test_an_executive_sets_a_target_and_published_values_get_their_status(portfolio, executive_api, executive):
    response = executive_api.post("/api/v1/kpi-targets/", {"code": "grr", "scope": "company", "target_value": 0.9}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["direction"], body["created_by"], body["version"]) == ("higher", executive.pk, 1)
    stored = KpiValue.objects.get(code="grr", period="2025", scope="company")
    assert stored.target_value == D("0.9")
    assert stored.target_status in {"met", "at_risk", "missed"}
    row = _results(executive_api.get("/api/v1/kpis/", {"code": "grr", "period": "2025", "scope": "company"}))[0]
    assert row["target_status"] == stored.target_status


def test_target_update_with_if_match_and_delete(executive_api):
    created = executive_api.post("/api/v1/kpi-targets/", {"code": "nps", "target_value": 30}, format="json")
    url = f"/api/v1/kpi-targets/{created.json()['id']}/"
    assert created["ETag"] == '"1"'
    response = executive_api.patch(url, {"target_value": 35}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200 and response.json()["version"] == 2
    assert executive_api.patch(url, {"target_value": 40}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    assert KpiTarget.objects.get().target_value == D("35")
    assert executive_api.delete(url).status_code == 204
    assert not KpiTarget.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"code": "ebitda", "target_value": 1}, "code"),
        ({"code": "grr", "scope": "team:x", "target_value": 1}, "scope"),
        ({"code": "grr", "period": "Q1-2025", "target_value": 1}, "period"),
        ({"code": "grr", "target_value": "lots"}, "target_value"),
        ({"code": "grr", "target_value": 1, "tolerance": -1}, "tolerance"),
        ({"code": "grr", "target_value": 1, "owner": 1}, "owner"),
        ({"code": "grr"}, "target_value"),
    ],
)
def test_bad_targets_are_400_naming_the_field(executive_api, payload, field):
    response = executive_api.post("/api/v1/kpi-targets/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not KpiTarget.objects.exists()


def test_a_duplicate_target_is_409(executive_api):
    kpi_target_create(code="grr", scope="company", target_value=D("0.9"))
    response = executive_api.post("/api/v1/kpi-targets/", {"code": "grr", "scope": "company", "target_value": 0.8}, format="json")
    assert response.status_code == 409, response.content
    assert KpiTarget.objects.get().target_value == D("0.9")


def test_managers_read_targets_but_cannot_write(account_manager, executive):
    target = kpi_target_create(code="grr", target_value=D("0.9"))
    manager = token_client(account_manager)
    assert manager.get(f"/api/v1/kpi-targets/{target.pk}/").status_code == 200
    assert manager.post("/api/v1/kpi-targets/", {"code": "nps", "target_value": 30}, format="json").status_code == 403
    assert manager.patch(f"/api/v1/kpi-targets/{target.pk}/", {"target_value": 1}, format="json").status_code == 403
    assert manager.delete(f"/api/v1/kpi-targets/{target.pk}/").status_code == 403
    read_only = token_client(executive, scope="read")
    assert read_only.delete(f"/api/v1/kpi-targets/{target.pk}/").status_code == 403
    assert KpiTarget.objects.filter(pk=target.pk).exists()


# --- constant query counts ------------------------------------------------------------------------


def _kpi_rows(n: int) -> None:
    kpi_run = KpiRun.objects.create(as_of=dt.date(2026, 2, 1), status="published")
    start = KpiValue.objects.count()
    for i in range(start, start + n):
        KpiValue.objects.create(
            run=kpi_run, code="hhi", period=str(1900 + i), period_kind="year", period_start=dt.date(1900 + i, 1, 1),
            period_end=dt.date(1901 + i, 1, 1), scope="company", as_of=kpi_run.as_of, value=D(i), computed_at=timezone.now(),
        )  # fmt: skip


def test_kpi_list_queries_are_constant(admin_user, django_assert_num_queries):
    client = token_client(admin_user)
    _kpi_rows(3)
    client.get("/api/v1/kpis/")  # the first call records the token's use
    with django_assert_num_queries(1):  # the page (the token, user and groups are cached)
        assert len(client.get("/api/v1/kpis/", {"page_size": 500}).json()["results"]) == 3
    _kpi_rows(12)
    with django_assert_num_queries(1):
        assert len(client.get("/api/v1/kpis/", {"page_size": 500}).json()["results"]) == 15


def test_kpi_target_list_queries_are_constant(account_manager, django_assert_num_queries):
    client = token_client(account_manager)
    for i in range(3):
        kpi_target_create(code="grr", scope=f"owner:u{i}", target_value=D("0.9"))
    client.get("/api/v1/kpi-targets/")
    with django_assert_num_queries(1):
        assert len(client.get("/api/v1/kpi-targets/").json()["results"]) == 3
    for i in range(3, 15):
        kpi_target_create(code="grr", scope=f"owner:u{i}", target_value=D("0.9"))
    with django_assert_num_queries(1):
        assert len(client.get("/api/v1/kpi-targets/").json()["results"]) == 15


# --- kpis.recomputed: one event per published run --------------------------------------------------------


def test_a_published_run_sends_one_kpis_recomputed_and_a_failed_one_none(
    portfolio, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    subscription_create(owner=admin_user, url="http://127.0.0.1:9/hook", event_types=["kpis.recomputed"])
    with django_capture_on_commit_callbacks(execute=True):
        run(["2025-Q1", "2025"], "2026-02-01")
    deliveries = WebhookDelivery.objects.filter(event_type="kpis.recomputed")
    assert [d.body["data"]["periods"] for d in deliveries] == [["2025-Q1", "2025"]]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        run(["2027"], "2026-02-01")  # a period that has not started: refused, nothing published
    assert deliveries.count() == 1
