"""Readers get the published snapshot without recomputing, within what they may see."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from reports import selectors
from reports.models import KpiTarget
from tests.reports.builders import account, contract, invoice, run

pytestmark = pytest.mark.django_db
M = 1_000_000


@pytest.fixture
def published(account_manager, other_manager):
    mine = account(owner_name=account_manager.username, tier="T1")
    contract(mine, "2024-01-01", "2026-12-31", M)
    invoice(mine, "2025-02-01", M)
    theirs = account(owner_name=other_manager.username, region="North China", tier="T2")
    invoice(theirs, "2025-05-01", 2 * M)
    run(["2025-01", "2025-02", "2025-Q1", "2025"], "2026-02-01")


def test_kpi_values_filter_and_carry_the_api_fields(published, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = selectors.kpi_value_dicts(code="dso", period="2025-Q1", scope="company")
    assert len(rows) == 1
    assert tuple(rows[0]) == ("code", "period", "scope", "value", "numerator", "denominator", "reason", "computed_at")
    assert rows[0]["numerator"] == M and rows[0]["denominator"] == M
    assert isinstance(rows[0]["computed_at"], dt.datetime)
    by_list = selectors.kpi_values(codes=["grr", "nrr"], periods=["2025"], scopes=["company", "tier:T1"])
    assert {(v.code, v.scope) for v in by_list} == {
        ("grr", "company"),
        ("nrr", "company"),
        ("grr", "tier:T1"),
        ("nrr", "tier:T1"),
    }


def test_an_account_manager_reads_only_their_own_book(published, account_manager, executive):
    mine = selectors.kpi_values(user=account_manager, code="dso", period="2025-Q1")
    assert [v.scope for v in mine] == [f"owner:{account_manager.username}"]
    assert selectors.kpi_scopes(user=account_manager) == [f"owner:{account_manager.username}"]
    everything = selectors.kpi_scopes(user=executive)
    assert everything[:5] == ["company", "tier:T1", "tier:T2", "tier:T3", "tier:T4"]
    assert "owner:am_other" in everything and "region:North China" in everything


def test_board_series_periods_and_latest_run(published, django_assert_num_queries):
    with django_assert_num_queries(1):
        board = selectors.kpi_board(period="2025-Q1")
    assert board["dso"].value == 90  # AR 1,000,000 / sales 1,000,000 × 90 days
    series = selectors.kpi_series(code="dso", period_kind="month")
    assert [v.period for v in series] == ["2025-01", "2025-02"]
    # Newest first; periods starting the same day from the finest.
    assert [p["period"] for p in selectors.kpi_periods()] == ["2025-02", "2025-01", "2025-Q1", "2025"]
    assert selectors.kpi_latest_run().value_count > 0


def test_group_tiers_on_a_date_come_from_the_one_tier_fragment(account_manager):
    parent = account(tier="T2")
    account(parent=parent)  # a subsidiary is not a group of its own
    untiered = account()
    tiers = selectors.group_tiers_on(dt.date(2025, 1, 1))
    assert tiers[parent.pk] == "T2"
    assert untiered.pk not in tiers
    assert len(tiers) == 1


def test_admin_lists_kpi_values_within_the_reader_scope(published, client, account_manager, executive):
    url = reverse("admin:reports_kpivalue_changelist") + "?code__exact=dso&period=2025-Q1"
    client.force_login(account_manager)
    page = client.get(url)
    assert page.status_code == 200
    assert "owner:am_owner" in page.text and "owner:am_other" not in page.text
    client.force_login(executive)
    assert "owner:am_other" in client.get(url).text


def test_an_executive_sets_a_target_in_the_admin_and_statuses_follow(published, client, executive, account_manager):
    client.force_login(account_manager)
    assert client.get(reverse("admin:reports_kpitarget_add")).status_code == 403
    client.force_login(executive)
    response = client.post(
        reverse("admin:reports_kpitarget_add"),
        {"code": "dso", "scope": "", "period": "", "target_value": "45", "direction": "lower", "tolerance": "", "note": ""},
    )
    assert response.status_code == 302, response.text
    target = KpiTarget.objects.get()
    assert (target.target_value, target.created_by) == (D(45), executive)
    assert selectors.kpi_board(period="2025-Q1")["dso"].target_status == "missed"
    bad = client.post(
        reverse("admin:reports_kpitarget_add"),
        {"code": "dso", "scope": "team:x", "period": "", "target_value": "45", "direction": "lower"},
    )
    assert bad.status_code == 200 and "Unknown scope" in bad.text


def test_group_tiers_on_a_date_read_the_tier_history():
    from tiering.models import TierAssignment

    group = account(tier="T1")
    TierAssignment.objects.create(account=group, tier="T3", valid_from="2024-01-01", valid_to="2025-01-01", reason="initial")
    TierAssignment.objects.create(account=group, tier="T1", valid_from="2025-01-01", reason="promoted")
    assert selectors.group_tiers_on(dt.date(2023, 6, 1))[group.pk] == "T3"  # before the first: the first
    assert selectors.group_tiers_on(dt.date(2024, 12, 31))[group.pk] == "T3"
    assert selectors.group_tiers_on(dt.date(2025, 1, 1))[group.pk] == "T1"
