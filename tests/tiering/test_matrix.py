"""The KAM portfolio matrix (DOMAIN.md §1.2): the formulas with worked numbers, and the set-based selector."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kam import roles
from service_plans.models import SurveyResponse
from tests.factories import AccountFactory, ExchangeRateFactory, TeamMemberFactory, UserFactory
from tests.tiering.conftest import add_invoices
from tiering import matrix
from tiering.matrix_selectors import portfolio_matrix
from tiering.models import ScoreSnapshot, ScoringRun

# The worked AVS example of DOMAIN.md §1.3 ("Acme Group"): (code, score, weight %).
ACME = [("F1", 97.0, 25), ("F2", 69.9, 15), ("F3", 80.0, 15), ("F4", 64.3, 10),
        ("F5", 73.3, 10), ("F6", 75.0, 10), ("F7", 75.0, 10), ("F8", 50.0, 5)]  # fmt: skip
CODES = ["F1", "F2", "F3", "F4", "F7", "F8"]


def rows(factors, missing=()):
    return [{"code": c, "score": None if c in missing else s, "weight": w} for c, s, w in factors]


# --- Pure functions ------------------------------------------------------------------------------


def test_attractiveness_is_the_weighted_mean_of_the_attractiveness_factors():
    # (97·25 + 69.9·15 + 80·15 + 64.3·10 + 75·10 + 50·5) / 80 = 6316.5 / 80; F5 and F6 do not count
    assert matrix.attractiveness(rows(ACME), CODES) == pytest.approx(78.95625)


def test_attractiveness_renormalises_over_the_factors_with_a_score():
    # F3 missing: (6316.5 − 80·15) / 65
    assert matrix.attractiveness(rows(ACME, missing={"F3"}), CODES) == pytest.approx(5116.5 / 65)
    assert matrix.attractiveness(rows(ACME, missing=set(CODES)), CODES) is None
    assert matrix.attractiveness([], CODES) is None


def test_strength_inputs():
    assert matrix.stage_score(1) == 0
    assert matrix.stage_score(4) == 75
    assert matrix.stage_score(None) is None
    # 2.0m of T12M revenue against a 12m three-year wallet (4m a year): 50%
    assert matrix.share_of_wallet(Decimal("2000000"), Decimal("12000000")) == pytest.approx(50)
    assert matrix.share_of_wallet(Decimal("5000000"), Decimal("12000000")) == 100  # capped
    assert matrix.share_of_wallet(Decimal("1"), Decimal("0")) is None
    assert matrix.share_of_wallet(Decimal("1"), None) is None
    assert matrix.nps_value(3, 1, 4) == 50  # §4.7: 75% promoters − 25% detractors
    assert matrix.nps_value(0, 0, 0) is None
    assert matrix.nps_score(20) == 60
    assert matrix.nps_score(-100) == 0


def test_strength_is_the_mean_of_the_inputs_present():
    # stage 4 → 75, share of wallet 50, NPS +20 → 60: (75 + 50 + 60) / 3
    assert matrix.strength(stage=4, sow_pct=50.0, nps=20.0) == pytest.approx(185 / 3)
    # stage 2 → 25 and NPS −50 → 25, no wallet: re-normalised over the two
    assert matrix.strength(stage=2, sow_pct=None, nps=-50.0) == pytest.approx(25)
    # one input is not enough
    assert matrix.strength(stage=5, sow_pct=None, nps=None) is None
    assert matrix.strength(stage=None, sow_pct=None, nps=None) is None


def test_quadrants_and_their_cuts():
    assert matrix.quadrant(50, 50) == matrix.INVEST_FOR_GROWTH  # on the cut counts as high
    assert matrix.quadrant(80, 49.99) == matrix.INVEST_SELECTIVELY
    assert matrix.quadrant(49.99, 90) == matrix.MAINTAIN
    assert matrix.quadrant(10, 10) == matrix.MANAGE_FOR_CASH
    assert matrix.quadrant(None, 90) is None
    assert matrix.quadrant(90, None) is None
    assert matrix.quadrant(60, 60, cut_a=70, cut_s=50) == matrix.MAINTAIN


def test_labels_default_and_configured(settings):
    assert str(matrix.MatrixConfig.from_settings().label(matrix.INVEST_FOR_GROWTH)) == "Invest for growth"
    assert str(matrix.MatrixConfig.from_settings().label(None)) == "Insufficient data"
    settings.KAM_MATRIX_LABELS = {"maintain": "Status"}
    settings.KAM_MATRIX_CUT_STRENGTH = 70
    config = matrix.MatrixConfig.from_settings()
    assert config.label(matrix.MAINTAIN) == "Status"
    assert str(config.label(matrix.MANAGE_FOR_CASH)) == "Manage for cash"
    assert config.cut_strength == 70


# --- The selector --------------------------------------------------------------------------------


def _run(scoring_model, status="done"):
    return ScoringRun.objects.create(model=scoring_model, config_hash="x", as_of=timezone.localdate(), status=status)


def snapshot(run, account, scores: dict[str, float | None], as_of=None):
    """A value snapshot whose breakdown has the given attractiveness factor scores (equal weights)."""
    day = as_of or timezone.localdate()
    factors = [{"code": c, "score": s, "weight": 10.0, "raw": None} for c, s in scores.items()]
    return ScoreSnapshot.objects.create(
        run=run, account=account, as_of=day, period_start=day, status="ok", coverage_pct=100, factors=factors
    )


def nps(account, *scores):
    now = timezone.now() - dt.timedelta(days=10)
    SurveyResponse.objects.bulk_create(SurveyResponse(account=account, kind="nps", score=s, responded_at=now) for s in scores)


def invoice(account, amount, currency="CNY", days_ago=30):
    add_invoices([{"account": account, "issued_on": timezone.localdate() - dt.timedelta(days=days_ago), "amount": amount,
                   "currency": currency}])  # fmt: skip


def build_portfolio(scoring_model, account_manager, other_manager):
    """Four groups of the manager, one per quadrant, one without enough data, and another manager's group."""
    run = _run(scoring_model)
    make = AccountFactory
    star = make(name="Star", owner=account_manager, relationship_stage=5, wallet_estimate_amount=Decimal("3000000"))
    invoice(star, "900000")  # 90% of a 1m yearly wallet
    nps(star, 10, 9, 8)  # NPS +67
    snapshot(run, star, {"F1": 90, "F3": 70, "F5": 0})  # F5 is not attractiveness: 80

    hopeful = make(name="Hopeful", owner=account_manager, relationship_stage=1, wallet_estimate_amount=Decimal("3000000"))
    invoice(hopeful, "100000")  # 10%
    snapshot(run, hopeful, {"F1": 60, "F2": None, "F7": 100})  # F2 missing: 80

    steady = make(name="Steady", owner=account_manager, relationship_stage=4)
    nps(steady, 10, 10)  # +100 → 100; stage 75 → strength 87.5
    snapshot(run, steady, {"F1": 20, "F4": 40})  # 30

    small = make(name="Small", owner=account_manager, relationship_stage=2)
    nps(small, 0, 3)  # −100 → 0; stage 25 → 12.5
    snapshot(run, small, {"F1": 10})

    unknown = make(name="Unknown", owner=account_manager, relationship_stage=3)  # one strength input only
    snapshot(run, unknown, {"F1": 99})

    other = make(name="Elsewhere", owner=other_manager, relationship_stage=5)
    nps(other, 10)
    snapshot(run, other, {"F1": 90})
    return {"star": star, "hopeful": hopeful, "steady": steady, "small": small, "unknown": unknown, "other": other}


