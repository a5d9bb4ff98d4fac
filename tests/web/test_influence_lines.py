"""Influence and conflict lines on the stakeholder map (DOMAIN.md §6.1–6.2): each contact's outgoing
lines, a small form to draw one and buttons to remove one, for whoever may edit the account's contacts.
Through ``accounts.services``; field errors, a duplicate is a 409, never a 500; other managers get 404."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import InfluenceLink
from kam.roles import ACCOUNT_MANAGER
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager, name="Acme")


@pytest.fixture
def cfo(account):
    return ContactFactory(account=account, name="Chen CFO", influence=5)


@pytest.fixture
def cio(account):
    return ContactFactory(account=account, name="Wang CIO", influence=4)


def _page(client, account, **headers):
    return client.get(reverse("web:account_detail", args=[account.pk]), headers=headers)


def test_the_map_shows_each_contacts_outgoing_lines_distinctly(manager_client, account, cfo, cio):
    influences = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences", note="Budget owner")
    conflicts = services.influence_link_create(from_contact=cio, to_contact=cfo, kind="conflicts")
    page = _page(manager_client, account)
    assert page.status_code == 200
    text = page.text
    assert f'data-influence-link="{influences.pk}" data-kind="influences" title="Budget owner"' in text
    assert f'data-influence-link="{conflicts.pk}" data-kind="conflicts"' in text
    assert "kam-line kam-line-influences" in text and "kam-line kam-line-conflicts" in text
    assert "influences → Wang CIO" in text and "conflicts with Chen CFO" in text
    # each line sits in its source contact's row
    cfo_cell = text.split(f'data-influence-links="{cfo.pk}"')[1].split("</td>")[0]
    assert "influences → Wang CIO" in cfo_cell and "conflicts with" not in cfo_cell
    assert f'data-remove-influence-link="{influences.pk}"' in text
    assert 'id="influence-link-form"' in text
    chinese = _page(manager_client, account, **{"Accept-Language": "zh-hans"}).text
    assert "影响 → Wang CIO" in chinese and "与 Chen CFO 冲突" in chinese and "影响与冲突" in chinese


def test_the_form_draws_a_line_and_refuses_bad_ones_on_the_field(manager_client, account_manager, account, cfo, cio):
    add = reverse("web:influence_link_create", args=[account.pk])
    assert manager_client.get(add).status_code == 200
    payload = {"from_contact": cfo.pk, "kind": "influences", "to_contact": cio.pk, "note": "Signs off"}
    response = manager_client.post(add, payload)
    assert response.status_code == 302 and response["Location"].endswith("#stakeholders")
    link = InfluenceLink.objects.get()
    assert (link.from_contact, link.to_contact, link.kind, link.note, link.created_by) == (
        cfo,
        cio,
        "influences",
        "Signs off",
        account_manager,
    )
    # the same line again: a conflict with existing data, shown on the field
    response = manager_client.post(add, payload, headers=HTMX)
    assert response.status_code == 409 and "to_contact" in response.context["form"].errors
    # a contact with themselves, a bad kind, another account's contact: field errors, nothing saved
    response = manager_client.post(add, {**payload, "to_contact": cfo.pk})
    assert response.status_code == 422 and "to_contact" in response.context["form"].errors
    response = manager_client.post(add, {**payload, "kind": "likes"})
    assert response.status_code == 422 and "kind" in response.context["form"].errors
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    response = manager_client.post(add, {**payload, "to_contact": stranger.pk})
    assert response.status_code == 422 and "to_contact" in response.context["form"].errors
    assert InfluenceLink.objects.count() == 1
    # the conflict line between the same two is another line
    assert manager_client.post(add, {**payload, "kind": "conflicts"}).status_code == 302
    assert InfluenceLink.objects.count() == 2


def test_a_line_is_removed_and_a_stale_version_refused(manager_client, account, cfo, cio):
    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="conflicts")
    remove = reverse("web:influence_link_delete", args=[link.pk])
    assert manager_client.get(remove).status_code == 405
    services.influence_link_update(link=link, note="changed meanwhile")
    response = manager_client.post(remove, {"version": "1"}, headers=HTMX)
    assert response.status_code == 409 and InfluenceLink.objects.exists()
    response = manager_client.post(remove, {"version": "2"}, headers=HTMX)
    assert response.status_code == 204 and response["HX-Redirect"].endswith("#stakeholders")
    assert not InfluenceLink.objects.exists()


def test_a_team_member_draws_lines_too(client, account, cfo, cio):
    member = TeamMemberFactory(account=account, user=UserFactory(username="member", role=ACCOUNT_MANAGER)).user
    client.force_login(member)
    assert 'id="influence-link-form"' in _page(client, account).text
    add = reverse("web:influence_link_create", args=[account.pk])
    response = client.post(add, {"from_contact": cio.pk, "kind": "influences", "to_contact": cfo.pk})
    assert response.status_code == 302
    link = InfluenceLink.objects.get()
    assert client.post(reverse("web:influence_link_delete", args=[link.pk])).status_code == 302
    assert not InfluenceLink.objects.exists()


def test_visibility_and_roles(client, account, cfo, cio, other_manager, executive):
    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    add = reverse("web:influence_link_create", args=[account.pk])
    remove = reverse("web:influence_link_delete", args=[link.pk])
    payload = {"from_contact": cio.pk, "kind": "conflicts", "to_contact": cfo.pk}
    client.force_login(other_manager)  # another manager's account: nothing exists
    assert client.get(add).status_code == 404
    assert client.post(add, payload).status_code == 404
    assert client.post(remove).status_code == 404
    client.force_login(executive)  # reads the lines, draws and removes none
    page = _page(client, account)
    assert page.status_code == 200 and f'data-influence-link="{link.pk}"' in page.text
    assert 'id="influence-link-form"' not in page.text and "data-remove-influence-link" not in page.text
    assert client.get(add).status_code == 403
    assert client.post(add, payload).status_code == 403
    assert client.post(remove).status_code == 403
    assert list(InfluenceLink.objects.all()) == [link]


def test_no_form_until_there_are_two_contacts(manager_client, account, cfo):
    assert 'id="influence-link-form"' not in _page(manager_client, account).text
