"""The executive dashboard: tiles from the published KPI snapshot (value, target, trend, reason),
periods and scopes, drill-downs, "Recompute now" and its progress — and no KPI computed while the
page is served (query count and no writes)."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kam.models import JobRun
from reports.models import KpiValue
from reports.services import kpi_target_create
from tests.reports import builders as b

pytestmark = pytest.mark.django_db
URL = reverse("web:dashboard")
HTMX = {"HX-Request": "true"}
NOW = dt.datetime(2025, 7, 15, 9, tzinfo=dt.UTC)


def _tile(response, code):
    match = re.search(rf'<div class="card h-100 kam-tile[^"]*" data-kpi="{code}">(.*?)</div></div>\s*</div>', response.text, re.S)
    assert match, f"no tile {code}"
    return match.group(1)


def _json(response, element_id):
    match = re.search(rf'<script nonce="[^"]+" id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"no data block {element_id}"
    return json.loads(match.group(1))


@pytest.fixture
def published(account_manager):
    """Two groups with contracts, invoices and answers; KPIs for the months, quarters and year of
    the first half of 2025, computed by the real engine as of 2025-06-30."""
    east = b.account(owner_name=account_manager.username, region="East China", tier="T1", name="East Co")
    west = b.account(owner_name="am_b", region="West China", tier="T3", name="West Co")
    for acc, value in ((east, 1_000_000), (west, 400_000)):
        b.contract(acc, "2024-07-01", "2025-06-30", value)
        b.invoice(acc, "2025-02-10", value)
        b.invoice(acc, "2025-05-10", value)
        b.survey(acc, "nps", 9 if acc is east else 3, "2025-03-01 10:00", role="economic_buyer")
    kpi_target_create(code="nps", target_value=Decimal("50"))
    b.run(["2025-04", "2025-05", "2025-06", "2025-Q1", "2025-Q2", "2025"], "2025-06-30")
    return east, west


@time_machine.travel(NOW, tick=False)
def test_tiles_show_value_target_trend_and_reason(client, executive, published):
    client.force_login(executive)
    response = client.get(URL)
    assert response.status_code == 200
    board = response.context["board"]
    # June holds the as-of date, so it is partial: the board opens on the latest complete month.
    assert (board.period_kind, board.period, board.scope) == ("month", "2025-05", "company")
    response = client.get(URL, {"period": "2025-06"})
    board = response.context["board"]
    nps = KpiValue.objects.get(code="nps", period="2025-06", scope="company")
    tile = _tile(response, "nps")
    assert nps.value == 0  # one promoter group, one detractor group
    assert '<div class="kam-tile-value" data-value>0.0</div>' in tile
    assert "data-target-status" in tile and nps.target_status in ("met", "at_risk", "missed")
    # A KPI without a value shows "—" and why (stored reason code → its label).
    empty = KpiValue.objects.filter(period="2025-06", scope="company", value__isnull=True).first()
    assert empty is not None
    from reports.catalogue import REASON_LABELS

    tile = _tile(response, empty.code)
    assert '<div class="kam-tile-value" data-value>—</div>' in tile and str(REASON_LABELS[empty.reason]) in tile
    # Every figure says when it was computed.
    assert "Computed at" in _tile(response, "grr") and "data-computed-at" in response.text
    # The trend compares with the previous month.
    tiles = {t.kpi.code: t for _f, ts in board.families for t in ts}
    previous = KpiValue.objects.get(code="grr", period="2025-05", scope="company")
    assert tiles["grr"].previous == previous
    assert tiles["grr"].spark[-1] == float(round(tiles["grr"].value.value * 100, 2))
    assert len(tiles["grr"].spark) == 3  # April to June, the months published up to the one shown
    assert "(to date)" in response.text  # June is partial


@time_machine.travel(NOW, tick=False)
def test_ces_tiles_and_chart_series_show_with_csat(client, executive, account_manager, published):
    east, west = published
    for score in (7, 6, 5, 4):
        b.survey(east, "ces", score, "2025-05-10 10:00")
    b.survey(west, "ces", 2, "2025-05-11 10:00")
    b.run(["2025-04", "2025-05", "2025-06", "2025-Q1", "2025-Q2", "2025"], "2025-06-30")
    client.force_login(executive)
    response = client.get(URL, {"period": "2025-05"})
    assert response.status_code == 200
    assert '<div class="kam-tile-value" data-value>4.80</div>' in _tile(response, "ces")  # a mean, 2 decimals
    assert '<div class="kam-tile-value" data-value>60.0%</div>' in _tile(response, "ces_easy")
    assert "No survey responses" in _tile(response, "csat")  # CES answers are not CSAT ones
    charts = _json(response, "dashboard-data")
    assert charts["satisfaction"]["ces_easy"][-1] == 60.0  # May, the month shown
    assert "ces_easy" in _json(response, "chart-labels")
    # A manager's board shows their own book's CES only.
    manager = client.__class__()
    manager.force_login(account_manager)
    own = manager.get(URL, {"period": "2025-05"})
    assert '<div class="kam-tile-value" data-value>5.50</div>' in _tile(own, "ces")


@time_machine.travel(NOW, tick=False)
def test_period_kinds_and_a_bad_period(client, executive, published):
    client.force_login(executive)
    quarter = client.get(URL, {"kind": "quarter"}).context["board"]
    assert quarter.period == "2025-Q1" and [p["period"] for p in quarter.periods] == ["2025-Q2", "2025-Q1"]
    assert client.get(URL, {"kind": "year"}).context["board"].period == "2025"  # only a partial year: shown
    earlier = client.get(URL, {"kind": "month", "period": "2025-04"}).context["board"]
    assert earlier.period == "2025-04" and earlier.charts["labels"] == ["2025-04"]
    response = client.get(URL, {"kind": "month", "period": "1999-01"})
    assert response.status_code == 400 and "No figures are published for 1999-01" in response.text
    assert client.get(URL, {"kind": "decade"}).status_code == 400
    # htmx swaps the board, filters included
    response = client.get(URL, {"kind": "quarter"}, headers=HTMX)
    assert "<html" not in response.text and 'id="dashboard-filters"' in response.text


@time_machine.travel(NOW, tick=False)
def test_scopes_and_drill_downs(client, executive, account_manager, published):
    client.force_login(executive)
    board = client.get(URL).context["board"]
    assert {"company", "tier:T1", "tier:T3", f"owner:{account_manager.username}", "owner:am_b", "region:East China"} <= set(
        board.scopes
    )
    tiles = {t.kpi.code: t for _f, ts in board.families for t in ts}
    assert tiles["grr"].drill_url == reverse("web:account_list")
    assert tiles["tier_share_t1"].drill_url == reverse("web:account_list") + "?tier=T1"
    assert tiles["logo_churn"].drill_url == reverse("web:account_list") + "?status=churned"
    tier = client.get(URL, {"scope": "tier:T1"}).context["board"]
    assert {t.kpi.code: t for _f, ts in tier.families for t in ts}["grr"].drill_url.endswith("?tier=T1")
    owner = client.get(URL, {"scope": f"owner:{account_manager.username}"}).context["board"]
    assert {t.kpi.code: t for _f, ts in owner.families for t in ts}["nrr"].drill_url.endswith(f"?owner={account_manager.pk}")
    breakdown = {b.kind: b for b in board.breakdowns}
    assert [r["scope"] for r in breakdown["region"].rows] == ["region:East China", "region:West China"]
    assert breakdown["region"].rows[0]["url"].endswith("?region=East+China")
    # The drill-down list is the accounts list with those filters: the region's accounts only.
    names = [a.name for a in client.get(breakdown["region"].rows[0]["url"]).context["page"].rows]
    assert names == ["East Co"]


@time_machine.travel(NOW, tick=False)
def test_an_account_manager_sees_their_own_book_only(manager_client, account_manager, published):
    response = manager_client.get(URL, {"scope": "company"})
    board = response.context["board"]
    assert board.scope == f"owner:{account_manager.username}"
    assert board.scopes == [f"owner:{account_manager.username}"]
    assert all(v.scope == board.scope for _f, ts in board.families for t in ts for v in [t.value] if v)
    assert 'id="recompute-kpis"' not in response.text and 'id="id_scope"' not in response.text


def test_no_published_kpis_yet(client, executive):
    client.force_login(executive)
    response = client.get(URL)
    assert response.status_code == 200 and 'id="dashboard-empty"' in response.text


@pytest.mark.parametrize("extra_groups", [2, 10])
@time_machine.travel(NOW, tick=False)
def test_the_page_reads_the_snapshot_only(client, executive, extra_groups, django_assert_num_queries):
    owners = [b.owner(f"am_{i}") for i in range(3)]
    b.bulk_portfolio(extra_groups, owners=owners, regions=["North", "South"], tiers=["T1", "T2", "T3"])
    b.run(["2025-05", "2025-06"], "2025-06-30")
    client.force_login(executive)
    # session, user, groups; the scope's values of every month; the period's breakdown values; the
    # owners' ids for drill-downs; the latest run; the KPI job in progress; permissions (2); the
    # unread badge
    with django_assert_num_queries(11), CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    sql = " ".join(q["sql"] for q in ctx.captured_queries).lower()
    assert not re.search(r"\b(insert|update|delete)\b", sql)  # nothing written
    # Only the published snapshot is read: none of the tables the KPIs are computed from.
    for source in ("accounts_invoice", "accounts_contract", "service_plans_surveyresponse", "service_plans_servicerequest"):
        assert source not in sql


# --- Recompute now ------------------------------------------------------------------------------


def test_recompute_now_queues_the_job_and_reports_progress(
    client, executive, account_manager, published, django_capture_on_commit_callbacks
):
    client.force_login(executive)
    before = JobRun.objects.count()
    runs = set(KpiValue.objects.values_list("run_id", flat=True))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("web:kpi_recompute"), headers=HTMX)
        assert response.status_code == 202 and 'data-job-status="queued"' in response.text
        job = JobRun.objects.get(pk=JobRun.objects.order_by("-id").values_list("pk", flat=True).first())
        assert (job.kind, job.requested_by, job.status) == ("recompute_kpis", executive, "queued")
        assert f'hx-get="{reverse("web:kpi_job", args=[job.pk])}"' in response.text  # the panel polls
    # After the commit the job is published; tasks run in-process in tests, so it has run.
    assert callbacks and JobRun.objects.count() == before + 1
    job.refresh_from_db()
    assert job.status == "done"
    assert set(KpiValue.objects.values_list("run_id", flat=True)) != runs  # a new snapshot
    progress = client.get(reverse("web:kpi_job", args=[job.pk]), headers=HTMX)
    assert progress.status_code == 200 and progress["HX-Refresh"] == "true"
    # Account managers read, they do not recompute.
    client.force_login(account_manager)
    assert client.post(reverse("web:kpi_recompute")).status_code == 403


def test_a_running_recompute_is_shown_and_not_queued_twice(client, executive):
    running = JobRun.objects.create(kind="recompute_kpis", status="running", progress=40)
    client.force_login(executive)
    page = client.get(URL)
    assert 'data-job-status="running"' in page.text and "40%" in page.text
    response = client.post(reverse("web:kpi_recompute"), headers=HTMX)
    assert response.status_code == 202 and f'hx-get="{reverse("web:kpi_job", args=[running.pk])}"' in response.text
    assert JobRun.objects.filter(kind="recompute_kpis").count() == 1
    assert client.get(reverse("web:kpi_job", args=[running.pk]), headers=HTMX).has_header("HX-Refresh") is False
    other = JobRun.objects.create(kind="evaluate_alerts")
    assert client.get(reverse("web:kpi_job", args=[other.pk])).status_code == 404


def test_a_failed_recompute_is_explained_in_the_language_and_details_go_to_admins(client, executive, admin_user):
    failed = JobRun.objects.create(kind="recompute_kpis", status="failed", error="psycopg2.errors.QueryCanceled: timeout")
    url = reverse("web:kpi_job", args=[failed.pk])
    client.force_login(executive)
    page = client.get(url, headers={"Accept-Language": "zh-hans"})
    assert f"重新计算失败（作业 {failed.pk}）" in page.text
    assert "QueryCanceled" not in page.text  # a stored technical error is not shown to executives
    client.force_login(admin_user)
    page = client.get(url, headers={"Accept-Language": "en"})
    assert f"The recompute failed (job {failed.pk})" in page.text and "QueryCanceled: timeout" in page.text


@pytest.mark.django_db(transaction=True)
def test_recompute_says_so_when_background_processing_is_down(client, monkeypatch):
    # A real request outside any test transaction, so the job is published as the view returns.
    from kam import roles
    from kam.celery import app
    from tests.factories import UserFactory

    executive = UserFactory(username="exec_broker", role=roles.EXECUTIVE)
    client.force_login(executive)
    app.conf.task_always_eager = False
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    app._pool = app.amqp._producer_pool = None
    try:
        response = client.post(reverse("web:kpi_recompute"), headers=HTMX)
    finally:
        monkeypatch.undo()
        app._pool = app.amqp._producer_pool = None
    assert response.status_code == 503
    assert "background processing is unavailable" in response.text
    job = JobRun.objects.get(kind="recompute_kpis")
    assert job.status == "failed" and "Background processing is unavailable" in job.error


# --- Renewals due (live) ------------------------------------------------------------------------


def test_renewals_due_card_is_loaded_after_the_page(client, executive, account_manager):
    from django.utils import timezone

    from tests.factories import AccountFactory, ContractFactory

    today = timezone.localdate()
    ContractFactory(
        account=AccountFactory(owner=account_manager),
        start_date=today - dt.timedelta(days=200),
        end_date=today + dt.timedelta(days=45),
        annual_value=Decimal("120000"),
    )
    client.force_login(executive)
    response = client.get(reverse("web:dashboard_renewals"))
    windows = {w.days: w for w in response.context["windows"]}
    assert (windows[30].count, windows[60].count, windows[180].value) == (0, 1, Decimal("120000"))
    assert 'id="arr-at-risk"' in response.text and "Computed at" in response.text


@pytest.mark.parametrize("n", [2, 10])
def test_renewals_card_query_count_is_constant(client, executive, account_manager, n, django_assert_num_queries):
    from django.utils import timezone

    from tests.factories import AccountFactory, ContractFactory

    today = timezone.localdate()
    for i in range(n):
        ContractFactory(
            account=AccountFactory(owner=account_manager),
            start_date=today - dt.timedelta(days=200),
            end_date=today + dt.timedelta(days=10 + 15 * i),
        )
    client.force_login(executive)
    # session, user, groups; exchange rates; the windows (one GROUP BY); the unread badge is not in a partial
    with django_assert_num_queries(5):
        response = client.get(reverse("web:dashboard_renewals"))
    assert response.context["windows"][-1].count == min(n, 12)


@time_machine.travel(NOW, tick=False)
def test_arr_at_risk_row_shows_the_published_kpi_of_the_period_and_scope(client, executive, account_manager, published):
    from service_plans.models import Alert
    from service_plans.services.alerts import alert_create_manual

    east, _west = published
    alert = alert_create_manual(account=east, rule="R2", reason="board_unhappy", priority="critical", actor=None)
    Alert.objects.filter(pk=alert.pk).update(opened_at=b.moment("2025-03-01 09:00"))
    b.run(["2025-Q1"], "2025-06-30")
    client.force_login(executive)
    page = client.get(URL, {"kind": "quarter", "period": "2025-Q1"})
    assert "period=2025-Q1&amp;scope=company" in page.text  # the card asks for the board's period and scope
    response = client.get(reverse("web:dashboard_renewals"), {"period": "2025-Q1", "scope": "company"})
    row = re.search(r'<tr id="arr-at-risk">(.*?)</tr>', response.text, re.S).group(1)
    assert "1,000,000" in row and 'data-groups="1"' in row
    # A manager asking for the company scope sees nothing they may not see.
    client.force_login(account_manager)
    response = client.get(reverse("web:dashboard_renewals"), {"period": "2025-Q1", "scope": "company"})
    row = re.search(r'<tr id="arr-at-risk">(.*?)</tr>', response.text, re.S).group(1)
    assert "1,000,000" not in row and "not published for this period yet" in row
