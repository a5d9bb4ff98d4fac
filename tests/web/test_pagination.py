"""Keyset pagination: every row exactly once, in order, both ways, empty values last; cheap counts."""

from decimal import Decimal

import pytest

from accounts.models import Account
from web.pagination import BadCursor, KeysetPaginator, count_upto
from web.selectors.workspace import ACCOUNT_SORT_KEYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(account_manager):
    from tests.factories import AccountFactory

    made = []
    scores = [None, Decimal("50"), Decimal("50"), None, Decimal("10"), Decimal("90"), Decimal("50"), None, Decimal("75")]
    tiers = ["", "T1", "T2", "T1", "", "T3", "T1", "T4", ""]
    for i, (score, tier) in enumerate(zip(scores, tiers, strict=True)):
        account = AccountFactory(owner=account_manager, name=f"Acct {i % 4}", region="" if i % 3 else "East")
        Account.objects.filter(pk=account.pk).update(value_score=score, tier=tier)
        made.append(account.pk)
    return made


def _walk(sort, size=2):
    paginator = KeysetPaginator(Account.objects.all(), keys=ACCOUNT_SORT_KEYS, default_sort="name", page_size=size)
    pages, cursor = [], None
    while True:
        page = paginator.page(sort=sort, cursor=cursor)
        pages.append(page)
        if not page.has_next:
            return paginator, pages
        cursor = page.next_cursor


def _expected(field, desc, empty):
    rows = list(Account.objects.values_list(field, "id"))
    filled = [r for r in rows if r[0] not in empty]
    blank = [r for r in rows if r[0] in empty]
    filled.sort(key=lambda r: (r[0], r[1]), reverse=desc)
    blank.sort(key=lambda r: r[1], reverse=desc)
    return [pk for _, pk in filled + blank]


@pytest.mark.parametrize(
    ("sort", "field", "empty"),
    [
        ("name", "name", ()),
        ("-name", "name", ()),
        ("value_score", "value_score", (None,)),
        ("-value_score", "value_score", (None,)),
        ("tier", "tier", ("",)),
        ("-tier", "tier", ("",)),
        ("region", "region", ("",)),
        ("-region", "region", ("",)),
    ],
)
def test_pages_cover_every_row_once_in_order_with_empty_values_last(accounts, sort, field, empty):
    paginator, pages = _walk(sort)
    forward = [row.pk for page in pages for row in page.rows]
    assert forward == _expected(field, sort.startswith("-"), empty)
    assert not pages[0].has_prev and pages[-1].has_next is False
    # Walking back from the last page with "previous" gives the same pages in reverse.
    back, page = [], pages[-1]
    while page.has_prev:
        page = paginator.page(sort=sort, cursor=page.prev_cursor)
        back.append([row.pk for row in page.rows])
    assert back == [[row.pk for row in p.rows] for p in reversed(pages[:-1])]


def test_a_tampered_cursor_or_unknown_sort_is_refused(accounts):
    paginator = KeysetPaginator(Account.objects.all(), keys=ACCOUNT_SORT_KEYS, default_sort="name")
    for cursor in ["not-base64!", "W10", "WyJ4IiwgZmFsc2UsIDEsIDJd"]:
        with pytest.raises(BadCursor):
            paginator.page(sort="name", cursor=cursor)
    with pytest.raises(BadCursor):
        paginator.page(sort="password", cursor=None)
    # A decimal sort with a text value in its cursor.
    page = KeysetPaginator(Account.objects.all(), keys=ACCOUNT_SORT_KEYS, default_sort="name", page_size=1).page(
        sort="name", cursor=None
    )
    with pytest.raises(BadCursor):
        paginator.page(sort="value_score", cursor=page.next_cursor)


def test_page_query_does_not_use_offset(accounts, django_assert_num_queries):
    paginator = KeysetPaginator(Account.objects.all(), keys=ACCOUNT_SORT_KEYS, default_sort="name", page_size=2)
    first = paginator.page(sort="name", cursor=None)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        paginator.page(sort="name", cursor=first.next_cursor)
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"].upper()
    assert "OFFSET" not in sql and "LIMIT 3" in sql


def test_count_upto_stops_at_the_limit(accounts):
    assert count_upto(Account.objects.all(), 5) == (5, True)
    assert count_upto(Account.objects.all(), 100) == (9, False)


def test_a_second_sort_column_between_the_key_and_the_id(account_manager):
    """Alerts sort by priority, then due date, then id: every row once, in order, both ways."""
    import datetime as dt

    from service_plans.models import Alert
    from service_plans.services import alerts as alert_services
    from tests.factories import AccountFactory
    from web.pagination import SortKey

    account = AccountFactory(owner=account_manager)
    base = dt.date(2026, 1, 1)
    for i in range(11):
        alert_services.alert_create_manual(
            account=account, rule="R1", reason=f"r{i}", priority=["high", "critical", "medium"][i % 3],
            actor=None, due_on=base + dt.timedelta(days=i % 4),
        )  # fmt: skip
    keys = [SortKey("priority", "priority", "Priority", then="due_on", then_kind="date")]
    paginator = KeysetPaginator(Alert.objects.all(), keys=keys, default_sort="priority", page_size=3)
    for sort in ("priority", "-priority"):
        desc = sort.startswith("-")
        expected = list(
            Alert.objects.order_by(*(f"-{f}" if desc else f for f in ("priority", "due_on", "id"))).values_list("pk", flat=True)
        )
        pages, cursor = [], None
        while True:
            page = paginator.page(sort=sort, cursor=cursor)
            pages.append(page)
            if not page.has_next:
                break
            cursor = page.next_cursor
        assert [row.pk for p in pages for row in p.rows] == expected
        back, page = [], pages[-1]
        while page.has_prev:
            page = paginator.page(sort=sort, cursor=page.prev_cursor)
            back.append([row.pk for row in page.rows])
        assert back == [[row.pk for row in p.rows] for p in reversed(pages[:-1])]
    # A cursor of a one-column key does not fit a two-column key, nor the other way round.
    plain = KeysetPaginator(Alert.objects.all(), keys=[SortKey("due", "due_on", "Due", kind="date")], default_sort="due")
    with pytest.raises(BadCursor):
        paginator.page(sort="priority", cursor=plain.page(sort="due", cursor=None).next_cursor or "x")
    with pytest.raises(BadCursor):
        plain.page(sort="due", cursor=paginator.page(sort="priority", cursor=None).next_cursor)


def test_a_datetime_key_needs_an_aware_cursor(account_manager):
    from service_plans.models import Notification
    from web.pagination import SortKey, _encode

    for i in range(5):
        Notification.objects.create(user=account_manager, kind="x", text=f"n{i}")
    keys = [SortKey("created", "created_at", "Received", kind="datetime")]
    paginator = KeysetPaginator(Notification.objects.all(), keys=keys, default_sort="-created", page_size=2)
    first = paginator.page(sort="-created", cursor=None)
    second = paginator.page(sort="-created", cursor=first.next_cursor)
    assert {r.pk for r in first.rows}.isdisjoint({r.pk for r in second.rows}) and len(second.rows) == 2
    with pytest.raises(BadCursor):
        paginator.page(sort="-created", cursor=_encode("n", False, "2026-01-01T00:00:00", 1))
