"""``alerts/`` and ``alert-tasks/``: the contract's fields, filters, the verbs (snooze, close,
acknowledge, reassign, complete), bad input, visibility, roles, If-Match, and the ``alert.opened`` /
``alert.closed`` webhooks (one per committed change, none for a refused one)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import WebhookDelivery
from integrations.webhooks import subscription_create
from service_plans.models import Alert, AlertTask
from service_plans.services import alerts
from tests.api.conftest import token_client
from tests.factories import AccountFactory, TeamMemberFactory
from tests.service_plans.conftest import run
from tests.service_plans.test_lifecycle import overdue

pytestmark = pytest.mark.django_db


def make_alert(account, *, reason="overdue", priority="high", rule="R3", tasks=0):
    alert = alerts.alert_create_manual(account=account, rule=rule, reason=reason, priority=priority, actor=None)
    for i in range(tasks):
        AlertTask.objects.create(
            alert=alert, title=f"Task {i}", owner=alert.owner, owner_role="account_manager", due_on=alert.due_on, order=i
        )
    return alert


def url(alert, verb=""):
    return f"/api/v1/alerts/{alert.pk}/" + (f"{verb}/" if verb else "")


@pytest.fixture
def hooks(settings, admin_user):
    """A subscription to both alert events; deliveries are counted per event type."""
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    subscription_create(owner=admin_user, url="http://127.0.0.1:9/hook", event_types=["alert.opened", "alert.closed"])

    def count(event_type):
        return WebhookDelivery.objects.filter(event_type=event_type).count()

    return count


# --- Reads ------------------------------------------------------------------------------------------


def test_alert_fields_follow_the_contract(manager_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=2)
    response = manager_api.get(url(alert))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    for name in [
        "id", "account", "rule", "priority", "status", "owner", "due_on", "opened_at", "reason", "detail",
        "snoozed_until", "closed_at", "closed_by", "closure_note", "outcome", "saved_value_amount", "currency", "tasks",
    ]:  # fmt: skip
        assert name in body, name
    assert (body["rule"], body["priority"], body["status"], body["owner"]) == ("R3", "high", "open", account_manager.pk)
    assert body["detail"]  # the rule and reason in words
    assert (body["outcome"], body["closed_at"]) == (None, None)  # an open alert has no outcome yet (not "")
    assert [t["title"] for t in body["tasks"]] == ["Task 0", "Task 1"]


def test_alerts_are_not_created_by_post(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/alerts/", {"account": account.pk, "rule": "R3", "reason": "x", "priority": "high"}, format="json"
    )
    assert response.status_code == 405
    assert not Alert.objects.exists()


def test_alert_filters(manager_api, account_manager, other_manager):
    mine, second = AccountFactory(owner=account_manager), AccountFactory(owner=account_manager)
    high = make_alert(mine, reason="a", priority="high")
    critical = make_alert(second, reason="b", priority="critical", rule="R4")
    closed = make_alert(mine, reason="c")
    alerts.alert_close(alert=closed, actor=account_manager, note="Paid", outcome="retained")
    Alert.objects.filter(pk=critical.pk).update(due_on=dt.date(2020, 1, 1), owner=other_manager)
    make_alert(AccountFactory(owner=other_manager), reason="theirs")

    def ids(**params):
        response = manager_api.get("/api/v1/alerts/", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {high.pk, critical.pk, closed.pk}
    assert ids(status="open") == {high.pk, critical.pk}
    assert ids(status="closed_resolved") == {closed.pk}
    assert ids(priority="critical") == {critical.pk}
    assert ids(rule="R4") == {critical.pk}
    assert ids(owner=other_manager.pk) == {critical.pk}
    assert ids(account=mine.pk) == {high.pk, closed.pk}
    assert ids(due_before="2021-01-01") == {critical.pk}
    assert manager_api.get("/api/v1/alerts/", {"due_before": "soon"}).status_code == 400


def test_other_managers_alerts_and_tasks_are_404(other_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=1)
    task = alert.tasks.get()
    assert other_api.get(url(alert)).status_code == 404
    assert other_api.post(url(alert, "acknowledge"), {}, format="json").status_code == 404
    assert other_api.get(f"/api/v1/alert-tasks/{task.pk}/").status_code == 404
    assert other_api.post(f"/api/v1/alert-tasks/{task.pk}/complete/", {}, format="json").status_code == 404
    assert other_api.get("/api/v1/alerts/").json()["results"] == []
    alert.refresh_from_db()
    assert alert.status == "open"


def test_executives_read_but_do_not_act(executive_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager))
    assert executive_api.get(url(alert)).status_code == 200
    assert executive_api.post(url(alert, "acknowledge"), {}, format="json").status_code == 403


def test_a_read_only_token_cannot_act(account_manager):
    alert = make_alert(AccountFactory(owner=account_manager))
    client = token_client(account_manager, scope="read")
    assert client.get(url(alert)).status_code == 200
    assert client.post(url(alert, "close"), {"note": "x", "outcome": "retained"}, format="json").status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


# --- Verbs ------------------------------------------------------------------------------------------


def test_snooze(manager_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager))
    until = timezone.localdate() + dt.timedelta(days=10)
    response = manager_api.post(url(alert, "snooze"), {"until": until.isoformat(), "reason": "On leave"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["snoozed_until"], body["snooze_reason"], body["version"]) == (
        "snoozed",
        until.isoformat(),
        "On leave",
        2,
    )
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"until": "+31", "reason": "Long leave"}, "until"),  # the snooze limit is 30 days
        ({"until": "-1", "reason": "Past"}, "until"),
        ({"until": "2025-13-40", "reason": "Bad date"}, "until"),
        ({"until": "+5"}, "reason"),
        ({"until": "+5", "reason": "   "}, "reason"),
        ({"until": "+5", "reason": "x", "priority": "medium"}, "priority"),  # not a field of the verb
    ],
)
def test_snooze_refuses_bad_input_by_field(manager_api, account_manager, payload, field):
    alert = make_alert(AccountFactory(owner=account_manager))
    if payload["until"][0] in "+-":
        payload["until"] = (timezone.localdate() + dt.timedelta(days=int(payload["until"]))).isoformat()
    response = manager_api.post(url(alert, "snooze"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    alert.refresh_from_db()
    assert (alert.status, alert.version) == ("open", 1)


def test_close_needs_a_note_and_an_outcome(manager_api, account_manager, hooks, django_capture_on_commit_callbacks):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_api.post(url(alert, "close"), {}, format="json")
        assert response.status_code == 400
        assert {"note", "outcome"} <= set(response.json())
        response = manager_api.post(url(alert, "close"), {"note": "Paid", "outcome": "won"}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["outcome"])
        response = manager_api.post(
            url(alert, "close"), {"note": "Paid", "outcome": "retained", "saved_value_amount": "100.00"}, format="json"
        )
        assert (response.status_code, list(response.json())) == (400, ["currency"])  # money carries a currency
    alert.refresh_from_db()
    assert (alert.status, alert.version, hooks("alert.closed")) == ("open", 1, 0)


def test_close_publishes_alert_closed_once(manager_api, account_manager, hooks, django_capture_on_commit_callbacks):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=2)
    payload = {"note": "Paid in full.", "outcome": "retained", "saved_value_amount": "1250000.00", "currency": "CNY"}
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_api.post(url(alert, "close"), payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["outcome"], body["closure_note"], body["closed_by"]) == (
        "closed_resolved",
        "retained",
        "Paid in full.",
        account_manager.pk,
    )
    assert (body["saved_value_amount"], body["currency"]) == ("1250000.00", "CNY")
    assert {t["status"] for t in body["tasks"]} == {"cancelled"}
    assert hooks("alert.closed") == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = manager_api.post(url(alert, "close"), payload, format="json")
    assert (again.status_code, list(again.json())) == (400, ["status"])
    assert hooks("alert.closed") == 1


def test_stale_if_match_is_412_and_publishes_nothing(manager_api, account_manager, hooks, django_capture_on_commit_callbacks):
    alert = make_alert(AccountFactory(owner=account_manager))
    etag = manager_api.get(url(alert))["ETag"]
    alerts.alert_acknowledge(alert=alert, actor=account_manager)  # someone else acts meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_api.post(
            url(alert, "close"), {"note": "Done", "outcome": "retained"}, format="json", HTTP_IF_MATCH=etag
        )
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    alert.refresh_from_db()
    assert (alert.status, hooks("alert.closed")) == ("in_progress", 0)
    fresh = manager_api.get(url(alert))["ETag"]
    response = manager_api.post(url(alert, "snooze"), {"until": "2099-01-01", "reason": "x"}, format="json", HTTP_IF_MATCH=fresh)
    assert (response.status_code, list(response.json())) == (400, ["until"])


def test_acknowledge(manager_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager))
    response = manager_api.post(url(alert, "acknowledge"), {}, format="json", HTTP_IF_MATCH='"1"')
    assert (response.status_code, response.json()["status"]) == (200, "in_progress")
    assert manager_api.post(url(alert, "acknowledge"), {"note": "x"}, format="json").status_code == 400


def test_reassign_to_someone_who_sees_the_account(manager_api, account_manager, other_manager):
    account = AccountFactory(owner=account_manager)
    alert = make_alert(account, tasks=2)
    response = manager_api.post(url(alert, "reassign"), {"owner": other_manager.pk}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["owner"])  # cannot see the account
    assert manager_api.post(url(alert, "reassign"), {"owner": 987654}, format="json").status_code == 400
    assert manager_api.post(url(alert, "reassign"), {}, format="json").status_code == 400
    colleague = TeamMemberFactory(account=account).user
    response = manager_api.post(url(alert, "reassign"), {"owner": colleague.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == colleague.pk
    assert {t["owner"] for t in response.json()["tasks"]} == {colleague.pk}


def test_reschedule_moves_the_open_tasks(manager_api, other_api, executive_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=2)
    later = alert.due_on + dt.timedelta(days=7)
    assert other_api.post(url(alert, "reschedule"), {"due_on": later.isoformat()}, format="json").status_code == 404
    assert executive_api.post(url(alert, "reschedule"), {"due_on": later.isoformat()}, format="json").status_code == 403
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = manager_api.post(url(alert, "reschedule"), {"due_on": yesterday.isoformat()}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["due_on"])
    assert manager_api.post(url(alert, "reschedule"), {}, format="json").status_code == 400
    response = manager_api.post(url(alert, "reschedule"), {"due_on": later.isoformat()}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response.json()["due_on"] == later.isoformat() and response.json()["version"] == 2
    assert {t["due_on"] for t in response.json()["tasks"]} == {later.isoformat()}
    stale = manager_api.post(url(alert, "reschedule"), {"due_on": later.isoformat()}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412


def test_task_complete_needs_evidence_when_asked(manager_api, account_manager):
    alert = make_alert(AccountFactory(owner=account_manager), tasks=1)
    task = alert.tasks.get()
    AlertTask.objects.filter(pk=task.pk).update(evidence_required=True)
    response = manager_api.post(f"/api/v1/alert-tasks/{task.pk}/complete/", {}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["evidence"])
    response = manager_api.post(f"/api/v1/alert-tasks/{task.pk}/complete/", {"evidence": "Call notes"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["evidence"]) == ("done", "Call notes")
    assert manager_api.get("/api/v1/alert-tasks/", {"status": "done"}).json()["results"][0]["id"] == task.pk


# --- Events from the engine -------------------------------------------------------------------------


def test_the_engine_publishes_alert_opened_once_per_new_alert(hooks, django_capture_on_commit_callbacks):
    for _ in range(2):
        overdue(AccountFactory(), 40)
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["opened"] == 2
    assert hooks("alert.opened") == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["opened"] == 0  # a rerun opens nothing and announces nothing
    assert hooks("alert.opened") == 2


def test_an_expansion_alert_is_read_like_any_alert_and_its_detail_names_the_offering(
    manager_api, other_api, executive_api, admin_api, account_manager
):
    """E1 (§5.2) through the API: the owner, a team member, executives and administrators read it; another
    manager gets a 404 and an empty list; ``detail`` names the offering and its peer count."""
    from tests.service_plans.test_rule_e1 import PM, account, peers, plan

    target = account(owner=account_manager)
    plan(target, {PM: "gap"})
    peers(2)
    run()
    alert = Alert.objects.get(rule="E1")
    body = manager_api.get(url(alert)).json()
    assert (body["rule"], body["reason"], body["priority"], body["owner"]) == ("E1", "expansion", "medium", account_manager.pk)
    assert body["detail"] == f"E1 Expansion signal: Healthy account with room to grow: peers in its industry use {PM} (2 peers)"
    assert body["evidence"]["offerings"] == [{"offering": PM, "peers": 2}]
    assert len(body["tasks"]) == 5
    assert [a["id"] for a in manager_api.get("/api/v1/alerts/", {"rule": "E1"}).json()["results"]] == [alert.pk]
    colleague = TeamMemberFactory(account=target).user
    assert token_client(colleague).get(url(alert)).status_code == 200
    assert other_api.get(url(alert)).status_code == 404
    assert other_api.get("/api/v1/alerts/", {"rule": "E1"}).json()["results"] == []
    assert executive_api.get(url(alert)).status_code == 200
    assert admin_api.get(url(alert)).status_code == 200
    zh = manager_api.get(url(alert), headers={"accept-language": "zh-hans"}).json()["detail"]
    assert zh.startswith("E1 扩展信号: 健康客户仍有增长空间：同行业客户已采用") and "（2 家同行）" in zh
