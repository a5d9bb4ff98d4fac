"""The SQL engine reproduces every worked example of DOMAIN.md §4 on factory-built data."""

from decimal import Decimal as D

import pytest

from tests.reports.builders import (
    account,
    bulk_groups,
    contract,
    invoice,
    owner,
    project,
    rate,
    request,
    run,
    set_tier,
    survey,
    value,
    values,
)

pytestmark = pytest.mark.django_db
M = 1_000_000


def test_grr_92_and_nrr_105_for_fy2025():
    rate("USD", 2025, "8")
    rate("USD", 2026, "9")  # must not be used: FY2025 is converted at FY2025 rates
    a, b, c, d, n = (account() for _ in range(5))
    d_usd = account(currency="USD")
    a1 = contract(a, "2024-07-01", "2025-06-30", 3_000_000)
    contract(a, "2025-07-01", "2026-06-30", 3_600_000, renewal_of=a1, signed_on="2025-06-15")
    b1 = contract(b, "2024-01-01", "2025-12-31", 2_000_000)  # a two-year contract
    contract(b, "2026-01-01", "2026-12-31", 1_760_000, renewal_of=b1, signed_on="2025-11-20")
    contract(c, "2024-06-01", "2025-11-30", 400_000)  # not renewed: churned in FY2025
    d1 = contract(d_usd, "2024-03-01", "2025-02-28", 325_000, currency="USD")  # 2,600,000 CNY
    contract(d_usd, "2025-03-01", "2027-02-28", 380_000, currency="USD", renewal_of=d1, signed_on="2025-02-10")
    contract(n, "2025-03-01", "2026-02-28", 1_500_000)  # new logo: not in the cohort
    del d
    run(["2025"], "2026-03-01")
    grr, nrr, churn = value("grr", "2025"), value("nrr", "2025"), value("logo_churn", "2025")
    assert (grr.value, grr.numerator, grr.denominator, grr.n) == (D("0.92"), 7_360_000, 8_000_000, 4)
    assert (nrr.value, nrr.numerator) == (D("1.05"), 8_400_000)
    assert churn.value == D("0.25")
    assert not grr.is_partial


def renewal_q1_2025_dataset():
    """10 contracts ending in Q1 2025 (prior 5,000,000), as §4.4's example, plus a Q2 contract
    renewed early in Q1."""
    renew = [(500_000, 540_000)] * 6 + [(800_000, 860_000)]
    ends = ["2025-01-31", "2025-02-15", "2025-02-28", "2025-03-10", "2025-03-31", "2025-03-31", "2025-03-15"]
    for i, ((prior, new), end) in enumerate(zip(renew, ends, strict=True)):
        acc = account()
        old = contract(acc, "2024-01-01", end, prior)
        # The first one is renewed early, in December, before its end date: it still counts in Q1.
        signed = "2024-12-20" if i == 0 else "2025-03-05"
        contract(acc, end.replace("2025", "2026", 1), "2026-12-31", new, renewal_of=old, signed_on=signed)
    acc = account()
    late = contract(acc, "2024-04-01", "2025-03-31", 500_000)
    contract(acc, "2025-04-01", "2026-03-31", 520_000, renewal_of=late, signed_on="2025-04-18")
    contract(account(), "2024-02-01", "2025-01-31", 300_000)
    contract(account(), "2024-03-01", "2025-03-31", 400_000)
    acc = account()
    q2 = contract(acc, "2024-06-01", "2025-05-31", 600_000)
    contract(acc, "2025-06-01", "2026-05-31", 650_000, renewal_of=q2, signed_on="2025-03-10")


def test_renewal_rates_70_80_76_86_924_for_q1_2025():
    renewal_q1_2025_dataset()
    run(["2025-Q1", "2025-Q2"], "2025-09-30")
    q1 = values("2025-Q1")
    assert q1["renewal_rate_logo"].value == D("0.7")
    assert q1["renewal_rate_logo_eventual"].value == D("0.8")
    assert q1["renewal_rate_value_gross"].value == D("0.76")
    assert q1["renewal_rate_value_gross_eventual"].value == D("0.86")
    assert q1["renewal_rate_value_net_eventual"].value == D("0.924")
    assert q1["renewal_rate_value_net"].value == D("0.82")
    assert (q1["renewal_rate_logo"].numerator, q1["renewal_rate_logo"].denominator) == (7, 10)
    # The Q2 contract renewed early in Q1 is counted in Q2's Due and Renewed, never in Q1.
    q2 = values("2025-Q2")
    assert (q2["renewal_rate_logo"].numerator, q2["renewal_rate_logo"].denominator) == (1, 1)
    assert q1["renewal_rate_value_net"].value != D("0.94")


