"""The demo's key accounts have plans: objectives, actions, a whitespace grid and reviews, valid as if
entered through the services, the same for the same seed, and shown on the account page."""

import datetime as dt
import hashlib

import pytest
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

import accounts.demo
from accounts.demo import RATE_CENTRES, seed_demo
from accounts.models import Account, Contact, Contract, Invoice, Meeting
from service_plans.alerts.rules import Context, l1_qbr_follow_up, l2_plan_lifecycle, load_settings
from service_plans.demo_plans import KEY_SPEND_CNY
from service_plans.models import (
    AccountPlan,
    Commitment,
    PlanAction,
    PlanObjective,
    PlanReview,
    WhitespaceCell,
)
from service_plans.selectors import whitespace_headroom
from service_plans.services.plans import fiscal_year_of, review_complete
from service_plans.sla import default_clock

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)
NOW = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(9)))
YEAR = fiscal_year_of(TODAY)


@pytest.fixture
def demo():
    return seed_demo(accounts=300, seed=42, today=TODAY)


def _key_accounts():
    return Account.objects.filter(plans__isnull=False).distinct()


def test_key_accounts_are_active_large_group_roots_with_a_plan_per_fiscal_year(demo):
    keys = list(_key_accounts())
    assert 5 <= len(keys) <= 30  # a few per cent of the groups
    assert demo["account_plans"] == AccountPlan.objects.count() == 2 * len(keys)
    for account in keys:
        assert account.parent_id is None and account.status == "active"
        plans = {(p.fiscal_year, p.status) for p in account.plans.all()}
        assert plans == {(YEAR - 1, "archived"), (YEAR, "active")}
    # They are the large ones: on average they buy (in CNY) many times what the other roots buy.
    value = {}
    for contract in Contract.objects.filter(status="active", account__parent__isnull=True, account__status="active"):
        rate = RATE_CENTRES.get(contract.currency, 1.0)
        value[contract.account_id] = value.get(contract.account_id, 0) + float(contract.annual_value) * rate
    key_ids = {a.pk for a in keys}
    others = [v for pk, v in value.items() if pk not in key_ids]
    assert sum(value[pk] for pk in key_ids) / len(key_ids) > 5 * sum(others) / len(others)
    assert min(value[pk] for pk in key_ids) > KEY_SPEND_CNY / 3


def test_current_plans_show_every_feature(demo):
    for plan in AccountPlan.objects.filter(status="active").select_related("account"):
        objectives = list(plan.objectives.all())
        assert 2 <= len(objectives) <= 4
        assert plan.whitespace_cells.count() >= 6
        assert plan.revenue_target_amount > 0 and plan.currency == plan.account.currency
        assert plan.approved_by is not None and plan.approved_on <= TODAY
        assert {c.currency for c in plan.whitespace_cells.all()} == {plan.account.currency}
        assert plan.reviews.filter(status="scheduled", scheduled_on__gt=TODAY).count() == 1
    objectives = PlanObjective.objects.filter(plan__status="active")
    assert {"achieved", "at_risk", "on_track", "not_started"} <= set(objectives.values_list("status", flat=True))
    # Some at risk are overdue; achieved ones have all their actions done.
    assert (
        objectives.filter(status="at_risk", due_on__lt=TODAY).exists()
        or objectives.filter(status="at_risk", actions__status="open", actions__due_on__lt=TODAY).exists()
    )
    assert not PlanAction.objects.filter(objective__status="achieved").exclude(status="done").exists()
    actions = PlanAction.objects.filter(plan__status="active")
    assert actions.filter(status="open", due_on__lt=TODAY).exists()  # overdue
    assert actions.filter(status="open", due_on__gte=TODAY).exists()  # coming up
    assert actions.filter(owner_contact__isnull=False).exists() and actions.filter(owner_user__isnull=False).exists()
    assert not PlanAction.objects.filter(owner_user__isnull=True, owner_contact__isnull=True).exists()
    assert set(WhitespaceCell.objects.values_list("state", flat=True)) == {"owned", "pipeline", "gap", "not_eligible"}
    headroom = whitespace_headroom(plan_ids=list(AccountPlan.objects.filter(status="active").values_list("pk", flat=True)))
    assert headroom and all(amount > 0 for by_currency in headroom.values() for amount in by_currency.values())
    held = PlanReview.objects.filter(status__in=["held", "complete"])
    assert held.exists() and held.filter(status="complete").exists()
    for review in held.select_related("meeting", "plan"):
        assert review.held_on <= TODAY - dt.timedelta(days=2) and review.meeting.kind == "qbr"
        assert review.meeting.account_id == review.plan.account_id
        assert review.meeting.contacts.exists() and review.meeting.attendees.exists()
        assert review.commitments.filter(side="ours", action__source="commitment").exists()