@pytest.fixture
def portfolio(scoring_model, account_manager, other_manager):
    return build_portfolio(scoring_model, account_manager, other_manager)


def by_name(result):
    return {row.name: row for row in result.rows}


def test_selector_places_each_group_in_its_quadrant(portfolio, account_manager):
    result = by_name(portfolio_matrix(user=account_manager))
    assert set(result) == {"Star", "Hopeful", "Steady", "Small", "Unknown"}  # not the other manager's
    star = result["Star"]
    assert star.attractiveness == 80
    assert star.share_of_wallet == 90
    assert star.nps == pytest.approx(66.67)
    assert star.strength == pytest.approx(round((100 + 90 + (200 / 3 + 100) / 2) / 3, 2))
    assert star.quadrant == matrix.INVEST_FOR_GROWTH
    assert star.current_sales == Decimal("900000")
    assert star.wallet_3y == Decimal("3000000")
    hopeful = result["Hopeful"]
    assert (hopeful.attractiveness, hopeful.strength) == (80, 5)  # stage 0, 10% of wallet
    assert hopeful.quadrant == matrix.INVEST_SELECTIVELY
    assert (result["Steady"].attractiveness, result["Steady"].strength) == (30, 87.5)
    assert result["Steady"].quadrant == matrix.MAINTAIN
    assert result["Small"].quadrant == matrix.MANAGE_FOR_CASH
    assert result["Small"].strength == 12.5
    unknown = result["Unknown"]
    assert unknown.attractiveness == 99 and unknown.strength is None and unknown.quadrant is None
    assert str(unknown.quadrant_label) == "Insufficient data"


