"""The pure KPI formulas on every worked example of DOMAIN.md §4, number for number."""

import datetime as dt
from decimal import Decimal as D

import pytest

from reports import formulas as f

M = D(1_000_000)


def pct(result: f.KpiResult, places: int = 4) -> D:
    return (result.value * 100).quantize(D(1).scaleb(-places))


# --- §4.1 / §4.2 --------------------------------------------------------------------------------


def test_grr_92_and_nrr_105_on_the_fy2025_example():
    results = f.retention(
        [
            (3_000_000, 3_600_000),  # A: expansion 600,000
            (2_000_000, 1_760_000),  # B: contraction 240,000
            (400_000, 0),  # C: churn
            (2_600_000, 3_040_000),  # D: expansion 440,000
            (0, 1_500_000),  # new logo N: not in C0
        ]
    )
    assert results["grr"].value == D("0.92")
    assert (results["grr"].numerator, results["grr"].denominator) == (D(7_360_000), D(8_000_000))
    assert results["nrr"].value == D("1.05")
    assert results["nrr"].numerator == D(8_400_000)
    assert results["grr"].n == 4  # the new logo is excluded
    assert results["logo_churn"].value == D("0.25")  # logo retention 3/4 = 75.0%
    assert 1 - results["grr"].value == D("0.08")  # revenue churn 8.0%


def test_grr_never_exceeds_one_even_when_everyone_expands():
    results = f.retention([(100, 300), (100, 150)])
    assert results["grr"].value == 1
    assert results["nrr"].value == D("2.25")


def test_retention_of_an_empty_cohort_is_none_with_a_reason():
    results = f.retention([(0, 500)])
    assert {code: (r.value, r.reason) for code, r in results.items()} == {
        "grr": (None, "no_revenue_at_start"),
        "nrr": (None, "no_revenue_at_start"),
        "logo_churn": (None, "no_revenue_at_start"),
    }


# --- §4.4 ------------------------------------------------------------------------------------------


def q1_2025_due() -> list[f.DueContract]:
    in_quarter = [f.DueContract(D(500_000), dt.date(2025, 2, 15), D(540_000)) for _ in range(6)]
    in_quarter.append(f.DueContract(D(800_000), dt.date(2025, 3, 20), D(860_000)))
    late = f.DueContract(D(500_000), dt.date(2025, 4, 18), D(520_000))  # within the 30-day grace
    lost = [f.DueContract(D(300_000)), f.DueContract(D(400_000))]
    return [*in_quarter, late, *lost]


def test_renewal_rates_70_80_76_86_924_on_the_q1_2025_example():
    due = q1_2025_due()
    assert sum(c.prior_value for c in due) == 5 * M
    rates = f.renewal_rates(due, last_day=dt.date(2025, 3, 31))
    assert rates["renewal_rate_logo"].value == D("0.7")
    assert rates["renewal_rate_logo_eventual"].value == D("0.8")
    assert rates["renewal_rate_value_gross"].value == D("0.76")
    assert rates["renewal_rate_value_gross_eventual"].value == D("0.86")
    assert rates["renewal_rate_value_net_eventual"].value == D("0.924")
    assert rates["renewal_rate_value_net"].value == D("0.82")  # 4,100,000 / 5,000,000
    assert rates["renewal_rate_logo"].n == 10


def test_an_early_renewal_of_a_q2_contract_does_not_inflate_q1():
    """The naïve bookings ratio (4,100,000 + 600,000) / 5,000,000 = 94% is what we must not report."""
    rates = f.renewal_rates(q1_2025_due(), last_day=dt.date(2025, 3, 31))
    assert rates["renewal_rate_value_net"].value != D("0.94")
    q2 = f.renewal_rates([f.DueContract(D(600_000), dt.date(2025, 3, 10), D(650_000))], last_day=dt.date(2025, 6, 30))
    assert q2["renewal_rate_logo"].value == 1


def test_a_renewal_signed_after_the_grace_counts_nowhere():
    late = [f.DueContract(D(100), dt.date(2025, 5, 1), D(100))]
    rates = f.renewal_rates(late, last_day=dt.date(2025, 3, 31))
    assert rates["renewal_rate_logo"].value == 0
    assert rates["renewal_rate_logo_eventual"].value == 0


def test_no_contracts_due_gives_none_never_zero():
    rates = f.renewal_rates([], last_day=dt.date(2025, 3, 31))
    assert all(r.value is None and r.reason == "no_contracts_due" for r in rates.values())


