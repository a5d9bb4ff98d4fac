"""The account page's scores, tier history, overrides, plan, needs and alerts: what they show, who may
change what (404 for outsiders, 403 without the permission), field errors with nothing saved."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from service_plans.models import Need, PlanAction, PlanObjective
from service_plans.services import plans as plan_services
from service_plans.services import whitespace as whitespace_services
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory
from tests.tiering.conftest import add_invoices, scoring_model  # noqa: F401 - the fixture is used by name
from tests.web.conftest import add_plan_needs_alerts, build_account
from tiering.choices import OverrideStatus
from tiering.models import HealthOverride, TierOverride
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
HTMX = {"HX-Request": "true"}


def _url(account):
    return reverse("web:account_detail", args=[account.pk])


def _json(response, element_id):
    match = re.search(rf'<script nonce="[^"]+" id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"no data block {element_id}"
    return json.loads(match.group(1))


@pytest.fixture
def group(scoring_model, account_manager):  # noqa: F811
    """A scored group (root + subsidiary) as of 2026-06-30 with invoices, ratings and a health run."""
    root = AccountFactory(
        owner=account_manager, name="Root Co", wallet_estimate_amount=D("2000000"), credit_rating="D",
        market_influence=2, integration_potential=5,
    )  # fmt: skip
    child = AccountFactory(owner=account_manager, name="Child Co", parent=root)
    add_invoices(
        [
            {"account": child, "issued_on": dt.date(2026, 2, 1), "due_on": dt.date(2026, 3, 3), "amount": "800000", "margin": "100000", "paid_on": dt.date(2026, 4, 12)},
            {"account": root, "issued_on": dt.date(2025, 2, 1), "amount": "500000", "margin": "100000", "paid_on": dt.date(2025, 3, 1)},
        ]
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        scores_recompute(as_of=AS_OF)
    return Account.objects.get(pk=root.pk), Account.objects.get(pk=child.pk)


# --- Why this tier, health, history ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_why_this_tier_shows_a_bar_per_factor_and_the_three_factors_holding_it_down(manager_client, group):
    root, _child = group
    response = manager_client.get(_url(root))
    assert response.status_code == 200
    tier = response.context["page"].scores.tier["snapshot"]
    top = [f["code"] for f in tier["holding_down"]]
    assert len(top) == 3
    # The list under "What holds the score down" is those three, in order, each with its points lost.
    listed = re.findall(r'data-factor="([^"]+)"', response.text.split('id="value-factors-top"')[1].split("</ol>")[0])
    assert listed == top
    chart = _json(response, "value-factors-data")
    shown = [f for f in tier["factors"] if not f.get("missing")]
    assert chart["codes"] == [f["code"] for f in shown]
    assert chart["contribution"] == [float(round(D(str(f["contribution"])), 2)) for f in shown]
    assert chart["lost"] == [float(round(D(str(f["lost"])), 2)) for f in shown]
    assert [c for c, is_top in zip(chart["codes"], chart["top"], strict=True) if is_top] == sorted(top, key=chart["codes"].index)
    # Every covered factor: contribution + points lost = its re-normalised weight; all of them add to 100.
    assert sum(chart["contribution"]) + sum(chart["lost"]) == pytest.approx(100, abs=0.05)
    assert 'data-chart="factors"' in response.text and 'id="tier-history-table"' in response.text


@time_machine.travel(NOW, tick=False)
def test_factor_links_point_at_the_source_data(manager_client, group):
    root, child = group
    factors = {f["measure"]: f for f in manager_client.get(_url(root)).context["page"].scores.tier["snapshot"]["factors"]}
    assert factors["t12m_value"]["link"] == _url(root) + "#finance"
    assert factors["credit_rating"]["link"] == reverse("web:account_edit", args=[root.pk]) + "#field-credit_rating"
    # A subsidiary is scored as its group: the rows are on the group root's page.
    response = manager_client.get(_url(child))
    assert "scored as a group" in response.text
    factors = {f["measure"]: f for f in response.context["page"].scores.tier["snapshot"]["factors"]}
    assert factors["t12m_value"]["link"] == _url(root) + "#finance"


@time_machine.travel(NOW, tick=False)
def test_a_team_member_of_a_subsidiary_gets_links_to_what_they_may_see(client, group, other_manager):
    root, child = group
    TeamMemberFactory(account=child, user=other_manager)
    client.force_login(other_manager)
    assert client.get(_url(root)).status_code == 404
    factors = {f["measure"]: f for f in client.get(_url(child)).context["page"].scores.tier["snapshot"]["factors"]}
    assert factors["t12m_value"]["link"] == _url(child) + "#finance"


@time_machine.travel(NOW, tick=False)
def test_health_shows_band_trend_and_the_five_groups(manager_client, group):
    root, _ = group
    response = manager_client.get(_url(root))
    health = response.context["page"].scores.health["snapshot"]
    assert health is not None
    assert len(health["factors"]) == 5  # DOMAIN.md §2.2: five measure groups
    rows = re.findall(r'data-factor-row="([^"]+)"', response.text.split('id="health-factors-table"')[1].split("</table>")[0])
    assert rows == [f["code"] for f in health["factors"]]
    trend = _json(response, "health-trend-data")
    assert trend["dates"] == [AS_OF.isoformat()] and trend["yellow"] == 50.0 and trend["green"] == 75.0


def test_without_a_scoring_run_the_sections_say_so(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_client.get(_url(account))
    assert 'id="no-tier-snapshot"' in response.text and 'id="no-health-snapshot"' in response.text
    assert "No tier assigned yet." in response.text


@time_machine.travel(NOW, tick=False)
def test_tier_history_lists_the_groups_assignments(manager_client, group):
    root, child = group
    history = manager_client.get(_url(child)).context["page"].scores.tier_history
    assert history and all(row.account_id == root.pk for row in history)
    assert history[0].valid_to is None


# --- Overrides ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_only_approvers_see_and_use_the_override_forms(manager_client, client, group, executive, other_manager):
    root, _ = group
    url = reverse("web:tier_override_set", args=[root.pk])
    assert 'id="set-tier-override"' not in manager_client.get(_url(root)).text
    assert manager_client.get(url).status_code == 403
    assert manager_client.post(reverse("web:tier_override_end", args=[root.pk])).status_code == 403
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client.force_login(executive)
    assert 'id="set-tier-override"' in client.get(_url(root)).text
    assert client.get(url).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_tier_override_needs_a_reason_and_an_expiry_within_the_maximum(client, group, executive):
    root, child = group
    client.force_login(executive)
    url = reverse("web:tier_override_set", args=[child.pk])
    response = client.post(url, {"tier": "T1"})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "Give the date the override expires." in errors["expires_on"]
    assert "reason" in errors
    response = client.post(url, {"tier": "T1", "reason": "Committee", "expires_on": "2027-12-31"})
    assert response.status_code == 422
    assert "An override can last at most 365 days." in response.context["form"].errors["expires_on"]
    response = client.post(url, {"tier": "T9", "reason": "Committee", "expires_on": "2026-12-31"})
    assert response.status_code == 422 and "tier" in response.context["form"].errors
    assert not TierOverride.objects.exists()
    response = client.post(url, {"tier": "T1", "reason": "Committee: strategic partner", "expires_on": "2026-12-31"})
    assert response.status_code == 302 and response["Location"].endswith(_url(child) + "#why-tier")
    override = TierOverride.objects.get()
    assert (override.account_id, override.tier, override.approved_by, override.status) == (root.pk, "T1", executive, "active")
    assert set(Account.objects.filter(pk__in=[root.pk, child.pk]).values_list("tier", flat=True)) == {"T1"}
    page = client.get(_url(child))
    assert 'id="tier-override"' in page.text and "Committee: strategic partner" in page.text
    response = client.post(reverse("web:tier_override_end", args=[child.pk]))
    assert response.status_code == 302
    override.refresh_from_db()
    assert override.status == OverrideStatus.REVOKED and override.ended_by == executive


@time_machine.travel(NOW, tick=False)
def test_health_override_takes_a_score_or_a_band(client, group, executive):
    root, _ = group
    client.force_login(executive)
    url = reverse("web:health_override_set", args=[root.pk])
    response = client.post(url, {"score": "80", "band": "green", "reason": "Call went well"})
    assert response.status_code == 422
    assert "Give either a score or a band, not both." in response.context["form"].errors["score"]
    response = client.post(url, {"score": "120", "reason": "x"})
    assert response.status_code == 422 and "score" in response.context["form"].errors
    response = client.post(url, {"band": "green", "reason": "x", "expires_on": "2026-12-31"})
    assert response.status_code == 422 and "at most 90 days" in " ".join(response.context["form"].errors["expires_on"])
    assert not HealthOverride.objects.exists()
    response = client.post(url, {"band": "green", "reason": "Executive sponsor re-engaged"})
    assert response.status_code == 302
    override = HealthOverride.objects.get()
    assert override.override_band == "green" and override.expires_on == AS_OF + dt.timedelta(days=30)
    assert Account.objects.get(pk=root.pk).health_band == "green"
    assert 'id="health-override"' in client.get(_url(root)).text


# --- The account plan -----------------------------------------------------------------------------


def test_plan_section_shows_objectives_progress_actions_and_review_cadence(manager_client, account_manager):
    today = timezone.localdate()
    account = AccountFactory(owner=account_manager)
    plan = add_plan_needs_alerts(account, account_manager, n=2)
    action = PlanAction.objects.get(plan=plan, title="Action 0")
    plan_services.action_update(action=action, status="done")
    plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=today - dt.timedelta(days=3))
    response = manager_client.get(_url(account))
    section = response.context["page"].plan
    assert section.plan == plan
    assert [o.title for o in section.objectives] == ["Objective 0", "Objective 1"]
    assert [o.progress for o in section.objectives] == [100.0, 0.0]
    assert [a.title for a in section.actions] == ["Action 1", "Action 0"]  # open first
    qbr = next(c for c in section.cadence if c.kind == "qbr")
    assert qbr.overdue and qbr.last_held is None
    assert 'data-review-kind="qbr"' in response.text


def test_create_a_plan_then_objectives_and_actions_inline(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_client.get(reverse("web:plan_create", args=[account.pk]), headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.text and 'id="edit-form"' in response.text
    year = plan_services.fiscal_year_of(timezone.localdate())
    response = manager_client.post(
        reverse("web:plan_create", args=[account.pk]), {"fiscal_year": year, "owner": account_manager.pk}, headers=HTMX
    )
    assert response.status_code == 204 and response["HX-Redirect"].endswith(_url(account) + "#plan")
    plan = account.plans.get()
    url = reverse("web:objective_create", args=[plan.pk])
    response = manager_client.post(url, {"title": "Grow share", "kpi_code": "nps", "status": "not_started"}, headers=HTMX)
    assert response.status_code == 422 and 'data-error-for="target"' in response.text
    response = manager_client.post(
        url, {"title": "Grow share", "status": "not_started", "start_on": "2026-05-01", "due_on": "2026-04-01"}, headers=HTMX
    )
    assert response.status_code == 422 and "The due date cannot be before the start date." in response.text
    assert not PlanObjective.objects.exists()
    response = manager_client.post(url, {"title": "Grow share", "status": "on_track", "due_on": "2026-12-31"}, headers=HTMX)
    assert response.status_code == 204
    objective = PlanObjective.objects.get()
    response = manager_client.post(
        reverse("web:action_create", args=[plan.pk]),
        {"title": "Book the QBR", "objective": objective.pk, "owner_user": account_manager.pk, "status": "open"},
    )
    assert response.status_code == 302
    assert PlanAction.objects.get().objective == objective


def test_action_owner_must_be_one_colleague_or_one_contact_of_this_account(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    plan = plan_services.plan_create(account=account, fiscal_year=2026)
    contact = ContactFactory(account=account)
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    url = reverse("web:action_create", args=[plan.pk])
    both = {"title": "Call", "owner_user": account_manager.pk, "owner_contact": contact.pk, "status": "open"}
    response = manager_client.post(url, both)
    assert response.status_code == 422
    assert "An action has one owner" in " ".join(response.context["form"].errors["owner_contact"])
    response = manager_client.post(url, {"title": "Call", "owner_contact": stranger.pk, "status": "open"})
    assert response.status_code == 422 and "owner_contact" in response.context["form"].errors
    assert not PlanAction.objects.exists()


def test_edit_an_action_and_a_stale_version_is_refused(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    plan = plan_services.plan_create(account=account, fiscal_year=2026)
    action = plan_services.action_create(plan=plan, title="Draft the proposal", owner_user=account_manager)
    url = reverse("web:action_edit", args=[action.pk])
    assert manager_client.get(url, headers=HTMX).status_code == 200
    data = {"title": "Send the proposal", "owner_user": account_manager.pk, "status": "done", "version": 1}
    assert manager_client.post(url, data).status_code == 302
    action.refresh_from_db()
    assert (action.title, action.status, action.version) == ("Send the proposal", "done", 2)
    assert action.completed_at is not None
    response = manager_client.post(url, {**data, "title": "Overwrite", "version": 1})
    assert response.status_code == 409
    action.refresh_from_db()
    assert action.title == "Send the proposal"


def test_plan_forms_follow_visibility_and_permissions(client, account_manager, other_manager, executive):
    account = AccountFactory(owner=account_manager)
    plan = plan_services.plan_create(account=account, fiscal_year=2026)
    objective = plan_services.objective_create(plan=plan, title="O")
    action = plan_services.action_create(plan=plan, title="A")
    urls = [
        reverse("web:plan_create", args=[account.pk]),
        reverse("web:objective_create", args=[plan.pk]),
        reverse("web:action_create", args=[plan.pk]),
        reverse("web:objective_edit", args=[objective.pk]),
        reverse("web:action_edit", args=[action.pk]),
    ]
    client.force_login(other_manager)
    assert [client.get(u).status_code for u in urls] == [404] * 5
    assert [client.post(u, {"title": "X"}).status_code for u in urls] == [404] * 5
    client.force_login(executive)  # reads every plan, edits none
    assert [client.get(u).status_code for u in urls] == [403] * 5
    assert 'id="add-objective"' not in client.get(_url(account)).text


# --- Needs and alerts -----------------------------------------------------------------------------


def test_needs_and_alerts_sections(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    add_plan_needs_alerts(account, account_manager, n=3)
    Need.objects.filter(description="Need 0").update(status="met")
    response = manager_client.get(_url(account))
    page = response.context["page"]
    assert [n.description for n in page.needs] == ["Need 1", "Need 2", "Need 0"]  # open first, by priority
    assert [a.priority for a in page.alerts] == ["critical", "high", "medium"]
    assert len(page.open_alerts) == 3 and 'id="open-alert-count"' in response.text
    assert response.text.count('data-action="snooze"') == 3


@pytest.mark.parametrize("n", [2, 10])
def test_query_count_is_constant(manager_client, account_manager, scoring_model, n, django_assert_num_queries):  # noqa: F811
    account = build_account(account_manager, n=n)
    plan = add_plan_needs_alerts(account, account_manager, n=n)
    today = timezone.localdate()
    for i in range(n):
        whitespace_services.whitespace_cell_create(
            plan=plan, buying_centre=f"Centre {i}", offering=f"Offering {i % 3}", est_total_spend=Decimal(100)
        )
        review = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=today - dt.timedelta(days=i + 1))
        plan_services.review_record(
            review=review, held_on=review.scheduled_on, contacts=[ContactFactory(account=account)], attendees=[account_manager]
        )
    scores_recompute(as_of=today)
    # session, user, groups; account; rates; hierarchy (4); surveys (2); service requests (2); meetings
    # + contacts (2); contacts + roles + team relationships + influence lines (4); contracts; finance (4); team; projects;
    # scores: tier and health explanations (3 + 3), tier history, health trend, scoring model;
    # plan, objectives, actions, reviews + commitments (5); the reviews' meetings' contacts and colleagues (2);
    # whitespace cells + headroom (2); needs; alerts; permissions (2); unread badge. (Held reviews are part of
    # the data since the attendees were added: before, the plan had none and the commitments' query did not run.)
    # The history of changes and the stakeholder changes load on demand (tests/web/test_account_page.py,
    # tests/web/test_stakeholder_history.py).
    with django_assert_num_queries(49):
        response = manager_client.get(_url(account))
    assert response.status_code == 200
    page = response.context["page"]
    assert response.text.count("data-review-attendees=") == n
    assert len(page.plan.objectives) == n and len(page.alerts) == n and page.scores.tier["snapshot"] is not None
    assert len(page.plan.whitespace.rows) == n and page.plan.whitespace.headroom == {"CNY": Decimal(100 * n)}


@pytest.mark.parametrize("n", [2, 10])
def test_plan_and_override_forms_query_counts_are_constant(client, account_manager, executive, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    plan = add_plan_needs_alerts(account, account_manager, n=n)
    for i in range(n):
        ContactFactory(account=account, name=f"Contact {i}")
    action = PlanAction.objects.filter(plan=plan).first()
    objective = PlanObjective.objects.filter(plan=plan).first()
    client.force_login(account_manager)
    # session, user, groups; the action with its plan and account; permissions (2); objectives,
    # colleagues and contacts for the choices; the unread badge
    with django_assert_num_queries(10):
        assert client.get(reverse("web:action_edit", args=[action.pk])).status_code == 200
    # session, user, groups; the objective; permissions (2); colleagues; the unread badge
    with django_assert_num_queries(8):
        assert client.get(reverse("web:objective_edit", args=[objective.pk])).status_code == 200
    client.force_login(executive)
    # session, user, groups; the account; permissions (2); the unread badge
    with django_assert_num_queries(7):
        assert client.get(reverse("web:tier_override_set", args=[account.pk])).status_code == 200
