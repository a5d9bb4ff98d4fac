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
