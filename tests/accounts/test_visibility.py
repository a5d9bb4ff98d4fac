"""The visibility rule across the whole persona × relationship matrix, for accounts and what hangs off them."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Account, Contact, Contract, Invoice, Meeting
from service_plans.models import AccountTeamMember
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    InvoiceFactory,
    MeetingFactory,
    TeamMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(account_manager, other_manager):
    """Own group with a subsidiary and a grandchild; an account served on; a parent above own; another's."""
    parent_of_own = AccountFactory(name="Parent above mine", owner=other_manager)
    own = AccountFactory(name="Mine", owner=account_manager, parent=parent_of_own)
    child = AccountFactory(name="My subsidiary", owner=other_manager, parent=own)
    grandchild = AccountFactory(name="Its subsidiary", owner=other_manager, parent=child)
    served = AccountFactory(name="Served", owner=other_manager)
    TeamMemberFactory(account=served, user=account_manager)
    others = AccountFactory(name="Other manager's", owner=other_manager)
    return {"parent": parent_of_own, "own": own, "child": child, "grandchild": grandchild, "served": served, "others": others}


def _names(qs):
    return set(qs.values_list("name", flat=True))


def test_manager_sees_owned_served_and_everything_below(portfolio, account_manager):
    assert _names(Account.objects.visible_to(account_manager)) == {"Mine", "My subsidiary", "Its subsidiary", "Served"}


def test_other_manager_sees_only_their_own_and_below(portfolio, other_manager):
    assert _names(Account.objects.visible_to(other_manager)) == {
        "Parent above mine", "Mine", "My subsidiary", "Its subsidiary", "Served", "Other manager's",
    }  # fmt: skip


def test_manager_without_accounts_sees_nothing(portfolio):
    assert not Account.objects.visible_to(UserFactory(username="newcomer", role="Account manager")).exists()


@pytest.mark.parametrize("persona", ["executive", "admin_user"])
def test_executives_and_administrators_see_all(portfolio, persona, request):
    user = request.getfixturevalue(persona)
    assert Account.objects.visible_to(user).count() == 6


def test_anonymous_sees_nothing(portfolio):
    assert not Account.objects.visible_to(AnonymousUser()).exists()


def test_a_user_without_any_role_follows_the_manager_rule(portfolio):
    api_user = UserFactory(username="integration")
    TeamMemberFactory(account=portfolio["others"], user=api_user)
    assert _names(Account.objects.visible_to(api_user)) == {"Other manager's"}


def test_leaving_a_team_hides_the_account_again(portfolio, account_manager):
    AccountTeamMember.objects.filter(user=account_manager).delete()
    assert "Served" not in _names(Account.objects.visible_to(account_manager))


@pytest.mark.parametrize(
    ("model", "factory"),
    [(Contact, ContactFactory), (Contract, ContractFactory), (Invoice, InvoiceFactory), (Meeting, MeetingFactory)],
)
def test_rows_hanging_off_an_account_follow_its_visibility(portfolio, account_manager, executive, model, factory):
    mine = factory(account=portfolio["grandchild"])
    theirs = factory(account=portfolio["others"])
    above = factory(account=portfolio["parent"])
    visible = set(model.objects.visible_to(account_manager).values_list("pk", flat=True))
    assert mine.pk in visible
    assert theirs.pk not in visible
    assert above.pk not in visible
    assert {mine.pk, theirs.pk, above.pk} <= set(model.objects.visible_to(executive).values_list("pk", flat=True))


def test_visibility_is_one_query_whatever_the_portfolio(portfolio, account_manager, django_assert_num_queries):
    Account.objects.visible_to(account_manager)  # the user's groups are read once, then cached
    with django_assert_num_queries(1):
        list(Account.objects.visible_to(account_manager))


@pytest.mark.parametrize("persona", ["account_manager", "other_manager", "executive", "admin_user", "newcomer", "anonymous"])
def test_the_id_array_form_is_the_same_rule(portfolio, persona, request, django_assert_max_num_queries):
    """``visible_to_by_id`` (the API's account list and detail) selects exactly ``visible_to``'s rows,
    in at most one query, including in id order after a keyset position."""
    if persona == "newcomer":
        user = UserFactory(username="newcomer", role="Account manager")
    elif persona == "anonymous":
        user = AnonymousUser()
    else:
        user = request.getfixturevalue(persona)
    expected = list(Account.objects.visible_to(user).order_by("id").values_list("name", flat=True))
    with django_assert_max_num_queries(1):  # none for the anonymous user: Django knows it is empty
        got = list(Account.objects.visible_to_by_id(user).order_by("id").values_list("name", flat=True))
    assert got == expected
    after = Account.objects.order_by("id").values_list("id", flat=True)[2]
    assert list(Account.objects.visible_to_by_id(user).filter(id__gt=after).order_by("id")) == list(
        Account.objects.visible_to(user).filter(id__gt=after).order_by("id")
    )
