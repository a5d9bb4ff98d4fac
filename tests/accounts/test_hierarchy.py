"""The closure table and group roots stay exact through creates, moves and full rebuilds."""

import pytest

from accounts import services
from accounts.hierarchy import hierarchy_rebuild
from accounts.models import Account, AccountAncestry
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _snapshot():
    links = set(AccountAncestry.objects.values_list("ancestor_id", "descendant_id", "depth"))
    roots = dict(Account.objects.values_list("id", "group_root_id"))
    return links, roots


def test_create_and_move_match_a_full_rebuild():
    a = AccountFactory(name="A")
    b = AccountFactory(name="B", parent=a)
    c = AccountFactory(name="C", parent=b)
    d = AccountFactory(name="D")
    e = AccountFactory(name="E", parent=d)
    assert Account.objects.get(pk=c.pk).group_root_id == a.pk
    services.account_update(account=b, parent=d)  # move B (with C) under D
    services.account_update(account=e, parent=None)  # E becomes a group of its own
    incremental = _snapshot()
    hierarchy_rebuild()
    assert _snapshot() == incremental
    links, roots = incremental
    assert (d.pk, c.pk, 2) in links
    assert (a.pk, c.pk, 2) not in links
    assert roots[c.pk] == d.pk
    assert roots[e.pk] == e.pk
    assert roots[a.pk] == a.pk


def test_every_account_is_its_own_ancestor_at_depth_zero():
    accounts = [AccountFactory() for _ in range(3)]
    for account in accounts:
        assert AccountAncestry.objects.filter(ancestor=account, descendant=account, depth=0).exists()
