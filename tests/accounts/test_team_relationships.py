"""DOMAIN.md §6.2–6.3: our people's relationship levels with contacts (Vendor → Trusted advisor) and
``relationship_gap = Σ max(0, target − current)``; written through the services, shown on the account page."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Contact, TeamRelationship
from accounts.stakeholders import relationship_gap
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def _contacts(account):
    return list(Contact.objects.filter(account=account).prefetch_related("team_relationships"))


def test_relationship_gap_sums_the_levels_short_of_target_over_active_contacts(account_manager):
    account = AccountFactory(owner=account_manager)
    colleague = TeamMemberFactory(account=account).user
    buyer, champion, gone = (ContactFactory(account=account) for _ in range(3))
    # Vendor (1) → Trusted advisor (4): 3 levels; Problem solver → Credible source: beyond target, 0 (not −1).
    services.team_relationship_create(contact=buyer, user=account_manager, level_current=1, level_target=4)
    services.team_relationship_create(contact=buyer, user=colleague, level_current=2, level_target=3)
    services.team_relationship_create(contact=champion, user=account_manager, level_current=3, level_target=2)
    services.team_relationship_create(contact=gone, user=account_manager, level_current=1, level_target=4)
    services.contact_update(contact=gone, is_active=False, left_on=gone.created_at.date())
    assert relationship_gap(_contacts(account)) == 3 + 1 + 0  # the departed contact's gap no longer counts
    assert relationship_gap([]) == 0


def test_the_services_check_the_colleague_the_pair_and_the_levels(account_manager, other_manager):
    account = AccountFactory(owner=account_manager)
    contact = ContactFactory(account=account)
    with pytest.raises(ValidationError) as exc:  # cannot see the account: not one of the account's people
        services.team_relationship_create(contact=contact, user=other_manager, level_current=1, level_target=2)
    assert "user" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=5)
    assert "level_target" in exc.value.message_dict
    relationship = services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=3)
    with pytest.raises(ValidationError) as exc:
        services.team_relationship_create(contact=contact, user=account_manager, level_current=2, level_target=3)
    assert "user" in exc.value.message_dict
    updated = services.team_relationship_update(relationship=relationship, level_current=2, expected_version=1)
    assert (updated.level_current, updated.level_target, updated.version) == (2, 3, 2)
    services.team_relationship_remove(relationship=updated)
    assert not TeamRelationship.objects.exists()


def test_visibility_follows_the_contacts_account(account_manager, other_manager, executive):
    account = AccountFactory(owner=account_manager)
    relationship = services.team_relationship_create(
        contact=ContactFactory(account=account), user=account_manager, level_current=1, level_target=2
    )
    assert list(TeamRelationship.objects.visible_to(account_manager)) == [relationship]
    assert list(TeamRelationship.objects.visible_to(executive)) == [relationship]
    assert not TeamRelationship.objects.visible_to(other_manager).exists()
    member = UserFactory(username="member")
    TeamMemberFactory(account=account, user=member)
    assert list(TeamRelationship.objects.visible_to(member)) == [relationship]


def test_the_account_page_shows_the_gap(manager_client, account_manager, other_manager):
    account = AccountFactory(owner=account_manager)
    contact = ContactFactory(account=account)
    services.team_relationship_create(contact=contact, user=account_manager, level_current=1, level_target=3)
    response = manager_client.get(reverse("web:account_detail", args=[account.pk]))
    assert response.context["page"].stakeholders.relationship_gap == 2
    assert 'id="relationship-gap">2<' in response.text
    manager_client.force_login(other_manager)
    assert manager_client.get(reverse("web:account_detail", args=[account.pk])).status_code == 404


def test_with_an_actor_managers_write_their_own_and_owners_anyones(account_manager, admin_user):
    from django.core.exceptions import PermissionDenied

    parent = AccountFactory(owner=UserFactory(username="group_owner"))
    account = AccountFactory(owner=account_manager, parent=parent)
    contact = ContactFactory(account=account)
    member = TeamMemberFactory(account=account).user
    mine = services.team_relationship_create(contact=contact, user=member, actor=member, level_current=1, level_target=2)
    with pytest.raises(ValidationError) as exc:  # a member records only their own
        services.team_relationship_create(contact=contact, user=account_manager, actor=member, level_current=1)
    assert list(exc.value.message_dict) == ["user"]
    owners = services.team_relationship_create(contact=contact, user=account_manager, actor=account_manager, level_current=1)
    with pytest.raises(PermissionDenied):
        services.team_relationship_update(relationship=owners, actor=member, level_current=2)
    with pytest.raises(PermissionDenied):
        services.team_relationship_remove(relationship=owners, actor=member)
    # the owner, the group's owner above and an administrator change anyone's
    for actor, level in ((account_manager, 2), (parent.owner, 3), (admin_user, 4)):
        mine = services.team_relationship_update(relationship=mine, actor=actor, level_current=level)
    assert (mine.level_current, mine.version) == (4, 4)
    services.team_relationship_remove(relationship=mine, actor=parent.owner, expected_version=4)
    assert list(TeamRelationship.objects.all()) == [owners]
