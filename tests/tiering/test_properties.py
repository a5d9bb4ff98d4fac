"""Property tests: scores stay in 0–100, more is never worse, weights sum to 100 %, tiers never jump
or flap (DOMAIN.md §1.3, §1.4, §1.8)."""

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tiering.hysteresis import TIERS, BandRules, TierRules, TierState, band_step, tier_step
from tiering.inputs import PortfolioInputs
from tiering.recompute import score_factors
from tiering.scoring import composite, linear_band, normalised_weights, percentile_ranks, round2, score_column, step_bands

D = Decimal
scores = st.floats(min_value=0, max_value=100, allow_nan=False)
maybe_scores = st.one_of(st.none(), scores)
weights = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
coverage = st.decimals(min_value=0, max_value=100, places=2)


@given(st.lists(st.tuples(maybe_scores, weights), min_size=1, max_size=12), coverage)
def test_composite_stays_between_0_and_100(factors, min_coverage):
    result = composite([s for s, _ in factors], [w for _, w in factors], min_coverage)
    if result.score is not None:
        assert 0 <= result.score <= 100
        assert 0 <= round2(result.score) <= 100
    assert 0 <= result.coverage_pct <= 100 + 1e-9


@given(st.lists(st.tuples(maybe_scores, weights), min_size=1, max_size=12), st.data())
def test_raising_one_factor_never_lowers_the_score(factors, data):
    values = [s for s, _ in factors]
    raw = [w for _, w in factors]
    present = [i for i, s in enumerate(values) if s is not None]
    assume(present)
    i = data.draw(st.sampled_from(present))
    higher = data.draw(st.floats(min_value=values[i], max_value=100, allow_nan=False))
    before = composite(values, raw, D(0)).score
    raised = list(values)
    raised[i] = higher
    after = composite(raised, raw, D(0)).score
    assume(before is not None)
    assert after >= before - 1e-9
    assert round2(after) >= round2(before)


@given(st.lists(weights, min_size=1, max_size=20))
def test_normalised_weights_sum_to_100(raw):
    assume(sum(raw) > 0)
    pct = normalised_weights(raw)
    assert abs(sum(pct) - 100) < 1e-9
    assert all(p >= 0 for p in pct)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, finite, finite)
def test_linear_band_is_bounded_and_monotone_towards_good(x, y, poor, good):
    assume(poor != good)
    a, b = linear_band(x, poor, good), linear_band(y, poor, good)
    assert 0 <= a <= 100 and 0 <= b <= 100
    closer_to_good = (y >= x) if good > poor else (y <= x)
    if closer_to_good:
        assert b >= a


@given(st.lists(st.one_of(st.none(), finite), max_size=60), st.booleans())
def test_percentiles_are_bounded_and_rank_preserving(values, floor):
    ranks = percentile_ranks(values, nonpositive_scores_zero=floor)
    for v, r in zip(values, ranks, strict=True):
        assert (v is None) == (r is None)
        if r is not None:
            assert 0 <= r <= 100
    present = [(v, r) for v, r in zip(values, ranks, strict=True) if v is not None]
    for v1, r1 in present:
        for v2, r2 in present:
            if v1 < v2:
                assert r1 <= r2


