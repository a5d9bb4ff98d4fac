"""Relationship levels on the stakeholder map (DOMAIN.md §6.2): each of the account's people sets,
changes and removes their own level with a contact; the account's owner also a colleague's. Through
``accounts.services``; field errors, never a 500; the visibility rule (404) and the roles (403)."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import TeamRelationship
from kam.roles import ACCOUNT_MANAGER
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager, name="Acme")


@pytest.fixture
def contact(account):
    return ContactFactory(account=account, name="Chen CFO")


@pytest.fixture
def member(account):
    return TeamMemberFactory(account=account, user=UserFactory(username="member", role=ACCOUNT_MANAGER)).user


def _page(client, account):
    return client.get(reverse("web:account_detail", args=[account.pk]))


def test_a_team_member_sets_changes_and_removes_their_own_level(client, account, contact, member):
    client.force_login(member)
    page = _page(client, account)
    add = reverse("web:relationship_create", args=[contact.pk])
    assert f'data-add-relationship="{contact.pk}"' in page.text and "Set my level" in page.text
    form = client.get(add)
    assert form.status_code == 200 and form.context["form"].fields["user"].disabled  # their own only
    # another colleague in the POST is ignored: the field is fixed to the user
    response = client.post(add, {"user": account.owner_id, "level_current": "1", "level_target": "3"})
    assert response.status_code == 302 and response["Location"].endswith("#stakeholders")
    relationship = TeamRelationship.objects.get()
    assert (relationship.user, relationship.level_current, relationship.level_target) == (member, 1, 3)
    page = _page(client, account)
    assert page.context["page"].stakeholders.relationship_gap == 2
    assert f'data-relationship="{relationship.pk}"' in page.text and "Vendor → Problem solver" in page.text
    assert f'data-add-relationship="{contact.pk}"' not in page.text  # recorded: change it instead

    edit = reverse("web:relationship_edit", args=[relationship.pk])
    response = client.post(edit, {"level_current": "2", "level_target": "3", "version": "1"}, headers=HTMX)
    assert response.status_code == 204 and response["HX-Redirect"].endswith("#stakeholders")
    relationship.refresh_from_db()
    assert (relationship.level_current, relationship.version) == (2, 2)
    response = client.post(edit, {"level_current": "3", "level_target": "3", "version": "1"})  # stale
    assert response.status_code == 409
    relationship.refresh_from_db()
    assert relationship.level_current == 2

    remove = reverse("web:relationship_remove", args=[relationship.pk])
    assert client.get(remove).status_code == 405
    response = client.post(remove, {"version": "1"}, headers=HTMX)  # stale: kept
    assert response.status_code == 409 and TeamRelationship.objects.exists()
    response = client.post(remove, {"version": "2"}, headers=HTMX)
    assert response.status_code == 204 and not TeamRelationship.objects.exists()


def test_bad_input_comes_back_as_field_errors(manager_client, account, contact, account_manager):
    add = reverse("web:relationship_create", args=[contact.pk])
    response = manager_client.post(add, {"user": account_manager.pk, "level_current": "9", "level_target": ""}, headers=HTMX)
    assert response.status_code == 422
    assert {"level_current", "level_target"} <= set(response.context["form"].errors)
    assert 'data-error-for="level_current"' in response.text
    response = manager_client.post(add, {"user": account_manager.pk, "level_current": "1", "level_target": "2"})
    assert response.status_code == 302
    # the pair exists: the service's refusal comes back on the colleague field, nothing saved twice
    response = manager_client.post(add, {"user": account_manager.pk, "level_current": "2", "level_target": "2"})
    assert response.status_code == 422 and "user" in response.context["form"].errors
    assert TeamRelationship.objects.count() == 1
    # someone who does not work on the account is not a choice
    outsider = UserFactory(username="outsider", role=ACCOUNT_MANAGER)
    response = manager_client.post(add, {"user": outsider.pk, "level_current": "1", "level_target": "2"})
    assert response.status_code == 422 and "user" in response.context["form"].errors
    edit = reverse("web:relationship_edit", args=[TeamRelationship.objects.get().pk])
    response = manager_client.post(edit, {"level_current": "1", "level_target": "2"})  # no version
    assert response.status_code == 422 and "version" in response.context["form"].errors


def test_the_owner_records_a_colleagues_level(manager_client, account, contact, member, account_manager):
    page = _page(manager_client, account)
    assert page.context["relationships_of_others"] and "Add a level" in page.text
    add = reverse("web:relationship_create", args=[contact.pk])
    form = manager_client.get(add).context["form"]
    assert not form.fields["user"].disabled
    assert set(form.fields["user"].queryset) == {account_manager, member}  # the account's people
    response = manager_client.post(add, {"user": member.pk, "level_current": "2", "level_target": "4"})
    assert response.status_code == 302
    relationship = TeamRelationship.objects.get(user=member)
    edit = reverse("web:relationship_edit", args=[relationship.pk])
    assert manager_client.get(edit).status_code == 200
    response = manager_client.post(edit, {"level_current": "3", "level_target": "4", "version": "1"})
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert relationship.level_current == 3
    assert manager_client.post(reverse("web:relationship_remove", args=[relationship.pk])).status_code == 302
    assert not TeamRelationship.objects.exists()


def test_a_member_cannot_touch_a_colleagues_level(client, account, contact, member, account_manager):
    owners = services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=2)
    client.force_login(member)
    page = _page(client, account)
    assert f'data-relationship="{owners.pk}"' in page.text
    assert reverse("web:relationship_edit", args=[owners.pk]) not in page.text
    assert client.get(reverse("web:relationship_edit", args=[owners.pk])).status_code == 403
    assert client.post(reverse("web:relationship_remove", args=[owners.pk])).status_code == 403
    assert TeamRelationship.objects.filter(pk=owners.pk).exists()


def test_visibility_and_roles(client, account, contact, account_manager, other_manager, executive):
    relationship = services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=2)
    urls = [
        reverse("web:relationship_create", args=[contact.pk]),
        reverse("web:relationship_edit", args=[relationship.pk]),
    ]
    remove = reverse("web:relationship_remove", args=[relationship.pk])
    client.force_login(other_manager)  # another manager's account: nothing exists
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, {"level_current": "2", "level_target": "2", "version": "1"}).status_code == 404
    assert client.post(remove).status_code == 404
    client.force_login(executive)  # reads the page, writes nothing
    page = _page(client, account)
    assert page.status_code == 200 and f'data-relationship="{relationship.pk}"' in page.text
    assert reverse("web:relationship_edit", args=[relationship.pk]) not in page.text
    assert "data-add-relationship" not in page.text
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(remove).status_code == 403
    relationship.refresh_from_db()
    assert (relationship.level_current, relationship.version) == (1, 1)


def test_the_forms_speak_chinese(manager_client, account, contact):
    response = manager_client.get(reverse("web:relationship_create", args=[contact.pk]), headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 200
    assert "与 Chen CFO 的关系" in response.text
    page = manager_client.get(reverse("web:account_detail", args=[account.pk]), headers={"Accept-Language": "zh-hans"})
    assert "我们的关系" in page.text and "设置我的关系层级" not in page.text and "添加关系层级" in page.text
