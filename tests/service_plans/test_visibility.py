"""Alerts, tasks, plans and their parts follow the account's visibility; another manager gets a 404."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from service_plans import selectors
from service_plans.models import AccountPlan, AccountTeamMember, Alert, AlertTask, PlanAction, PlanReview
from service_plans.services import plans as plan_services
from tests.factories import AccountFactory, ContactFactory, InvoiceFactory
from tests.service_plans.conftest import TODAY, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(account_manager, other_manager):
    mine = AccountFactory(owner=account_manager)
    theirs = AccountFactory(owner=other_manager)
    served = AccountFactory(owner=other_manager)
    AccountTeamMember.objects.create(account=served, user=account_manager, role="service_lead")
    child = AccountFactory(owner=other_manager, parent=mine)
    for account in (mine, theirs, served, child):
        ContactFactory(account=account, buying_roles=["economic_buyer"], is_active=False, left_on=TODAY - dt.timedelta(days=3))
        plan = plan_services.plan_create(account=account, fiscal_year=2026)
        plan_services.action_create(plan=plan, title="Step")
        plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 9, 1))
    run()
    return {"mine": mine, "theirs": theirs, "served": served, "child": child}


def test_a_manager_sees_own_served_and_child_accounts_only(portfolio, account_manager):
    visible = {portfolio[k].pk for k in ("mine", "served", "child")}
    assert {a.account_id for a in selectors.alert_list(user=account_manager)} == visible
    assert set(AlertTask.objects.visible_to(account_manager).values_list("alert__account_id", flat=True)) == visible
    assert {p.account_id for p in selectors.plan_list(user=account_manager)} == visible
    assert set(PlanAction.objects.visible_to(account_manager).values_list("plan__account_id", flat=True)) == visible
    assert set(PlanReview.objects.visible_to(account_manager).values_list("plan__account_id", flat=True)) == visible


def test_another_managers_alert_and_plan_do_not_exist(portfolio, account_manager):
    alert = Alert.objects.get(account=portfolio["theirs"])
    plan = AccountPlan.objects.get(account=portfolio["theirs"])
    with pytest.raises(Alert.DoesNotExist):
        selectors.alert_get(user=account_manager, pk=alert.pk)
    with pytest.raises(AccountPlan.DoesNotExist):
        selectors.plan_get(user=account_manager, pk=plan.pk)


def test_executive_and_admin_see_everything(portfolio, executive, admin_user):
    for user in (executive, admin_user):
        assert selectors.alert_list(user=user).count() == 4
        assert selectors.plan_list(user=user).count() == 4


def test_admin_pages_follow_the_rule(portfolio, client, account_manager):
    client.force_login(account_manager)
    alert = Alert.objects.get(account=portfolio["theirs"])
    plan = AccountPlan.objects.get(account=portfolio["theirs"])
    assert client.get(reverse("admin:service_plans_alert_change", args=[alert.pk])).status_code == 404
    assert client.get(reverse("admin:service_plans_accountplan_change", args=[plan.pk])).status_code == 404
    mine = Alert.objects.get(account=portfolio["mine"])
    assert client.get(reverse("admin:service_plans_alert_change", args=[mine.pk])).status_code == 200
    listing = client.get(reverse("admin:service_plans_alert_changelist"))
    assert listing.status_code == 200
    assert portfolio["theirs"].name not in listing.text
    assert portfolio["mine"].name in listing.text


@pytest.mark.parametrize(
    "name",
    [
        "alert", "alerttask", "accountplan", "planaction", "planobjective", "planreview", "need", "benchmarkcase",
        "servicestandard", "playbooktemplate", "ruleconfig", "businesscalendar", "notification", "survey", "reportingline",
    ],
)  # fmt: skip
def test_every_admin_list_opens(name, client, admin_user, portfolio):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:service_plans_{name}_changelist")).status_code == 200


def test_alert_inbox_query_count_is_constant(account_manager, django_assert_num_queries):
    for n in (2, 10):
        for _ in range(n):
            account = AccountFactory(owner=account_manager)
            InvoiceFactory(
                account=account, issued_on=TODAY - dt.timedelta(days=100), due_on=TODAY - dt.timedelta(days=60), amount=Decimal(5)
            )
        run()
        with django_assert_num_queries(2):  # the user's groups, then the page of alerts
            rows = list(selectors.alert_list(user=account_manager)[:50])
            account_manager._kam_group_names = None
        assert all(row.account.name and row.owner for row in rows)


def test_benchmark_cases_approved_for_reference_are_shared(account_manager, other_manager):
    from service_plans.services.delivery import benchmark_case_create

    theirs = AccountFactory(owner=other_manager)
    benchmark_case_create(account=theirs, title="Internal", problem="p", solution="s")
    shared = benchmark_case_create(
        account=theirs, title="Shared", problem="p", solution="s", approval_status="approved_for_reference",
        outcome_metrics=[{"kpi_code": "sla_attainment", "before": 0.82, "after": 0.97}], tags=["sla"],
    )  # fmt: skip
    assert list(selectors.benchmark_case_search(user=account_manager)) == [shared]
    assert list(selectors.benchmark_case_search(user=account_manager, tag="sla")) == [shared]
