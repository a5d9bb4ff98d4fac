"""The refresh after a change recomputes the changed groups only (``reports.engine.facts``) and
publishes exactly what a full recompute of the same data publishes."""

import datetime as dt
import random

import pytest
from django.db import connection

from accounts.demo import seed_demo
from accounts.models import Account, Contract, Invoice
from accounts.services import contract_update, invoice_update
from reports.models import KpiFactSet, KpiRefreshState, KpiValue
from reports.services import kpis_recompute
from tests.reports.builders import project, survey

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)
FIELDS = ("value", "numerator", "denominator", "n", "reason", "low_confidence", "is_partial", "target_status")


@pytest.fixture
def demo():
    seed_demo(accounts=150, seed=11, today=TODAY)
    rng = random.Random(4)
    for root in Account.objects.filter(parent__isnull=True).order_by("id"):
        Account.objects.filter(pk=root.pk).update(tier=rng.choice(["T1", "T2", "T3", "T4"]))
    kpis_recompute(as_of=TODAY)


def _snapshot() -> dict:
    return {
        (v["code"], v["period"], v["scope"]): tuple(v[f] for f in FIELDS)
        for v in KpiValue.objects.values("code", "period", "scope", *FIELDS)
    }


def _refresh():
    state = KpiRefreshState.objects.get(pk=1)
    return kpis_recompute(families=state.families, changed=state.changed, as_of=TODAY, trigger="change")


def _change_sources():
    contracts = Contract.objects.exclude(status="draft").filter(end_date__gte="2025-07-01").order_by("id")
    first = contracts[0]
    renewed = Contract.objects.filter(renewal_of__isnull=False).values("renewal_of")
    second = contracts.filter(renewal_of__isnull=True, superseded_by__isnull=True).exclude(pk__in=renewed).exclude(pk=first.pk)[0]
    contract_update(contract=first, annual_value=first.annual_value * 3)
    # A contract moved to an account of another group: both groups' sums move.
    other = (
        Account.objects.filter(parent__isnull=True)
        .exclude(pk=second.account.group_root_id or second.account_id)
        .order_by("id")
        .first()
    )
    contract_update(contract=second, account=other)
    unpaid = Invoice.objects.filter(paid_on__isnull=True, issued_on__gte="2026-01-01").order_by("id").first()
    invoice_update(invoice=unpaid, paid_on=TODAY)
    survey(other, "nps", 0, "2026-06-01", role="CEO")
    survey(other, "ces", 2, "2026-06-01")
    survey(first.account, "ces", 7, "2026-05-20")
    project(other, "customised_solution", "2026-01-10")


def test_a_refresh_of_the_changed_groups_publishes_what_a_full_recompute_does(demo, django_capture_on_commit_callbacks):
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        _change_sources()
    state = KpiRefreshState.objects.get(pk=1)
    assert state.changed["accounts"] and state.changed["contracts"]
    run = _refresh()
    # The additive families were refreshed group by group; only the changed groups' scopes moved.
    for family in ("retention", "renewals", "satisfaction", "receivables", "programme"):
        assert f"{family} (groups)" in run.timings
    refreshed = _snapshot()
    assert refreshed != before
    assert set(refreshed) == set(before)

    kpis_recompute(as_of=TODAY)  # the same data, from scratch
    full = _snapshot()
    assert {k: v for k, v in refreshed.items() if v != full[k]} == {}


def test_rows_kept_in_another_layout_are_not_used(demo, django_capture_on_commit_callbacks):
    # Rows written before the statement gained sums (e.g. CES): the refresh recomputes the family whole
    # and keeps rows in the new layout; the result is a full recompute's.
    KpiFactSet.objects.filter(part="satisfaction").update(
        names=["nps_accounts", "promoters", "detractors", "csat_n", "csat_satisfied"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        _change_sources()
    run = _refresh()
    assert "satisfaction" in run.timings and "satisfaction (groups)" not in run.timings
    assert "retention (groups)" in run.timings
    assert "ces_n" in KpiFactSet.objects.get(part="satisfaction").names
    refreshed = _snapshot()
    kpis_recompute(as_of=TODAY)
    assert _snapshot() == refreshed


def test_a_refresh_after_an_unknown_change_recomputes_the_families_whole(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account = Account.objects.filter(parent__isnull=True).order_by("id").first()
        account.region = "Far West"
        account.save()
    assert KpiRefreshState.objects.get(pk=1).changed is None
    run = _refresh()
    assert not any(name.endswith("(groups)") for name in run.timings)
    assert KpiValue.objects.filter(scope="region:Far West").exists()


def test_rows_lost_in_a_crash_are_not_used(demo, django_capture_on_commit_callbacks):
    # An unlogged table comes back empty after a crash: without its sentinel the refresh recomputes whole.
    table = KpiFactSet.objects.get(part="retention").table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    with django_capture_on_commit_callbacks(execute=True):
        first = Contract.objects.exclude(status="draft").order_by("id").first()
        contract_update(contract=first, annual_value=first.annual_value + 1)
    run = _refresh()
    assert "retention" in run.timings and "retention (groups)" not in run.timings
    refreshed = _snapshot()
    kpis_recompute(as_of=TODAY)
    assert _snapshot() == refreshed


def test_a_refresh_on_another_day_recomputes_whole():
    seed_demo(accounts=20, seed=3, today=TODAY)
    kpis_recompute(as_of=TODAY - dt.timedelta(days=1))
    first = Contract.objects.exclude(status="draft").order_by("id").first()
    run = kpis_recompute(families=["renewals"], changed={"accounts": [first.account_id], "contracts": [first.pk]}, as_of=TODAY)
    assert "renewals" in run.timings and "renewals (groups)" not in run.timings


def test_a_refresh_that_knows_no_changed_row_recomputes_whole():
    # E.g. families marked before the changed rows were recorded: nothing may be skipped.
    seed_demo(accounts=20, seed=3, today=TODAY)
    kpis_recompute(as_of=TODAY)
    run = kpis_recompute(families=["renewals"], changed={"accounts": [], "contracts": []}, as_of=TODAY)
    assert "renewals" in run.timings and "renewals (groups)" not in run.timings
