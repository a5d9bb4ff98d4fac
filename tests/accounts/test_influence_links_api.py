"""``influence-links/``: influence and conflict lines between an account's contacts (DOMAIN.md §6.1–6.2).

Visibility follows the contacts' account (another manager's is a 404, executives read all, read only);
bad input is a 400 naming the field, a duplicate line a 409 (API.md: conflicts with existing data)."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import InfluenceLink
from kam.roles import ACCOUNT_MANAGER
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/influence-links/"


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager)


@pytest.fixture
def cfo(account):
    return ContactFactory(account=account, name="Chen CFO")


@pytest.fixture
def cio(account):
    return ContactFactory(account=account, name="Wang CIO")


def test_crud_by_the_owner_with_etag_if_match_and_filters(manager_api, account_manager, account, cfo, cio):
    response = manager_api.post(URL, {"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "influences"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["account"], body["from_contact"], body["to_contact"], body["kind"], body["note"]) == (
        account.pk,
        cfo.pk,
        cio.pk,
        "influences",
        "",
    )
    assert (body["created_by"], body["version"]) == (account_manager.pk, 1)
    assert response["ETag"] == '"1"' and response["Location"].endswith(f"{URL}{body['id']}/")
    detail = f"{URL}{body['id']}/"

    response = manager_api.patch(detail, {"kind": "conflicts", "note": "Budget fight"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert (response.json()["kind"], response.json()["note"], response["ETag"]) == ("conflicts", "Budget fight", '"2"')
    assert manager_api.patch(detail, {"note": "late"}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    # the contacts identify the line: sent back on PUT they are ignored, not moved
    response = manager_api.put(
        detail, {"from_contact": cio.pk, "to_contact": cfo.pk, "kind": "conflicts", "note": ""}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["from_contact"], response.json()["to_contact"]) == (cfo.pk, cio.pk)

    back = services.influence_link_create(from_contact=cio, to_contact=cfo, kind="influences")
    elsewhere = ContactFactory(account=AccountFactory(owner=account_manager))
    unrelated = services.influence_link_create(
        from_contact=elsewhere, to_contact=ContactFactory(account=elsewhere.account), kind="influences"
    )

    def ids(**params):
        return sorted(row["id"] for row in manager_api.get(URL, params).json()["results"])

    assert ids() == sorted([body["id"], back.pk, unrelated.pk])
    assert ids(account=account.pk) == sorted([body["id"], back.pk])
    assert ids(contact=cfo.pk) == sorted([body["id"], back.pk])  # either end
    assert ids(contact=elsewhere.pk) == [unrelated.pk]
    assert ids(kind="conflicts") == [body["id"]]
    assert ids(account=account.pk, kind="influences") == [back.pk]
    assert manager_api.get(URL, {"kind": "likes"}).status_code == 400

    assert manager_api.delete(detail, HTTP_IF_MATCH='"1"').status_code == 412
    assert manager_api.delete(detail, HTTP_IF_MATCH='"3"').status_code == 204
    assert not InfluenceLink.objects.filter(pk=body["id"]).exists()


def test_visibility_owner_member_other_manager_executive_admin(
    manager_api, other_api, executive_api, admin_api, account, cfo, cio
):
    from tests.api.conftest import token_client

    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    detail = f"{URL}{link.pk}/"
    member = TeamMemberFactory(account=account, user=UserFactory(username="member", role=ACCOUNT_MANAGER)).user
    member_api = token_client(member)
    for client in (manager_api, member_api, executive_api, admin_api):
        assert client.get(detail).status_code == 200
        assert [row["id"] for row in client.get(URL).json()["results"]] == [link.pk]
    # another manager: not listed, and the line does not exist for them, even to write
    assert other_api.get(URL).json()["results"] == []
    assert other_api.get(detail).status_code == 404
    assert other_api.patch(detail, {"note": "x"}, format="json").status_code == 404
    assert other_api.delete(detail).status_code == 404
    # another manager's contacts in a payload "do not exist"
    response = other_api.post(URL, {"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "conflicts"}, format="json")
    assert (response.status_code, sorted(response.json())) == (400, ["from_contact", "to_contact"])
    # executives read all but write nothing (kam/roles.py)
    assert executive_api.patch(detail, {"note": "x"}, format="json").status_code == 403
    assert executive_api.delete(detail).status_code == 403
    response = executive_api.post(URL, {"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "conflicts"}, format="json")
    assert response.status_code == 403
    # a team member edits the account's contacts, so draws and changes its lines; so does an administrator
    response = member_api.post(URL, {"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "conflicts"}, format="json")
    assert response.status_code == 201, response.content
    assert member_api.patch(detail, {"note": "member"}, format="json").status_code == 200
    assert admin_api.patch(detail, {"note": "admin"}, format="json").status_code == 200
    assert admin_api.delete(f"{URL}{response.json()['id']}/").status_code == 204
    link.refresh_from_db()
    assert (link.note, link.version) == ("admin", 3)


def test_bad_input_is_a_400_naming_the_field_and_a_duplicate_a_409(manager_api, account_manager, cfo, cio):
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))  # visible, but another account
    cases = [
        ({"from_contact": cfo.pk, "to_contact": stranger.pk, "kind": "influences"}, "to_contact"),
        ({"from_contact": cfo.pk, "to_contact": cfo.pk, "kind": "influences"}, "to_contact"),
        ({"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "likes"}, "kind"),
        ({"from_contact": cfo.pk, "to_contact": cio.pk, "note": "x" * 501}, "note"),
        ({"from_contact": 987654321, "to_contact": cio.pk}, "from_contact"),
        ({"from_contact": cfo.pk}, "to_contact"),
        ({"from_contact": cfo.pk, "to_contact": cio.pk, "type": "influences"}, "type"),  # not a field
    ]
    for payload, field in cases:
        response = manager_api.post(URL, payload, format="json")
        assert (response.status_code, list(response.json())) == (400, [field]), payload
    assert not InfluenceLink.objects.exists()

    payload = {"from_contact": cfo.pk, "to_contact": cio.pk, "kind": "influences"}
    assert manager_api.post(URL, payload, format="json").status_code == 201
    response = manager_api.post(URL, payload, format="json")
    assert (response.status_code, list(response.json())) == (409, ["to_contact"])
    conflict = manager_api.post(URL, {**payload, "kind": "conflicts"}, format="json")
    assert conflict.status_code == 201  # the other kind is another line
    response = manager_api.patch(f"{URL}{conflict.json()['id']}/", {"kind": "influences"}, format="json")
    assert (response.status_code, list(response.json())) == (409, ["to_contact"])
    assert InfluenceLink.objects.count() == 2


def test_schema_documents_the_resource():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert {"/api/v1/influence-links/", "/api/v1/influence-links/{id}/"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/influence-links/{id}/"]) >= {"get", "put", "patch", "delete"}
    parameters = {p["name"] for p in schema["paths"]["/api/v1/influence-links/"]["get"]["parameters"]}
    assert {"account", "contact", "kind"} <= parameters
