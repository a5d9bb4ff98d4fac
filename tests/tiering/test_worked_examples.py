"""The worked examples of DOMAIN.md §1 and §2, number for number, through the default (§8) model."""

from decimal import Decimal

import pytest

from tiering.defaults import DEFAULT_FACTORS
from tiering.hysteresis import BandRules, band_of, trend_of
from tiering.inputs import PortfolioInputs
from tiering.models import ScoringFactor
from tiering.recompute import score_factors
from tiering.scoring import abc_classes, cagr_pct, linear_band, round2

D = Decimal


def default_factors(purpose):
    return [
        ScoringFactor(purpose=p, code=code, measure=measure, scorer=scorer, params=params, weight=D(weight), position=i)
        for i, (p, code, measure, scorer, params, weight) in enumerate(DEFAULT_FACTORS)
        if p == purpose
    ]


def by_code(rows):
    return {row["code"]: row for row in rows}


def test_abc_example_ten_accounts_80_15_5():
    """§1.1: revenue 40, 20, 12, 8, 6, 5, 4, 3, 1, 1 → A = first 4, B = 5–7, C = 8–10."""
    revenue = [40, 20, 12, 8, 6, 5, 4, 3, 1, 1]
    metrics = {i + 1: D(v) for i, v in enumerate(revenue)}
    classes = abc_classes(metrics, metrics, D("0.80"), D("0.15"))
    assert [classes[i] for i in range(1, 11)] == ["A"] * 4 + ["B"] * 3 + ["C"] * 3


def test_abc_zero_metric_is_c_and_no_revenue_is_inactive():
    classes = abc_classes({1: D(100), 2: D(-5), 3: D(0)}, {1: D(100), 2: D(50), 3: D(0)}, D("0.80"), D("0.15"))
    assert classes == {1: "A", 2: "C", 3: ""}


def test_cagr_example_4m_to_6m_over_three_years():
    """§4.15: 4,000,000 → 6,000,000 over 3 years = 14.47%."""
    assert round(cagr_pct(D(4_000_000), D(6_000_000), 3), 2) == 14.47
    assert cagr_pct(D(0), D(6_000_000), 3) is None
    assert cagr_pct(D(4_000_000), D(-1), 3) is None


def acme_inputs():
    """§1.3 "Acme Group" (group 97) in a population of 100 groups, so that its current value is at
    the 97th percentile and its headroom at the 80th."""
    groups = list(range(1, 101))
    inputs = PortfolioInputs(as_of=None, base_currency="CNY", fiscal_years=[2021, 2022, 2023, 2024], groups=groups)
    headroom = {g: float(g) for g in groups}
    headroom[97], headroom[80] = 80.0, 97.0
    for g in groups:
        inputs.measures["t12m_value"][g] = float(g)
        inputs.measures["wallet_headroom"][g] = headroom[g]
    inputs.measures["revenue_cagr_3y"][97] = cagr_pct(D(4_000_000), D(6_000_000), 3)
    inputs.measures["margin_index"][97] = 0.32 / 0.28
    inputs.measures["days_beyond_terms_t180"][97] = 12.0
    inputs.measures["credit_rating"][97] = "B"
    inputs.measures["market_influence"][97] = 4
    inputs.measures["integration_potential"][97] = 3
    return inputs


def test_avs_example_acme_is_78():
    """§1.3: scores 97.0, 69.9, 80.0, 64.3, 73.3, 75, 75, 50 → contributions … → AVS 78.0 (≥ 75)."""
    inputs = acme_inputs()
    results = score_factors(default_factors("value"), inputs, inputs.groups, D("70"))
    acme = results[96]
    rows = by_code(acme.factors)
    assert {c: round(rows[c]["score"], 1) for c in rows} == {
        "F1": 97.0, "F2": 69.9, "F3": 80.0, "F4": 64.3, "F5": 73.3, "F6": 75.0, "F7": 75.0, "F8": 50.0,
    }  # fmt: skip
    assert {c: rows[c]["contribution"] for c in rows} == {
        "F1": 24.25, "F2": 10.49, "F3": 12.00, "F4": 6.43, "F5": 7.33, "F6": 7.50, "F7": 7.50, "F8": 2.50,
    }  # fmt: skip
    assert {c: rows[c]["weight"] for c in rows} == {
        "F1": 25, "F2": 15, "F3": 15, "F4": 10, "F5": 10, "F6": 10, "F7": 10, "F8": 5,
    }  # fmt: skip
    assert round(acme.score, 1) == D("78.0")
    assert acme.score >= 75  # a Strategic-tier candidate
    assert acme.coverage == 100
    # §1.7: contributions plus points lost make 100 over the covered factors.
    assert sum(r["contribution"] + r["lost"] for r in acme.factors) == pytest.approx(100, abs=0.05)
    assert rows["F2"]["raw"] == pytest.approx(14.4714, abs=1e-4)
    assert rows["F5"]["lost"] == pytest.approx(10 * (100 - 73.333) / 100, abs=0.01)


