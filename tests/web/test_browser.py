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


# --- Screenshots for README.md: `make screenshots` ------------------------------------------------

SHOTS = ROOT / "docs" / "screenshots"


@pytest.mark.screenshots
@pytest.mark.skipif(not os.environ.get("KAM_SCREENSHOTS"), reason="run with `make screenshots`")
def test_screenshots(page, live_server):
    from accounts.demo import seed_demo

    seed_demo(accounts=120)
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
