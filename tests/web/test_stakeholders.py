"""DOMAIN.md §6.3: support index, role coverage and each red flag; the org chart by reports-to."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import BuyingRole, Contact
from accounts.stakeholders import RedFlag, org_chart, red_flags, role_coverage, support_index

TODAY = dt.date(2026, 6, 30)


class _Roles:
    def __init__(self, codes):
        self._roles = [BuyingRole(code=c) for c in codes]

    def all(self):
        return self._roles


def contact(
    pk, *roles, support=0, influence=3, coverage="multiple", status="outside", active=True, left_on=None, reports_to=None
):
    c = Contact(
        pk=pk,
        name=f"C{pk}",
        support=support,
        influence=influence,
        coverage=coverage,
        political_status=status,
        is_active=active,
        left_on=left_on,
        reports_to_id=reports_to,
    )
    # Stands in for the prefetched many-to-many, as the page loads it.
    c.__dict__["buying_roles"] = _Roles(roles)
    return c


@pytest.fixture(autouse=True)
def _no_db_manager(monkeypatch):
    monkeypatch.setattr(Contact, "buying_roles", property(lambda self: self.__dict__["buying_roles"]))


def healthy():
    return [
        contact(1, "economic_buyer", support=1, influence=5, status="inner_circle", coverage="in_depth"),
        contact(2, "coach_champion", support=2, influence=3, status="political_structure"),
        contact(3, "technical_buyer", "user_buyer", support=0, influence=2),
    ]


def test_a_well_mapped_account_has_no_red_flags():
    assert red_flags(healthy(), today=TODAY) == []


def test_each_red_flag():
    assert RedFlag.NO_ECONOMIC_BUYER in red_flags(healthy()[1:], today=TODAY)
    assert RedFlag.NO_COACH in red_flags([healthy()[0], healthy()[2]], today=TODAY)
    hostile = healthy()
    hostile[0].support = -1
    assert red_flags(hostile, today=TODAY) == [RedFlag.ECONOMIC_BUYER_UNSUPPORTIVE]
    thin = healthy()
    thin[1].coverage = thin[2].coverage = "brief"
    assert red_flags(thin, today=TODAY) == [RedFlag.SINGLE_THREADED]
    left = [*healthy(), contact(4, "coach_champion", active=False, left_on=TODAY - dt.timedelta(days=40))]
    assert red_flags(left, today=TODAY) == [RedFlag.SPONSOR_LEFT]
    long_ago = [*healthy(), contact(4, "coach_champion", active=False, left_on=TODAY - dt.timedelta(days=400))]
    assert red_flags(long_ago, today=TODAY) == []
    outsiders = healthy()
    outsiders[0].political_status = "outside"
    assert red_flags(outsiders, today=TODAY) == [RedFlag.NO_INNER_CIRCLE]
    assert red_flags([], today=TODAY) == [
        RedFlag.NO_ECONOMIC_BUYER,
        RedFlag.NO_COACH,
        RedFlag.SINGLE_THREADED,
        RedFlag.NO_INNER_CIRCLE,
    ]


def test_support_index_over_key_players():
    # (5×1 + 3×2) / (5×2 + 3×2) = 11/16; contact 3 is outside the key players.
    assert support_index(healthy()) == Decimal("0.6875")
    assert support_index([contact(9, support=2)]) is None


def test_role_coverage_counts_the_four_core_roles_covered_in_depth():
    share, missing = role_coverage(healthy())
    assert share == Decimal("1")
    assert missing == []
    thin = healthy()
    thin[2].coverage = "brief"
    share, missing = role_coverage(thin)
    assert share == Decimal("0.5") and missing == ["technical_buyer", "user_buyer"]


def test_org_chart_follows_reports_to_and_survives_a_cycle():
    people = [contact(1), contact(2, reports_to=1), contact(3, reports_to=2), contact(4, reports_to=1), contact(5, reports_to=99)]
    roots = org_chart(people)
    assert [n.contact.pk for n in roots] == [1, 5]
    assert [n.contact.pk for n in roots[0].children] == [2, 4]
    assert [n.contact.pk for n in roots[0].children[0].children] == [3]
    cycle = org_chart([contact(1, reports_to=2), contact(2, reports_to=1)])
    assert len(cycle) == 1  # both members shown once, under whichever the walk met first
    assert {cycle[0].contact.pk, cycle[0].children[0].contact.pk} == {1, 2}
