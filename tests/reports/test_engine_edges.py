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


def test_a_partial_period_grows_against_the_same_stretch_of_the_earlier_year():
    # DOMAIN.md §0.1: growth compares windows of equal length (YTD vs the same days three years back).
    acc = account()
    invoice(acc, "2022-03-01", 1 * M)  # in 1 Jan – 20 May 2022
    invoice(acc, "2022-10-01", 5 * M)  # later in FY2022: not in the baseline of a partial FY2025
    invoice(acc, "2025-03-01", 2 * M)
    run(["2025"], "2025-05-20")
    cagr = value("revenue_cagr_3y", "2025")
    assert cagr.is_partial
    assert (cagr.numerator, cagr.denominator) == (2 * M, 1 * M)


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


def test_an_auto_renewing_contract_without_notice_renews_itself_on_its_end_date_and_is_reported_separately():
    rolling = account()
    contract(rolling, "2024-01-01", "2024-12-31", M, auto_renew=True)
    noticed = account()
    contract(noticed, "2024-01-01", "2024-12-31", M, auto_renew=True, notice_on="2024-10-01")
    explicit = account()
    due = contract(explicit, "2024-01-01", "2024-12-31", M, auto_renew=True)
    contract(explicit, "2025-01-01", "2025-12-31", 2 * M, renewal_of=due, signed_on="2024-12-15")
    not_yet = account()  # ends after as_of: nothing has happened yet
    contract(not_yet, "2025-01-01", "2025-12-31", M, auto_renew=True)
    run(["2024", "2025-Q1", "2025"], "2025-06-30")

    y2024 = values("2024")
    assert (y2024["renewal_rate_logo"].numerator, y2024["renewal_rate_logo"].denominator) == (2, 3)
    assert (y2024["renewal_rate_logo_auto"].numerator, y2024["renewal_rate_logo_auto"].denominator) == (1, 3)
    assert y2024["renewal_rate_value_net"].numerator == 3 * M  # itself at its own value + the 2M renewal
    assert y2024["renewal_rate_value_gross"].numerator == 2 * M
    # Retention agrees: the rolling contract keeps its ARR, the one with notice churns.
    assert (y2024["grr"].numerator, y2024["grr"].denominator) == (2 * M, 3 * M)
    assert y2024["nrr"].numerator == 3 * M
    assert y2024["logo_churn"].numerator == 1
    q1 = values("2025-Q1")
    assert q1["grr"].value == 1 and q1["logo_churn"].numerator == 0
    assert q1["grr"].denominator == 4 * M  # rolling M + the 2M renewal + not_yet's M
    y2025 = values("2025")
    assert (y2025["renewal_rate_logo"].numerator, y2025["renewal_rate_logo"].denominator) == (0, 2)
    assert y2025["renewal_rate_logo_auto"].numerator == 0


def test_a_consolidation_renews_every_replaced_contract_and_splits_the_new_value_pro_rata():
    from accounts.services import contract_update

    acc = account()
    big = contract(acc, "2024-01-01", "2024-12-31", 3 * M)
    small = contract(acc, "2024-01-01", "2024-12-31", M)
    merged = contract(acc, "2025-01-01", "2025-12-31", 6 * M, signed_on="2024-12-20")
    for old in (big, small):
        contract_update(contract=old, superseded_by=merged)
    run(["2024"], "2025-03-01")
    y = values("2024")
    assert (y["renewal_rate_logo"].numerator, y["renewal_rate_logo"].denominator) == (2, 2)
    assert y["renewal_rate_value_net"].numerator == 6 * M  # 4.5M for big + 1.5M for small
    assert y["renewal_rate_value_gross"].numerator == 4 * M  # min(3M, 4.5M) + min(1M, 1.5M)
    assert y["renewal_rate_logo_auto"].numerator == 0


