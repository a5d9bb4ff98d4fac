"""The alerts inbox and the alert lifecycle from the workspace: order and filters, acknowledge, snooze
(the service's 30-day maximum), close (note and outcome), playbook tasks; 404 for others' alerts,
403 without the permission, field errors with nothing saved, constant query counts."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from service_plans.models import Alert, AlertEvent, AlertTask
from service_plans.services import alerts as alert_services
from tests.factories import AccountFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
INBOX = reverse("web:alert_list")
HTMX = {"HX-Request": "true"}
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


def make_alert(account, *, rule="R1", reason="drop", priority="high", due_on=None, owner=None):
    alert = alert_services.alert_create_manual(
        account=account, rule=rule, reason=reason, priority=priority, actor=None, owner=owner, due_on=due_on
    )
    return alert


@pytest.fixture
def book(account_manager, other_manager):
    mine = AccountFactory(owner=account_manager, name="Mine")
    Account.objects.filter(pk=mine.pk).update(tier="T1")
    theirs = AccountFactory(owner=other_manager, name="Theirs")
    alerts = {
        "medium_soon": make_alert(mine, reason="a", priority="medium", due_on=TODAY + dt.timedelta(days=1)),
        "critical_late": make_alert(mine, reason="b", priority="critical", due_on=TODAY + dt.timedelta(days=9)),
        "critical_early": make_alert(mine, rule="R3", reason="c", priority="critical", due_on=TODAY + dt.timedelta(days=2)),
        "high": make_alert(mine, reason="d", priority="high", due_on=TODAY, owner=other_manager),
        "theirs": make_alert(theirs, reason="e", priority="critical", due_on=TODAY),
    }
    return mine, theirs, alerts


def _rows(response):
    return [a.reason for a in response.context["page"].rows]


# --- The inbox ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_inbox_lists_visible_open_alerts_by_priority_then_due_date(manager_client, book):
    _, _, alerts = book
    alert_services.alert_close(alert=alerts["medium_soon"], actor=None, note="done", outcome="retained")
    response = manager_client.get(INBOX)
    assert response.status_code == 200
    assert _rows(response) == ["c", "b", "d"]  # critical (earliest due first), then high; closed and others' hidden
    assert response.context["total"] == 3 and "Theirs" not in response.text


@time_machine.travel(NOW, tick=False)
def test_inbox_filters(manager_client, book, account_manager, other_manager):
    _, _, alerts = book
    alert_services.alert_close(alert=alerts["medium_soon"], actor=None, note="done", outcome="retained")
    assert _rows(manager_client.get(INBOX, {"priority": "high"})) == ["d"]
    assert _rows(manager_client.get(INBOX, {"rule": "R3"})) == ["c"]
    assert _rows(manager_client.get(INBOX, {"owner": other_manager.pk})) == ["d"]
    assert _rows(manager_client.get(INBOX, {"owner": account_manager.pk})) == ["c", "b"]
    assert _rows(manager_client.get(INBOX, {"tier": ["T1"]})) == ["c", "b", "d"]
    assert _rows(manager_client.get(INBOX, {"tier": ["T2"]})) == []
    assert _rows(manager_client.get(INBOX, {"status": "closed_resolved"})) == ["a"]
    assert _rows(manager_client.get(INBOX, {"sort": "due"})) == ["d", "c", "b"]
    # htmx gets the results only
    response = manager_client.get(INBOX, {"priority": "high"}, headers=HTMX)
    assert "<html" not in response.text and 'id="alert-table"' in response.text


def test_inbox_bad_filters_and_cursors_are_a_clear_400(manager_client, book):
    response = manager_client.get(INBOX, {"priority": "urgent", "tier": "T9"})
    assert response.status_code == 400
    assert set(response.context["filterset"].errors) == {"priority", "tier"}
    assert 'id="filter-errors"' in response.text
    response = manager_client.get(INBOX, {"cursor": "garbage"})
    assert response.status_code == 400 and "no longer valid" in response.text
    assert manager_client.get(INBOX, {"sort": "nope"}).status_code == 400


def test_inbox_pages_walk_every_alert_once_in_order(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    for i in range(9):
        make_alert(
            account, reason=f"r{i}", priority=["critical", "high", "medium"][i % 3], due_on=TODAY + dt.timedelta(days=i % 4)
        )
    expected = list(
        Alert.objects.order_by("priority", "due_on", "id").values_list("reason", flat=True)
    )  # the stored codes sort critical, high, medium
    seen, cursor = [], None
    while True:
        response = manager_client.get(INBOX, {"page_size": 25, **({"cursor": cursor} if cursor else {})})
        seen += _rows(response)
        page = response.context["page"]
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert seen == expected


@pytest.mark.parametrize("n", [3, 15])
def test_inbox_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    for i in range(n):
        account = AccountFactory(owner=account_manager)
        make_alert(account, reason=f"r{i}", priority=["critical", "high", "medium"][i % 3])
    # session, user, groups; page rows (account, owner joined); bounded count; owners for the filter;
    # permissions (2); unread badge
    with django_assert_num_queries(9):
        response = manager_client.get(INBOX)
    assert len(response.context["page"].rows) == n


# --- Visibility and permissions -------------------------------------------------------------------


def test_others_alerts_do_not_exist_and_executives_only_read(client, book, other_manager, executive, account_manager):
    _, _, alerts = book
    theirs = alerts["theirs"]
    client.force_login(account_manager)
    for name in ("alert_detail", "alert_snooze", "alert_close"):
        assert client.get(reverse(f"web:{name}", args=[theirs.pk])).status_code == 404
    for name in ("alert_acknowledge", "alert_snooze", "alert_close"):
        assert client.post(reverse(f"web:{name}", args=[theirs.pk]), {"version": 1}).status_code == 404
    task = AlertTask.objects.create(alert=theirs, title="t", owner=other_manager, owner_role="account_manager", due_on=TODAY)
    assert client.post(reverse("web:alert_task_complete", args=[task.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open" and theirs.version == 1
    client.force_login(executive)
    assert client.get(reverse("web:alert_detail", args=[theirs.pk])).status_code == 200
    assert 'data-action="snooze"' not in client.get(INBOX).text
    assert client.post(reverse("web:alert_acknowledge", args=[theirs.pk]), {"version": 1}).status_code == 403
    assert client.get(reverse("web:alert_close", args=[theirs.pk])).status_code == 403


def test_a_team_member_works_the_accounts_alerts(client, book, other_manager):
    mine, _, alerts = book
    TeamMemberFactory(account=mine, user=other_manager)
    client.force_login(other_manager)
    alert = alerts["critical_late"]
    response = client.post(reverse("web:alert_acknowledge", args=[alert.pk]), {"version": alert.version}, headers=HTMX)
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == "in_progress"


# --- Acknowledge, snooze, close -------------------------------------------------------------------


def test_acknowledge_swaps_the_alert_and_records_who(manager_client, book, account_manager):
    _, _, alerts = book
    alert = alerts["high"]
    response = manager_client.post(
        reverse("web:alert_acknowledge", args=[alert.pk]), {"version": alert.version, "from": "inbox"}, headers=HTMX
    )
    assert response.status_code == 200
    assert response.text.strip().startswith(f'<tbody id="alert-{alert.pk}"') and 'data-status="in_progress"' in response.text
    alert.refresh_from_db()
    assert alert.status == "in_progress" and alert.version == 2
    assert AlertEvent.objects.filter(alert=alert, kind="acknowledged", actor=account_manager).exists()
    # The same form sent again with the old version: refused, nothing changes.
    response = manager_client.post(reverse("web:alert_acknowledge", args=[alert.pk]), {"version": 1}, headers=HTMX)
    assert response.status_code == 409 and "Someone else changed this record" in response.text
    alert.refresh_from_db()
    assert alert.version == 2


@time_machine.travel(NOW, tick=False)
def test_snooze_is_refused_beyond_the_services_maximum_and_without_a_reason(manager_client, book):
    _, _, alerts = book
    alert = alerts["high"]
    url = reverse("web:alert_snooze", args=[alert.pk])
    form = manager_client.get(url, headers=HTMX)
    assert form.status_code == 200 and 'data-form="snooze"' in form.text
    response = manager_client.post(url, {"version": 1, "until": "2026-04-15", "reason": "Waiting for the CFO"}, headers=HTMX)
    assert response.status_code == 422
    assert "An alert can be snoozed for at most 30 days." in response.context["form"].errors["until"]
    assert 'data-error-for="until"' in response.text
    response = manager_client.post(url, {"version": 1, "until": "2026-03-10", "reason": "  "}, headers=HTMX)
    assert response.status_code == 422 and "Say why the alert is snoozed." in response.context["form"].errors["reason"]
    response = manager_client.post(url, {"version": 1, "until": "not a date", "reason": "x"}, headers=HTMX)
    assert response.status_code == 422 and "until" in response.context["form"].errors
    alert.refresh_from_db()
    assert (alert.status, alert.snoozed_until, alert.version) == ("open", None, 1)
    response = manager_client.post(url, {"version": 1, "until": "2026-03-20", "reason": "Waiting for the CFO"}, headers=HTMX)
    assert response.status_code == 200 and "The alert is snoozed." in response.text
    alert.refresh_from_db()
    assert (alert.status, alert.snoozed_until, alert.snooze_reason) == ("snoozed", dt.date(2026, 3, 20), "Waiting for the CFO")


def test_close_needs_a_note_and_an_outcome_and_cancels_open_tasks(manager_client, book, account_manager):
    _, _, alerts = book
    alert = alerts["critical_early"]
    task = AlertTask.objects.create(alert=alert, title="Call", owner=account_manager, owner_role="account_manager", due_on=TODAY)
    url = reverse("web:alert_close", args=[alert.pk])
    response = manager_client.post(url, {"version": 1, "status": "closed_resolved", "note": "", "outcome": ""}, headers=HTMX)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "Closing an alert needs a closure note." in errors["note"]
    assert "outcome" in errors
    alert.refresh_from_db()
    assert alert.status == "open" and alert.closed_at is None
    data = {"version": 1, "status": "closed_resolved", "note": "Paid after the call", "outcome": "retained"}
    response = manager_client.post(url, {**data, "saved_value_amount": "-5"}, headers=HTMX)
    assert response.status_code == 422 and "The saved value cannot be negative." in response.text
    response = manager_client.post(url, {**data, "saved_value_amount": "150000"}, headers=HTMX)
    assert response.status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.outcome, alert.closure_note, alert.closed_by) == (
        "closed_resolved", "retained", "Paid after the call", account_manager,
    )  # fmt: skip
    assert alert.saved_value_amount == 150000 and alert.currency == alert.account.currency
    task.refresh_from_db()
    assert task.status == "cancelled"
    # A closed alert offers no actions, and a second close is refused.
    assert 'data-action="close"' not in response.text
    assert manager_client.post(url, data, headers=HTMX).status_code == 409


def test_without_javascript_the_forms_are_pages_and_saves_redirect_back(manager_client, book):
    mine, _, alerts = book
    alert = alerts["medium_soon"]
    back = reverse("web:account_detail", args=[mine.pk]) + "#alerts"
    page = manager_client.get(reverse("web:alert_close", args=[alert.pk]), {"next": back})
    assert page.status_code == 200 and "<html" in page.text
    response = manager_client.post(
        reverse("web:alert_close", args=[alert.pk]),
        {"version": 1, "status": "closed_invalid", "note": "Data error", "outcome": "n/a", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    # An outside "next" is ignored.
    other = alerts["high"]
    response = manager_client.post(
        reverse("web:alert_acknowledge", args=[other.pk]), {"version": 1, "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("web:alert_detail", args=[other.pk])


def test_cancel_brings_back_the_row(manager_client, book):
    _, _, alerts = book
    alert = alerts["high"]
    response = manager_client.get(reverse("web:alert_detail", args=[alert.pk]), {"row": 1, "from": "account"}, headers=HTMX)
    assert response.status_code == 200 and response.text.strip().startswith(f'<tbody id="alert-{alert.pk}"')
    assert "data-form=" not in response.text


# --- The alert page and its playbook tasks --------------------------------------------------------


def test_alert_page_shows_tasks_and_history_and_completes_a_task(manager_client, book, account_manager):
    _, _, alerts = book
    alert = alerts["critical_late"]
    plain = AlertTask.objects.create(
        alert=alert, order=1, title="Call", owner=account_manager, owner_role="account_manager", due_on=TODAY
    )
    proof = AlertTask.objects.create(
        alert=alert, order=2, title="Get the PO", owner=account_manager, owner_role="account_manager", due_on=TODAY,
        evidence_required=True,
    )  # fmt: skip
    response = manager_client.get(reverse("web:alert_detail", args=[alert.pk]))
    assert response.status_code == 200
    assert f'id="task-{plain.pk}"' in response.text and "Opened" in response.text
    response = manager_client.post(reverse("web:alert_task_complete", args=[proof.pk]), {"evidence": ""}, headers=HTMX)
    assert response.status_code == 422 and "This task needs evidence before it can be completed." in response.text
    proof.refresh_from_db()
    assert proof.status == "open"
    response = manager_client.post(reverse("web:alert_task_complete", args=[proof.pk]), {"evidence": "PO 4711"}, headers=HTMX)
    assert response.status_code == 200 and 'data-task-status="done"' in response.text
    proof.refresh_from_db()
    assert (proof.status, proof.evidence) == ("done", "PO 4711")
    assert manager_client.post(reverse("web:alert_task_complete", args=[plain.pk])).status_code == 302
    plain.refresh_from_db()
    assert plain.status == "done" and plain.completed_at <= timezone.now()


@pytest.mark.parametrize("n", [2, 10])
def test_alert_page_and_forms_query_counts_are_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    alert = make_alert(account, reason="x", priority="high")
    for i in range(n):
        AlertTask.objects.create(
            alert=alert, order=i, title=f"T{i}", owner=account_manager, owner_role="account_manager", due_on=TODAY
        )
        AlertEvent.objects.create(alert=alert, kind="acknowledged", at=timezone.now(), actor=account_manager)
    # session, user, groups; the alert; its tasks; its events; permissions (2); the unread badge
    with django_assert_num_queries(9):
        assert manager_client.get(reverse("web:alert_detail", args=[alert.pk])).status_code == 200
    # session, user, groups; the alert; permissions (2); currencies (close form only)
    with django_assert_num_queries(6):
        assert manager_client.get(reverse("web:alert_snooze", args=[alert.pk]), headers=HTMX).status_code == 200
    with django_assert_num_queries(7):
        assert manager_client.get(reverse("web:alert_close", args=[alert.pk]), headers=HTMX).status_code == 200


def test_pages_show_the_reason_in_words_in_the_users_language_not_its_code(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    alert = make_alert(account, rule="R3", reason="overdue", priority="high")
    make_alert(account, rule="R10", reason="Press: the customer filed for restructuring", priority="high")
    for url in (INBOX, reverse("web:alert_detail", args=[alert.pk]), reverse("web:alert_snooze", args=[alert.pk])):
        text = manager_client.get(url).text
        assert "Invoices overdue" in text and ">overdue<" not in text
    assert "Press: the customer filed for restructuring" in manager_client.get(INBOX).text  # typed by hand: as typed
    text = manager_client.get(reverse("web:alert_detail", args=[alert.pk]), headers={"Accept-Language": "zh-hans"}).text
    assert "发票逾期" in text


@time_machine.travel(NOW, tick=False)
def test_change_the_due_date_from_the_inbox(manager_client, client, book, other_manager):
    _, _, alerts = book
    alert = alerts["critical_late"]
    assert 'data-action="reschedule"' in manager_client.get(INBOX).text
    url = reverse("web:alert_reschedule", args=[alert.pk])
    form = manager_client.get(url, headers=HTMX)
    assert form.status_code == 200 and 'data-form="reschedule"' in form.text
    response = manager_client.post(url, {"version": 1, "due_on": "2000-01-01", "shift_tasks": "on"}, headers=HTMX)
    assert response.status_code == 422 and "due_on" in response.context["form"].errors
    new_due = alert.due_on + dt.timedelta(days=3)
    response = manager_client.post(url, {"version": 1, "due_on": new_due.isoformat(), "shift_tasks": "on"}, headers=HTMX)
    assert response.status_code == 200 and "The due date is changed." in response.text
    alert.refresh_from_db()
    assert alert.due_on == new_due
    client.force_login(other_manager)
    assert client.get(reverse("web:alert_reschedule", args=[alert.pk])).status_code == 404


def test_raise_an_alert_by_hand_from_the_account_page(manager_client, client, account_manager, other_manager, executive):
    """§5.1: CTAs are created by rules or by hand, e.g. R10's manual news flag (litigation, restructuring)."""
    account = AccountFactory(owner=account_manager)
    page = manager_client.get(reverse("web:account_detail", args=[account.pk])).text
    url = reverse("web:alert_raise", args=[account.pk])
    assert f'href="{url}"' in page
    data = {"rule": "R10", "priority": "high", "reason": "Litigation reported in the press", "due_on": ""}
    response = manager_client.post(url, {**data, "due_on": "2000-01-01"})
    assert response.status_code == 422 and "due_on" in response.context["form"].errors
    response = manager_client.post(url, data)
    alert = Alert.objects.get(account=account)
    assert response.status_code == 302 and response["Location"] == reverse("web:alert_detail", args=[alert.pk])
    assert (alert.rule, alert.priority, alert.owner, alert.is_manual) == ("R10", "high", account_manager, True)
    response = manager_client.post(url, data)  # the same signal and reason is already open
    assert response.status_code == 422 and "reason" in response.context["form"].errors
    assert Alert.objects.filter(account=account).count() == 1
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client.force_login(executive)
    assert client.get(url).status_code == 403
    assert f'href="{url}"' not in client.get(reverse("web:account_detail", args=[account.pk])).text
