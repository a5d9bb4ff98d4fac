"""The pre-read pack of a business review (DOMAIN.md §7.4): health breakdown, SLA, NPS/CSAT, renewal
dates, open alerts and objective status, for anyone who can see the account; another manager's is a 404."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Account
from service_plans.models import ServiceRequest, SurveyResponse
from service_plans.services import alerts as alert_services
from service_plans.services import plans as plan_services
from tests.factories import AccountFactory, ContactFactory, ContractFactory, TeamMemberFactory
from tests.tiering.conftest import add_invoices, scoring_model  # noqa: F401 - the fixture is used by name
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def _url(review):
    return reverse("web:review_preread", args=[review.pk])


def _qbr(account, owner):
    plan = plan_services.plan_create(account=account, fiscal_year=2026, owner=owner)
    return plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 7, 15))


@pytest.fixture
def pack_account(scoring_model, account_manager):  # noqa: F811
    account = AccountFactory(owner=account_manager, name="Acme", currency="CNY")
    add_invoices(
        [{"account": account, "issued_on": dt.date(2026, 2, 1), "due_on": dt.date(2026, 3, 3), "amount": "800000",
          "margin": "100000", "paid_on": dt.date(2026, 3, 1)}]
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        scores_recompute(as_of=AS_OF)
    return Account.objects.get(pk=account.pk)


@time_machine.travel(NOW, tick=False)
def test_the_pack_shows_every_section_of_the_qbr_agenda(manager_client, pack_account, account_manager):
    account = pack_account
    review = _qbr(account, account_manager)
    objective = plan_services.objective_create(plan=review.plan, title="Grow the service line", target=Decimal("10"))
    plan_services.action_create(plan=review.plan, objective=objective, title="Workshop", status="done")
    plan_services.action_create(plan=review.plan, objective=objective, title="Proposal")
    due_soon = ContractFactory(account=account, number="C-SOON", start_date=dt.date(2025, 10, 1), end_date=dt.date(2026, 9, 30))
    ContractFactory(account=account, number="C-LATER", start_date=dt.date(2026, 1, 1), end_date=dt.date(2028, 12, 31))
    ContractFactory(account=account, number="C-RENEWAL", renewal_of=due_soon, start_date=dt.date(2026, 10, 1),
                    end_date=dt.date(2027, 9, 30), status="draft")  # fmt: skip
    alert = alert_services.alert_create_manual(account=account, rule="R2", reason="call", priority="high", actor=None)
    for score in (5, 4, 2):
        SurveyResponse.objects.create(account=account, kind="csat", score=score, responded_at=NOW - dt.timedelta(days=10))
    now = NOW - dt.timedelta(days=5)
    ServiceRequest.objects.create(
        account=account, title="Late", priority="p2", opened_at=now - dt.timedelta(hours=5),
        first_response_due_at=now - dt.timedelta(hours=3), first_response_at=now - dt.timedelta(hours=1),
    )  # fmt: skip

    response = manager_client.get(_url(review))
    assert response.status_code == 200
    pack = response.context["pack"]
    assert len(pack.health["snapshot"]["factors"]) == 5  # §2.2: the five groups
    assert re.findall(r'data-factor-row="([^"]+)"', response.text) == [f["code"] for f in pack.health["snapshot"]["factors"]]
    assert (pack.sla.eligible, pack.sla.attained) == (1, 0)
    assert (pack.surveys.csat_count, pack.surveys.csat_share) == (3, Decimal(2) / 3)
    assert [(c.number, c.has_renewal) for c in pack.renewals] == [("C-SOON", True)]  # within 12 months of the review
    assert [a.pk for a in pack.alerts] == [alert.pk]
    assert [(o.title, o.progress) for o in pack.objectives] == [("Grow the service line", 50.0)]
    for section in ("preread-health", "preread-service", "preread-renewals", "preread-alerts", "preread-objectives"):
        assert f'id="{section}"' in response.text
    assert 'data-contract="C-SOON"' in response.text and f'data-alert="{alert.pk}"' in response.text
    # The account page links each review to its pack.
    page = manager_client.get(reverse("web:account_detail", args=[account.pk]))
    assert f'data-preread="{review.pk}"' in page.text


def test_without_scores_or_data_the_pack_says_so(manager_client, account_manager):
    review = _qbr(AccountFactory(owner=account_manager), account_manager)
    response = manager_client.get(_url(review))
    assert response.status_code == 200
    pack = response.context["pack"]
    assert pack.health["snapshot"] is None and pack.sla.attainment is None and pack.surveys.csat_share is None
    assert (pack.renewals, pack.alerts, pack.objectives) == ([], [], [])
    assert 'id="preread-sla">—<' in response.text


def test_the_pack_follows_visibility(client, account_manager, other_manager, executive):
    account = AccountFactory(owner=account_manager)
    review = _qbr(account, account_manager)
    client.force_login(other_manager)
    assert client.get(_url(review)).status_code == 404
    TeamMemberFactory(account=account, user=other_manager)  # a team member sees it
    assert client.get(_url(review)).status_code == 200
    client.force_login(executive)
    assert client.get(_url(review)).status_code == 200
    assert client.post(_url(review)).status_code == 405


@pytest.mark.parametrize("n", [2, 10])
def test_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    review = _qbr(account, account_manager)
    for i in range(n):
        objective = plan_services.objective_create(plan=review.plan, title=f"Objective {i}")
        plan_services.action_create(plan=review.plan, objective=objective, title=f"Action {i}")
        ContractFactory(account=account, start_date=dt.date(2025, 1, 1), end_date=review.scheduled_on + dt.timedelta(days=i))
        alert_services.alert_create_manual(account=account, rule="R1", reason=f"r{i}", priority="medium", actor=None)
    # session, user, groups; the review (plan, account, owners joined); service requests (2);
    # surveys (2); renewals; alerts; objectives; health explanation without a snapshot (group, snapshot,
    # override); the unread badge
    with django_assert_num_queries(14):
        response = manager_client.get(_url(review))
    assert len(response.context["pack"].objectives) == n and len(response.context["pack"].renewals) == n


def _figures(html, end):
    """The health figures block of a page, whitespace between tags dropped."""
    start = html.index('<div class="d-flex flex-wrap gap-4 mb-2"><div><div class="kam-figure-label">Health')
    return html[start : html.index(end, start)].strip()


FIGURE = '<div><div class="kam-figure-label">{}</div><div class="kam-figure"{}>{}</div></div>'
GREY = '<span class="kam-band kam-band-grey"><i class="bi bi-circle-fill" aria-hidden="true"></i> Grey (insufficient data)</span>'
RED = '<span class="kam-band kam-band-red"><i class="bi bi-circle-fill" aria-hidden="true"></i> Red <span class="text-secondary small">40</span></span>'


@time_machine.travel(NOW, tick=False)
def test_the_health_figures_are_one_include_rendered_as_before_on_both_pages(
    manager_client, pack_account, account_manager, admin_user
):
    """The account page's health card and the pre-read share ``web/includes/_health_figures.html``; the
    expected markup is what each page rendered before the include (whitespace between tags aside)."""
    from tiering.models import HealthSnapshot
    from tiering.services import health_override_set

    def pages():
        account_page = manager_client.get(reverse("web:account_detail", args=[pack_account.pk]))
        preread = manager_client.get(_url(review))
        for response in (account_page, preread):
            assert "web/includes/_health_figures.html" in [t.name for t in response.templates]
        tidy = lambda text: re.sub(r"\s+", " ", re.sub(r">\s+<", "><", text))  # noqa: E731
        return _figures(tidy(account_page.text), "<p class"), _figures(tidy(preread.text), "<table")

    review = _qbr(pack_account, account_manager)
    HealthSnapshot.objects.update(delta=Decimal("5.5"), trend="up")
    account_figures, preread_figures = pages()
    coverage = FIGURE.format("Data coverage", "", "20%")
    assert account_figures == '<div class="d-flex flex-wrap gap-4 mb-2">' + "".join(
        [
            FIGURE.format("Health", ' id="health-band"', GREY),
            FIGURE.format(
                "Trend, 30 days",
                ' id="health-trend"',
                '<i class="bi bi-arrow-up-right text-success"></i><span class="small">+5.5</span>',
            ),
            coverage,
            "</div>",
        ]
    )
    assert preread_figures == '<div class="d-flex flex-wrap gap-4 mb-2">' + "".join(
        [
            FIGURE.format("Health", ' id="preread-health-band"', GREY),
            FIGURE.format("Trend, 30 days", "", "+5.5"),
            coverage,
            "</div>",
        ]
    )
    # Under a health override the account page adds the computed score; the pre-read does not.
    HealthSnapshot.objects.update(delta=None, trend="")
    health_override_set(account=pack_account, reason="Known outage", score=Decimal("40"), actor=admin_user)
    account_figures, preread_figures = pages()
    assert account_figures == '<div class="d-flex flex-wrap gap-4 mb-2">' + "".join(
        [
            FIGURE.format("Health", ' id="health-band"', RED),
            FIGURE.format("Trend, 30 days", ' id="health-trend"', "— "),  # the delta's line break
            coverage,
            FIGURE.format("Computed", "", "—"),
            "</div>",
        ]
    )
    assert preread_figures == '<div class="d-flex flex-wrap gap-4 mb-2">' + "".join(
        [FIGURE.format("Health", ' id="preread-health-band"', RED), FIGURE.format("Trend, 30 days", "", "—"), coverage, "</div>"]
    )


def test_the_pack_shows_who_attended_once_the_review_is_held(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    review = _qbr(account, account_manager)
    section = manager_client.get(_url(review)).text.split('id="preread-attendees"')[1].split("</section>")[0]
    assert "recorded when the review is held" in section and "data-attendee-contact" not in section
    buyer = ContactFactory(account=account, name="Ms Buyer", title="CPO")
    colleague = TeamMemberFactory(account=account, user__first_name="Li", user__last_name="Na").user
    plan_services.review_record(review=review, held_on=dt.date(2026, 7, 15), contacts=[buyer], attendees=[colleague])
    section = manager_client.get(_url(review)).text.split('id="preread-attendees"')[1].split("</section>")[0]
    theirs, ours = section.split('data-attendee-side="theirs"')[1].split('data-attendee-side="ours"')
    assert f'data-attendee-contact="{buyer.pk}">Ms Buyer' in theirs and "CPO" in theirs and "Li Na" not in theirs
    assert f'data-attendee-user="{colleague.pk}">Li Na<' in ours and "Ms Buyer" not in ours
    # an internal review has no meeting: the pack says nobody was recorded
    internal = plan_services.review_schedule(plan=review.plan, kind="internal_monthly", scheduled_on=dt.date(2026, 7, 1))
    plan_services.review_record(review=internal, held_on=dt.date(2026, 7, 1))
    assert "No attendees were recorded" in manager_client.get(_url(internal)).text


@pytest.mark.parametrize("n", [2, 10])
def test_query_count_of_a_held_review_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    review = _qbr(account, account_manager)
    contacts = [ContactFactory(account=account) for _ in range(n)]
    colleagues = [TeamMemberFactory(account=account).user for _ in range(n)]
    plan_services.review_record(review=review, held_on=dt.date(2026, 7, 15), contacts=contacts, attendees=colleagues)
    # as for a scheduled review (14; the meeting is joined to the review) + the meeting's contacts and
    # its colleagues
    with django_assert_num_queries(16):
        response = manager_client.get(_url(review))
    assert response.text.count("data-attendee-contact=") == n and response.text.count("data-attendee-user=") == n