def test_a_contract_is_renewed_once_either_by_a_renewal_or_a_consolidation():
    from django.core.exceptions import ValidationError

    from accounts.services import contract_renew, contract_update
    from kam.errors import Conflict

    acc = account()
    renewed = contract(acc, "2024-01-01", "2024-12-31", M)
    contract(acc, "2025-01-01", "2025-12-31", M, renewal_of=renewed)
    merged = contract(acc, "2025-01-01", "2025-12-31", 2 * M)
    with pytest.raises(ValidationError) as error:
        contract_update(contract=renewed, superseded_by=merged)
    assert "superseded_by" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        contract_update(contract=merged, superseded_by=merged)
    assert "superseded_by" in error.value.message_dict
    elsewhere = contract(account(), "2024-01-01", "2024-12-31", M)
    with pytest.raises(ValidationError) as error:
        contract_update(contract=elsewhere, superseded_by=merged)
    assert "superseded_by" in error.value.message_dict  # another group
    replaced = contract(acc, "2024-01-01", "2024-12-31", M)
    contract_update(contract=replaced, superseded_by=merged)
    with pytest.raises(Conflict, match="consolidation"):
        contract_renew(contract=replaced, number="R-1")


def test_arr_at_risk_is_the_end_arr_of_groups_with_an_open_high_or_critical_alert():
    from service_plans.models import Alert
    from service_plans.services.alerts import alert_create_manual
    from tests.reports.builders import moment

    def alert(acc, priority, *, opened="2025-02-01", closed=None):
        created = alert_create_manual(account=acc, rule="R2", reason=f"test_{acc.pk}", priority=priority, actor=None)
        closing = {}
        if closed:
            closing = {"closed_at": moment(closed), "status": "closed_resolved", "closure_note": "paid", "outcome": "retained"}
        Alert.objects.filter(pk=created.pk).update(opened_at=moment(opened), **closing)

    risky = account(owner_name="am_a")
    contract(risky, "2024-01-01", "2026-12-31", 2 * M)
    branch = account(parent=risky)
    contract(branch, "2024-01-01", "2026-12-31", M)
    alert(branch, "critical")  # an alert on a subsidiary puts its whole group at risk
    medium = account(owner_name="am_b")
    contract(medium, "2024-01-01", "2026-12-31", M)
    alert(medium, "medium")
    closed = account(owner_name="am_b")
    contract(closed, "2024-01-01", "2026-12-31", M)
    alert(closed, "high", opened="2025-01-10", closed="2025-02-15")
    later = account(owner_name="am_b")
    contract(later, "2024-01-01", "2026-12-31", M)
    alert(later, "high", opened="2025-04-10")
    run(["2025-Q1", "2025-Q2"], "2025-06-30")
    q1 = value("arr_at_risk", "2025-Q1")
    assert (q1.value, q1.denominator, q1.n) == (3 * M, 6 * M, 1)
    assert value("arr_at_risk", "2025-Q1", scope="owner:am_b").value == 0
    assert value("arr_at_risk", "2025-Q2").value == 4 * M
    assert value("arr_at_risk", "2025-Q2", scope="owner:am_b").value == M


def test_arr_at_risk_is_empty_without_recurring_revenue():
    run(["2025-Q1"], "2025-06-30")
    result = value("arr_at_risk", "2025-Q1")
    assert result.value is None and result.reason == "no_recurring_revenue"


def test_arr_at_risk_leaves_out_expansion_signals_whatever_their_priority():
    """E1 (§5.2's positive signal) is an opportunity: even raised by hand at High it puts no ARR at risk."""
    from service_plans.models import Alert
    from service_plans.services.alerts import alert_create_manual
    from tests.reports.builders import moment

    growing = account()
    contract(growing, "2024-01-01", "2026-12-31", 2 * M)
    risky = account()
    contract(risky, "2024-01-01", "2026-12-31", M)
    for acc, rule, priority in ((growing, "E1", "high"), (growing, "E1", "critical"), (risky, "R1", "high")):
        created = alert_create_manual(account=acc, rule=rule, reason=f"test_{priority}", priority=priority, actor=None)
        Alert.objects.filter(pk=created.pk).update(opened_at=moment("2025-02-01"))
    run(["2025-Q1"], "2025-06-30")
    q1 = value("arr_at_risk", "2025-Q1")
    assert (q1.value, q1.denominator, q1.n) == (M, 3 * M, 1)
