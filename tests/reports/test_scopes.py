"""Scopes add up: for additive KPIs the parts of the tier, owner and region scopes sum to the
company's; and a full run costs the same number of queries for N and 5N accounts."""

import datetime as dt
import random
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.demo import seed_demo
from accounts.models import Account
from reports.models import KpiValue
from reports.services import kpis_recompute
from tests.reports.builders import bulk_portfolio, owner

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)

# KPIs whose numerator and denominator are sums over groups (medians, rankings, ratios of ratios
# and changes are not).
ADDITIVE = [
    "grr", "nrr", "logo_churn", "renewal_rate_logo", "renewal_rate_logo_eventual", "renewal_rate_value_gross",
    "renewal_rate_value_net", "renewal_rate_value_gross_eventual", "renewal_rate_value_net_eventual", "nps", "csat",
    "ces", "ces_easy",
    "dso", "avg_days_to_pay", "days_beyond_terms", "overdue_ratio", "bad_debt_ratio", "sla_attainment",
    "customised_solution_coverage", "joint_innovation_share", "top5_share", "top1_share", "top10_share", "tier_share_t1",
    "tier_share_t2",
]  # fmt: skip


@pytest.fixture
def tiered_demo():
    seed_demo(accounts=150, seed=11, today=TODAY)
    rng = random.Random(4)
    for root in Account.objects.filter(parent__isnull=True).order_by("id"):
        Account.objects.filter(pk=root.pk).update(tier=rng.choice(["T1", "T2", "T3", "T4"]))
    kpis_recompute(as_of=TODAY)


@pytest.mark.parametrize("prefix", ["tier:", "owner:", "region:"])
def test_additive_kpis_of_every_scope_kind_sum_to_the_company(tiered_demo, prefix):
    rows = KpiValue.objects.filter(code__in=ADDITIVE).values_list("code", "period", "scope", "numerator", "denominator")
    company, parts = {}, {}
    for code, period, scope, numerator, denominator in rows:
        if scope == "company":
            company[(code, period)] = (numerator, denominator)
        elif scope.startswith(prefix):
            n, d = parts.get((code, period), (D(0), D(0)))
            parts[(code, period)] = (n + numerator, d + denominator)
    assert len(company) == len(ADDITIVE) * 18
    checked = 0
    for key, (numerator, denominator) in company.items():
        # The top-N shares add up in their denominator (revenue) only.
        assert parts[key][1] == denominator, key
        if key[0] not in ("top1_share", "top5_share", "top10_share"):
            assert parts[key][0] == numerator, key
        checked += denominator > 0
    assert checked > len(company) / 2  # most of them carry data


def test_a_full_run_costs_the_same_queries_for_n_and_5n_accounts():
    owners = [owner("am_a"), owner("am_b")]
    shape = {"owners": owners, "regions": ["East China", "North China"], "tiers": ["T1", "T2", "T3", "T4"]}
    bulk_portfolio(20, **shape)
    with CaptureQueriesContext(connection) as small:
        kpis_recompute(as_of=TODAY)
    bulk_portfolio(80, **shape)
    with CaptureQueriesContext(connection) as large:
        run = kpis_recompute(as_of=TODAY)
    assert Account.objects.count() == 100
    assert len(large) == len(small)
    assert run.value_count == KpiValue.objects.count()
    assert len(large) < 40, [q["sql"][:80] for q in large.captured_queries]
