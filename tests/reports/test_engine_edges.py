"""Edge cases of DOMAIN.md §4 in the SQL engine: renewal timing, multi-year contracts, merges, new
logos, empty denominators, partial periods, receivables, missing exchange rates."""

from decimal import Decimal as D

import pytest

from accounts.models import Account, Contract
from accounts.services import account_update
from reports.catalogue import KPI_CODES
from reports.models import KpiRun, KpiValue, RunStatus
from reports.services import KpiRunError
from tests.reports.builders import account, contract, invoice, rate, run, snapshot, value, values

pytestmark = pytest.mark.django_db
M = 1_000_000


def test_late_renewals_count_as_eventual_only_and_beyond_the_grace_not_at_all():
    within = account()
    due = contract(within, "2024-04-01", "2025-03-31", M)
    # No signing date: the renewal date is its start date, 1 April (within the 30-day grace).
    contract(within, "2025-04-01", "2026-03-31", M, renewal_of=due)
    beyond = account()
    due = contract(beyond, "2024-04-01", "2025-03-31", M)
    contract(beyond, "2025-06-01", "2026-05-31", M, renewal_of=due, signed_on="2025-05-15")
    run(["2025-Q1"], "2025-09-30")
    q1 = values("2025-Q1")
    assert (q1["renewal_rate_logo"].numerator, q1["renewal_rate_logo"].denominator) == (0, 2)
    assert q1["renewal_rate_logo_eventual"].numerator == 1
    assert q1["renewal_rate_value_net"].value == 0
    assert q1["renewal_rate_value_net_eventual"].value == D("0.5")


def test_drafts_count_neither_as_revenue_nor_as_renewals():
    acc = account()
    due = contract(acc, "2024-01-01", "2024-12-31", M)
    contract(acc, "2025-01-01", "2025-12-31", M, renewal_of=due, signed_on="2024-12-01", status="draft")
    contract(account(), "2024-01-01", "2024-12-31", 5 * M, status="draft")
    run(["2024"], "2025-03-01")
    assert value("renewal_rate_logo", "2024").value == 0
    assert value("grr", "2024").denominator == M
    assert value("logo_churn", "2024").value == 1


def test_a_multi_year_contract_is_due_only_in_the_period_of_its_end_date():
    contract(account(), "2023-01-01", "2025-12-31", M)
    run(["2024", "2025"], "2026-02-01")
    assert value("renewal_rate_logo", "2024").reason == "no_contracts_due"
    assert value("grr", "2024").value == 1  # the intermediate year is retention only
    assert (value("renewal_rate_logo", "2025").numerator, value("renewal_rate_logo", "2025").denominator) == (0, 1)
    assert value("logo_churn", "2025").value == 1


def test_a_merged_group_is_remapped_to_the_surviving_group_not_churned():
    survivor, absorbed = account(owner_name="am_a"), account(owner_name="am_b")
    contract(survivor, "2024-01-01", "2026-12-31", 2 * M)
    old = contract(absorbed, "2024-07-01", "2025-06-30", M)
    account_update(account=absorbed, parent=survivor)  # the merge: absorbed now belongs to survivor's group
    old = Contract.objects.get(pk=old.pk)  # re-read: its account now has the survivor's group
    contract(survivor, "2025-07-01", "2026-06-30", M, renewal_of=old, signed_on="2025-06-20")
    run(["2025"], "2026-02-01")
    grr = value("grr", "2025")
    assert (grr.value, grr.n, grr.denominator) == (1, 1, 3 * M)
    assert value("logo_churn", "2025").value == 0
    assert value("renewal_rate_logo", "2025").value == 1
    # The absorbed company's history follows it to the surviving group and its owner's scope.
    assert value("grr", "2025", "owner:am_a").denominator == 3 * M
    assert not KpiValue.objects.filter(scope="owner:am_b").exists()  # am_b owns no group any more


def test_new_logos_and_reactivations_are_not_in_the_cohort():
    contract(account(), "2025-03-01", "2026-02-28", M)  # new logo
    returning = account()
    contract(returning, "2023-01-01", "2024-06-30", M)
    contract(returning, "2025-02-01", "2026-01-31", M)  # reactivated
    run(["2025"], "2026-02-01")
    assert (value("grr", "2025").value, value("grr", "2025").reason) == (None, "no_revenue_at_start")
    assert value("nrr", "2025").value is None


def test_an_empty_portfolio_gives_every_kpi_empty_with_a_reason_never_zero():
    run(["2025-Q1"], "2025-06-30")
    company = values("2025-Q1")
    assert set(company) == set(KPI_CODES)
    assert all(v.value is None and v.reason for v in company.values()), {c: v.value for c, v in company.items() if v.reason == ""}
    assert set(KpiValue.objects.values_list("scope", flat=True)) == {"company", "tier:T1", "tier:T2", "tier:T3", "tier:T4"}