# --- §4.7 / §4.8 --------------------------------------------------------------------------------


def test_nps_counting_every_response_of_account_x_is_plus_50():
    assert f.nps_respondent_level([6, 9, 10, 10]).value == 50


def test_role_weighted_mean_of_account_x_is_8_and_x_is_passive():
    mean = f.role_weighted_mean([(6, "economic_buyer"), (9, "coach_champion"), (10, "user_buyer"), (10, "user_buyer")])
    assert mean == D(8)  # 56 / 7
    assert f.nps_class(mean) == "passive"


def test_nps_class_boundaries():
    assert [f.nps_class(D(x)) for x in ("9", "8.99", "7", "6.99")] == ["promoter", "passive", "passive", "detractor"]


def test_portfolio_nps_18_promoters_12_passives_10_detractors_is_plus_20():
    result = f.portfolio_nps(["promoter"] * 18 + ["passive"] * 12 + ["detractor"] * 10)
    assert result.value == 20
    assert (result.n, result.low_confidence) == (40, False)


def test_portfolio_nps_under_30_accounts_is_low_confidence():
    result = f.portfolio_nps(["promoter"] * 5 + ["detractor"] * 5)
    assert (result.value, result.low_confidence) == (0, True)


def test_csat_74_of_107_is_069_and_empty_csat_is_none():
    result = f.csat([5] * 74 + [3] * 33)
    assert pct(result, 0) == 69  # 69.16 rounds to 69 for display
    assert f.csat([]).value is None
    assert f.csat([]).reason == "no_responses"


def test_satisfaction_improvement_is_in_points():
    current, baseline = f.csat([5, 5, 4, 1]), f.csat([5, 1])
    change = f.change(current, baseline, scale=100)
    assert change.value == 25  # 75% − 50% = +25 pp, not +50%
    assert f.change(current, f.csat([]), scale=100).reason == "no_baseline"


def test_ces_mean_and_easy_share_on_the_seven_point_scale():
    result = f.ces([7, 6, 5, 4, 2])
    assert result["ces"].value == D("4.8")  # 24 / 5
    assert (result["ces"].numerator, result["ces"].denominator, result["ces"].n) == (24, 5, 5)
    assert result["ces_easy"].value == D("0.6")  # 5, 6 and 7 are "easy": 3 / 5, a fraction
    assert result["ces"].low_confidence and result["ces_easy"].low_confidence  # 5 < 30 responses, as CSAT
    assert not f.ces([5] * 30)["ces"].low_confidence


def test_ces_without_responses_is_none_with_a_reason_never_zero():
    for result in f.ces([]).values():
        assert (result.value, result.reason, result.low_confidence) == (None, "no_responses", False)
    assert f.ces_from_sums(total=None, easy=0, responses=0)["ces"].value is None
    assert f.ces([1, 2, 3, 4])["ces_easy"].value == 0  # answers, none easy: a real 0


# --- §4.10 ----------------------------------------------------------------------------------------


def test_dso_is_30_days_on_the_q1_example():
    assert f.dso(receivables=3 * M, credit_sales=9 * M, days=90).value == 30


def test_dso_source_example_is_2067_days():
    assert f.dso(receivables=300_000, credit_sales=450_000, days=31).value.quantize(D("0.01")) == D("20.67")


def test_days_to_pay_5125_and_beyond_terms_225_on_the_q1_example():
    def paid(amount, days_to_pay):
        issued = dt.date(2025, 1, 1)
        return f.PaidInvoice(D(amount), issued, issued + dt.timedelta(days=30), issued + dt.timedelta(days=days_to_pay))

    results = f.payment_days([paid(1_000_000, 45), paid(500_000, 20), paid(2_500_000, 60)])
    assert results["avg_days_to_pay"].value == D("51.25")
    assert results["avg_days_to_pay"].numerator == 205 * M
    assert results["days_beyond_terms"].value == D("22.5")
    assert results["days_beyond_terms"].numerator == 90 * M


def test_disputed_invoices_stay_out_of_days_beyond_terms_only():
    issued = dt.date(2025, 1, 1)
    invoices = [
        f.PaidInvoice(D(100), issued, issued, issued + dt.timedelta(days=10)),
        f.PaidInvoice(D(100), issued, issued, issued + dt.timedelta(days=50), is_disputed=True),
    ]
    results = f.payment_days(invoices)
    assert results["avg_days_to_pay"].value == 30
    assert results["days_beyond_terms"].value == 10


