"""The home page shows the user's accounts only, in a constant number of queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, ContractFactory, MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def _portfolio(owner, other, n):
    today = timezone.localdate()
    for i in range(n):
        account = AccountFactory(owner=owner, name=f"Mine {i}")
        ContractFactory(account=account, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=30 + i))
        MeetingFactory(account=account, title=f"Meeting mine {i}")
        TeamMemberFactory(account=account)
        theirs = AccountFactory(owner=other, name=f"Theirs {i}")
        ContractFactory(account=theirs, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=10))
        MeetingFactory(account=theirs, title=f"Meeting theirs {i}")


def test_home_shows_only_my_accounts(manager_client, account_manager, other_manager):
    _portfolio(account_manager, other_manager, 3)
    response = manager_client.get(reverse("home"))
    assert response.status_code == 200
    assert response.context["counts"]["total"] == 3
    assert response.context["renewals_count"] == 3
    assert "Theirs" not in response.text
    assert "Meeting theirs" not in response.text
    assert "Meeting mine 2" in response.text


@pytest.mark.parametrize("n", [2, 10])
def test_home_query_count_does_not_grow_with_the_portfolio(
    manager_client, account_manager, other_manager, n, django_assert_num_queries
):
    _portfolio(account_manager, other_manager, n)
    # session, user, groups, the visible account ids, 5 summary queries, and the workspace's additions
    # (rates, SLA breaches, upcoming meetings, recent changes, my tasks, actions and alerts, the unread
    # badge): see tests/web/test_home_and_renewals.py
    with django_assert_num_queries(24):
        assert manager_client.get(reverse("home")).status_code == 200


def test_healthz_answers_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok"}
