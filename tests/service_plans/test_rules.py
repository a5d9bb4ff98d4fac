"""Every rule of DOMAIN.md §5.2 fires on its threshold and not one unit on the safe side of it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, Meeting
from service_plans.models import AccountTeamMember, Alert, Escalation, RuleConfig, ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, MeetingFactory
from tests.service_plans.conftest import NOW, TODAY, open_keys, reasons, run, set_tier

pytestmark = pytest.mark.django_db


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def invoice(account, issued_on, amount, *, paid_on="same", due_on=None):
    due_on = due_on or issued_on + days(30)
    paid = issued_on if paid_on == "same" else paid_on
    return InvoiceFactory(account=account, issued_on=issued_on, due_on=due_on, amount=Decimal(amount), paid_on=paid)


# --- R1 ---------------------------------------------------------------------------------------------


def _purchases(account, current, previous=1000):
    return invoice(account, TODAY - days(365 + 10), previous), invoice(account, TODAY - days(10), current)


@pytest.mark.parametrize(
    ("tier", "current", "expected"),
    [
        ("", 800, {("R1", "purchase_drop", "medium")}),  # −20 %: the default threshold
        ("", 801, set()),  # −19.9 %
        ("T1", 850, {("R1", "purchase_drop", "medium")}),  # −15 %: tighter for T1
        ("T1", 851, set()),
        ("", 650, {("R1", "purchase_drop", "high")}),  # −35 %: high
        ("", 651, {("R1", "purchase_drop", "medium")}),
    ],
)
def test_r1_purchase_drop_thresholds(tier, current, expected):
    account = AccountFactory()
    if tier:
        set_tier(account, tier)
    _purchases(account, current)
    run()
    assert {k for k in open_keys(account) if k[0] == "R1"} == expected


def test_r1_ignores_accounts_without_purchases_last_year():
    account = AccountFactory()
    invoice(account, TODAY - days(10), 5)
    run()
    assert not open_keys(account)


@pytest.mark.parametrize(
    ("current_qty", "expected"),
    [
        (80, {("R1", "purchase_drop", "medium")}),  # volume −20 % while revenue holds (a price rise hides it)
        (81, set()),  # −19 %
        (60, {("R1", "purchase_drop", "high")}),  # −40 %: high
        (None, set()),  # no quantity this year: revenue alone decides (flat)
    ],
)
def test_r1_watches_volume_as_well_as_revenue(current_qty, expected):
    account = AccountFactory()
    before, now = _purchases(account, 1000)
    # the invoices carry the units billed
    type(before).objects.filter(pk=before.pk).update(quantity=Decimal(100))
    type(now).objects.filter(pk=now.pk).update(quantity=None if current_qty is None else Decimal(current_qty))
    run()
    assert {k for k in open_keys(account) if k[0] == "R1"} == expected
    if expected:
        alert = account.alerts.get(rule="R1")
        assert alert.evidence["measure"] == "volume" and alert.evidence["volume_change_pct"] == current_qty - 100
        assert alert.evidence["revenue_change_pct"] == 0


def test_r1_the_steeper_of_revenue_and_volume_decides():
    account = AccountFactory()
    before, now = _purchases(account, 700)  # revenue −30 %
    type(before).objects.filter(pk=before.pk).update(quantity=Decimal(100))
    type(now).objects.filter(pk=now.pk).update(quantity=Decimal(90))  # volume −10 %
    run()
    alert = account.alerts.get(rule="R1")
    assert (alert.priority, alert.evidence["measure"], alert.evidence["change_pct"]) == ("medium", "revenue", -30.0)


def test_r1_tier_settings_come_from_rule_config_rows():
    RuleConfig.objects.filter(rule="R1", tier="T1").update(params={"drop_pct": 10})
    account = set_tier(AccountFactory(), "T1")
    _purchases(account, 900)
    run()
    assert ("R1", "purchase_drop", "medium") in open_keys(account)


# --- R2 ---------------------------------------------------------------------------------------------


def nps(account, score, role="user_buyer", when=None, kind="nps"):
    when = when or NOW - days(20)
    return SurveyResponse.objects.create(account=account, kind=kind, score=score, respondent_role=role, responded_at=when)


@pytest.mark.parametrize(("score", "fires"), [(6, True), (7, False)])
def test_r2_account_nps_at_detractor(score, fires):
    account = AccountFactory()
    nps(account, score)
    run()
    assert ("nps_detractor" in reasons(account)) is fires


def test_r2_role_weighted_mean_of_the_worked_example_is_not_a_detractor():
    # DOMAIN.md §4.7: EB 6, champion 9, two users 10 → (18 + 18 + 10 + 10) / 7 = 8.0, passive…
    account = AccountFactory()
    for score, role in [(6, "economic_buyer"), (9, "coach_champion"), (10, "user_buyer"), (10, "user_buyer")]:
        nps(account, score, role)
    run()
    # …but the economic buyer answered 6: the "key detractor" signal fires.
    assert reasons(account) == {"key_detractor"}


@pytest.mark.parametrize(("score", "fires"), [(6, True), (7, False)])
def test_r2_key_role_detractor(score, fires):
    account = AccountFactory()
    nps(account, 10, "user_buyer")
    nps(account, score, "coach_champion")
    run()
    assert ("key_detractor" in reasons(account)) is fires


@pytest.mark.parametrize(("current", "fires"), [(7, True), (8, False)])
def test_r2_nps_drop_of_two_points(current, fires):
    account = AccountFactory()
    nps(account, 9, when=NOW - days(400))
    nps(account, current)
    run()
    assert ("nps_drop" in reasons(account)) is fires


@pytest.mark.parametrize(("satisfied", "fires"), [(69, True), (70, False)])
def test_r2_csat_below_seventy_percent(satisfied, fires):
    account = AccountFactory()
    SurveyResponse.objects.bulk_create(
        SurveyResponse(account=account, kind="csat", score=5 if i < satisfied else 2, responded_at=NOW - days(5))
        for i in range(100)
    )
    run()
    assert ("csat_low" in reasons(account)) is fires


@pytest.mark.parametrize(("current_ok", "fires"), [(90, True), (91, False)])
def test_r2_csat_drop_of_ten_points(current_ok, fires):
    account = AccountFactory()
    rows = [SurveyResponse(account=account, kind="csat", score=5, responded_at=NOW - days(100)) for _ in range(10)]
    rows += [
        SurveyResponse(account=account, kind="csat", score=5 if i < current_ok else 1, responded_at=NOW - days(5))
        for i in range(100)
    ]
    SurveyResponse.objects.bulk_create(rows)
    run()
    assert ("csat_drop" in reasons(account)) is fires


# --- R3 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overdue_days", "expected"),
    [(30, None), (31, "medium"), (60, "medium"), (61, "high"), (90, "high"), (91, "critical")],
)
def test_r3_overdue_days(overdue_days, expected):
    account = AccountFactory()
    invoice(account, TODAY - days(300), 100_000)  # revenue, so the share stays small
    for _ in range(9):
        invoice(account, TODAY - days(200), 100_000)
    invoice(account, TODAY - days(overdue_days + 30), 1000, paid_on=None, due_on=TODAY - days(overdue_days))
    run()
    assert {k[2] for k in open_keys(account) if k[1] == "overdue"} == ({expected} if expected else set())


@pytest.mark.parametrize(("amount", "expected"), [(101, "critical"), (100, "medium")])
def test_r3_overdue_share_above_ten_percent_of_t12m_revenue_is_critical(amount, expected):
    account = AccountFactory()
    invoice(account, TODAY - days(100), 1000 - amount)
    invoice(account, TODAY - days(61), amount, paid_on=None, due_on=TODAY - days(31))
    run()
    assert {k[2] for k in open_keys(account) if k[1] == "overdue"} == {expected}


@pytest.mark.parametrize(("late", "fires"), [(15, True), (14, False)])
def test_r3_days_beyond_terms_rising_quarter_on_quarter(late, fires):
    account = AccountFactory()
    issued = TODAY - days(170)
    invoice(account, issued, 1000, due_on=issued + days(10), paid_on=issued + days(10))  # paid on time, prior 90 days
    issued = TODAY - days(60)
    invoice(account, issued, 1000, due_on=issued + days(10), paid_on=issued + days(10 + late))
    run()
    assert ("dbt_rising" in reasons(account)) is fires


# --- R4 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("left_days_ago", "fires"), [(90, True), (91, False)])
def test_r4_economic_buyer_left_within_lookback(left_days_ago, fires):
    account = AccountFactory()
    ContactFactory(account=account, buying_roles=["economic_buyer"], is_active=False, left_on=TODAY - days(left_days_ago))
    run()
    assert (("R4", "economic_buyer_left", "critical") in open_keys(account)) is fires


def test_r4_champion_left_and_a_successor_clears_it():
    account = AccountFactory()
    ContactFactory(account=account, buying_roles=["coach_champion"], is_active=False, left_on=TODAY - days(3))
    run()
    assert reasons(account) >= {"coach_champion_left"}
    ContactFactory(account=account, buying_roles=["coach_champion"])
    run(NOW + days(1))
    run(NOW + days(2))
    assert "coach_champion_left" not in reasons(account)


# --- R5 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "days_left", "expected"),
    [
        ("", 90, "high"),
        ("", 91, None),
        ("", 60, "critical"),
        ("", 61, "high"),
        ("T2", 120, "high"),
        ("T2", 121, None),
        ("T1", 180, "high"),
        ("T1", 181, None),
    ],
)
def test_r5_renewal_window_by_tier(tier, days_left, expected):
    account = AccountFactory()
    if tier:
        set_tier(account, tier)
    ContractFactory(account=account, start_date=TODAY - days(300), end_date=TODAY + days(days_left))
    run()
    assert {k[2] for k in open_keys(account) if k[0] == "R5"} == ({expected} if expected else set())


@pytest.mark.parametrize(("meeting_days_ago", "fires"), [(29, False), (31, True)])
def test_r5_a_renewal_in_progress_with_recent_activity_is_fine(meeting_days_ago, fires):
    account = AccountFactory()
    contract = ContractFactory(account=account, start_date=TODAY - days(300), end_date=TODAY + days(45))
    ContractFactory(account=account, status="draft", renewal_of=contract, start_date=TODAY + days(46), end_date=TODAY + days(400))
    MeetingFactory(account=account, occurred_at=NOW - days(meeting_days_ago))
    run()
    assert ("renewal" in reasons(account)) is fires


def test_r5_a_signed_renewal_ends_the_alert():
    account = AccountFactory()
    contract = ContractFactory(account=account, start_date=TODAY - days(300), end_date=TODAY + days(45))
    ContractFactory(
        account=account, status="active", renewal_of=contract, start_date=TODAY + days(46), end_date=TODAY + days(400)
    )
    run()
    assert "renewal" not in reasons(account)


# --- R6 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("opened_ago", "fires"), [(days(2), True), (days(2) - dt.timedelta(hours=1), False)])
def test_r6_sev1_open_for_two_days(opened_ago, fires):
    account = AccountFactory()
    Escalation.objects.create(account=account, title="Line down", severity="sev1", opened_at=NOW - opened_ago)
    run()
    assert (("R6", "sev1_open", "critical") in open_keys(account)) is fires


@pytest.mark.parametrize(("count", "fires"), [(3, True), (2, False)])
def test_r6_three_open_escalations(count, fires):
    account = AccountFactory()
    for i in range(count):
        Escalation.objects.create(account=account, title=f"E{i}", severity="sev2", opened_at=NOW - days(1))
    Escalation.objects.create(account=account, title="closed", severity="sev2", opened_at=NOW - days(9), closed_at=NOW - days(8))
    run()
    assert (("R6", "escalations_open", "high") in open_keys(account)) is fires


def _requests(account, total, late):
    for i in range(total):
        opened = NOW - days(10)
        due = opened + dt.timedelta(hours=8)
        ServiceRequest.objects.create(
            account=account, priority="p2", opened_at=opened, resolution_due_at=due,
            resolved_at=due + (dt.timedelta(hours=1) if i < late else -dt.timedelta(hours=1)),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("tier", "total", "late", "fires"),
    [("", 10, 2, True), ("", 10, 1, False), ("T1", 20, 2, True), ("T1", 20, 1, False)],
)
def test_r6_sla_attainment_below_target(tier, total, late, fires):
    # Default: below 90 % fires (80 % does, 90 % does not); T1: below 95 % (90 % does, 95 % does not).
    account = AccountFactory()
    if tier:
        set_tier(account, tier)
    _requests(account, total, late)
    run()
    assert ("sla_attainment" in reasons(account)) is fires


# --- R7 ---------------------------------------------------------------------------------------------


def _old_t1_account():
    account = set_tier(AccountFactory(), "T1")
    Account.objects.filter(pk=account.pk).update(created_at=NOW - days(800))
    return account


@pytest.mark.parametrize(("ago", "fires"), [(91, True), (90, False)])
def test_r7_no_executive_meeting_for_t1(ago, fires):
    account = _old_t1_account()
    MeetingFactory(account=account, kind="executive", occurred_at=NOW - days(ago))
    MeetingFactory(account=account, kind="qbr", occurred_at=NOW - days(10))
    MeetingFactory(account=account, kind="call", occurred_at=NOW - days(1))  # not executive level
    run()
    assert ("no_exec_meeting" in reasons(account)) is fires


def test_r7_only_applies_to_t1_by_default():
    account = _old_t1_account()
    set_tier(account, "T2")
    run()
    assert not {k for k in open_keys(account) if k[0] == "R7"}


@pytest.mark.parametrize(("last", "fires"), [(dt.date(2026, 2, 17), True), (dt.date(2026, 2, 18), False)])
def test_r7_qbr_overdue_more_than_thirty_days_past_cadence(last, fires):
    account = _old_t1_account()
    MeetingFactory(account=account, kind="executive", occurred_at=NOW - days(5))
    # T1: a QBR every three months, so the next one was due on 2026-05-17 (31 days before 06-17) or 05-18 (30).
    MeetingFactory(account=account, kind="qbr", occurred_at=timezone.make_aware(dt.datetime.combine(last, dt.time(10))))
    run()
    assert ("qbr_overdue" in reasons(account)) is fires


def _held_review(account, kind, held_on):
    from service_plans.services import plans as plan_services

    plan = account.plans.first() or plan_services.plan_create(account=account, fiscal_year=2026)
    review = plan_services.review_schedule(plan=plan, kind=kind, scheduled_on=held_on)
    review = plan_services.review_record(review=review, held_on=held_on)
    # Reviews are logged as meetings now; one without its meeting (recorded before, or the meeting
    # deleted) must count as well.
    if review.meeting_id:
        Meeting.objects.filter(pk=review.meeting_id).delete()
    return review


@pytest.mark.parametrize(("last", "fires"), [(dt.date(2026, 2, 17), True), (dt.date(2026, 2, 18), False)])
def test_r7_a_qbr_recorded_as_a_held_plan_review_counts_without_a_meeting(last, fires):
    # §7.4: the QBR is recorded on the plan; linking a meeting is optional, so R7 must not call a
    # QBR held and recorded there "overdue".
    account = _old_t1_account()
    MeetingFactory(account=account, kind="executive", occurred_at=NOW - days(5))
    _held_review(account, "qbr", last)
    run()
    assert ("qbr_overdue" in reasons(account)) is fires


@pytest.mark.parametrize(("ago", "fires"), [(91, True), (90, False)])
def test_r7_a_held_ebr_review_is_an_executive_meeting(ago, fires):
    account = _old_t1_account()
    MeetingFactory(account=account, kind="qbr", occurred_at=NOW - days(10))
    _held_review(account, "ebr", TODAY - days(ago))
    _held_review(account, "internal_monthly", TODAY - days(1))  # internal: not with the customer's executives
    run()
    assert ("no_exec_meeting" in reasons(account)) is fires


# --- R9 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("covered", "fires"), [(1, True), (2, False)])
def test_r9_single_threaded(covered, fires):
    account = set_tier(AccountFactory(), "T2")
    ContactFactory(account=account, buying_roles=["economic_buyer"], coverage="multiple", support=1)
    for _ in range(covered - 1):
        ContactFactory(account=account, coverage="in_depth")
    ContactFactory(account=account, coverage="brief")
    ContactFactory(account=account, coverage="multiple", is_active=False, left_on=TODAY - days(400))
    run()
    assert ("single_threaded" in reasons(account)) is fires


@pytest.mark.parametrize(("support", "fires"), [(-1, True), (0, False)])
def test_r9_economic_buyer_support(support, fires):
    account = set_tier(AccountFactory(), "T1")
    ContactFactory(account=account, buying_roles=["economic_buyer"], coverage="multiple", support=support)
    ContactFactory(account=account, coverage="multiple")
    run()
    assert ("economic_buyer_unsupportive" in reasons(account)) is fires


def test_r9_no_economic_buyer_and_scope_excludes_t3():
    t2 = set_tier(AccountFactory(), "T2")
    t3 = set_tier(AccountFactory(), "T3")
    for account in (t2, t3):
        ContactFactory(account=account, coverage="multiple")
        ContactFactory(account=account, coverage="multiple")
    run()
    assert reasons(t2) == {"no_economic_buyer"}
    assert not reasons(t3)


def test_a_disabled_rule_raises_nothing():
    RuleConfig.objects.filter(rule="R3", tier="").update(is_enabled=False)
    account = AccountFactory()
    invoice(account, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    run()
    assert not reasons(account)


def test_churned_accounts_raise_nothing():
    account = AccountFactory(status="churned")
    invoice(account, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    run()
    assert not reasons(account)


def test_owner_is_resolved_by_team_role():
    account = AccountFactory()
    finance = AccountTeamMember.objects.create(account=account, user=AccountFactory().owner, role="finance").user
    invoice(account, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    other = AccountFactory()
    invoice(other, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    run()
    alert = account.alerts.get()
    assert (alert.owner, alert.owner_role) == (finance, "finance")
    assert other.alerts.get().owner == other.owner  # no finance member: the account's owner


def test_finance_and_service_lead_alerts_copy_the_account_manager():
    """§5.2 R3 "Finance owner, KAM cc"; R6 "Service lead, KAM cc"."""
    from service_plans.models import Notification

    account = AccountFactory()
    finance = AccountTeamMember.objects.create(account=account, user=AccountFactory().owner, role="finance").user
    invoice(account, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    alone = AccountFactory()  # no finance member: the manager owns it and gets one notification, not two
    invoice(alone, TODAY - days(200), 1000, paid_on=None, due_on=TODAY - days(100))
    run()
    alert = account.alerts.get()
    assert set(Notification.objects.filter(alert=alert).values_list("user", "kind")) == {
        (finance.pk, "alert.opened"),
        (account.owner_id, "alert.cc"),
    }
    assert list(Notification.objects.filter(alert=alone.alerts.get()).values_list("user", "kind")) == [
        (alone.owner_id, "alert.opened")
    ]


# --- R10 ----------------------------------------------------------------------------------------------


def _rated(rating, *, days_ago=400, **fields):
    """An account rated ``rating`` since ``days_ago`` (the account history records the time)."""
    import time_machine

    with time_machine.travel(NOW - days(days_ago), tick=False):
        return AccountFactory(credit_rating=rating, **fields)


def _rate(account, rating, days_ago):
    import time_machine

    from accounts import services as account_services

    with time_machine.travel(NOW - days(days_ago), tick=False):
        return account_services.account_update(account=Account.objects.get(pk=account.pk), credit_rating=rating)


@pytest.mark.parametrize(("days_ago", "fires"), [(89, True), (91, False)])
def test_r10_credit_downgrade_of_one_grade_within_the_lookback(days_ago, fires):
    """§5.2 R10: credit rating downgraded ≥ 1 grade → High, owned by finance, due +3 bd."""
    account = _rated("B")
    finance = AccountTeamMember.objects.create(account=account, user=AccountFactory().owner, role="finance").user
    _rate(account, "C", days_ago)
    run()
    assert (("R10", "credit_downgrade", "high") in open_keys(account)) is fires
    if fires:
        alert = account.alerts.get()
        assert alert.evidence == {"credit_rating": "C", "previous_rating": "B", "grades": 1}
        assert (alert.owner, alert.owner_role, alert.playbook.code) == (finance, "finance", "credit-review")
        assert alert.tasks.count() == 4
        assert alert.due_on == TODAY + days(7)  # +3 bd, but never before the playbook's last task (d+7)


def test_r10_upgrades_unrated_and_recovered_accounts_do_not_fire_and_the_best_rating_counts():
    upgraded = _rated("C")
    _rate(upgraded, "B", 10)
    first_rating = _rated("")
    _rate(first_rating, "D", 10)  # no rating before: nothing was downgraded
    recovered = _rated("A")
    _rate(recovered, "B", 30)
    _rate(recovered, "A", 5)
    stepwise = _rated("A")  # A → B (100 days ago) → C (10 days ago)
    _rate(stepwise, "B", 100)  # the window (90 days) began at B, so C is one grade down
    _rate(stepwise, "C", 10)
    bounced = _rated("B")  # B → A → C inside the window: two grades below the best rating held
    _rate(bounced, "A", 60)
    _rate(bounced, "C", 5)
    run()
    assert not open_keys(upgraded) and not open_keys(first_rating) and not open_keys(recovered)
    assert Account.objects.get(pk=stepwise.pk).alerts.get().evidence["previous_rating"] == "B"
    assert Account.objects.get(pk=bounced.pk).alerts.get().evidence == {
        "credit_rating": "C",
        "previous_rating": "A",
        "grades": 2,
    }


def test_r10_grades_and_lookback_come_from_rule_config_rows():
    RuleConfig.objects.update_or_create(rule="R10", tier="", defaults={"params": {"downgrade_grades": 2}})
    RuleConfig.objects.create(rule="R10", tier="T1", params={"downgrade_grades": 1, "lookback_days": 200})
    one_grade = _rated("B")
    _rate(one_grade, "C", 10)
    strategic = set_tier(_rated("B"), "T1")
    _rate(strategic, "C", 150)
    run()
    assert not open_keys(one_grade)
    assert ("R10", "credit_downgrade", "high") in open_keys(strategic)  # T1's own 200-day look-back


def _credit_portfolio(copies):
    """``copies`` times a mix of accounts: the R10 evidence each one must raise (None: no alert)."""
    expected = {}
    for _ in range(copies):
        one_down = _rated("B")
        _rate(one_down, "C", 10)
        expected[one_down.pk] = {"credit_rating": "C", "previous_rating": "B", "grades": 1}
        started_at_b = _rated("A")  # A → B before the window, → D inside it: two grades below B
        _rate(started_at_b, "B", 100)
        _rate(started_at_b, "D", 20)
        expected[started_at_b.pk] = {"credit_rating": "D", "previous_rating": "B", "grades": 2}
        unrated_between = _rated("B")  # B → unrated → C: the rating in force at the window's start counts
        _rate(unrated_between, "", 30)
        _rate(unrated_between, "C", 10)
        expected[unrated_between.pk] = {"credit_rating": "C", "previous_rating": "B", "grades": 1}
        long_look_back = set_tier(_rated("B"), "T1")  # T1 looks back 200 days
        _rate(long_look_back, "C", 150)
        expected[long_look_back.pk] = {"credit_rating": "C", "previous_rating": "B", "grades": 1}
        upgraded = _rated("C")
        _rate(upgraded, "B", 5)
        expected[upgraded.pk] = None
        too_old = _rated("B")  # T2: the default 90 days
        _rate(too_old, "C", 150)
        expected[too_old.pk] = None
        unchanged = _rated("D")
        expected[unchanged.pk] = None
        churned = _rated("B")
        _rate(churned, "D", 10)
        Account.objects.filter(pk=churned.pk).update(status="churned")
        expected[churned.pk] = None
        now_unrated = _rated("B")
        _rate(now_unrated, "", 10)
        expected[now_unrated.pk] = None
    return expected


@pytest.mark.parametrize("copies", [1, 5])
def test_r10_over_a_portfolio_raises_exactly_the_qualifying_accounts_in_a_constant_query_count(copies):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    RuleConfig.objects.create(rule="R10", tier="T1", params={"lookback_days": 200})
    expected = _credit_portfolio(copies)
    with CaptureQueriesContext(connection) as queries:
        run()
    raised = {a.account_id: a.evidence for a in Alert.objects.open().filter(rule="R10")}
    assert raised == {pk: evidence for pk, evidence in expected.items() if evidence}
    # R10 is one query whatever the portfolio; the run's count is the same at 9 and 45 accounts.
    assert len([q for q in queries.captured_queries if "LAG(" in q["sql"]]) == 1
    assert len(queries.captured_queries) == 35  # E1 (one query) runs too