def test_no_credit_sales_gives_none():
    assert f.dso(receivables=100, credit_sales=0, days=90).reason == "no_revenue"
    assert f.bad_debt_ratio(written_off=0, credit_sales=0).value is None


# --- §4.12 ----------------------------------------------------------------------------------------


def worked_portfolio() -> list[D]:
    return [22 * M, 15 * M, 10 * M, 8 * M, 5 * M] + [D(200_000)] * 200


def test_top5_share_60_and_hhi_906():
    results = f.concentration(worked_portfolio())
    assert sum(worked_portfolio()) == 100 * M
    assert results["top5_share"].value == D("0.6")
    assert results["hhi"].value == 906
    assert results["hhi"].n == 205


def test_top1_22_and_top10_61_percent_of_the_worked_portfolio():
    # §8 concentration.top_n [1, 5, 10] on the §4.12 example: 22M; 60M + 5 × 0.2M.
    results = f.concentration(worked_portfolio())
    assert (results["top1_share"].value, results["top10_share"].value) == (D("0.22"), D("0.61"))
    assert results["top10_share"].n == 205
    empty = f.concentration([])
    assert (empty["top1_share"].value, empty["top1_share"].reason) == (None, f.Reason.NO_REVENUE)


def test_effective_number_about_11_and_the_22_percent_customer_is_a_major_customer():
    hhi = f.concentration(worked_portfolio())["hhi"].value
    assert f.effective_number_of_customers(hhi).quantize(D("0.1")) == D("11.0")
    revenues = {f"c{i}": r for i, r in enumerate(worked_portfolio())}
    # Customer 1 (22%) is flagged, as the example says; so are 15% and 10% (the threshold is ≥ 10%).
    assert f.major_customers(revenues) == ["c0", "c1", "c2"]


# --- §4.14 / §4.15 ---------------------------------------------------------------------------------


def test_clv_is_4_5_million():
    assert f.clv_forward(margin=M, retention=D("0.9"), discount_rate=D("0.10")).value == D(4_500_000)


def test_clv_caps_retention_at_097_and_needs_margin():
    assert f.clv_forward(margin=M, retention=D("1.2")).value == M * D("0.97") / D("0.13")
    assert f.clv_forward(margin=None, retention=D("0.9")).value is None


def test_finite_horizon_clv_discounts_each_year():
    value = f.clv_finite(margins=[M, M], retention=D("0.9"), discount_rate=D("0.10"))
    assert value == M / D("1.1") + M * D("0.9") / D("1.21")


def test_cagr_4m_to_6m_over_3_years_is_1447_percent():
    assert pct(f.cagr(begin=4 * M, end=6 * M, years=3), 2) == D("14.47")


def test_cagr_is_undefined_without_a_positive_start():
    assert f.cagr(begin=0, end=6 * M, years=3).reason == "no_baseline"
    assert f.cagr(begin=M, end=-1, years=3).reason == "negative_value"


# --- §4.11 / §4.16 --------------------------------------------------------------------------------


def test_sla_attainment_and_median_and_improvement():
    assert f.sla_attainment(attained=3, eligible=4).value == D("0.75")
    assert f.sla_attainment(attained=0, eligible=0).reason == "no_sla_instances"
    assert f.median([3, 1, 2]) == 2
    assert f.median([4, 1, 2, 3]) == D("2.5")
    assert f.improvement(baseline=4, current=2).value == D("0.5")
    assert f.improvement(baseline=None, current=2).reason == "no_baseline"


# --- targets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "direction", "tolerance", "expected"),
    [
        ("0.91", "higher", None, "met"),
        ("0.90", "higher", None, "met"),
        ("0.86", "higher", None, "at_risk"),  # within 5% of 0.90 (0.045)
        ("0.85", "higher", None, "missed"),
        ("0.88", "higher", "0.01", "missed"),
        ("0.89", "lower", None, "met"),
        ("0.94", "lower", None, "at_risk"),
        ("0.96", "lower", None, "missed"),
        (None, "higher", None, ""),
    ],
)
def test_target_status(value, direction, tolerance, expected):
    assert (
        f.target_status(value and D(value), target=D("0.90"), direction=direction, tolerance=tolerance and D(tolerance))
        == expected
    )
