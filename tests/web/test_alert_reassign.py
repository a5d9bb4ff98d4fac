"""Reassigning an alert from the workspace: only to someone who works on the account (its owner or a
team member), the previous owner's open tasks move along, a stale version is refused, others' alerts
are a 404 and executives may not reassign (403); the form's query count does not grow with the team."""

import pytest
from django.urls import reverse

from service_plans.models import AlertEvent, AlertTask
from service_plans.services import alerts as alert_services
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def alert(account_manager):
    account = AccountFactory(owner=account_manager, name="Mine")
    alert = alert_services.alert_create_manual(account=account, rule="R1", reason="drop", priority="high", actor=None)
    assert alert.owner == account_manager
    return alert


def _url(alert):
    return reverse("web:alert_reassign", args=[alert.pk])


def test_reassign_to_a_team_member_moves_the_open_tasks(manager_client, alert, account_manager):
    colleague = TeamMemberFactory(account=alert.account, role="delivery").user
    task = AlertTask.objects.create(
        alert=alert, title="Call", owner=account_manager, owner_role="account_manager", due_on=alert.due_on
    )
    form = manager_client.get(_url(alert), {"from": "inbox"}, headers=HTMX)
    assert form.status_code == 200 and 'data-form="reassign"' in form.text
    choices = [u.pk for u in form.context["form"].fields["owner"].queryset]
    assert choices == [colleague.pk]  # the team; not the current owner, not everyone
    response = manager_client.post(
        _url(alert), {"owner": colleague.pk, "move_tasks": "on", "version": alert.version, "from": "inbox"}, headers=HTMX
    )
    assert response.status_code == 200 and f'id="alert-{alert.pk}"' in response.text
    alert.refresh_from_db()
    task.refresh_from_db()
    assert alert.owner == colleague and alert.version == 2 and task.owner == colleague
    event = AlertEvent.objects.get(alert=alert, kind="reassigned")
    assert event.actor == account_manager and event.data == {"from": account_manager.pk, "to": colleague.pk}


def test_reassign_without_moving_tasks(manager_client, alert, account_manager):
    colleague = TeamMemberFactory(account=alert.account).user
    task = AlertTask.objects.create(
        alert=alert, title="Call", owner=account_manager, owner_role="account_manager", due_on=alert.due_on
    )
    response = manager_client.post(_url(alert), {"owner": colleague.pk, "version": alert.version})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.owner == account_manager


def test_someone_outside_the_team_is_a_field_error_and_nothing_changes(manager_client, alert, account_manager):
    stranger = UserFactory()
    for data in ({"owner": stranger.pk}, {"owner": ""}, {"owner": "abc"}):
        response = manager_client.post(_url(alert), {**data, "version": alert.version}, headers=HTMX)
        assert response.status_code == 422
        assert 'data-error-for="owner"' in response.text
    alert.refresh_from_db()
    assert alert.owner == account_manager and alert.version == 1
    assert not AlertEvent.objects.filter(alert=alert, kind="reassigned").exists()


def test_a_stale_version_is_refused(manager_client, alert, account_manager):
    colleague = TeamMemberFactory(account=alert.account).user
    alert_services.alert_acknowledge(alert=alert, actor=account_manager)
    response = manager_client.post(_url(alert), {"owner": colleague.pk, "version": 1}, headers=HTMX)
    assert response.status_code == 409
    alert.refresh_from_db()
    assert alert.owner == account_manager


def test_a_closed_alert_cannot_be_reassigned(manager_client, alert, account_manager):
    colleague = TeamMemberFactory(account=alert.account).user
    alert = alert_services.alert_close(alert=alert, actor=None, note="done", outcome="retained")
    response = manager_client.post(_url(alert), {"owner": colleague.pk, "version": alert.version}, headers=HTMX)
    assert response.status_code == 409
    alert.refresh_from_db()
    assert alert.owner == account_manager


def test_others_alerts_are_a_404_and_executives_may_not_reassign(client, alert, other_manager, executive, account_manager):
    colleague = TeamMemberFactory(account=alert.account).user
    client.force_login(other_manager)
    assert client.get(_url(alert)).status_code == 404
    assert client.post(_url(alert), {"owner": other_manager.pk, "version": 1}).status_code == 404
    client.force_login(executive)
    assert client.get(_url(alert)).status_code == 403
    assert client.post(_url(alert), {"owner": colleague.pk, "version": 1}).status_code == 403
    alert.refresh_from_db()
    assert alert.owner == account_manager and alert.version == 1


def test_the_inbox_row_offers_reassign(manager_client, alert):
    response = manager_client.get(reverse("web:alert_list"))
    assert f'href="{_url(alert)}' in response.text and 'data-action="reassign"' in response.text


@pytest.mark.parametrize("n", [2, 10])
def test_reassign_form_query_count_is_constant(manager_client, alert, n, django_assert_num_queries):
    for _ in range(n):
        TeamMemberFactory(account=alert.account)
    # session, user, groups; the alert; permissions (2); the team to choose from
    with django_assert_num_queries(7):
        response = manager_client.get(_url(alert), headers=HTMX)
    assert len(response.context["form"].fields["owner"].queryset) == n
