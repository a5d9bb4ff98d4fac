"""Home page sections and the renewal pipeline: visible data only, right figures, constant queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from service_plans.models import ServiceRequest
from tests.factories import AccountFactory, ContactFactory, ContractFactory, MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
RENEWALS = reverse("web:renewal_pipeline")


def _mine_and_theirs(owner, other, n, today):
    now = timezone.now()
    for i in range(n):
        for who, label in ((owner, "Mine"), (other, "Theirs")):
            account = AccountFactory(owner=who, name=f"{label} {i}")
            contract = ContractFactory(
                account=account,
                number=f"{label}-{i}",
                start_date=today - dt.timedelta(days=300),
                end_date=today + dt.timedelta(days=20 + 40 * (i % 5)),
            )
            services.contract_update(contract=contract, actor=who, title=f"{label} edited {i}")
            MeetingFactory(account=account, title=f"{label} past {i}", occurred_at=now - dt.timedelta(days=i + 1))
            MeetingFactory(account=account, title=f"{label} next {i}", occurred_at=now + dt.timedelta(days=i + 1))
            ServiceRequest.objects.create(
                account=account,
                title=f"{label} late {i}",
                opened_at=now - dt.timedelta(hours=9),
                first_response_due_at=now - dt.timedelta(hours=1),
            )
            ServiceRequest.objects.create(
                account=account,
                title=f"{label} fine {i}",
                opened_at=now - dt.timedelta(hours=9),
                first_response_due_at=now + dt.timedelta(hours=1),
            )
            TeamMemberFactory(account=account)


def test_home_shows_my_renewals_sla_breaches_meetings_and_changes(manager_client, account_manager, other_manager):
    today = timezone.localdate()
    _mine_and_theirs(account_manager, other_manager, 2, today)
    response = manager_client.get(reverse("home"))
    assert response.status_code == 200
    page = response.context["page"]
    assert [sr.title for sr in page.breaching] == ["Mine late 0", "Mine late 1"] and page.breaching_count == 2
    assert [m.title for m in page.upcoming_meetings] == ["Mine next 0", "Mine next 1"]
    assert {c.object_label for c in page.changes} == {"Mine-0", "Mine-1", "Mine 0", "Mine 1"}
    assert any(f.new == "Mine edited 1" for c in page.changes for f in c.fields)
    assert response.context["renewals_count"] == 2
    assert page.renewal_values == {c.pk: Decimal("1000000.00") for c in response.context["renewals"]}
    assert "Theirs" not in response.text


def test_recent_changes_show_no_history_row_from_before_a_move_into_my_book(manager_client, account_manager, other_manager):
    """The row before a change is read only to diff it: when it belonged to an account I cannot
    see, it is never listed."""
    mine = AccountFactory(owner=account_manager, name="Mine")
    theirs = AccountFactory(owner=other_manager, name="Theirs")
    contact = ContactFactory(account=theirs, name="Mover", title="Buyer")
    contact.account, contact.title = mine, "Head of purchasing"
    contact.save()
    changes = [c for c in manager_client.get(reverse("home")).context["page"].changes if c.kind == "contact"]
    assert [(c.action, c.account_id, c.object_label) for c in changes] == [("~", mine.pk, "Mover")]
    assert ("Buyer", "Head of purchasing") in [(f.old, f.new) for f in changes[0].fields]


@pytest.mark.parametrize("n", [2, 10])
def test_home_query_count_is_constant(manager_client, account_manager, other_manager, n, django_assert_num_queries):
    _mine_and_theirs(account_manager, other_manager, n, timezone.localdate())
    # session, user, groups; the visible account ids (web.visible, read once); 5 summary queries; rates;
    # SLA breaches (the first rows and the bounded count from one query); upcoming meetings; recent
    # changes (4 models × 2); my tasks, my plan actions, my open alerts (rows and bounded count from
    # one query); the unread badge
    with django_assert_num_queries(24):
        assert manager_client.get(reverse("home")).status_code == 200


def test_renewal_windows_and_list(manager_client, account_manager, other_manager, usd_rate):
    today = timezone.localdate()
    mine = AccountFactory(owner=account_manager, name="Mine")
    theirs = AccountFactory(owner=other_manager, name="Theirs")
    served = AccountFactory(owner=other_manager, name="Served")
    TeamMemberFactory(account=served, user=account_manager)
    start = today - dt.timedelta(days=300)
    ContractFactory(
        account=mine, number="D10", start_date=start, end_date=today + dt.timedelta(days=10), annual_value=Decimal("100")
    )
    ContractFactory(
        account=mine,
        number="D45",
        start_date=start,
        end_date=today + dt.timedelta(days=45),
        annual_value=Decimal("10"),
        currency="USD",
    )
    ContractFactory(
        account=served, number="D100", start_date=start, end_date=today + dt.timedelta(days=100), annual_value=Decimal("1")
    )
    ContractFactory(account=mine, number="D300", start_date=start, end_date=today + dt.timedelta(days=300))
    ContractFactory(account=theirs, number="T10", start_date=start, end_date=today + dt.timedelta(days=10))
    MeetingFactory(account=mine, occurred_at=timezone.now() - dt.timedelta(days=3))
    response = manager_client.get(RENEWALS + "?within=180")
    assert response.status_code == 200
    windows = {w.days: (w.count, w.value) for w in response.context["windows"]}
    assert windows == {30: (1, Decimal("100")), 60: (2, Decimal("170")), 90: (2, Decimal("170")), 180: (3, Decimal("171"))}
    rows = response.context["page"].rows
    assert [c.number for c in rows] == ["D10", "D45", "D100"]
    assert rows[1].base_value == Decimal("70") and rows[0].days_left == 10
    assert rows[0].last_activity_at is not None and rows[2].last_activity_at is None
    assert "T10" not in response.text
    only_usd = manager_client.get(RENEWALS + "?within=180&currency=USD")
    assert [c.number for c in only_usd.context["page"].rows] == ["D45"]
    default = manager_client.get(RENEWALS)
    assert [c.number for c in default.context["page"].rows] == ["D10", "D45"]


def test_renewals_refuse_a_bad_window_or_filter(manager_client, account_manager):
    response = manager_client.get(RENEWALS + "?within=45")
    assert response.status_code == 400 and "30, 60, 90 or 180" in response.text
    assert manager_client.get(RENEWALS + "?within=soon").status_code == 400
    assert manager_client.get(RENEWALS + "?within=90&status=bogus").status_code == 400
    assert manager_client.get(RENEWALS + "?within=90&cursor=zzz").status_code == 400


@pytest.mark.parametrize("n", [2, 10])
def test_renewals_query_count_is_constant(manager_client, account_manager, other_manager, n, django_assert_num_queries):
    _mine_and_theirs(account_manager, other_manager, n, timezone.localdate())
    # session, user, groups; rates; windows (whose count is the total when no filter narrows the
    # window); the page; the unread badge
    with django_assert_num_queries(7):
        response = manager_client.get(RENEWALS + "?within=180&page_size=25")
    assert len(response.context["page"].rows) == n and response.context["total"] == n
    # A filter narrows the window: plus its bounded count.
    with django_assert_num_queries(8):
        response = manager_client.get(RENEWALS + "?within=180&page_size=25&status=active")
    assert response.context["total"] == len(response.context["page"].rows)


def test_login_required(client):
    assert client.get(RENEWALS).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_home_lists_my_open_alerts_tasks_and_plan_actions_due(manager_client, account_manager, other_manager):
    from service_plans.models import Alert, AlertTask
    from service_plans.services import alerts as alert_services
    from service_plans.services import plans as plan_services

    today = timezone.localdate()
    mine = AccountFactory(owner=account_manager, name="Mine")
    theirs = AccountFactory(owner=other_manager, name="Theirs")
    mine_alert = alert_services.alert_create_manual(account=mine, rule="R1", reason="drop", priority="high", actor=None)
    alert_services.alert_create_manual(
        account=mine, rule="R3", reason="colleague's", priority="critical", actor=None, owner=other_manager
    )
    # An alert of mine on an account I no longer see is not shown.
    hidden = alert_services.alert_create_manual(account=theirs, rule="R1", reason="x", priority="critical", actor=None)
    # (It was given to me before the account moved to another manager: reassigning refuses that now.)
    Alert.objects.filter(pk=hidden.pk).update(owner=account_manager)
    closed = alert_services.alert_create_manual(account=mine, rule="R5", reason="done", priority="high", actor=None)
    alert_services.alert_close(alert=closed, actor=None, note="ok", outcome="retained")
    due = {"owner_role": "account_manager"}
    AlertTask.objects.create(
        alert=mine_alert, title="Call the CFO", owner=account_manager, due_on=today - dt.timedelta(days=1), **due
    )
    AlertTask.objects.create(
        alert=mine_alert, title="Far away", owner=account_manager, due_on=today + dt.timedelta(days=40), **due
    )
    AlertTask.objects.create(alert=hidden, title="Hidden task", owner=account_manager, due_on=today, **due)
    plan = plan_services.plan_create(account=mine, fiscal_year=2026)
    plan_services.action_create(
        plan=plan, title="Send the QBR deck", owner_user=account_manager, due_on=today + dt.timedelta(days=3)
    )
    plan_services.action_create(plan=plan, title="Colleague's action", owner_user=other_manager, due_on=today)
    done = plan_services.action_create(plan=plan, title="Done already", owner_user=account_manager, due_on=today)
    plan_services.action_update(action=done, status="done")
    response = manager_client.get(reverse("home"))
    page = response.context["page"]
    assert [a.reason for a in page.alerts] == ["drop"] and page.alerts_count == (1, False)
    assert [t.title for t in page.tasks] == ["Call the CFO"]
    assert [a.title for a in page.actions] == ["Send the QBR deck"]
    assert 'data-figure="my-alerts">1<' in response.text
    assert "Hidden task" not in response.text and "Colleague" not in response.text
