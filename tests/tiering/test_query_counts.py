"""A full run costs the same number of queries for N and 5N groups (set-based, no query per account)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from service_plans.models import ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ContractFactory, ExchangeRateFactory, MeetingFactory
from tests.tiering.conftest import add_invoices, aware
from tiering import services
from tiering.recompute import scores_recompute
from tiering.selectors import health_explanation, tier_explanation

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2025, 6, 30)
N = 4


def portfolio(groups, owner):
    for year in range(2020, 2026):
        ExchangeRateFactory(currency="USD", year=year, rate_to_base=Decimal("7.1"))
    invoices = []
    for g in range(groups):
        root = AccountFactory(owner=owner, market_influence=1 + g % 5, wallet_estimate_amount=Decimal(5_000_000 + g))
        child = AccountFactory(owner=owner, parent=root, currency="USD")
        for year in range(2021, 2026):
            for account in (root, child):
                issued = dt.date(year, 3, 1 + g % 20)
                invoices.append({"account": account, "issued_on": issued, "amount": str(100_000 * (g + 1) + year), "currency": account.currency,
                                 "margin": str(20_000 + g), "paid_on": issued + dt.timedelta(days=30 + g % 40)})  # fmt: skip
        SurveyResponse.objects.create(
            account=child, kind="nps", score=g % 11, respondent_role="economic_buyer", responded_at=aware(dt.date(2025, 5, 1))
        )
        MeetingFactory(account=root, kind="qbr", occurred_at=aware(dt.date(2025, 4, 1)))
        ServiceRequest.objects.create(
            account=child,
            opened_at=aware(dt.date(2025, 6, 1)),
            first_response_due_at=aware(dt.date(2025, 6, 1), 12),
            first_response_at=aware(dt.date(2025, 6, 1), 11),
        )
        ContractFactory(account=root, start_date=dt.date(2024, 9, 1), end_date=dt.date(2025, 8, 31))
    add_invoices(invoices)
    return root


def run_counts(groups, owner, executive):
    last_root = portfolio(groups, owner)
    counts = []
    for as_of, part in (
        (AS_OF, "all"),
        (AS_OF + dt.timedelta(days=92), "all"),
        (AS_OF + dt.timedelta(days=93), "health"),
        (AS_OF + dt.timedelta(days=94), "tiers"),
    ):
        with CaptureQueriesContext(connection) as queries:
            scores_recompute(part=part, as_of=as_of)
        counts.append(len(queries))
    services.tier_override_set(
        account=last_root, tier="T1", reason="x", approved_by=executive, expires_on=dt.date.today() + dt.timedelta(days=9)
    )
    for selector in (tier_explanation, health_explanation):
        with CaptureQueriesContext(connection) as queries:
            selector(user=owner, account_id=last_root.pk)
        counts.append(len(queries))
    return counts


@pytest.mark.parametrize("groups", [N, 5 * N])
def test_query_count_does_not_grow_with_the_portfolio(groups, scoring_model, account_manager, executive):
    """Pinned: first run (nothing before), a run with history, a health-only run, a tiers-only run,
    then the two "why" selectors."""
    assert run_counts(groups, account_manager, executive) == EXPECTED


EXPECTED = [26, 28, 26, 23, 5, 4]
