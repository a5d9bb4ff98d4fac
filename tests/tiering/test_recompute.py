"""Whole score runs on PostgreSQL: snapshots, tier assignments, denormalised fields, events."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account
from service_plans.models import ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ExchangeRateFactory, MeetingFactory
from tests.tiering.conftest import add_invoices, aware
from tiering.inputs import MissingExchangeRate
from tiering.models import HealthSnapshot, ScoreSnapshot, ScoringRun, TierAssignment
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2025, 6, 30)


def acme_health_data(root, child):
    """DOMAIN.md §2.2 as data: +4 % YoY, 12 days beyond terms, NPS mean 8.0, executive meeting 75 days
    ago, SLA 93 % (as of 2025-06-30)."""
    add_invoices(
        [
            {"account": root, "issued_on": dt.date(2024, 1, 15), "due_on": dt.date(2024, 2, 14), "amount": "100000", "paid_on": dt.date(2024, 2, 14)},
            {"account": child, "issued_on": dt.date(2025, 1, 10), "due_on": dt.date(2025, 2, 9), "amount": "104000", "paid_on": dt.date(2025, 2, 21)},
        ]
    )  # fmt: skip
    for account, score, role in (
        (root, 6, "economic_buyer"),
        (root, 9, "coach_champion"),
        (child, 10, "user_buyer"),
        (child, 10, "user_buyer"),
    ):
        SurveyResponse.objects.create(
            account=account, kind="nps", score=score, respondent_role=role, responded_at=aware(dt.date(2025, 4, 1))
        )
    MeetingFactory(account=root, kind="executive", occurred_at=aware(AS_OF - dt.timedelta(days=75)))
    opened = aware(dt.date(2025, 6, 2))
    hour = dt.timedelta(hours=1)
    ServiceRequest.objects.bulk_create(
        ServiceRequest(
            account=child, opened_at=opened, first_response_due_at=opened + hour, first_response_at=opened + hour / 2,
            resolution_due_at=opened + 8 * hour, resolved_at=opened + (9 if i < 7 else 7) * hour,
        )
        for i in range(50)
    )  # fmt: skip


@pytest.fixture
def acme(account_manager, scoring_model):
    root = AccountFactory(name="Acme Group", owner=account_manager)
    child = AccountFactory(name="Acme Shanghai", owner=account_manager, parent=root)
    acme_health_data(root, child)
    return root, child


def earlier_health(root, scoring_model, *, as_of, score):
    run = ScoringRun.objects.create(model=scoring_model, config_hash="x", part="health", as_of=as_of, status="done")
    HealthSnapshot.objects.create(
        run=run, account=root, as_of=as_of, score=D(score), status="ok", coverage_pct=D(100), raw_band="yellow",
        band="yellow", effective_score=D(score), effective_band="yellow",
    )  # fmt: skip


def test_health_example_end_to_end(acme, scoring_model, events, django_capture_on_commit_callbacks):
    """§2.2: health 65.98 → 66 Yellow on every member; with 72 thirty days earlier the trend is down."""
    root, child = acme
    earlier_health(root, scoring_model, as_of=AS_OF - dt.timedelta(days=30), score=72)
    with django_capture_on_commit_callbacks(execute=True):
        counts = scores_recompute(part="health", as_of=AS_OF)
    snap = HealthSnapshot.objects.get(account=root, as_of=AS_OF)
    assert (snap.score, snap.band, snap.effective_band, snap.coverage_pct, snap.is_partial) == (
        D("65.98"),
        "yellow",
        "yellow",
        100,
        False,
    )
    assert (snap.score_before, snap.delta, snap.trend) == (D(72), D("-6.02"), "down")
    factors = {f["code"]: f for f in snap.factors}
    assert factors["relationship"]["raw"] == 75 and factors["relationship"]["lost"] == 10.0
    assert factors["service"]["raw"] == pytest.approx(93.0)
    assert factors["satisfaction"]["raw"] == pytest.approx(8.0)
    assert {(a.health_score, a.health_band) for a in Account.objects.filter(pk__in=[root.pk, child.pk])} == {
        (D("65.98"), "yellow")
    }
    assert sorted(p["account_id"] for name, p in events if name == "account.health_band_changed") == [root.pk, child.pk]
    payload = next(p for name, p in events if name == "account.health_band_changed")
    assert payload | {"account_id": 0} == {
        "account_id": 0,
        "old_band": None,
        "new_band": "yellow",
        "score": 65.98,
        "delta_30d": -6.02,
    }
    assert counts["health_bands"] == {"yellow": 1}


def test_health_without_a_survey_is_65_8_and_partial(acme):
    root, _ = acme
    SurveyResponse.objects.all().delete()
    scores_recompute(part="health", as_of=AS_OF)
    snap = HealthSnapshot.objects.get(account=root)
    assert (snap.score, snap.coverage_pct, snap.is_partial, snap.trend) == (D("65.80"), D(80), True, "")
    assert next(f for f in snap.factors if f["code"] == "satisfaction")["missing"] is True


def test_a_second_run_the_same_day_changes_nothing(acme, events, django_capture_on_commit_callbacks):
    root, child = acme
    Account.objects.filter(pk=root.pk).update(wallet_estimate_amount=D("1000000"))  # coverage 75 %: scored
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(as_of=AS_OF)
    first = list(events)
    assert {p["account_id"] for name, p in first if name == "account.tier_changed"} == {root.pk, child.pk}
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(as_of=AS_OF)
    assert events == first  # nothing new to announce
    assert TierAssignment.objects.filter(account=root).count() == 1
    assert HealthSnapshot.objects.filter(account=root).count() == 2  # one per run, never recomputed
    assert ScoreSnapshot.objects.filter(account=root).values("tier").distinct().count() == 1


def quarter_run(as_of, **kwargs):
    return scores_recompute(part="tiers", as_of=as_of, **kwargs)


def set_influence(account, value):
    Account.objects.filter(pk=account.pk).update(market_influence=value)


def test_tier_changes_follow_hysteresis_quarter_by_quarter(
    ratings_model, account_manager, events, django_capture_on_commit_callbacks
):
    ratings_model()
    root = AccountFactory(owner=account_manager, market_influence=3)
    child = AccountFactory(owner=account_manager, parent=root, market_influence=1)  # the root's rating counts
    with django_capture_on_commit_callbacks(execute=True):
        quarter_run(dt.date(2025, 1, 15))  # 50 → T3 at once (first evaluation)
        set_influence(root, 4)  # 75 from now on
        quarter_run(dt.date(2025, 4, 15))  # residence 1, streak 1: stays T3
        assert Account.objects.get(pk=child.pk).tier == "T3"
        quarter_run(dt.date(2025, 7, 15))  # streak 2, residence 2: one step up, to T2 (not T1)
    assert set(Account.objects.filter(pk__in=[root.pk, child.pk]).values_list("tier", flat=True)) == {"T2"}
    history = list(
        TierAssignment.objects.filter(account=root).order_by("valid_from").values_list("tier", "valid_from", "valid_to", "reason")
    )
    assert history == [
        ("T3", dt.date(2025, 1, 15), dt.date(2025, 7, 15), "initial"),
        ("T2", dt.date(2025, 7, 15), None, "promoted"),
    ]
    promoted = TierAssignment.objects.get(account=root, tier="T2")
    assert (promoted.evidence.score, promoted.evidence.run.as_of) == (D(75), dt.date(2025, 7, 15))
    changes = [p for name, p in events if name == "account.tier_changed"]
    assert len(changes) == 4  # two members at the first evaluation, two at the promotion
    assert sorted(changes[-2:], key=lambda p: p["account_id"]) == [
        {"account_id": root.pk, "old_tier": "T3", "new_tier": "T2", "reason": "promoted", "effective_on": "2025-07-15"},
        {"account_id": child.pk, "old_tier": "T3", "new_tier": "T2", "reason": "promoted", "effective_on": "2025-07-15"},
    ]


def test_reruns_within_a_period_replace_the_evaluation(ratings_model, account_manager):
    """Recomputing twice in a quarter must not count as two consecutive evaluations."""
    ratings_model()
    root = AccountFactory(owner=account_manager, market_influence=3)
    quarter_run(dt.date(2025, 1, 15))
    set_influence(root, 5)
    for day in (dt.date(2025, 4, 2), dt.date(2025, 4, 20), dt.date(2025, 5, 30), dt.date(2025, 6, 29)):
        quarter_run(day)
    latest = ScoreSnapshot.objects.filter(account=root).order_by("-as_of").first()
    assert (latest.computed_tier, latest.up_streak, latest.residence) == ("T3", 1, 1)
    assert Account.objects.get(pk=root.pk).tier == "T3"


def test_the_t1_cap_makes_candidates(ratings_model, account_manager):
    ratings_model(max_t1=1)
    first = AccountFactory(owner=account_manager, market_influence=5)
    second = AccountFactory(owner=account_manager, market_influence=5)
    counts = quarter_run(dt.date(2025, 1, 15))
    assert Account.objects.get(pk=first.pk).tier == "T1"
    snap = ScoreSnapshot.objects.get(account=second)
    assert (snap.target_tier, snap.computed_tier, snap.tier, snap.is_t1_candidate) == ("T1", "T2", "T2", True)
    assert counts["t1_candidates"] == 1 and counts["computed_tiers"] == {"T1": 1, "T2": 1}


def test_a_churned_group_loses_its_tier(ratings_model, account_manager, events, django_capture_on_commit_callbacks):
    ratings_model()
    root = AccountFactory(owner=account_manager, market_influence=4)
    quarter_run(dt.date(2025, 1, 15))
    Account.objects.filter(pk=root.pk).update(status="churned")
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(part="health", as_of=dt.date(2025, 1, 20))  # hard event: no need to wait for the quarter
    assert Account.objects.get(pk=root.pk).tier == ""
    assert list(TierAssignment.objects.filter(account=root).values_list("tier", "valid_to", "reason").order_by("id")) == [
        ("T1", dt.date(2025, 1, 20), "initial"),
        ("", None, "churned"),
    ]
    assert (
        "account.tier_changed",
        {"account_id": root.pk, "old_tier": "T1", "new_tier": None, "reason": "churned", "effective_on": "2025-01-20"},
    ) in events


def growing(account, years, *, start=1_000_000, growth="1.15"):
    amount, growth = D(start), D(growth)
    rows = []
    for year in years:
        rows.append({"account": account, "issued_on": dt.date(year, 6, 1), "amount": str(amount.quantize(D("0.01")))})
        amount *= growth
    add_invoices(rows)


def test_gate_rule_needs_four_years_and_says_unknown_with_three(scoring_model, account_manager):
    """§1.5: three years of growth need FY−3 … FY0; with three years of data the gate is unknown."""
    four = AccountFactory(owner=account_manager)
    three = AccountFactory(owner=account_manager)
    flat = AccountFactory(owner=account_manager)
    growing(four, [2021, 2022, 2023, 2024])
    growing(three, [2022, 2023, 2024])
    growing(flat, [2021, 2022, 2023, 2024], growth="1.05")
    scores_recompute(part="tiers", as_of=AS_OF)
    gate = dict(ScoreSnapshot.objects.values_list("account_id", "gate"))
    assert gate == {four.pk: True, three.pk: None, flat.pk: False}
    snap = ScoreSnapshot.objects.get(account=four)
    assert snap.target_tier == "T1"  # rule-qualified, whatever the score says
    assert snap.run.windows["fiscal_year_labels"] == [2021, 2022, 2023, 2024]
    assert snap.gate_detail["growth"] == pytest.approx([0.15, 0.15, 0.15], abs=1e-4)
    assert ScoreSnapshot.objects.get(account=three).gate_detail["years_with_data"] == 3


def test_value_fields_are_copied_to_every_member(scoring_model, account_manager):
    root = AccountFactory(owner=account_manager, wallet_estimate_amount=D("9000000"))
    child = AccountFactory(owner=account_manager, parent=root)
    growing(child, [2021, 2022, 2023, 2024, 2025])
    scores_recompute(part="tiers", as_of=AS_OF)
    snap = ScoreSnapshot.objects.get(account=root)
    assert snap.score is not None and snap.abc_class == "A"
    assert set(Account.objects.filter(pk__in=[root.pk, child.pk]).values_list("tier", "abc_class", "value_score")) == {
        (snap.tier, "A", snap.score)
    }


def test_a_missing_rate_fails_the_run_and_changes_nothing(scoring_model, account_manager):
    ExchangeRateFactory(currency="EUR", year=2025, rate_to_base=D("7.8"))
    account = AccountFactory(owner=account_manager, currency="EUR")
    add_invoices([{"account": account, "issued_on": dt.date(2023, 3, 1), "amount": "100", "currency": "EUR"}])
    with pytest.raises(MissingExchangeRate, match="EUR in fiscal year 2023"):
        scores_recompute(as_of=AS_OF)
    run = ScoringRun.objects.get()
    assert run.status == "failed" and "EUR in fiscal year 2023" in run.error
    assert not ScoreSnapshot.objects.exists() and not TierAssignment.objects.exists()
    assert Account.objects.get(pk=account.pk).tier == ""


def test_unknown_part_is_refused(scoring_model):
    with pytest.raises(ValueError, match="part must be one of"):
        scores_recompute(part="everything")


def test_an_account_moved_to_another_group_takes_that_groups_tier(
    ratings_model, account_manager, events, django_capture_on_commit_callbacks
):
    from accounts.services import account_update

    ratings_model()
    strategic = AccountFactory(owner=account_manager, market_influence=5)
    small = AccountFactory(owner=account_manager, market_influence=1)
    quarter_run(dt.date(2025, 1, 15))
    assert Account.objects.get(pk=small.pk).tier == "T4"
    account_update(account=small, parent=strategic)
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(part="health", as_of=dt.date(2025, 1, 16))
    assert Account.objects.get(pk=small.pk).tier == "T1"
    assert (
        "account.tier_changed",
        {"account_id": small.pk, "old_tier": "T4", "new_tier": "T1", "reason": "group_membership", "effective_on": "2025-01-16"},
    ) in events
    # It is no longer a group's root: its own assignment is closed.
    assert not TierAssignment.objects.filter(account=small, valid_to__isnull=True).exists()


def test_the_garbage_collector_resumes_after_a_run_even_a_failing_one():
    import gc

    from tiering.recompute import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