def test_nps_x_is_passive_and_the_portfolio_is_plus_20():
    x = account(name="Account X")
    for score, role in [(6, "economic_buyer"), (9, "coach_champion"), (10, "user_buyer"), (10, "user_buyer")]:
        survey(x, "nps", score, "2025-06-01 10:00", role)
    # 18 promoters (9 of them exactly on the 9.0 line), 11 more passives (6 exactly on 7.0), 10 detractors.
    for score, count in [(10, 9), (9, 9), (8, 5), (7, 6), (6, 5), (3, 5)]:
        for _ in range(count):
            survey(account(), "nps", score, "2025-09-01 10:00", "user_buyer")
    survey(account(), "nps", 0, "2024-11-30 10:00", "economic_buyer")  # older than 12 months: no signal
    run(["2025-Q4"], "2026-01-15")
    nps = value("nps", "2025-Q4")
    assert (nps.value, nps.numerator, nps.denominator, nps.n) == (20, 8, 40, 40)
    assert not nps.low_confidence


def test_dso_30_days_to_pay_5125_and_beyond_terms_225_for_q1_2025():
    a = account(owner_name="finance_a")
    invoice(a, "2025-01-10", 6_000_000, paid="2025-02-09")
    invoice(a, "2025-03-01", 3_000_000, due="2025-03-31")  # open at the quarter end: AR 3,000,000
    b = account(owner_name="finance_b")
    invoice(b, "2024-12-01", 1_000_000, due="2024-12-31", paid="2025-01-15")  # 45 days, 15 beyond terms
    invoice(b, "2025-01-05", 500_000, due="2025-02-04", paid="2025-01-25")  # 20 days, 0 beyond
    invoice(b, "2024-12-15", 2_500_000, due="2025-01-14", paid="2025-02-13")  # 60 days, 30 beyond
    run(["2025-Q1"], "2025-06-30")
    dso = value("dso", "2025-Q1", "owner:finance_a")
    assert (dso.value, dso.numerator, dso.denominator) == (30, 3 * M, 9 * M)
    assert value("avg_days_to_pay", "2025-Q1", "owner:finance_b").value == D("51.25")
    assert value("days_beyond_terms", "2025-Q1", "owner:finance_b").value == D("22.5")


def test_top5_share_60_hhi_906_and_key_account_shares():
    am = owner("am_a")
    revenues = [22 * M, 15 * M, 10 * M, 8 * M, 5 * M] + [200_000] * 200
    margins = [D("2.2") * M, D("4.5") * M, 1 * M, D("1.6") * M, 1 * M] + [40_000] * 200
    ids = bulk_groups(revenues, issued="2025-05-10", owners=[am], regions=["East China"], margins=margins)
    for account_id, tier in zip(ids, ["T1", "T1", "T2", "T3", "T4"], strict=False):
        set_tier(account_id, tier)
    run(["2025"], "2026-02-01")
    fy = values("2025")
    assert fy["top5_share"].value == D("0.6")
    assert (fy["top1_share"].value, fy["top10_share"].value) == (D("0.22"), D("0.61"))  # §8 top_n [1, 5, 10]
    assert fy["hhi"].value == 906
    assert fy["hhi"].n == 205
    assert fy["key_account_revenue_share"].value == D("0.47")  # (22 + 15 + 10) / 100
    assert fy["key_account_margin_share"].value == (D("7.7") / D("18.3")).quantize(D("1e-12"))


def test_revenue_cagr_1447_percent_from_4m_in_fy2021_to_6m_in_fy2024():
    acc = account()
    invoice(acc, "2021-04-01", 4 * M, paid="2021-05-01")
    invoice(acc, "2024-04-01", 6 * M, paid="2024-05-01")
    run(["2024"], "2025-03-01")
    cagr = value("revenue_cagr_3y", "2024")
    assert (cagr.value * 100).quantize(D("0.01")) == D("14.47")
    assert (cagr.numerator, cagr.denominator) == (6 * M, 4 * M)


def test_sla_attainment_counts_each_target_once_when_it_is_decided():
    acc = account()
    request(acc, "2025-01-10 08:00", first_response_due_at="2025-01-10 10:00", first_response_at="2025-01-10 09:00",
            resolution_due_at="2025-01-11 08:00", resolved_at="2025-01-12 08:00")  # fmt: skip
    request(acc, "2025-01-31 08:00", first_response_due_at="2025-02-01 08:00")  # never answered: breached
    # Answered early in Q1 though due in Q2: attained, counted in Q1 (not again in Q2).
    request(acc, "2025-03-30 08:00", first_response_due_at="2025-04-02 08:00", first_response_at="2025-03-31 08:00",
            resolution_due_at="2025-04-05 08:00", resolved_at="2025-04-04 08:00")  # fmt: skip
    request(acc, "2025-02-01 08:00")  # no SLA applied: not eligible
    run(["2025-Q1", "2025-Q2"], "2025-09-30")
    q1, q2 = value("sla_attainment", "2025-Q1"), value("sla_attainment", "2025-Q2")
    assert (q1.value, q1.numerator, q1.denominator) == (D("0.5"), 2, 4)
    assert (q2.value, q2.numerator, q2.denominator) == (1, 1, 1)