def test_every_row_is_valid_as_the_services_would_write_it(demo):
    for model in (AccountPlan, PlanObjective, PlanAction, WhitespaceCell, PlanReview, Commitment):
        rows = list(model.objects.all())
        assert rows, model
        for row in rows:
            row.full_clean()
    meetings = Meeting.objects.filter(pk__in=PlanReview.objects.values("meeting"))
    for meeting in meetings:
        meeting.full_clean()
        assert not meeting.contacts.exclude(account_id=meeting.account_id).exists()
        assert not meeting.attendees.filter(is_active=False).exists()
    for action in PlanAction.objects.filter(owner_contact__isnull=False).select_related("owner_contact", "plan"):
        assert action.owner_contact.account_id == action.plan.account_id and action.owner_contact.is_active
    assert not PlanAction.objects.filter(status="done", completed_at__gt=NOW).exists()
    assert not PlanAction.objects.filter(~Q(status="done"), completed_at__isnull=False).exists()
    for commitment in Commitment.objects.select_related("review__plan", "owner_contact", "action"):
        if commitment.side == "theirs":
            assert commitment.owner_contact.account_id == commitment.review.plan.account_id
        else:
            assert commitment.action.plan_id == commitment.review.plan_id and commitment.action.due_on == commitment.due_on
    # A complete review passes the checks review_complete makes (held, recap sent, next one scheduled).
    complete = list(PlanReview.objects.filter(status="complete"))
    assert complete
    for review in complete:
        review_complete(review=review)
    # A held one without a recap: the services refuse to complete it.
    missing = PlanReview.objects.filter(status="held", recap_sent_at__isnull=True)
    for review in missing:
        with pytest.raises(Exception, match="recap"):
            review_complete(review=review)


def test_alerts_on_plans_stay_plausible(demo):
    """Once the tiering puts the key accounts in T1: the QBR follow-up alert fires only where the demo
    left the latest recap unsent, no plan is missing and no review is overdue."""
    keys = set(_key_accounts().values_list("pk", flat=True))
    Account.objects.filter(pk__in=keys).update(tier="T1")
    ctx = Context(today=TODAY, now=NOW, settings=load_settings(), qbr_months={"T1": 3}, clock=default_clock())
    missing_recap = set(
        PlanReview.objects.filter(status="held", recap_sent_at__isnull=True).values_list("plan__account_id", flat=True)
    )
    assert missing_recap < keys
    assert {hit.account_id for hit in l1_qbr_follow_up(ctx)} == missing_recap
    assert not {hit.account_id for hit in l2_plan_lifecycle(ctx)} & keys


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for model, fields in [
        (AccountPlan, ("id", "account_id", "fiscal_year", "status", "owner__username", "customer_vision", "revenue_target_amount")),
        (PlanObjective, ("id", "plan_id", "title", "kpi_code", "baseline", "target", "due_on", "status")),
        (PlanAction, ("id", "plan_id", "objective_id", "title", "owner_user__username", "owner_contact_id", "due_on", "status", "completed_at")),
        (WhitespaceCell, ("id", "plan_id", "buying_centre", "offering", "state", "our_annual_value", "est_total_spend", "competitor")),
        (PlanReview, ("id", "plan_id", "kind", "scheduled_on", "held_on", "status", "meeting_id", "recap_sent_at")),
        (Commitment, ("id", "review_id", "side", "text", "owner_contact_id", "due_on", "action_id")),
    ]:  # fmt: skip
        for row in model.objects.order_by("id").values_list(*fields):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _rest_of_the_demo() -> str:
    digest = hashlib.sha256()
    for model, fields in [
        (Account, ("id", "name", "owner__username", "currency", "status")),
        (Contact, ("id", "name", "is_active")),
        (Contract, ("id", "number", "annual_value", "signed_on")),
        (Invoice, ("id", "amount", "paid_on")),
    ]:
        for row in model.objects.order_by("id").values_list(*fields):
            digest.update(repr(row).encode())
    digest.update(
        repr(list(Meeting.objects.exclude(kind="qbr", summary__gt="").order_by("id").values_list("id", "title"))).encode()
    )
    return digest.hexdigest()


