"""The account's activity timeline (web.selectors.activity): one reverse-chronological feed of every
event, filtered by kind and date, optionally with the subsidiaries, keyset-paginated in one query."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import Contract
from kam import roles
from service_plans.models import AccountPlan, Alert, Escalation, PlanReview, ServiceRequest, SurveyResponse
from service_plans.services import alerts as alert_services
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    InvoiceFactory,
    MeetingFactory,
    TeamMemberFactory,
    UserFactory,
)
from tiering.models import TierAssignment
from web.selectors.activity import ActivityQuery, activity_page

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 30)


def at(m, d, hour=10, minute=0):
    return dt.datetime(2026, m, d, hour, minute, tzinfo=TZ)


def one_of_each(account, owner):
    """One event of every kind, on distinct days: returns the expected feed, newest first."""
    contact = ContactFactory(account=account, name="Li Wei")
    meeting = MeetingFactory(account=account, kind="qbr", title="Q2 review", occurred_at=at(6, 20), contacts=[contact])
    sr = ServiceRequest.objects.create(
        account=account, title="Printer down", priority="p2", opened_at=at(6, 1), resolved_at=at(6, 3)
    )
    esc = Escalation.objects.create(account=account, title="Outage", opened_at=at(5, 10), closed_at=at(5, 12))
    alert = alert_services.alert_create_manual(account=account, rule="R1", reason="usage-drop", priority="high", actor=owner)
    Alert.objects.filter(pk=alert.pk).update(
        opened_at=at(4, 1), closed_at=at(4, 5), status="closed_resolved", closure_note="Fixed", outcome="retained"
    )
    survey = SurveyResponse.objects.create(account=account, kind="nps", score=9, responded_at=at(3, 15))
    old = ContractFactory(
        account=account,
        number="C-OLD",
        start_date=dt.date(2024, 3, 1),
        end_date=dt.date(2025, 2, 28),
        signed_on=dt.date(2024, 2, 1),
    )
    Contract.objects.filter(pk=old.pk).update(status="renewed")
    invoice = InvoiceFactory(
        account=account,
        number="INV-1",
        issued_on=dt.date(2026, 2, 1),
        due_on=dt.date(2026, 3, 3),
        paid_on=dt.date(2026, 3, 13),
        amount=Decimal("1250.00"),
        currency="CNY",
    )
    plan = AccountPlan.objects.create(account=account, fiscal_year=2026, owner=owner)
    review = PlanReview.objects.create(
        plan=plan, kind="qbr", scheduled_on=dt.date(2026, 1, 20), held_on=dt.date(2026, 1, 20), status="held"
    )
    tier = TierAssignment.objects.create(account=account, tier="T2", valid_from=dt.date(2025, 6, 1), reason="initial")
    return [
        ("meeting", meeting.pk),
        ("sr_resolved", sr.pk),
        ("sr_opened", sr.pk),
        ("escalation_closed", esc.pk),
        ("escalation_opened", esc.pk),
        ("alert_closed", alert.pk),
        ("alert_opened", alert.pk),
        ("survey", survey.pk),
        ("invoice_paid", invoice.pk),
        ("invoice_issued", invoice.pk),
        ("review_held", review.pk),
        ("tier_changed", tier.pk),
        ("contract_renewed", old.pk),
        ("contract_started", old.pk),
        ("contract_signed", old.pk),
    ]


def feed(account, *, kinds=(), group=False, cursor=None, page_size=50, since=None, until=None):
    query = ActivityQuery(kinds=list(kinds), group=group, since=since, until=until)
    return activity_page(account=account, query=query, cursor=cursor, page_size=page_size, today=TODAY)


def test_worked_example_one_event_of_every_kind_newest_first(account_manager):
    account = AccountFactory(owner=account_manager)
    expected = one_of_each(account, account_manager)
    page = feed(account)
    assert [(i.event, i.object_id) for i in page.rows] == expected
    assert not page.has_next and not page.has_prev
    items = {i.event: i for i in page.rows}
    assert items["meeting"].title == "Quarterly business review: Q2 review"
    assert items["meeting"].detail == "With Li Wei"
    assert items["meeting"].url == reverse("web:meeting_edit", args=[items["meeting"].object_id])
    assert items["invoice_paid"].amount == Decimal("1250.00") and items["invoice_paid"].currency == "CNY"
    assert items["invoice_paid"].days_late == 10
    assert items["invoice_paid"].detail == "10 days late"
    assert items["invoice_paid"].occurred_on == dt.date(2026, 3, 13)
    assert items["survey"].score == 9 and items["survey"].detail == "Score 9"
    assert items["alert_opened"].detail == "usage-drop"
    assert items["alert_closed"].detail == "usage-drop · Retained"
    assert items["alert_opened"].url == reverse("web:alert_detail", args=[items["alert_opened"].object_id])
    assert items["tier_changed"].title == "Tier set to T2"
    assert items["review_held"].url == reverse("web:review_preread", args=[items["review_held"].object_id])


def test_future_dates_are_not_activity(account_manager):
    account = AccountFactory(owner=account_manager)
    ContractFactory(account=account, number="C-NEW", start_date=dt.date(2026, 7, 1), end_date=dt.date(2027, 6, 30))
    assert feed(account).rows == []


def test_kind_filter(account_manager):
    account = AccountFactory(owner=account_manager)
    one_of_each(account, account_manager)
    page = feed(account, kinds=["meeting", "invoice"])
    assert [i.event for i in page.rows] == ["meeting", "invoice_paid", "invoice_issued"]


def test_date_range_is_inclusive(account_manager):
    account = AccountFactory(owner=account_manager)
    one_of_each(account, account_manager)
    page = feed(account, since=dt.date(2026, 3, 13), until=dt.date(2026, 6, 1))
    assert [i.event for i in page.rows] == [
        "sr_opened", "escalation_closed", "escalation_opened", "alert_closed", "alert_opened", "survey", "invoice_paid",
    ]  # fmt: skip


def test_group_toggle_includes_a_subsidiarys_events(account_manager):
    parent = AccountFactory(owner=account_manager, name="Parent")
    sub = AccountFactory(owner=account_manager, name="Sub", parent=parent)
    own = MeetingFactory(account=parent, occurred_at=at(6, 1))
    theirs = MeetingFactory(account=sub, occurred_at=at(6, 2))
    assert [i.object_id for i in feed(parent).rows] == [own.pk]
    rows = feed(parent, group=True).rows
    assert [i.object_id for i in rows] == [theirs.pk, own.pk]
    assert rows[0].account_name == "Sub"
    # The subsidiary's own feed never shows the parent's.
    assert [i.object_id for i in feed(sub, group=True).rows] == [theirs.pk]


def test_pages_continue_exactly_where_the_last_one_stopped_when_timestamps_tie(account_manager):
    account = AccountFactory(owner=account_manager)
    same = at(5, 5)
    meetings = [MeetingFactory(account=account, occurred_at=same) for _ in range(7)]
    srs = [ServiceRequest.objects.create(account=account, opened_at=same, resolved_at=same) for _ in range(3)]
    invoices = [InvoiceFactory(account=account, issued_on=dt.date(2026, 5, 5), due_on=dt.date(2026, 6, 5)) for _ in range(4)]
    seen, cursor, pages = [], None, []
    while True:
        page = feed(account, cursor=cursor, page_size=4)
        pages.append(page)
        seen += [(i.event, i.object_id) for i in page.rows]
        if not page.has_next:
            break
        cursor = page.next_cursor
    expected = (
        [("sr_resolved", s.pk) for s in reversed(srs)]
        + [("sr_opened", s.pk) for s in reversed(srs)]
        + [("meeting", m.pk) for m in reversed(meetings)]
        + [("invoice_issued", i.pk) for i in reversed(invoices)]
    )
    assert seen == expected
    assert len(pages) == 5
    # Walking back from the last page gives the pages before it, exactly.
    back = feed(account, cursor=pages[-1].prev_cursor, page_size=4)
    assert [(i.event, i.object_id) for i in back.rows] == [(i.event, i.object_id) for i in pages[-2].rows]
    assert back.has_prev and back.has_next


def test_a_tampered_cursor_is_a_400(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_client.get(reverse("web:account_activity", args=[account.pk]), {"cursor": "garbage"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "params, field",
    [
        ({"kind": "nonsense"}, "kind"),
        ({"since": "2026-13-01"}, "since"),
        ({"since": "2026-06-02", "until": "2026-06-01"}, "until"),
    ],
)
def test_bad_params_are_a_400_naming_the_field(manager_client, account_manager, params, field):
    account = AccountFactory(owner=account_manager)
    response = manager_client.get(reverse("web:account_activity", args=[account.pk]), params)
    assert response.status_code == 400
    assert f"{field}:" in response.content.decode()


def test_page_shows_the_feed_and_is_linked_from_the_account_page(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    one_of_each(account, account_manager)
    url = reverse("web:account_activity", args=[account.pk])
    assert url in manager_client.get(reverse("web:account_detail", args=[account.pk])).content.decode()
    response = manager_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("data-event=") == 15
    assert 'data-event="meeting"' in body and "Q2 review" in body


@pytest.mark.parametrize("persona", ["owner", "team_member", "other_manager", "executive", "admin"])
def test_visibility(client, account_manager, other_manager, executive, admin_user, persona):
    account = AccountFactory(owner=account_manager)
    MeetingFactory(account=account, occurred_at=at(6, 1))
    member = UserFactory(username="member", role=roles.ACCOUNT_MANAGER)
    TeamMemberFactory(account=account, user=member)
    user = {
        "owner": account_manager,
        "team_member": member,
        "other_manager": other_manager,
        "executive": executive,
        "admin": admin_user,
    }[persona]
    client.force_login(user)
    response = client.get(reverse("web:account_activity", args=[account.pk]))
    assert response.status_code == (404 if persona == "other_manager" else 200)
    if response.status_code == 200:
        assert 'data-event="meeting"' in response.content.decode()


@pytest.mark.parametrize("n", [3, 15])
def test_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    parent = AccountFactory(owner=account_manager)
    for i in range(n):
        sub = AccountFactory(owner=account_manager, parent=parent)
        MeetingFactory(account=sub, occurred_at=at(6, 1 + i % 20), contacts=[ContactFactory(account=sub)])
        InvoiceFactory(account=parent, issued_on=dt.date(2026, 1, 1 + i), due_on=dt.date(2026, 2, 1), paid_on=dt.date(2026, 2, 5))
        ServiceRequest.objects.create(account=sub, opened_at=at(5, 1 + i % 20), resolved_at=at(5, 2 + i % 20))
        SurveyResponse.objects.create(account=parent, kind="csat", score=4, responded_at=at(4, 1 + i % 20))
    url = reverse("web:account_activity", args=[parent.pk])
    # session, user, the user's role, the account, the feed (one UNION ALL), the unread-notification badge
    with django_assert_num_queries(6):
        response = manager_client.get(url, {"group": "1"})
    assert response.status_code == 200
    assert response.content.decode().count("data-event=") == min(50, 6 * n)


def test_page_in_chinese(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    InvoiceFactory(account=account, issued_on=dt.date(2026, 2, 1), due_on=dt.date(2026, 3, 3), paid_on=dt.date(2026, 3, 13))
    response = manager_client.get(reverse("web:account_activity", args=[account.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.content.decode()
    assert "活动时间线" in body and "逾期 10 天" in body and "包含子公司" in body