def test_selector_counts_and_order(portfolio, account_manager, executive):
    result = portfolio_matrix(user=account_manager)
    assert result.counts() == {
        matrix.INVEST_FOR_GROWTH: 1, matrix.INVEST_SELECTIVELY: 1, matrix.MAINTAIN: 1, matrix.MANAGE_FOR_CASH: 1, None: 1,
    }  # fmt: skip
    assert [r.name for r in result.rows][:2] == ["Star", "Hopeful"]  # largest current sales first
    assert "Elsewhere" in by_name(portfolio_matrix(user=executive))


def test_selector_uses_the_latest_finished_run(portfolio, scoring_model, account_manager):
    later = timezone.localdate() + dt.timedelta(days=1)
    snapshot(_run(scoring_model, status="failed"), portfolio["star"], {"F1": 0}, as_of=later)
    assert by_name(portfolio_matrix(user=account_manager))["Star"].attractiveness == 80
    snapshot(_run(scoring_model), portfolio["star"], {"F1": 10}, as_of=later)
    assert by_name(portfolio_matrix(user=account_manager))["Star"].attractiveness == 10


def test_no_snapshot_is_insufficient_data(db, account_manager):
    AccountFactory(name="New", owner=account_manager, relationship_stage=5)
    row = portfolio_matrix(user=account_manager).rows[0]
    assert row.attractiveness is None and row.quadrant is None


def test_group_members_roll_up_to_the_root(scoring_model, account_manager):
    ExchangeRateFactory(currency="USD", year=timezone.localdate().year, rate_to_base=Decimal("7"))
    root = AccountFactory(name="Root", owner=account_manager, relationship_stage=3, wallet_estimate_amount=Decimal("1500000"))
    child = AccountFactory(
        name="Child", owner=account_manager, parent=root, currency="USD", wallet_estimate_amount=Decimal("100000")
    )
    invoice(root, "300000")
    invoice(child, "100000", currency="USD")
    invoice(child, "999999", days_ago=400)  # outside the twelve months
    nps(child, 9)
    snapshot(_run(scoring_model), root, {"F1": 50})
    result = portfolio_matrix(user=account_manager)
    assert [r.name for r in result.rows] == ["Root"]  # one row per group
    row = result.rows[0]
    assert row.current_sales == Decimal("1000000")
    assert row.wallet_3y == Decimal("2200000")
    assert row.nps == 100


def test_a_currency_without_rate_is_not_a_silent_zero(scoring_model, account_manager):
    ExchangeRateFactory(currency="EUR", year=timezone.localdate().year - 1, rate_to_base=Decimal("8"))  # last year's only
    root = AccountFactory(name="Root", owner=account_manager, currency="EUR", wallet_estimate_amount=Decimal("100"))
    invoice(root, "50", currency="EUR")
    result = portfolio_matrix(user=account_manager)
    assert result.rows[0].current_sales is None and result.rows[0].share_of_wallet is None
    assert result.missing_rates == [f"EUR {timezone.localdate().year}"]


def test_team_member_sees_the_group(portfolio):
    member = UserFactory(username="servant", role=roles.ACCOUNT_MANAGER)
    TeamMemberFactory(account=portfolio["other"], user=member)
    assert [r.name for r in portfolio_matrix(user=member).rows] == ["Elsewhere"]


def _grow(scoring_model, owner, n):
    run = _run(scoring_model)
    for i in range(n):
        account = AccountFactory(owner=owner, relationship_stage=1 + i % 5, wallet_estimate_amount=Decimal("1000"))
        AccountFactory(owner=owner, parent=account, wallet_estimate_amount=Decimal("10"))
        invoice(account, "100")
        nps(account, i % 11)
        snapshot(run, account, {"F1": 10 * (i % 10)})


@pytest.mark.parametrize("who", ["account_manager", "executive"])
def test_query_count_does_not_grow_with_the_portfolio(scoring_model, account_manager, who, request):
    user = request.getfixturevalue(who)
    portfolio_matrix(user=user)  # the user's role is cached after the first read
    counts = []
    for n in (3, 15):  # N and 5N groups
        _grow(scoring_model, account_manager, n if not counts else n - 3)
        with CaptureQueriesContext(connection) as queries:
            result = portfolio_matrix(user=user)
        assert len(result.rows) == n
        counts.append(len(queries))
    assert counts == [6, 6]
