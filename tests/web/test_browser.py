"""Browser tests: Playwright for Python driving Debian's Chromium headless against the live server.

Playwright's own browser download cannot work here, so it launches ``/usr/bin/chromium`` (installed by
``.ci/run``). The screenshots of README.md are made by ``make screenshots`` (the test at the end).
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Account, Contract
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, MeetingFactory, UserFactory
from tests.web.conftest import ensure_buying_roles

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]

# Serialized rollback puts back the rows migrations created (buying roles…) after each test's flush,
# so the tests that run after these find the database as migrations left it.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium fonts-wqy-microhei)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread while the browser is open; the
    # tests' own ORM calls (and the database flush after each) are still synchronous, so Django's
    # async-safety guard must not mistake them for calls from a coroutine.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []  # console errors (CSP violations among them) and uncaught exceptions
    # A form answered with 422 (invalid input, re-rendered with its errors) is by design, not a problem.
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 422 else None)
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, live_server, username, password="pw"):  # noqa: S107 - the factories' test password
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def portfolio():
    ensure_buying_roles()
    manager = UserFactory(username="browser_am", role="Account manager")
    other = UserFactory(username="browser_other", role="Account manager")
    today = timezone.localdate()
    acme = AccountFactory(owner=manager, name="Acme Retail Group", industry="retail")
    beta = AccountFactory(owner=manager, name="Beta Logistics")
    AccountFactory(owner=other, name="Hidden Corp")
    Account.objects.filter(pk=acme.pk).update(
        tier="T1", health_band="green", value_score=Decimal("82.5"), health_score=Decimal("78")
    )
    Account.objects.filter(pk=beta.pk).update(
        tier="T2", health_band="yellow", value_score=Decimal("64"), health_score=Decimal("61")
    )
    AccountFactory(owner=manager, name="Acme Retail Shanghai", parent=acme)
    boss = ContactFactory(account=acme, name="Zhang Wei", title="CFO", coverage="in_depth", political_status="inner_circle")
    services.contact_update(contact=boss, buying_roles=["economic_buyer"])
    ContactFactory(account=acme, name="Li Na", title="IT director", reports_to=boss, coverage="multiple")
    old = ContractFactory(
        account=acme, number="ACME-2025", start_date=today - dt.timedelta(days=500), end_date=today - dt.timedelta(days=135)
    )
    ContractFactory(
        account=acme,
        number="ACME-2026",
        renewal_of=old,
        start_date=today - dt.timedelta(days=134),
        end_date=today + dt.timedelta(days=230),
        annual_value=Decimal("1200000"),
    )
    for months in range(1, 30, 3):
        issued = today - dt.timedelta(days=30 * months)
        InvoiceFactory(
            account=acme,
            issued_on=issued,
            due_on=issued + dt.timedelta(days=30),
            paid_on=issued + dt.timedelta(days=30 + months % 20) if months > 1 else None,
            amount=Decimal(200000 + 10000 * months),
        )
    MeetingFactory(account=acme, kind="qbr", title="Q3 business review", occurred_at=timezone.now() - dt.timedelta(days=20))
    return manager, acme


def test_manager_filters_the_list_and_sees_the_account_charts(page, live_server):
    portfolio()
    log_in(page, live_server, "browser_am")
    page.click("nav >> text=Accounts")
    page.wait_for_selector("#account-table")
    names = page.locator("#account-table tbody td:first-child a")
    assert names.all_inner_texts() == ["Acme Retail Group", "Acme Retail Shanghai", "Beta Logistics"]
    page.check("#id_tier_0")  # T1 strategic: htmx reloads the results and the URL
    expect(names).to_have_count(1)  # polled by Playwright; the page's CSP forbids eval-based waits
    assert names.all_inner_texts() == ["Acme Retail Group"]
    assert "tier=T1" in page.url
    page.click("#saved-views .dropdown-toggle")  # saved views: the menu came after the page
    page.fill("#id_view_name", "Strategic")
    page.click("#saved-view-form button[type=submit]")
    expect(page.locator("#saved-view-created")).to_have_count(1)
    page.goto(f"{live_server.url}/accounts/")
    expect(names).to_have_count(3)
    page.click("#saved-views .dropdown-toggle")
    page.click("#saved-view-list >> text=Strategic")  # opening the view filters the list again
    expect(names).to_have_count(1)
    assert "tier=T1" in page.url
    page.click("text=Acme Retail Group")
    page.wait_for_selector("#account-name")
    assert page.inner_text("#account-name") == "Acme Retail Group"
    for chart in ("timeline-chart", "revenue-chart", "payment-chart", "aging-chart"):
        page.wait_for_selector(f"#{chart}[data-drawn=true]")
        painted = page.evaluate(
            """(id) => {
                const c = document.getElementById(id);
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) n++; }
                return n;
            }""",
            chart,
        )
        assert painted > 500, f"{chart} looks empty"
    assert page.locator("#org-chart .kam-org-card").count() == 2
    assert page.locator("#red-flags [data-flag=no_coach]").count() == 1
    # The history of changes and the stakeholder changes load on demand: "Show" swaps the card in.
    for card, content in (("history", "#history .kam-changes li"), ("stakeholder-changes", "#support-index-now")):
        assert page.locator(content).count() == 0
        page.click(f"[data-show-card={card}]")
        expect(page.locator(content).first).to_be_visible()
        assert page.locator(f"#{card}").count() == 1 and page.locator(f"[data-card-placeholder={card}]").count() == 0
    assert page.problems == []  # no CSP violation, no script error


def test_editing_a_contract_with_an_end_before_its_start_shows_the_error(page, live_server):
    _, acme = portfolio()
    contract = Contract.objects.get(number="ACME-2026")
    log_in(page, live_server, "browser_am")
    page.goto(f"{live_server.url}/accounts/{acme.pk}/")
    page.click("[data-edit-contract=ACME-2026]")
    page.wait_for_selector("#edit-form")
    page.fill("#id_start_date", "2026-03-01")
    page.fill("#id_end_date", "2026-01-31")
    page.fill("#id_title", "Should not be saved")
    # Inline validation: the end date's error appears when the field changes, before any save.
    page.locator("#id_end_date").dispatch_event("change")
    page.wait_for_selector("[data-error-for=end_date]")
    page.click("#save-button")
    page.wait_for_selector("#form-errors")
    assert "The end date cannot be before the start date." in page.inner_text("#field-end_date")
    assert page.input_value("#id_title") == "Should not be saved"  # the user's input is kept
    contract.refresh_from_db()
    assert contract.version == 1 and contract.title == ""
    page.fill("#id_end_date", "2027-02-28")
    page.click("#save-button")
    page.wait_for_url(f"**/accounts/{acme.pk}/#contracts")
    contract.refresh_from_db()
    assert contract.end_date == dt.date(2027, 2, 28) and contract.version == 2
    assert page.problems == []


def test_recording_a_qbr_with_a_bad_commitment_shows_the_error_then_saves(page, live_server):
    from service_plans.models import PlanAction, PlanReview
    from service_plans.services import plans as plan_services

    manager, acme = portfolio()
    today = timezone.localdate()
    plan = plan_services.plan_create(account=acme, fiscal_year=plan_services.fiscal_year_of(today), owner=manager)
    log_in(page, live_server, "browser_am")
    page.goto(f"{live_server.url}/accounts/{acme.pk}/")
    page.click("#record-review")
    page.wait_for_selector("#edit-form #commitments")
    page.select_option("#id_kind", "qbr")
    page.fill("#id_decisions", "Pilot in the Shanghai plant")
    page.select_option("#id_c-0-side", "ours")
    page.fill("#id_c-0-text", "Send the pilot proposal")
    # The customer's commitment owned by a colleague: the error shows on the row as soon as it changes.
    page.select_option("#id_c-1-side", "theirs")
    page.fill("#id_c-1-text", "Share the volume forecast")
    page.select_option("#id_c-1-owner_user", str(manager.pk))
    page.wait_for_selector("[data-error-for=c-1-owner_user]")
    page.click("#save-button")
    page.wait_for_selector("#form-errors")
    assert not PlanReview.objects.filter(plan=plan).exists()
    assert page.input_value("#id_c-0-text") == "Send the pilot proposal"  # the user's input is kept
    page.select_option("#id_c-1-owner_user", "")
    page.select_option("#id_c-1-owner_contact", label="Zhang Wei")
    page.click("#save-button")
    page.wait_for_url(f"**/accounts/{acme.pk}/#plan")
    review = PlanReview.objects.get(plan=plan)
    assert review.status == "held" and review.commitments.count() == 2
    assert PlanAction.objects.get(plan=plan).title == "Send the pilot proposal"
    expect(page.locator(f"[data-review='{review.pk}'] [data-commitment-side=theirs]")).to_have_count(1)
    assert page.problems == []


def test_switching_to_chinese(page, live_server):
    portfolio()
    log_in(page, live_server, "browser_am")
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "欢迎" in page.inner_text("h1")
    assert page.locator("nav >> text=客户").count() >= 1
    page.click("nav >> text=客户")
    page.wait_for_selector("#account-table")
    assert "健康等级" in page.inner_text("#account-filters")
    assert chinese_glyphs_render(page)
    assert page.problems == []


def chinese_glyphs_render(page) -> bool:
    """True when the page font draws real CJK glyphs: two different characters must paint differently
    (a missing font paints the same empty box for both)."""
    return page.evaluate(
        """() => {
            const font = getComputedStyle(document.body).fontFamily;
            const paint = (ch) => {
                const c = document.createElement('canvas'); c.width = 40; c.height = 40;
                const ctx = c.getContext('2d'); ctx.font = '32px ' + font; ctx.fillText(ch, 2, 34);
                return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(',');
            };
            return paint('客') !== paint('户');
        }"""
    )


def test_alerts_inbox_snooze_and_close_with_errors_then_success(page, live_server):
    from service_plans.models import Alert
    from service_plans.services import alerts as alert_services

    manager, acme = portfolio()
    today = timezone.localdate()
    late = alert_services.alert_create_manual(
        account=acme, rule="R3", reason="overdue", priority="critical", actor=None, due_on=today - dt.timedelta(days=1)
    )
    quiet = alert_services.alert_create_manual(account=acme, rule="R7", reason="no_exec_meeting", priority="medium", actor=None)
    log_in(page, live_server, "browser_am")
    page.click("nav >> text=Alerts")
    page.wait_for_selector("#alert-table")
    assert page.locator("#alert-table tbody.kam-alert").evaluate_all("els => els.map(e => e.dataset.alert)") == [
        str(late.pk), str(quiet.pk),
    ]  # fmt: skip
    # Snooze: 45 days is refused by the service, on the field, and nothing is saved.
    row = f"#alert-{quiet.pk}"
    page.click(f"{row} [data-action=snooze]")
    page.wait_for_selector(f"{row} [data-form=snooze]")
    page.fill(f"{row} [name=until]", (today + dt.timedelta(days=45)).isoformat())
    page.fill(f"{row} [name=reason]", "Waiting for the board")
    page.click(f"{row} [data-submit=snooze]")
    page.wait_for_selector(f"{row} [data-error-for=until]")
    assert "at most 30 days" in page.inner_text(f"{row} [data-error-for=until]")
    assert Alert.objects.get(pk=quiet.pk).status == "open"
    page.fill(f"{row} [name=until]", (today + dt.timedelta(days=10)).isoformat())
    page.click(f"{row} [data-submit=snooze]")
    expect(page.locator(f"{row}[data-status=snoozed]")).to_have_count(1)
    assert Alert.objects.get(pk=quiet.pk).snoozed_until == today + dt.timedelta(days=10)
    # Close: without a note and an outcome the form says so; with them the alert closes.
    row = f"#alert-{late.pk}"
    page.click(f"{row} [data-action=close]")
    page.wait_for_selector(f"{row} [data-form=close]")
    page.click(f"{row} [data-submit=close]")
    page.wait_for_selector(f"{row} [data-error-for=note]")
    assert page.locator(f"{row} [data-error-for=outcome]").count() == 1
    page.fill(f"{row} [name=note]", "Paid in full after the call")
    page.select_option(f"{row} [name=outcome]", "retained")
    page.click(f"{row} [data-submit=close]")
    expect(page.locator(f"{row}[data-status=closed_resolved]")).to_have_count(1)
    closed = Alert.objects.get(pk=late.pk)
    assert (closed.outcome, closed.closure_note, closed.closed_by) == ("retained", "Paid in full after the call", manager)
    assert page.problems == []


def test_executive_sees_the_dashboard_tiles_and_charts(page, live_server):
    from reports.catalogue import KPIS
    from reports.services import kpis_recompute
    from tests.reports import builders as b

    UserFactory(username="browser_exec", role="Executive")
    for name, region, tier, value in (("North Co", "North", "T1", 900_000), ("South Co", "South", "T2", 300_000)):
        acc = b.account(owner_name="browser_am", region=region, tier=tier, name=name)
        today = timezone.localdate()
        b.contract(acc, (today - dt.timedelta(days=300)).isoformat(), (today + dt.timedelta(days=60)).isoformat(), value)
        for months in (1, 2, 3, 4):
            b.invoice(acc, (today - dt.timedelta(days=30 * months)).isoformat(), value // 12)
    kpis_recompute()
    log_in(page, live_server, "browser_exec")
    page.click("nav >> text=Dashboard")
    page.wait_for_selector("#dashboard-board .kam-tile")
    assert page.locator(".kam-tile[data-kpi=grr] [data-value]").inner_text() != ""
    assert page.locator(".kam-tile").count() == len(KPIS)  # the whole catalogue
    for chart in ("tiers-chart", "concentration-chart", "satisfaction-chart", "sla-chart"):
        page.wait_for_selector(f"#{chart}[data-drawn=true]")
    assert page.locator("canvas[data-chart=spark][data-drawn=true]").count() == len(KPIS)
    # The live renewals card arrives after the page.
    page.wait_for_selector("#renewals-due-table")
    # Switching to quarters swaps the board (htmx) and keeps the charts drawn.
    page.click("label[for=kind-quarter]")
    expect(page.locator("#id_period option").first).to_contain_text("Q")
    page.wait_for_selector("#tiers-chart[data-drawn=true]")
    assert "kind=quarter" in page.url
    assert page.problems == []


# --- Screenshots for README.md: `make screenshots` ------------------------------------------------

SHOTS = ROOT / "docs" / "screenshots"


@pytest.mark.screenshots
@pytest.mark.skipif(not os.environ.get("KAM_SCREENSHOTS"), reason="run with `make screenshots`")
def test_screenshots(page, live_server):
    from accounts.demo import seed_demo

    seed_demo(accounts=120)
    _score_and_alert()
    manager = Account.objects.get(external_id="DEMO-0000003").owner  # a demo group with subsidiaries
    group = (
        Account.objects.visible_to(manager)
        .filter(parent__isnull=True, children__isnull=False, contracts__isnull=False)
        .distinct()
        .first()
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, manager.username, f"kam-demo-{manager.username}")

    def shot(name, path, full_page=True):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    shot("home", "/")
    shot("accounts", "/accounts/?status=active", full_page=False)
    shot("account", f"/accounts/{group.pk}/")
    shot("renewals", "/renewals/?within=180", full_page=False)
    _demo_plan(group, manager)
    page.goto(f"{live_server.url}/accounts/{group.pk}/")
    page.wait_for_load_state("networkidle")
    for selector, name in (("#scores", "account-why-tier"), ("#plan", "account-plan")):
        # A clip of the full page: an element screenshot would scroll it under the sticky section bar.
        page.evaluate("window.scrollTo(0, 0)")
        box = page.evaluate(
            "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
            " return {x: r.left, y: r.top + window.scrollY, width: r.width, height: r.height}; }",
            selector,
        )
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=box)
    shot("alerts", "/alerts/", full_page=False)
    first = page.locator("#alert-table tbody.kam-alert").first
    first.locator("[data-action=snooze]").click()
    page.wait_for_selector("[data-form=snooze]")
    page.fill("[data-form=snooze] [name=until]", (timezone.localdate() + dt.timedelta(days=60)).isoformat())
    page.click("[data-submit=snooze]")
    page.wait_for_selector("[data-error-for=until]")
    page.screenshot(path=str(SHOTS / "alerts-snooze-error.png"), full_page=False)
    shot("notifications", "/notifications/", full_page=False)
    contract = group.contracts.order_by("-end_date").first()
    page.goto(f"{live_server.url}/contracts/{contract.pk}/edit/")
    page.fill("#id_end_date", "2000-01-01")
    page.click("#save-button")
    page.wait_for_selector("#form-errors")
    page.screenshot(path=str(SHOTS / "contract-error.png"), full_page=True)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    shot("accounts-tablet", "/accounts/", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert chinese_glyphs_render(page)
    shot("home-zh", "/")
    shot("account-zh", f"/accounts/{group.pk}/")
    assert page.problems == []
    # The executive dashboard, from the KPI snapshot of the same demo portfolio.
    from reports.services import kpi_target_create, kpis_recompute

    for code, target in (("grr", "0.95"), ("nrr", "1.00"), ("nps", "30"), ("sla_attainment", "0.90"), ("dso", "45")):
        kpi_target_create(code=code, target_value=Decimal(target))
    kpis_recompute()
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    board = context.new_page()
    log_in(board, live_server, "exec", "kam-demo-exec")
    board.goto(f"{live_server.url}/dashboard/")
    board.wait_for_selector("#sla-chart[data-drawn=true]")
    board.wait_for_selector("#renewals-due-table")
    board.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    context.close()


def _score_and_alert() -> None:
    """Tiers, health and alerts for the demo portfolio, as the nightly jobs would compute them."""
    from kam.jobs import job_execute
    from kam.models import JobKind, JobRun
    from tiering.defaults import install_default_model
    from tiering.models import ScoringFactor, ScoringModel
    from tiering.recompute import scores_recompute

    if not ScoringModel.objects.filter(is_active=True).exists():  # a transactional test flushed the migrated model
        install_default_model(ScoringModel, ScoringFactor)
    scores_recompute()
    job = job_execute(JobRun.objects.create(kind=JobKind.EVALUATE_ALERTS, params={"source": "screenshots"}).pk)
    assert job.status == "done", job.error


def _demo_plan(account, owner) -> None:
    from service_plans.services import plans as plan_services

    today = timezone.localdate()
    plan = plan_services.plan_create(account=account, fiscal_year=plan_services.fiscal_year_of(today), owner=owner)
    plan = plan_services.plan_activate(plan=plan, actor=owner)
    grow = plan_services.objective_create(
        plan=plan, title="Grow share of wallet to 35%", status="on_track", due_on=today + dt.timedelta(days=200)
    )
    nps = plan_services.objective_create(
        plan=plan, title="Lift relationship NPS to 8.5", kpi_code="nps", baseline=Decimal("7.4"), target=Decimal("8.5"),
        status="at_risk", due_on=today + dt.timedelta(days=120),
    )  # fmt: skip
    steps = [
        (grow, "Map the buying centre of the new plant", -5, "done"),
        (grow, "Joint roadmap workshop with the CTO", 12, "open"),
        (nps, "Executive sponsor call", -2, "open"),
        (nps, "Fix the invoice disputes from Q2", 20, "open"),
    ]
    for objective, title, days, status in steps:
        action = plan_services.action_create(
            plan=plan, objective=objective, title=title, owner_user=owner, due_on=today + dt.timedelta(days=days)
        )
        if status == "done":
            plan_services.action_update(action=action, status="done")
    plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=today + dt.timedelta(days=25))