def test_avs_below_70_percent_coverage_is_insufficient_data():
    inputs = acme_inputs()
    for code in ("revenue_cagr_3y", "margin_index", "days_beyond_terms_t180"):  # 15 + 10 + 10 = 35% missing
        inputs.measures[code][97] = None
    acme = score_factors(default_factors("value"), inputs, inputs.groups, D("70"))[96]
    assert acme.score is None
    assert acme.coverage == D("65.00")
    assert [r["code"] for r in acme.factors if r.get("missing")] == ["F2", "F4", "F5"]


def health_inputs(*, satisfaction=True):
    """§2.2 "Acme Group" as of 2025-06-30."""
    inputs = PortfolioInputs(as_of=None, base_currency="CNY", fiscal_years=[], groups=[1])
    inputs.measures["revenue_yoy_t12m"][1] = 4.0
    inputs.measures["days_beyond_terms_t180"][1] = 12.0
    inputs.measures["nps_role_weighted_12m"][1] = 8.0 if satisfaction else None
    inputs.measures["days_since_exec_meeting"][1] = 75
    inputs.measures["sla_attainment_t90"][1] = 93.0
    return inputs


RULES = BandRules(yellow_min=D(50), green_min=D(75), min_cross=D(3), consecutive_runs=2)


def test_health_example_acme_is_66_yellow():
    """§2.2: 68.57, 73.33, 66.67, 50.00, 72.22 → 17.14 + 14.67 + 13.33 + 10.00 + 10.83 = 65.98 → 66 (Yellow)."""
    inputs = health_inputs()
    [acme] = score_factors(default_factors("health"), inputs, inputs.groups, D("60"))
    rows = by_code(acme.factors)
    assert {c: rows[c]["score"] for c in rows} == {
        "commercial": 68.57, "payment": 73.33, "satisfaction": 66.67, "relationship": 50.00, "service": 72.22,
    }  # fmt: skip
    assert {c: rows[c]["contribution"] for c in rows} == {
        "commercial": 17.14, "payment": 14.67, "satisfaction": 13.33, "relationship": 10.00, "service": 10.83,
    }  # fmt: skip
    assert {c: rows[c]["lost"] for c in rows} == {
        "commercial": 7.86, "payment": 5.33, "satisfaction": 6.67, "relationship": 10.00, "service": 4.17,
    }  # fmt: skip
    assert acme.score == D("65.98")
    assert round(acme.score) == 66
    assert band_of(acme.score, RULES) == "yellow"
    assert 100 - acme.score == D("34.02")  # total missing points (the rounded rows add up to 34.03)
    # The largest deficit is the relationship: "No executive meeting for 75 days".
    assert max(acme.factors, key=lambda r: r["lost"])["code"] == "relationship"


def test_health_without_a_survey_is_65_8_on_80_percent_coverage():
    """§2.2: satisfaction missing → coverage 80%, health = (17.14+14.67+10.00+10.83)/0.80 = 65.8, partial."""
    inputs = health_inputs(satisfaction=False)
    [acme] = score_factors(default_factors("health"), inputs, inputs.groups, D("60"))
    assert acme.coverage == D("80.00")
    assert round(acme.score, 1) == D("65.8")
    assert by_code(acme.factors)["satisfaction"]["missing"] is True


def test_health_trend_example_72_thirty_days_ago_is_down():
    """§2.2: with 72 thirty days earlier, Δ = −6 ⇒ trend "down"."""
    delta = D(66) - D(72)
    assert delta == -6
    assert trend_of(delta, D(3)) == "down"
    assert trend_of(D("2.99"), D(3)) == "flat"
    assert trend_of(D(3), D(3)) == "up"
    assert trend_of(None, D(3)) == ""


def test_linear_band_both_directions():
    assert linear_band(12, 45, 0) == pytest.approx(73.333, abs=1e-3)  # lower is better
    assert linear_band(4, -20, 15) == pytest.approx(68.571, abs=1e-3)
    assert linear_band(-50, -20, 15) == 0.0
    assert linear_band(50, -20, 15) == 100.0
    assert round2(65.975) == D("65.98")
