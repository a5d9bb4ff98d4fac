"""Influence and conflict lines between an account's contacts (DOMAIN.md §6.1–6.2): the model's
constraints, the services' checks (naming the field), who may draw them, visibility and history."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import Contact, InfluenceLink
from kam.errors import Conflict, StaleVersion
from kam.roles import ACCOUNT_MANAGER
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager)


@pytest.fixture
def cfo(account):
    return ContactFactory(account=account, name="Chen CFO")


@pytest.fixture
def cio(account):
    return ContactFactory(account=account, name="Wang CIO")


def test_a_line_is_drawn_with_who_drew_it_and_its_history(account_manager, cfo, cio):
    link = services.influence_link_create(
        from_contact=cfo, to_contact=cio, kind="influences", note="Signs off IT budgets", actor=account_manager
    )
    assert (link.from_contact, link.to_contact, link.kind, link.created_by, link.version) == (
        cfo,
        cio,
        "influences",
        account_manager,
        1,
    )
    assert str(link) == "Chen CFO → Wang CIO (Influences)"
    assert [(h.history_type, h.history_user) for h in link.history.all()] == [("+", account_manager)]
    # the other kind between the same pair, and the opposite direction, are different lines
    services.influence_link_create(from_contact=cfo, to_contact=cio, kind="conflicts")
    services.influence_link_create(from_contact=cio, to_contact=cfo, kind="influences")
    assert InfluenceLink.objects.count() == 3
    assert (cfo.influence_links_out.count(), cio.influence_links_in.count(), cio.influence_links_out.count()) == (2, 2, 1)


def test_the_services_name_the_field_for_a_stranger_a_self_link_and_a_bad_kind(cfo, cio, account_manager):
    stranger = ContactFactory(account=AccountFactory(owner=account_manager), name="Elsewhere")
    cases = [
        ({"from_contact": cfo, "to_contact": stranger, "kind": "influences"}, "to_contact"),
        ({"from_contact": cfo, "to_contact": cfo, "kind": "conflicts"}, "to_contact"),
        ({"from_contact": cfo, "to_contact": cio, "kind": "likes"}, "kind"),
        ({"from_contact": cfo, "to_contact": cio, "note": "x" * 501}, "note"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.influence_link_create(**kwargs)
        assert list(exc.value.message_dict) == [field], kwargs
    assert not InfluenceLink.objects.exists()


def test_a_duplicate_is_a_conflict_and_the_database_refuses_it_too(cfo, cio):
    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    with pytest.raises(Conflict) as exc:
        services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    assert exc.value.field == "to_contact"
    # changing a line's kind into one that exists is the same conflict
    other = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="conflicts")
    with pytest.raises(Conflict):
        services.influence_link_update(link=other, kind="influences")
    # the constraints hold without the services (bulk loads, raw SQL)
    with pytest.raises(IntegrityError), transaction.atomic():
        InfluenceLink.objects.create(from_contact=cfo, to_contact=cio, kind="influences")
    with pytest.raises(IntegrityError), transaction.atomic():
        InfluenceLink.objects.create(from_contact=cfo, to_contact=cfo, kind="influences")
    assert set(InfluenceLink.objects.values_list("pk", flat=True)) == {link.pk, other.pk}


def test_update_changes_the_note_and_kind_with_versions_and_delete_removes(cfo, cio, account_manager):
    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    updated = services.influence_link_update(
        link=link, kind="conflicts", note="Budget fight", expected_version=1, actor=account_manager
    )
    assert (updated.kind, updated.note, updated.version) == ("conflicts", "Budget fight", 2)
    with pytest.raises(StaleVersion):
        services.influence_link_update(link=updated, note="late", expected_version=1)
    with pytest.raises(TypeError):  # the contacts are fixed once drawn
        services.influence_link_update(link=updated, to_contact=cfo)
    with pytest.raises(StaleVersion):
        services.influence_link_delete(link=updated, expected_version=1)
    services.influence_link_delete(link=updated, expected_version=2, actor=account_manager)
    assert not InfluenceLink.objects.exists()
    assert [h.history_type for h in InfluenceLink.history.order_by("history_id")] == ["+", "~", "-"]


def test_deleting_a_contact_removes_its_lines(cfo, cio):
    services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    services.influence_link_create(from_contact=cio, to_contact=cfo, kind="conflicts")
    services.contact_delete(contact=cio)
    assert not InfluenceLink.objects.exists() and Contact.objects.filter(pk=cfo.pk).exists()


def test_whoever_may_edit_the_accounts_contacts_draws_its_lines(
    account, cfo, cio, account_manager, other_manager, executive, admin_user
):
    member = TeamMemberFactory(account=account, user=UserFactory(username="member", role=ACCOUNT_MANAGER)).user
    group_owner = UserFactory(username="group_owner", role=ACCOUNT_MANAGER)
    parent = AccountFactory(owner=group_owner)
    services.account_update(account=account, parent=parent)
    allowed = [account_manager, member, group_owner, admin_user]
    for index, actor in enumerate(allowed):
        kind = "influences" if index % 2 == 0 else "conflicts"
        source, target = (cfo, cio) if index < 2 else (cio, cfo)
        link = services.influence_link_create(from_contact=source, to_contact=target, kind=kind, actor=actor)
        assert link.created_by == actor
    link = InfluenceLink.objects.first()
    # another manager cannot see the account; an executive reads but does not edit contacts
    for actor in (other_manager, executive):
        with pytest.raises(PermissionDenied):
            services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences", actor=actor)
        with pytest.raises(PermissionDenied):
            services.influence_link_update(link=link, note="no", actor=actor)
        with pytest.raises(PermissionDenied):
            services.influence_link_delete(link=link, actor=actor)
    assert InfluenceLink.objects.count() == len(allowed)
    link.refresh_from_db()
    assert (link.note, link.version) == ("", 1)


def test_visibility_follows_the_contacts_account(account, cfo, cio, account_manager, other_manager, executive, admin_user):
    link = services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    member = TeamMemberFactory(account=account, user=UserFactory(username="member")).user
    for user in (account_manager, member, executive, admin_user):
        assert list(InfluenceLink.objects.visible_to(user)) == [link]
    assert not InfluenceLink.objects.visible_to(other_manager).exists()


def test_a_contact_who_moves_to_another_account_leaves_their_lines_behind(account_manager, account, cfo, cio):
    buyer = ContactFactory(account=account, name="Buyer")
    services.influence_link_create(from_contact=cfo, to_contact=cio, kind="influences")
    services.influence_link_create(from_contact=buyer, to_contact=cfo, kind="conflicts")
    services.influence_link_create(from_contact=cfo, to_contact=buyer, kind="influences")
    services.contact_update(contact=cio, title="Still here")  # no move: lines stay
    assert InfluenceLink.objects.count() == 3
    services.contact_update(contact=buyer, account=AccountFactory(owner=account_manager))
    assert [(link.from_contact, link.to_contact) for link in InfluenceLink.objects.all()] == [(cfo, cio)]
