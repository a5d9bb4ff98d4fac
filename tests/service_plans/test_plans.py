"""Account plans, objectives, actions, reviews (QBR rules) and regeneration on tier changes (§7)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kam.events import publish
from service_plans.models import AccountPlan, AccountTeamMember, Notification, PlanAction, PlanObjective, PlanReview
from service_plans.services import plans as services
from tests.factories import AccountFactory, ContactFactory, MeetingFactory, UserFactory
from tests.service_plans.conftest import set_tier

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 1, 5)


def test_one_active_plan_per_account_and_year():
    account = AccountFactory()
    plan = services.plan_create(account=account, fiscal_year=2026, status="active")
    draft = services.plan_create(account=account, fiscal_year=2026)
    with pytest.raises(ValidationError) as exc:
        services.plan_activate(plan=draft)
    assert "status" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountPlan.objects.filter(pk=draft.pk).update(status="active")
    services.plan_update(plan=plan, status="archived")
    assert services.plan_activate(plan=draft).status == "active"


def test_targets_need_a_currency():
    with pytest.raises(ValidationError) as exc:
        services.plan_create(account=AccountFactory(), fiscal_year=2026, revenue_target_amount=Decimal("5000000"))
    assert "currency" in exc.value.message_dict


def test_objective_progress_comes_from_its_actions():
    plan = services.plan_create(account=AccountFactory(), fiscal_year=2026)
    objective = services.objective_create(
        plan=plan, title="Raise NPS", kpi_code="nps", baseline=Decimal("20"), target=Decimal("40")
    )
    actions = [services.action_create(plan=plan, objective=objective, title=f"Step {i}") for i in range(4)]
    services.action_complete(action=actions[0])
    services.action_update(action=actions[1], status="cancelled")
    assert services.objective_progress(objective) == pytest.approx(33.3)
    annotated = PlanObjective.objects.with_progress().get(pk=objective.pk)
    assert (annotated.actions_done, annotated.actions_total) == (1, 3)
    with pytest.raises(ValidationError) as exc:
        services.objective_create(plan=plan, title="Bad", kpi_code="grr")
    assert "target" in exc.value.message_dict


def test_an_action_has_one_owner_from_the_right_account():
    plan = services.plan_create(account=AccountFactory(), fiscal_year=2026)
    stranger = ContactFactory()
    with pytest.raises(ValidationError) as exc:
        services.action_create(plan=plan, title="x", owner_contact=stranger)
    assert "owner_contact" in exc.value.message_dict
    contact = ContactFactory(account=plan.account)
    with pytest.raises(ValidationError) as exc:
        services.action_create(plan=plan, title="x", owner_contact=contact, owner_user=plan.owner)
    assert "owner_contact" in exc.value.message_dict
    assert services.action_create(plan=plan, title="Customer sends data", owner_contact=contact).owner_contact == contact


def test_our_commitments_become_actions_and_a_qbr_completes_only_with_recap_and_next_one():
    account = AccountFactory()
    plan = services.plan_create(account=account, fiscal_year=2026, status="active")
    contact = ContactFactory(account=account)
    qbr = services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 20))
    meeting = MeetingFactory(account=account, kind="qbr")
    qbr = services.review_record(
        review=qbr,
        held_on=dt.date(2026, 3, 20),
        meeting=meeting,
        decisions="Pilot the new line in Q2",
        commitments=[
            {"side": "ours", "text": "Send the pilot proposal", "due_on": dt.date(2026, 4, 3)},
            {"side": "theirs", "text": "Share forecast data", "owner_contact": contact, "due_on": dt.date(2026, 4, 1)},
        ],
    )
    action = PlanAction.objects.get(plan=plan)
    assert (action.title, action.owner_user, action.source, action.due_on) == (
        "Send the pilot proposal", account.owner, "commitment", dt.date(2026, 4, 3),
    )  # fmt: skip
    assert qbr.commitments.count() == 2
    with pytest.raises(ValidationError) as exc:
        services.review_complete(review=qbr)
    assert set(exc.value.message_dict) == {"recap_sent_at", "next_review"}
    services.review_recap_sent(review=qbr)
    with pytest.raises(ValidationError) as exc:
        services.review_complete(review=qbr)
    assert set(exc.value.message_dict) == {"next_review"}
    services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 6, 19))
    assert services.review_complete(review=qbr).status == "complete"


def test_a_commitment_error_names_the_commitment():
    plan = services.plan_create(account=AccountFactory(), fiscal_year=2026)
    review = services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 20))
    with pytest.raises(ValidationError) as exc:
        services.review_record(review=review, held_on=dt.date(2026, 3, 20), commitments=[{"side": "sideways", "text": "x"}])
    assert "commitments[0]" in exc.value.message_dict
    review.refresh_from_db()
    assert review.status == "scheduled"  # nothing half-written


def test_our_commitment_is_owned_by_a_colleague_not_a_customer_contact():
    # §7.4: each of our commitments becomes a plan action; its owner is one of us.
    account = AccountFactory()
    plan = services.plan_create(account=account, fiscal_year=2026)
    review = services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 20))
    contact = ContactFactory(account=account)
    with pytest.raises(ValidationError) as exc:
        services.review_record(
            review=review, held_on=dt.date(2026, 3, 20), commitments=[{"side": "ours", "text": "Pilot", "owner_contact": contact}]
        )
    assert "commitments[0]" in exc.value.message_dict
    assert not PlanAction.objects.filter(plan=plan).exclude(generation_key__startswith="prep:").exists()
    review = services.review_record(
        review=review, held_on=dt.date(2026, 3, 20), commitments=[{"side": "theirs", "text": "Data", "owner_contact": contact}]
    )
    assert review.commitments.get().owner_contact == contact


@pytest.mark.parametrize(
    ("kind", "meeting_kind"), [("qbr", "qbr"), ("ebr", "ebr"), ("annual_jbp", "ebr"), ("internal_monthly", None)]
)
def test_a_customer_review_held_without_a_meeting_is_logged_as_one(kind, meeting_kind, account_manager):
    # §7.4: the QBR record is a Meeting(type=QBR): meeting-based rules and measures (R7, the health's
    # executive meetings, the account's meeting history) see the review. Internal reviews are not meetings.
    account = AccountFactory(owner=account_manager)
    plan = services.plan_create(account=account, fiscal_year=2026)
    review = services.review_schedule(plan=plan, kind=kind, scheduled_on=dt.date(2026, 3, 20))
    review = services.review_record(review=review, held_on=dt.date(2026, 3, 20), decisions="Expand", actor=account_manager)
    if meeting_kind is None:
        assert review.meeting is None and not account.meetings.exists()
        return
    meeting = account.meetings.get()
    assert review.meeting == meeting
    assert (meeting.kind, timezone.localtime(meeting.occurred_at).date(), meeting.decisions) == (
        meeting_kind,
        dt.date(2026, 3, 20),
        "Expand",
    )
    assert meeting.created_by == account_manager


def test_a_review_held_in_a_logged_meeting_creates_no_other():
    account = AccountFactory()
    plan = services.plan_create(account=account, fiscal_year=2026)
    logged = MeetingFactory(account=account, kind="qbr")
    review = services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 20))
    review = services.review_record(review=review, held_on=dt.date(2026, 3, 20), meeting=logged)
    assert review.meeting == logged and account.meetings.count() == 1


def _tier_change(account, old, new, effective_on, capture):
    set_tier(account, new)
    with capture(execute=True):
        publish(
            "account.tier_changed",
            {"account_id": account.pk, "old_tier": old, "new_tier": new, "reason": "quarterly", "effective_on": effective_on},
        )


def test_tier_change_regenerates_the_plan_without_losing_done_work(django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to(dt.datetime(2026, 1, 5, 9, 0))
    account = AccountFactory()
    AccountTeamMember.objects.create(account=account, user=UserFactory(username="svc"), role="service_lead")
    _tier_change(account, "T3", "T2", "2026-01-05", django_capture_on_commit_callbacks)
    plan = AccountPlan.objects.get(account=account)
    assert (plan.status, plan.fiscal_year, plan.standard.tier) == ("draft", 2026, "T2")
    t2_reviews = list(plan.reviews.values_list("kind", "scheduled_on"))
    assert t2_reviews == [("business_review", dt.date(2026, 2, 4)), ("business_review", dt.date(2026, 8, 4))]
    # The first business review is held and its prep action done; a hand-made action is open.
    prep = plan.actions.get(generation_key="prep:business_review:2026-02-04")
    services.action_complete(action=prep)
    first = plan.reviews.get(scheduled_on=dt.date(2026, 2, 4))
    services.review_record(review=first, held_on=dt.date(2026, 2, 4), notes="Good")
    manual = services.action_create(plan=plan, title="Hand-made", due_on=dt.date(2026, 9, 1))

    time_machine.move_to(dt.datetime(2026, 4, 1, 9, 0))
    _tier_change(account, "T2", "T1", "2026-04-01", django_capture_on_commit_callbacks)
    plan.refresh_from_db()
    assert plan.standard.tier == "T1"
    first.refresh_from_db()
    prep.refresh_from_db()
    manual.refresh_from_db()
    assert (first.status, first.notes) == ("held", "Good")  # never rewritten
    assert prep.status == "done"
    assert manual.status == "open"
    assert plan.reviews.get(scheduled_on=dt.date(2026, 8, 4)).status == "cancelled"  # T2's no longer wanted
    kinds = {}
    for review in plan.reviews.exclude(status="cancelled").exclude(pk=first.pk):
        kinds.setdefault(review.kind, []).append(review.scheduled_on)
    assert kinds["qbr"] == [dt.date(2026, 5, 1), dt.date(2026, 8, 1), dt.date(2026, 11, 1)]
    assert kinds["ebr"] == [dt.date(2026, 5, 1)]
    assert len(kinds["internal_monthly"]) == 8  # May … December
    # T1 needs an executive sponsor, and the draft plan must be activated.
    open_keys = set(plan.actions.filter(status="open").values_list("generation_key", flat=True))
    assert {"team:executive_sponsor", "plan:activate"} <= open_keys
    assert "team:service_lead" not in open_keys
    assert "team:account_manager" not in open_keys  # the account's owner is its account manager
    assert Notification.objects.filter(user=account.owner, kind="account.tier_changed").count() == 2
    # The notification takes its reader to the plan on the account's page, not to the admin.
    link = Notification.objects.filter(user=account.owner, kind="account.tier_changed").latest("id").link
    assert link == f"/accounts/{account.pk}/#plan"

    # Running the same change again changes nothing.
    before = (
        PlanReview.objects.count(),
        PlanAction.objects.count(),
        list(PlanAction.objects.values_list("status", flat=True).order_by("id")),
    )
    services.tier_changes_apply([{"account_id": account.pk, "old_tier": "T2", "new_tier": "T1", "effective_on": "2026-04-01"}])
    after = (
        PlanReview.objects.count(),
        PlanAction.objects.count(),
        list(PlanAction.objects.values_list("status", flat=True).order_by("id")),
    )
    assert before == after


def test_tier_change_uses_the_active_plan_and_query_count_does_not_grow(django_assert_num_queries, time_machine):
    time_machine.move_to(dt.datetime(2026, 1, 5, 9, 0))
    accounts = [set_tier(AccountFactory(), "T1") for _ in range(3)]
    plans = [services.plan_create(account=a, fiscal_year=2026, status="active") for a in accounts]
    payloads = [{"account_id": a.pk, "old_tier": "T2", "new_tier": "T1", "effective_on": "2026-01-05"} for a in accounts]
    with django_assert_num_queries(15):  # bulk_update: temp table, COPY, UPDATE, DROP
        services.tier_changes_apply(payloads)
    for plan in plans:
        plan.refresh_from_db()
        assert plan.standard.tier == "T1"
    assert AccountPlan.objects.count() == 3  # no extra draft plans
    more = [set_tier(AccountFactory(), "T1") for _ in range(15)]  # 5N
    for account in more:
        services.plan_create(account=account, fiscal_year=2026, status="active")
    with django_assert_num_queries(15):
        services.tier_changes_apply(
            [{"account_id": a.pk, "old_tier": "T3", "new_tier": "T1", "effective_on": "2026-01-05"} for a in more]
        )


def test_a_review_records_active_colleagues_only(account_manager):
    plan = services.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026)
    review = services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 1))
    gone = UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError) as exc:
        services.review_record(review=review, held_on=dt.date(2026, 3, 2), attendees=[account_manager, gone])
    assert list(exc.value.message_dict) == ["attendees"]
    review.refresh_from_db()
    assert (review.status, review.meeting_id) == ("scheduled", None)
