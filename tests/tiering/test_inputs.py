"""The set-based aggregation of raw measures (tiering.inputs), checked against hand-computed values."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from service_plans.models import ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ContractFactory, ExchangeRateFactory, MeetingFactory
from tests.tiering.conftest import add_invoices, aware
from tiering.inputs import MissingExchangeRate, collect_inputs, fiscal_year_of, period_start

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2025, 6, 30)


def collect(as_of=AS_OF):
    return collect_inputs(as_of=as_of, fiscal_years_needed=4, renewal_freeze_days=120)


@pytest.fixture
def group(account_manager):
    ExchangeRateFactory(currency="USD", year=2025, rate_to_base=D("7.5"))  # USD accounts need a known currency
    root = AccountFactory(owner=account_manager, currency="CNY", credit_rating="B", market_influence=4, integration_potential=3)
    child = AccountFactory(owner=account_manager, parent=root, currency="USD", credit_rating="E", market_influence=1)
    return root, child


def test_revenue_rolls_up_to_the_group_at_each_fiscal_years_rate(group):
    root, child = group
    for year, rate in ((2023, "7.0"), (2024, "7.2"), (2025, "7.5")):
        ExchangeRateFactory(currency="USD", year=year, rate_to_base=D(rate))
    add_invoices(
        [
            {"account": root, "issued_on": dt.date(2023, 5, 1), "amount": "1000"},
            {"account": child, "issued_on": dt.date(2023, 9, 1), "amount": "100", "currency": "USD"},
            {"account": child, "issued_on": dt.date(2024, 8, 1), "amount": "110", "currency": "USD"},
        ]
    )
    data = collect()
    assert data.fiscal_years == [2021, 2022, 2023, 2024]
    assert data.fy_revenue[root.pk] == [0, 0, D("1700.0"), D("792.0")]
    assert data.company_fy_revenue == [0, 0, D("1700.0"), D("792.0")]
    assert child.pk not in data.fy_revenue and data.groups == [root.pk]
    # Trailing windows convert at the rate of the fiscal year of as_of (2025), so FX never looks like
    # growth: 110 vs 100 USD is +10 %, not 792 / 700.
    assert data.t12m_revenue[root.pk] == D("825.0")
    assert data.measure("revenue_yoy_t12m", root.pk) == pytest.approx(10.0)
    # Ratings are the group root's.
    assert (data.measure("credit_rating", root.pk), data.measure("market_influence", root.pk)) == ("B", 4)
    assert data.member_count[root.pk] == 2


def test_a_missing_exchange_rate_names_the_currency_and_the_year(group):
    _, child = group
    add_invoices([{"account": child, "issued_on": dt.date(2022, 3, 1), "amount": "100", "currency": "USD"}])
    with pytest.raises(MissingExchangeRate) as caught:
        collect()
    assert caught.value.missing == [("USD", 2022)]
    assert "USD in fiscal year 2022" in str(caught.value)
    assert "never converted at zero" in str(caught.value)


def test_days_beyond_terms_example_of_section_4_10(group):
    """§4.10: 1.0M 15 days late, 0.5M on time, 2.5M 30 days late → 22.5 days beyond terms."""
    root, _ = group
    due = dt.date(2025, 3, 1)
    add_invoices(
        [
            {"account": root, "issued_on": due - dt.timedelta(days=30), "due_on": due, "amount": "1000000", "paid_on": due + dt.timedelta(days=15)},
            {"account": root, "issued_on": due - dt.timedelta(days=30), "due_on": due, "amount": "500000", "paid_on": due - dt.timedelta(days=10)},
            {"account": root, "issued_on": due - dt.timedelta(days=30), "due_on": due, "amount": "2500000", "paid_on": due + dt.timedelta(days=30)},
            # Disputed, paid before the window, or unpaid: left out.
            {"account": root, "issued_on": due, "due_on": due, "amount": "900000", "paid_on": due + dt.timedelta(days=90), "is_disputed": True},
            {"account": root, "issued_on": dt.date(2024, 1, 1), "due_on": dt.date(2024, 1, 31), "amount": "900000", "paid_on": dt.date(2024, 12, 31)},
            {"account": root, "issued_on": due, "due_on": due, "amount": "900000"},
        ]
    )  # fmt: skip
    assert collect().measure("days_beyond_terms_t180", root.pk) == pytest.approx(22.5)


def test_three_year_cagr_and_margin_index(group, account_manager):
    """§4.15 CAGR 4M → 6M = 14.47 %; margin index = group GM % ÷ company GM %."""
    root, _ = group
    other = AccountFactory(owner=account_manager)
    add_invoices(
        [
            {"account": root, "issued_on": dt.date(2021, 5, 1), "amount": "4000000", "margin": "1000000"},
            {"account": root, "issued_on": dt.date(2024, 5, 1), "amount": "6000000", "margin": "1000000"},
            {"account": root, "issued_on": dt.date(2025, 5, 1), "amount": "1000000", "margin": "320000"},
            {"account": other, "issued_on": dt.date(2025, 5, 1), "amount": "1000000", "margin": "240000"},
        ]
    )
    data = collect()
    assert round(data.measure("revenue_cagr_3y", root.pk), 2) == 14.47
    assert data.measure("revenue_cagr_3y", other.pk) is None  # no FY−3 revenue: undefined
    assert data.measure("margin_index", root.pk) == pytest.approx(0.32 / 0.28)
    assert data.value_basis == "gross_margin"
    assert data.value_metric[root.pk] == D("320000")


def test_headroom_is_the_wallet_minus_our_three_year_sales(group):
    root, child = group
    root.__class__.objects.filter(pk=root.pk).update(wallet_estimate_amount=D("5000000"))
    root.__class__.objects.filter(pk=child.pk).update(wallet_estimate_amount=D("100000"))  # USD
    add_invoices([{"account": root, "issued_on": dt.date(2023, 9, 1), "amount": "2000000"}])
    assert collect().measure("wallet_headroom", root.pk) == pytest.approx(5_000_000 + 750_000 - 2_000_000)


def test_role_weighted_nps_mean_of_section_4_7(group):
    """§4.7: economic buyer 6, champion 9, two users 10 and 10 → (18 + 18 + 10 + 10) / 7 = 8.0."""
    root, child = group
    for account, score, role in (
        (root, 6, "economic_buyer"),
        (root, 9, "coach_champion"),
        (child, 10, "user_buyer"),
        (child, 10, ""),
    ):
        SurveyResponse.objects.create(
            account=account, kind="nps", score=score, respondent_role=role, responded_at=aware(dt.date(2025, 3, 1))
        )
    SurveyResponse.objects.create(
        account=root, kind="nps", score=0, respondent_role="economic_buyer", responded_at=aware(dt.date(2024, 6, 1))
    )
    SurveyResponse.objects.create(account=root, kind="csat", score=1, responded_at=aware(dt.date(2025, 3, 1)))
    data = collect()
    assert data.measure("nps_role_weighted_12m", root.pk) == pytest.approx(8.0)
    assert root.pk not in data.notes["nps_role_weighted_12m"]


def test_nps_without_a_decision_maker_is_low_confidence(group):
    root, _ = group
    SurveyResponse.objects.create(
        account=root, kind="nps", score=9, respondent_role="user_buyer", responded_at=aware(dt.date(2025, 6, 1))
    )
    data = collect()
    assert data.measure("nps_role_weighted_12m", root.pk) == 9
    assert data.notes["nps_role_weighted_12m"][root.pk] == "low_confidence"


def test_days_since_the_last_executive_level_meeting(group):
    root, child = group
    MeetingFactory(account=child, kind="qbr", occurred_at=aware(AS_OF - dt.timedelta(days=75)))
    MeetingFactory(account=root, kind="executive", occurred_at=aware(AS_OF - dt.timedelta(days=200)))
    MeetingFactory(account=root, kind="call", occurred_at=aware(AS_OF - dt.timedelta(days=2)))
    MeetingFactory(account=root, kind="ebr", occurred_at=aware(AS_OF + dt.timedelta(days=2)))  # not yet
    assert collect().measure("days_since_exec_meeting", root.pk) == 75


def request(account, *, opened, first_due, first_at=None, resolve_due=None, resolved_at=None):
    return ServiceRequest.objects.create(
        account=account, opened_at=opened, first_response_due_at=first_due, first_response_at=first_at,
        resolution_due_at=resolve_due, resolved_at=resolved_at,
    )  # fmt: skip


def test_sla_attainment_counts_met_breached_and_pending_targets(group):
    """§4.11: due or met in T90 is eligible; open past target is breached; open not yet due is pending."""
    root, _ = group
    day = aware(AS_OF - dt.timedelta(days=10))
    hour = dt.timedelta(hours=1)
    request(
        root, opened=day, first_due=day + hour, first_at=day + hour / 2, resolve_due=day + 4 * hour, resolved_at=day + 5 * hour
    )
    request(root, opened=day, first_due=day + hour)  # breached, still open
    request(root, opened=aware(AS_OF), first_due=aware(AS_OF + dt.timedelta(days=1)))  # pending: excluded
    request(root, opened=aware(AS_OF), first_due=aware(AS_OF + dt.timedelta(days=1)), first_at=aware(AS_OF, 11))  # met early
    request(
        root, opened=aware(dt.date(2024, 1, 1)), first_due=aware(dt.date(2024, 1, 1), 11), first_at=aware(dt.date(2024, 1, 1), 12)
    )  # old
    # Eligible: first ×3 (met, breached, met early) + resolution ×1 (late) = 4; met 2.
    assert collect().measure("sla_attainment_t90", root.pk) == pytest.approx(50.0)


def test_renewals_falling_due_freeze_the_group(group, account_manager):
    root, child = group
    other = AccountFactory(owner=account_manager)
    ContractFactory(account=child, start_date=dt.date(2024, 9, 1), end_date=AS_OF + dt.timedelta(days=60))
    renewed = ContractFactory(account=other, start_date=dt.date(2024, 9, 1), end_date=AS_OF + dt.timedelta(days=60))
    ContractFactory(account=other, start_date=AS_OF + dt.timedelta(days=61), end_date=dt.date(2026, 12, 31), renewal_of=renewed)
    assert collect().open_renewal == {root.pk}


def test_groups_status_is_active_if_any_member_is_active(group, account_manager):
    root, _child = group
    root.__class__.objects.filter(pk=root.pk).update(status="churned")
    gone = AccountFactory(owner=account_manager, status="churned")
    data = collect()
    assert data.status == {root.pk: "active", gone.pk: "churned"}


def test_a_group_without_revenue_has_value_zero_not_missing(group):
    root, _ = group
    data = collect()
    assert data.measure("t12m_value", root.pk) == 0
    assert data.measure("days_beyond_terms_t180", root.pk) is None
    assert data.value_basis == "revenue"


@override_settings(KAM_FISCAL_YEAR_START_MONTH=4)
def test_fiscal_years_and_periods_follow_the_start_month():
    assert fiscal_year_of(dt.date(2025, 3, 31)) == 2024
    assert fiscal_year_of(dt.date(2025, 4, 1)) == 2025
    assert period_start(dt.date(2025, 5, 15), 3) == dt.date(2025, 4, 1)
    assert period_start(dt.date(2026, 2, 1), 3) == dt.date(2026, 1, 1)
    assert period_start(dt.date(2026, 2, 1), 6) == dt.date(2025, 10, 1)
    assert period_start(dt.date(2026, 2, 1), 12) == dt.date(2025, 4, 1)


def test_quarters_with_a_january_fiscal_year():
    assert period_start(dt.date(2025, 8, 15), 3) == dt.date(2025, 7, 1)
    assert period_start(dt.date(2025, 12, 31), 1) == dt.date(2025, 12, 1)