def _seed(seed: int) -> tuple[str, str]:
    with transaction.atomic():
        seed_demo(accounts=200, seed=seed, today=TODAY)
        result = (_fingerprint(), _rest_of_the_demo())
        transaction.set_rollback(True)
    return result


def test_same_seed_same_plans_and_the_rest_of_the_demo_unchanged(monkeypatch):
    first = _seed(7)
    assert first == _seed(7)
    assert first[0] != _seed(8)[0]
    # The plans draw from their own stream: without them every other demo value is the same.
    monkeypatch.setattr(accounts.demo, "EXTENSIONS", [e for e in accounts.demo.EXTENSIONS if "demo_plans" not in e])
    assert _seed(7)[1] == first[1]


def test_a_key_accounts_page_shows_its_plan_objectives_and_whitespace_grid(demo, client):
    plan = AccountPlan.objects.filter(status="active").select_related("account", "owner").order_by("id").first()
    client.force_login(plan.owner)
    response = client.get(reverse("web:account_detail", args=[plan.account_id]))
    assert response.status_code == 200
    section = response.context["page"].plan
    assert section.plan == plan and len(section.objectives) == plan.objectives.count()
    html = response.text
    for objective in plan.objectives.all():
        assert f'data-objective="{objective.pk}"' in html and objective.title in html
    assert 'id="whitespace-grid"' in html and 'data-state="owned"' in html
    assert 'id="review-cadence"' in html and 'data-review-kind="qbr"' in html


PAGE = """
import json
from django.test import Client
from django.urls import reverse
from service_plans.models import AccountPlan
plan = AccountPlan.objects.filter(status="active").select_related("owner").order_by("id").first()
client = Client()
client.force_login(plan.owner)
response = client.get(reverse("web:account_detail", args=[plan.account_id]))
html = response.content.decode()
print(json.dumps({
    "status": response.status_code,
    "plans": AccountPlan.objects.count(),
    "objectives": all(o.title in html for o in plan.objectives.all()),
    "grid": 'id="whitespace-grid"' in html and 'data-state="owned"' in html,
    "reviews": 'data-review-kind="qbr"' in html,
}))
"""


@pytest.mark.slow
def test_make_runs_path_on_sqlite_seeds_plans_and_serves_a_plan_page(tmp_path):
    """`make run` on the embedded default: migrate, seed_demo --accounts 300, then a key account's page."""
    import json

    from tests.embedded import sqlite_manage

    manage = sqlite_manage(tmp_path)
    manage("migrate", "--noinput", "-v0")
    seeded = manage("seed_demo", "--accounts", "300", "--no-progress")
    assert "account_plans" in seeded and "whitespace_cells" in seeded
    page = json.loads(manage("shell", "-v0", "-c", PAGE).strip().splitlines()[-1])
    assert page == {"status": 200, "plans": page["plans"], "objectives": True, "grid": True, "reviews": True}
    assert page["plans"] >= 10