@given(finite, st.lists(st.integers(-1000, 1000), min_size=1, max_size=5, unique=True), st.data())
def test_step_bands_are_bounded(x, bounds, data):
    bounds = sorted(bounds)
    points = data.draw(st.lists(st.integers(0, 100), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    assert 0 <= step_bands(x, bounds, points) <= 100
    assert score_column("step_bands", {"bounds": bounds, "scores": points}, [x, None])[1] is None


def _factor_inputs(values):
    from tiering.defaults import DEFAULT_FACTORS
    from tiering.models import ScoringFactor

    factors = [
        ScoringFactor(purpose=p, code=c, measure=m, scorer=s, params=params, weight=D(w))
        for p, c, m, s, params, w in DEFAULT_FACTORS
        if p == "value"
    ]
    groups = list(range(len(values)))
    inputs = PortfolioInputs(as_of=None, base_currency="CNY", fiscal_years=[], groups=groups)
    for g, row in enumerate(values):
        for measure, value in row.items():
            inputs.measures[measure][g] = value
    return factors, inputs, groups


measure_rows = st.fixed_dictionaries(
    {
        "t12m_value": st.one_of(st.none(), finite),
        "revenue_cagr_3y": st.one_of(st.none(), st.floats(-100, 500, allow_nan=False)),
        "wallet_headroom": st.one_of(st.none(), finite),
        "margin_index": st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
        "days_beyond_terms_t180": st.one_of(st.none(), st.floats(0, 400, allow_nan=False)),
        "credit_rating": st.one_of(st.none(), st.sampled_from("ABCDE")),
        "market_influence": st.one_of(st.none(), st.integers(1, 5)),
        "integration_potential": st.one_of(st.none(), st.integers(1, 5)),
    }
)


@settings(max_examples=60)
@given(st.lists(measure_rows, min_size=1, max_size=15))
def test_value_scores_of_any_portfolio_stay_between_0_and_100(rows):
    factors, inputs, groups = _factor_inputs(rows)
    for result in score_factors(factors, inputs, groups, D(70)):
        assert result.score is None or 0 <= result.score <= 100
        assert 0 <= result.coverage <= 100
        if result.score is not None:
            # §1.7: over the factors with data, contributions and points lost add up to 100.
            assert abs(sum((f["contribution"] or 0) + (f["lost"] or 0) for f in result.factors) - 100) < 0.1
            assert abs(sum(f["contribution"] or 0 for f in result.factors) - float(result.score)) < 0.1


RULES = TierRules(entries=(D(75), D(60), D(40)), band_gap=D(5), consecutive=2, min_residence=2)
tier_states = st.builds(
    TierState,
    tier=st.sampled_from(TIERS),
    up_streak=st.integers(0, 3),
    down_streak=st.integers(0, 3),
    residence=st.integers(0, 5),
)


@given(tier_states, st.lists(st.one_of(st.none(), st.decimals(0, 100, places=2)), max_size=30), st.booleans())
def test_tiers_never_move_more_than_one_step_per_evaluation(state, sequence, frozen):
    for score in sequence:
        new, _reason = tier_step(state, score, None, RULES, demotion_frozen=frozen)
        assert abs(TIERS.index(new.tier) - TIERS.index(state.tier)) <= 1
        state = new


GAPS = {"T1": (D(70), D(75)), "T2": (D(55), D(60)), "T3": (D(35), D(40))}


@given(st.sampled_from(list(GAPS)), st.booleans(), st.integers(0, 5), st.data())
def test_a_score_oscillating_inside_the_band_gap_never_moves_the_tier(upper, start_above, residence, data):
    """Scores in [exit of T, entry of T) keep both neighbours where they are: no flapping."""
    low, high = GAPS[upper]
    tier = upper if start_above else TIERS[TIERS.index(upper) + 1]
    sequence = data.draw(st.lists(st.decimals(min_value=low, max_value=high - D("0.01"), places=2), min_size=1, max_size=40))
    state = TierState(tier, residence=residence)
    for score in sequence:
        state, reason = tier_step(state, score, None, RULES)
        assert state.tier == tier and reason == ""


BANDS = BandRules(yellow_min=D(50), green_min=D(75), min_cross=D(3), consecutive_runs=2)


@given(st.sampled_from([D(50), D(75)]), st.lists(st.decimals(min_value=D("0.01"), max_value=D("2.99"), places=2), max_size=40))
def test_a_health_score_alternating_across_an_edge_never_flaps(edge, offsets):
    """A yellow account whose score goes just beyond an edge (by less than 3 points) and back, run
    after run, stays yellow: neither condition for a band change ever holds."""
    band, streak = "yellow", 0
    for i, offset in enumerate(offsets):
        if edge == D(50):
            score = edge - offset if i % 2 == 0 else edge + offset
        else:
            score = edge + offset - D("0.01") if i % 2 == 0 else edge - offset
        band, streak = band_step(band, streak, score, BANDS)
        assert band == "yellow"
