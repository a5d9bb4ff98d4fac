"""GET accounts/{id}/activity/: the activity timeline in the API (web.selectors.activity)."""

import datetime as dt

import pytest

from accounts.api import ACTIVITY_KINDS
from kam import roles
from service_plans.models import ServiceRequest
from tests.api.conftest import token_client
from tests.factories import AccountFactory, InvoiceFactory, MeetingFactory, TeamMemberFactory, UserFactory
from tests.web.test_account_activity import TODAY, at, one_of_each
from web.selectors.activity import KINDS

pytestmark = pytest.mark.django_db


def url(account):
    return f"/api/v1/accounts/{account.pk}/activity/"


def test_the_api_offers_the_pages_kinds():
    assert ACTIVITY_KINDS == list(KINDS)


def test_feed_in_order_with_the_documented_fields(account_manager, time_machine):
    time_machine.move_to(dt.datetime.combine(TODAY, dt.time(12)), tick=False)
    account = AccountFactory(owner=account_manager)
    expected = one_of_each(account, account_manager)
    response = token_client(account_manager, "read").get(url(account))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [(r["event"], r["object_id"]) for r in body["results"]] == expected
    paid = next(r for r in body["results"] if r["event"] == "invoice_paid")
    assert paid["kind"] == "invoice" and paid["object_type"] == "invoice"
    assert paid["amount"] == "1250.00" and paid["currency"] == "CNY" and paid["days_late"] == 10
    assert paid["occurred_at"] == "2026-03-13T08:00:00+08:00" and paid["is_date"] is True
    assert body["next"] is None and body["previous"] is None


def test_kind_filter_and_group_toggle(account_manager):
    parent = AccountFactory(owner=account_manager)
    sub = AccountFactory(owner=account_manager, parent=parent)
    mine = MeetingFactory(account=parent, occurred_at=at(6, 1))
    theirs = MeetingFactory(account=sub, occurred_at=at(6, 2))
    ServiceRequest.objects.create(account=parent, opened_at=at(6, 3))
    client = token_client(account_manager, "read")
    body = client.get(url(parent), {"kind": ["meeting"]}).json()
    assert [r["object_id"] for r in body["results"]] == [mine.pk]
    body = client.get(url(parent), {"kind": ["meeting"], "group": "true"}).json()
    assert [(r["object_id"], r["account"]) for r in body["results"]] == [(theirs.pk, sub.pk), (mine.pk, parent.pk)]


def test_cursor_pages_without_gaps_or_duplicates(account_manager):
    account = AccountFactory(owner=account_manager)
    same = at(5, 5)
    for _ in range(5):
        MeetingFactory(account=account, occurred_at=same)
        InvoiceFactory(account=account, issued_on=dt.date(2026, 5, 4), due_on=dt.date(2026, 6, 4))
    client = token_client(account_manager, "read")
    everything = [(r["event"], r["object_id"]) for r in client.get(url(account)).json()["results"]]
    assert len(everything) == 10
    seen, link = [], url(account) + "?page_size=3"
    while link:
        body = client.get(link).json()
        seen += [(r["event"], r["object_id"]) for r in body["results"]]
        link = body["next"]
    assert seen == everything
    back = client.get(body["previous"]).json()
    assert [(r["event"], r["object_id"]) for r in back["results"]] == everything[6:9]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"kind": "nonsense"}, "kind"),
        ({"since": "2026-02-30"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-06-02", "until": "2026-06-01"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_params_are_a_400_naming_the_field(account_manager, params, field):
    account = AccountFactory(owner=account_manager)
    response = token_client(account_manager, "read").get(url(account), params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("persona", ["owner", "team_member", "other_manager", "executive", "admin"])
def test_visibility(account_manager, other_manager, executive, admin_user, persona):
    account = AccountFactory(owner=account_manager)
    meeting = MeetingFactory(account=account, occurred_at=at(6, 1))
    member = UserFactory(username="member", role=roles.ACCOUNT_MANAGER)
    TeamMemberFactory(account=account, user=member)
    user = {"owner": account_manager, "team_member": member, "other_manager": other_manager, "executive": executive}.get(
        persona, admin_user
    )
    response = token_client(user, "read").get(url(account))
    if persona == "other_manager":
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert [r["object_id"] for r in response.json()["results"]] == [meeting.pk]


@pytest.mark.parametrize("n", [3, 15])
def test_query_count_is_constant(account_manager, n, django_assert_num_queries):
    parent = AccountFactory(owner=account_manager)
    for i in range(n):
        sub = AccountFactory(owner=account_manager, parent=parent)
        MeetingFactory(account=sub, occurred_at=at(6, 1 + i % 20))
        InvoiceFactory(account=parent, issued_on=dt.date(2026, 1, 1 + i), due_on=dt.date(2026, 2, 1), paid_on=dt.date(2026, 2, 5))
    client = token_client(account_manager, "read")
    client.get(url(parent))  # warm the token cache
    # the account (visible_to) and the feed (one UNION ALL): the token and its user are cached
    with django_assert_num_queries(2):
        response = client.get(url(parent), {"group": "1"})
    assert len(response.json()["results"]) == 3 * n