def test_partial_periods_are_flagged_and_their_flows_stop_at_as_of():
    acc = account()
    invoice(acc, "2025-05-10", 400_000, due="2025-06-09")
    invoice(acc, "2025-05-25", 999_999, due="2025-06-24")  # after as_of: not yet
    run(["2025-04", "2025-05", "2025-Q2", "2025"], "2025-05-20")
    assert {p: value("dso", p).is_partial for p in ("2025-04", "2025-05", "2025-Q2", "2025")} == {
        "2025-04": False,
        "2025-05": True,
        "2025-Q2": True,
        "2025": True,
    }
    dso = value("dso", "2025-05")
    assert (dso.numerator, dso.denominator) == (400_000, 400_000)
    assert dso.value == 20  # 1 to 20 May: twenty days so far
    assert value("dso", "2025-04").reason == "no_revenue"


def test_receivables_overdue_and_bad_debt_at_the_quarter_end():
    acc = account()
    invoice(acc, "2025-01-10", M, due="2025-02-09")  # unpaid and past due on 31 March
    invoice(acc, "2025-03-20", 3 * M, due="2025-04-19")  # unpaid, not yet due
    invoice(acc, "2024-10-01", 500_000, due="2024-10-31", written_off=500_000, written_off_on="2025-02-15")
    invoice(acc, "2024-11-01", 200_000, due="2024-12-01", paid="2025-04-02")  # open on 31 March, past due
    invoice(acc, "2025-03-01", 300_000, due="2025-03-31")  # due on the last day: not yet past due
    run(["2025-Q1"], "2025-06-30")
    q1 = values("2025-Q1")
    assert (q1["overdue_ratio"].numerator, q1["overdue_ratio"].denominator) == (1_200_000, 4_500_000)
    assert q1["bad_debt_ratio"].value == (D("0.5") / D("4.3")).quantize(D("1e-12"))  # 500,000 / 4,300,000 sales
    assert q1["avg_days_to_pay"].reason == "no_paid_invoices"


def test_amounts_in_other_currencies_use_the_rate_of_the_period_fiscal_year():
    rate("USD", 2024, "7")
    rate("USD", 2025, "8")
    acc = account(currency="USD")
    invoice(acc, "2024-12-15", 1000, currency="USD")
    invoice(acc, "2025-01-15", 1000, currency="USD")
    run(["2024-12", "2025-01"], "2025-06-30")
    assert value("dso", "2024-12").denominator == 7000
    assert value("dso", "2025-01").denominator == 8000


def test_a_missing_exchange_rate_fails_the_run_naming_currency_and_year_and_keeps_the_snapshot():
    rate("EUR", 2024, "7.8")
    acc = account(currency="EUR")
    contract(acc, "2024-01-01", "2025-12-31", 100_000, currency="EUR")
    run(["2024"], "2026-02-01")
    before = snapshot()
    assert value("grr", "2024").denominator == 780_000
    with pytest.raises(KpiRunError, match="EUR for fiscal year 2025"):
        run(["2024", "2025"], "2026-02-01")
    assert snapshot() == before
    failed = KpiRun.objects.first()
    assert failed.status == RunStatus.FAILED
    assert "EUR for fiscal year 2025" in failed.error


def test_key_account_shares_are_empty_without_key_accounts():
    invoice(account(tier="T3"), "2025-02-01", M)
    run(["2025-Q1"], "2025-06-30")
    share = value("key_account_revenue_share", "2025-Q1")
    assert (share.value, share.reason) == (None, "no_key_accounts")
    assert value("customised_solution_coverage", "2025-Q1").reason == "no_key_accounts"


def test_tier_scopes_follow_the_tier_history_of_each_period():
    from tiering.models import TierAssignment

    moved, steady = account(), account()
    for acc in (moved, steady):
        contract(acc, "2023-01-01", "2026-12-31", M)
    # Tiering's history: moved was T2 until 1 April 2025, T1 since; steady has no history (its
    # current tier counts for every date).
    TierAssignment.objects.create(account=moved, tier="T2", valid_from="2025-01-15", valid_to="2025-04-01", reason="initial")
    TierAssignment.objects.create(account=moved, tier="T1", valid_from="2025-04-01", reason="promoted")
    Account.objects.filter(pk=moved.pk).update(tier="T1")
    Account.objects.filter(pk=steady.pk).update(tier="T3")
    run(["2024", "2025-Q1", "2025-Q2"], "2025-09-30")
    # The first assignment also stands for the time before it (2024 and early January 2025).
    assert value("grr", "2024", "tier:T2").n == 1
    assert value("grr", "2025-Q1", "tier:T2").n == 1
    assert value("grr", "2025-Q1", "tier:T1").reason == "no_revenue_at_start"
    assert value("grr", "2025-Q2", "tier:T1").n == 1
    assert value("grr", "2025-Q2", "tier:T3").n == 1
    # Q1's mix on its last day, of the groups that were T2 on its first day: still T2 (moved on 1 April).
    assert value("tier_share_t2", "2025-Q1", "tier:T2").value == 1
