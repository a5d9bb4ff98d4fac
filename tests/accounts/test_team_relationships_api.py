"""``team-relationships/``: our people's relationship levels with contacts (DOMAIN.md §6.2) over the API.

Visibility follows the contact's account (another manager's is a 404, executives read all, read only);
managers write their own relationship, the account's owner anyone's; bad input is a 400 naming the field."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import TeamRelationship
from kam.roles import ACCOUNT_MANAGER
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/team-relationships/"


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager)


@pytest.fixture
def member(account):
    return TeamMemberFactory(account=account, user=UserFactory(username="member", role=ACCOUNT_MANAGER)).user


def test_crud_by_the_owner_with_etag_and_if_match(manager_api, account_manager, account):
    contact = ContactFactory(account=account)
    response = manager_api.post(URL, {"contact": contact.pk, "level_current": 1, "level_target": 3}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"], body["account"], body["level_current"], body["level_target"], body["version"]) == (
        account_manager.pk,  # defaults to the caller
        account.pk,
        1,
        3,
        1,
    )
    assert response["ETag"] == '"1"' and response["Location"].endswith(f"{URL}{body['id']}/")
    detail = f"{URL}{body['id']}/"

    response = manager_api.patch(
        detail, {"level_current": 2, "last_interaction_on": "2026-01-15"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert (response.json()["level_current"], response.json()["last_interaction_on"], response["ETag"]) == (
        2,
        "2026-01-15",
        '"2"',
    )
    response = manager_api.patch(detail, {"level_current": 3}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412 and response.json()["current_version"] == 2
    # contact and user identify the row: sent back on PUT they are ignored, not moved
    other_contact = ContactFactory(account=account)
    response = manager_api.put(
        detail, {"contact": other_contact.pk, "user": UserFactory().pk, "level_current": 3, "level_target": 4}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["contact"], response.json()["user"], response.json()["level_target"]) == (
        contact.pk,
        account_manager.pk,
        4,
    )

    listed = manager_api.get(URL, {"contact": contact.pk}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert manager_api.get(URL, {"account": AccountFactory(owner=account_manager).pk}).json()["results"] == []
    assert manager_api.get(URL, {"level_target": 4}).json()["results"][0]["id"] == body["id"]

    assert manager_api.delete(detail, HTTP_IF_MATCH='"1"').status_code == 412
    assert manager_api.delete(detail, HTTP_IF_MATCH='"3"').status_code == 204
    assert not TeamRelationship.objects.exists()


def test_visibility_owner_member_other_manager_executive(
    manager_api, other_api, executive_api, admin_api, account_manager, other_manager, account, member
):
    from tests.api.conftest import token_client

    relationship = services.team_relationship_create(
        contact=ContactFactory(account=account), user=account_manager, level_current=1, level_target=2
    )
    detail = f"{URL}{relationship.pk}/"
    member_api = token_client(member)
    for client in (manager_api, member_api, executive_api, admin_api):
        assert client.get(detail).status_code == 200
        assert [row["id"] for row in client.get(URL).json()["results"]] == [relationship.pk]
    # another manager: not listed, and the object does not exist for them, even to write
    assert other_api.get(URL).json()["results"] == []
    assert other_api.get(detail).status_code == 404
    assert other_api.patch(detail, {"level_current": 2}, format="json").status_code == 404
    assert other_api.delete(detail).status_code == 404
    # executives read all but write nothing (kam/roles.py)
    assert executive_api.patch(detail, {"level_current": 2}, format="json").status_code == 403
    assert executive_api.post(URL, {"contact": relationship.contact_id}, format="json").status_code == 403
    # another manager's contact in a payload "does not exist"
    response = other_api.post(URL, {"contact": relationship.contact_id, "level_current": 1}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["contact"])


def test_members_write_their_own_and_the_owner_anyones(manager_api, account_manager, account, member):
    from tests.api.conftest import token_client

    member_api = token_client(member)
    contact = ContactFactory(account=account)
    # a team member records their own level; not the owner's
    response = member_api.post(URL, {"contact": contact.pk, "level_current": 2, "level_target": 4}, format="json")
    assert (response.status_code, response.json()["user"]) == (201, member.pk)
    response = member_api.post(URL, {"contact": contact.pk, "user": account_manager.pk, "level_current": 1}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["user"])
    owners = services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=2)
    assert member_api.patch(f"{URL}{owners.pk}/", {"level_current": 2}, format="json").status_code == 403
    assert member_api.delete(f"{URL}{owners.pk}/").status_code == 403
    # the owner records, changes and removes a colleague's
    members = TeamRelationship.objects.get(user=member)
    response = manager_api.patch(f"{URL}{members.pk}/", {"level_current": 3}, format="json")
    assert (response.status_code, response.json()["level_current"]) == (200, 3)
    other_contact = ContactFactory(account=account)
    response = manager_api.post(
        URL, {"contact": other_contact.pk, "user": member.pk, "level_current": 1, "level_target": 2}, format="json"
    )
    assert (response.status_code, response.json()["user"]) == (201, member.pk)
    assert manager_api.delete(f"{URL}{members.pk}/").status_code == 204


def test_bad_input_is_a_400_naming_the_field(manager_api, account_manager, other_manager, account):
    contact = ContactFactory(account=account)
    cases = [
        ({"contact": contact.pk, "level_current": 5}, "level_current"),
        ({"contact": contact.pk, "level_target": 0}, "level_target"),
        ({"contact": contact.pk, "level_current": "vendor"}, "level_current"),
        ({"contact": contact.pk, "user": 987654321}, "user"),
        ({"contact": contact.pk, "user": UserFactory(is_active=False).pk}, "user"),
        ({"contact": contact.pk, "user": other_manager.pk}, "user"),  # does not work on the account
        ({"contact": contact.pk, "last_interaction_on": "3026-01-01"}, "last_interaction_on"),
        ({"contact": 987654321}, "contact"),
        ({}, "contact"),
        ({"contact": contact.pk, "level": 2}, "level"),  # not a field
    ]
    for payload, field in cases:
        response = manager_api.post(URL, payload, format="json")
        assert (response.status_code, list(response.json())) == (400, [field]), payload
    assert not TeamRelationship.objects.exists()
    # the pair is unique: a second row for the same contact and colleague is a conflict (409) on ``user``
    assert manager_api.post(URL, {"contact": contact.pk, "level_current": 1}, format="json").status_code == 201
    response = manager_api.post(URL, {"contact": contact.pk, "level_current": 2}, format="json")
    assert (response.status_code, list(response.json())) == (409, ["user"])
    assert TeamRelationship.objects.count() == 1
    detail = f"{URL}{TeamRelationship.objects.get().pk}/"
    response = manager_api.patch(detail, {"level_target": 9}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["level_target"])


def test_schema_documents_the_resource():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert {"/api/v1/team-relationships/", "/api/v1/team-relationships/{id}/"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/team-relationships/{id}/"]) >= {"get", "put", "patch", "delete"}