def test_key_account_response_efficiency_improves_when_median_first_response_halves():
    key, other = account(tier="T1"), account(tier="T3")
    for opened, hours in [("2025-01-05", 1), ("2025-02-05", 2), ("2025-03-05", 3)]:
        request(key, f"{opened} 08:00", first_response_at=f"{opened} {8 + hours:02d}:00")
    for opened in ("2024-01-05", "2024-02-05"):
        request(key, f"{opened} 08:00", first_response_at=f"{opened} 12:00")  # 4 h a year earlier
    request(other, "2025-01-06 08:00", first_response_at="2025-01-06 20:00")  # not a key account
    run(["2025-Q1"], "2025-06-30")
    result = value("response_efficiency_improvement", "2025-Q1")
    assert (result.value, result.numerator, result.denominator) == (D("0.5"), 7200, 14400)
    assert value("response_efficiency_improvement", "2025-Q1", "tier:T3").reason == "no_key_account_requests"


def test_csat_and_its_improvement_in_points():
    acc = account()
    for score in (5, 4, 4, 2):
        survey(acc, "csat", score, "2025-02-10 10:00")
    for score in (5, 1):
        survey(acc, "csat", score, "2024-02-10 10:00")
    run(["2025-Q1"], "2025-06-30")
    assert value("csat", "2025-Q1").value == D("0.75")
    improvement = value("csat_improvement_pp", "2025-Q1")
    assert (improvement.value, improvement.numerator, improvement.denominator) == (25, D("0.75"), D("0.5"))
    assert value("csat", "2025-Q1").low_confidence  # 4 responses


def test_ces_mean_and_easy_share_per_scope():
    a = account(owner_name="am_a", tier="T1")
    b = account(owner_name="am_b", tier="T2")
    for score in (7, 6, 5):
        survey(a, "ces", score, "2025-02-10 10:00")
    for score in (4, 2):
        survey(b, "ces", score, "2025-03-10 10:00")
    survey(b, "ces", 1, "2024-12-31 10:00")  # before the quarter: not counted
    survey(b, "csat", 5, "2025-02-10 10:00")  # other kinds are not CES answers
    run(["2025-Q1"], "2025-06-30")
    ces, easy = value("ces", "2025-Q1"), value("ces_easy", "2025-Q1")
    assert (ces.value, ces.numerator, ces.denominator, ces.n) == (D("4.8"), 24, 5, 5)
    assert (easy.value, easy.numerator, easy.denominator) == (D("0.6"), 3, 5)
    assert ces.low_confidence and easy.low_confidence
    assert (value("ces", "2025-Q1", "tier:T1").value, value("ces_easy", "2025-Q1", "tier:T1").value) == (6, 1)
    assert (value("ces", "2025-Q1", "owner:am_b").value, value("ces_easy", "2025-Q1", "owner:am_b").value) == (3, 0)
    assert value("csat", "2025-Q1").value == 1  # CSAT unchanged by the CES answers


def test_ces_without_answers_is_empty_with_a_reason():
    acc = account(owner_name="am_a", tier="T1")
    survey(acc, "csat", 5, "2025-02-10 10:00")
    run(["2025-Q1"], "2025-06-30")
    for code in ("ces", "ces_easy"):
        result = value(code, "2025-Q1", "owner:am_a")
        assert (result.value, result.reason, result.n) == (None, "no_responses", 0)


def test_programme_kpis_coverage_joint_innovation_and_tier_mix():
    a, b, c, d = account(tier="T1"), account(tier="T1"), account(tier="T2"), account(tier="T3")
    project(a, "customised_solution", "2024-10-01")
    project(a, "joint_innovation", "2024-06-01")
    contract(b, "2025-01-01", "2025-12-31", 100_000, customised=True)
    project(b, "standard", "2025-02-01", status="planned")
    project(c, "customised_solution", "2024-05-01", status="done", ended="2025-02-01")
    project(d, "joint_innovation", "2025-01-10")  # not a key account
    run(["2025-Q1"], "2025-06-30")
    q1 = values("2025-Q1")
    coverage = q1["customised_solution_coverage"]
    assert (coverage.numerator, coverage.denominator) == (2, 3)  # c's project ended before 31 March
    joint = q1["joint_innovation_share"]
    assert (joint.numerator, joint.denominator) == (1, 3)
    assert [q1[f"tier_share_t{i}"].value for i in range(1, 5)] == [D("0.5"), D("0.25"), D("0.25"), 0]
