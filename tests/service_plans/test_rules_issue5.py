"""The rules issue 5 added or completed: R1's RFM quintile trigger (§1.9), R4 on a key contact's role or
title change (§5.2, §6.3), L1 "QBR follow-up missing" (§7.4) and L2 account plan lifecycle (§7.3).
Each fires on its threshold and not one unit on the safe side of it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Contact
from service_plans.models import Alert, AlertTask, RuleConfig
from service_plans.services import plans as plan_services
from tests.factories import AccountFactory, ContactFactory, InvoiceFactory
from tests.service_plans.conftest import NOW, TODAY, open_keys, reasons, run, set_tier

pytestmark = pytest.mark.django_db

THEN = dt.date(2026, 3, 17)  # the previous quarter's comparison date for TODAY (2026-06-17)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def invoice(account, issued_on, amount=100):
    return InvoiceFactory(
        account=account, issued_on=issued_on, due_on=issued_on + days(30), amount=Decimal(amount), paid_on=issued_on
    )


# --- R1: RFM quintiles ------------------------------------------------------------------------------


@pytest.mark.parametrize(("last_order_days_ago", "fires"), [(25, True), (15, False)])
def test_r1_recency_quintile_drop_of_two(last_order_days_ago, fires):
    """Five accounts in one tier. At the previous quarter the target ordered most recently (quintile 5);
    now its last order ranks third (quintile 3: a drop of 2) or fourth (quintile 4: a drop of 1)."""
    others = [AccountFactory() for _ in range(4)]
    for k, other in enumerate(others, start=1):
        invoice(other, THEN - days(10 * k))
        invoice(other, TODAY - days(10 * k))
    target = AccountFactory()
    invoice(target, THEN - days(1))
    invoice(target, TODAY - days(last_order_days_ago))
    run()
    assert ("rfm_drop" in reasons(target)) is fires
    assert all("rfm_drop" not in reasons(other) for other in others)
    if fires:
        alert = Alert.objects.get(account=target, reason="rfm_drop")
        assert (alert.priority, alert.evidence["recency_quintile"], alert.evidence["previous_recency_quintile"]) == (
            "medium", 3, 5,
        )  # fmt: skip
        assert alert.playbook.code == "volume-decline-diagnosis"


@pytest.mark.parametrize(("recent_orders", "fires"), [(2, True), (3, False)])
def test_r1_frequency_quintile_drop_of_two(recent_orders, fires):
    """Orders in T12M: the others 1–4 at both dates; the target had 5 (quintile 5) and now has 2
    (tied with one other: quintile 3) or 3 (quintile 4)."""
    others = [AccountFactory() for _ in range(4)]
    for k, other in enumerate(others, start=1):
        for j in range(1, k + 1):
            invoice(other, THEN - days(5 * j))
    target = AccountFactory()
    for j in range(1, 6):
        invoice(target, TODAY - days(365 + 5 * j), 100)  # in the previous T12M only
    for j in range(1, recent_orders + 1):
        invoice(target, TODAY - days(j), 400)  # more spend than a year ago: no purchase_drop
    run()
    assert reasons(target) == ({"rfm_drop"} if fires else set())


def test_r1_quintiles_are_computed_within_the_tier():
    """The same pattern split over two tiers: each tier ranks its own accounts, and a lone T1 account
    is always in quintile 5."""
    others = [AccountFactory() for _ in range(4)]
    for k, other in enumerate(others, start=1):
        invoice(other, THEN - days(10 * k))
        invoice(other, TODAY - days(10 * k))
    target = set_tier(AccountFactory(), "T1")
    invoice(target, THEN - days(1))
    invoice(target, TODAY - days(35))
    run()
    assert "rfm_drop" not in reasons(target)


def test_r1_quintile_threshold_is_configurable():
    RuleConfig.objects.filter(rule="R1", tier="").update(params={"rfm_quintile_drop": 5})  # off
    others = [AccountFactory() for _ in range(4)]
    for k, other in enumerate(others, start=1):
        invoice(other, THEN - days(10 * k))
        invoice(other, TODAY - days(10 * k))
    target = AccountFactory()
    invoice(target, THEN - days(1))
    invoice(target, TODAY - days(45))
    run()
    assert "rfm_drop" not in reasons(target)


# --- R4: role or title change -----------------------------------------------------------------------


def _contact(**fields):
    """A contact created well before the changes below, so the history has its earlier rows."""
    import time_machine

    with time_machine.travel(NOW - days(200), tick=False):
        return ContactFactory(**fields)


def _change(contact, when, **fields):
    """Edit a contact through its service at ``when`` (the contact history records the time)."""
    import time_machine

    with time_machine.travel(when, tick=False):
        return account_services.contact_update(contact=Contact.objects.get(pk=contact.pk), **fields)


@pytest.mark.parametrize(("changed_days_ago", "fires"), [(90, True), (91, False)])
def test_r4_economic_buyer_title_change_within_lookback(changed_days_ago, fires):
    account = AccountFactory()
    buyer = _contact(account=account, buying_roles=["economic_buyer"], title="CFO")
    _change(buyer, NOW - days(changed_days_ago) + dt.timedelta(minutes=1), title="Chief Executive Officer")
    run()
    assert (("R4", "economic_buyer_changed", "critical") in open_keys(account)) is fires
    if fires:
        alert = Alert.objects.get(account=account, reason="economic_buyer_changed")
        [change] = alert.evidence["contacts"]
        assert (change["id"], change["previous_title"], change["title"], change["role_removed"]) == (
            buyer.pk, "CFO", "Chief Executive Officer", False,
        )  # fmt: skip
        assert alert.playbook.code == "loss-of-champion"
        assert AlertTask.objects.filter(alert=alert).count() == 5


def test_r4_champion_losing_the_role_fires_and_gaining_one_does_not():
    account = AccountFactory()
    champion = _contact(account=account, buying_roles=["coach_champion"])
    user = _contact(account=account, buying_roles=["user_buyer"])
    _change(champion, NOW - days(5), buying_roles=["user_buyer"])
    _change(user, NOW - days(5), buying_roles=["user_buyer", "economic_buyer"])
    run()
    assert reasons(account) == {"coach_champion_changed"}
    [change] = Alert.objects.get(account=account).evidence["contacts"]
    assert (change["id"], change["role_removed"], "title" in change) == (champion.pk, True, False)


def test_r4_title_edits_of_other_contacts_or_only_in_case_and_spaces_do_not_fire():
    account = AccountFactory()
    buyer = _contact(account=account, buying_roles=["economic_buyer"], title="CFO")
    other = _contact(account=account, buying_roles=["technical_buyer"], title="CTO")
    _change(buyer, NOW - days(3), title=" cfo ", phone="123")
    _change(other, NOW - days(3), title="VP Engineering")
    run()
    assert not reasons(account)


def test_r4_a_key_contact_who_changed_and_then_left_is_reported_as_left():
    account = AccountFactory()
    buyer = _contact(account=account, buying_roles=["economic_buyer"], title="CFO")
    _change(buyer, NOW - days(10), title="Board member")
    _change(buyer, NOW - days(2), is_active=False, left_on=TODAY - days(2))
    run()
    assert reasons(account) == {"economic_buyer_left"}


def test_r4_change_alert_reruns_idempotently_and_clears_after_the_lookback():
    account = AccountFactory()
    buyer = _contact(account=account, buying_roles=["economic_buyer"], title="CFO")
    _change(buyer, NOW - days(89), title="CEO")
    run()
    alert = Alert.objects.get(account=account, reason="economic_buyer_changed")
    result = run()
    assert (result["opened"], result["updated"]) == (0, 0)
    run(NOW + days(2))  # the change is now 91 days old: first clear run
    run(NOW + days(3))
    alert.refresh_from_db()
    assert alert.status == "closed_resolved"


# --- L1: QBR follow-up missing ----------------------------------------------------------------------


def _held_qbr(account, held_on, *, recap=False, next_on=None):
    plan = plan_services.plan_create(account=account, fiscal_year=2026, status="active")
    review = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=held_on)
    review = plan_services.review_record(review=review, held_on=held_on)
    if recap:
        review = plan_services.review_recap_sent(review=review, at=NOW - days(1))
    if next_on:
        plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=next_on)
    return review


@pytest.mark.parametrize(
    ("held_on", "fires"),
    [
        (dt.date(2026, 6, 15), True),  # Monday: two business days before Wednesday 06-17
        (dt.date(2026, 6, 16), False),  # one business day
        (dt.date(2026, 6, 12), True),  # Friday: Monday, Tuesday, Wednesday
    ],
)
def test_l1_fires_two_business_days_after_a_qbr_without_recap(held_on, fires):
    account = AccountFactory()
    _held_qbr(account, held_on, next_on=held_on + days(80))
    set_tier(account, "T1")
    run()
    assert (("L1", "qbr_follow_up", "medium") in open_keys(account)) is fires


@pytest.mark.parametrize(
    ("next_on", "fires"),
    [
        (None, True),
        (dt.date(2026, 9, 15), False),  # T1 cadence: three months after the QBR of 06-15
        (dt.date(2026, 9, 16), True),  # outside the standard's window
    ],
)
def test_l1_next_qbr_must_be_scheduled_within_the_tier_cadence(next_on, fires):
    account = AccountFactory()
    _held_qbr(account, dt.date(2026, 6, 15), recap=True, next_on=next_on)
    set_tier(account, "T1")
    run()
    assert ("qbr_follow_up" in reasons(account)) is fires
    if fires:
        evidence = Alert.objects.get(account=account, reason="qbr_follow_up").evidence
        assert (evidence["recap_sent"], evidence["next_qbr_due_by"]) == (True, "2026-09-15")


def test_l1_without_a_qbr_cadence_any_next_qbr_counts_and_only_the_latest_qbr_matters():
    account = AccountFactory()  # no tier: the standard has no QBR cadence
    _held_qbr(account, dt.date(2026, 6, 10), recap=True, next_on=dt.date(2027, 3, 1))
    plan = account.plans.get()
    old = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 2))
    plan_services.review_record(review=old, held_on=dt.date(2026, 3, 2))  # no recap, but superseded
    run()
    assert "qbr_follow_up" not in reasons(account)


def test_l1_clears_when_the_recap_is_sent_and_the_next_qbr_booked():
    account = set_tier(AccountFactory(), "T2")
    review = _held_qbr(account, dt.date(2026, 6, 10))
    run()
    assert "qbr_follow_up" in reasons(account)
    plan_services.review_recap_sent(review=review, at=NOW)
    plan_services.review_schedule(plan=review.plan, kind="qbr", scheduled_on=dt.date(2026, 9, 1))
    run(NOW + days(1))
    run(NOW + days(2))
    assert "qbr_follow_up" not in reasons(account)


# --- L2: account plan lifecycle ---------------------------------------------------------------------


@pytest.mark.parametrize(("today", "fires"), [(dt.date(2026, 1, 31), True), (dt.date(2026, 1, 30), False)])
def test_l2_t1_account_without_an_active_plan_thirty_days_into_the_fiscal_year(today, fires):
    account = set_tier(AccountFactory(), "T1")
    plan_services.plan_create(account=account, fiscal_year=2026)  # a draft does not count
    run(timezone.make_aware(dt.datetime.combine(today, dt.time(10))))
    assert (("L2", "plan_missing", "medium") in open_keys(account)) is fires


def test_l2_plan_missing_only_for_t1_and_an_active_plan_clears_it():
    t1, t2 = set_tier(AccountFactory(), "T1"), set_tier(AccountFactory(), "T2")
    run()
    assert ("plan_missing" in reasons(t1), "plan_missing" in reasons(t2)) == (True, False)
    plan_services.plan_create(account=t1, fiscal_year=2026, status="active")
    run(NOW + days(1))
    run(NOW + days(2))
    assert "plan_missing" not in reasons(t1)


def test_l2_plan_due_counts_from_when_the_group_entered_t1():
    from tiering.models import TierAssignment

    account = set_tier(AccountFactory(), "T1")
    TierAssignment.objects.create(account=account, tier="T1", valid_from=TODAY - days(29), reason="promoted")
    run()
    assert "plan_missing" not in reasons(account)
    run(NOW + days(1))
    assert "plan_missing" in reasons(account)


@pytest.mark.parametrize(
    ("tier", "late_days", "fires"),
    [("T1", 8, True), ("T1", 7, False), ("T2", 15, True), ("T2", 14, False)],
)
def test_l2_plan_review_overdue_after_the_grace_days(tier, late_days, fires):
    account = AccountFactory()
    plan = plan_services.plan_create(account=account, fiscal_year=2026, status="active")
    plan_services.review_schedule(plan=plan, kind="internal_monthly", scheduled_on=TODAY - days(late_days))
    plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=TODAY - days(60))  # R7's business
    set_tier(account, tier)
    run()
    assert ("plan_review_overdue" in reasons(account)) is fires
    if fires:
        alert = Alert.objects.get(account=account, reason="plan_review_overdue")
        assert (alert.evidence["days_overdue"], alert.evidence["reviews"]) == (late_days, 1)
        assert alert.playbook.code == "account-plan-discipline"


def test_l2_held_reviews_and_draft_plans_are_not_overdue():
    account = set_tier(AccountFactory(), "T2")
    active = plan_services.plan_create(account=account, fiscal_year=2026, status="active")
    held = plan_services.review_schedule(plan=active, kind="internal_monthly", scheduled_on=TODAY - days(40))
    plan_services.review_record(review=held, held_on=TODAY - days(39))
    draft = plan_services.plan_create(account=account, fiscal_year=2027)
    plan_services.review_schedule(plan=draft, kind="internal_monthly", scheduled_on=TODAY - days(40))
    run()
    assert "plan_review_overdue" not in reasons(account)
