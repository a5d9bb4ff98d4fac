"""Whitespace cells of a plan (DOMAIN.md §7.2): constraints, services, visibility and headroom."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kam.errors import StaleVersion
from service_plans.models import WhitespaceCell
from service_plans.selectors import whitespace_headroom
from service_plans.services import plans
from service_plans.services import whitespace as services
from tests.factories import AccountFactory, ExchangeRateFactory

pytestmark = pytest.mark.django_db


def _plan(**account_fields):
    return plans.plan_create(account=AccountFactory(**account_fields), fiscal_year=2026)


def _cell(plan, centre="Plant Shanghai", offering="Spare parts", **fields):
    return services.whitespace_cell_create(plan=plan, buying_centre=centre, offering=offering, **fields)


# --- Model constraints ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("our_annual_value", D("-1")), ("est_total_spend", D("-0.01")), ("state", "lost"), ("currency", "")],
)
def test_database_refuses_what_breaks_the_rules(field, value):
    cell = _cell(_plan())
    with pytest.raises(IntegrityError), transaction.atomic():
        WhitespaceCell.objects.filter(pk=cell.pk).update(**{field: value})


def test_database_refuses_a_second_cell_for_the_same_centre_and_offering():
    cell = _cell(_plan())
    with pytest.raises(IntegrityError), transaction.atomic():
        WhitespaceCell.objects.create(plan=cell.plan, buying_centre=cell.buying_centre, offering=cell.offering, currency="CNY")


# --- Services ---------------------------------------------------------------------------------------


def test_create_defaults_the_currency_to_the_accounts_and_strips_names():
    ExchangeRateFactory(currency="USD", year=2026)
    plan = _plan(currency="USD")
    cell = _cell(plan, centre="  Plant Shanghai ", state="owned", our_annual_value=D("100"), est_total_spend=D("400"))
    assert (cell.currency, cell.buying_centre, cell.version, cell.state) == ("USD", "Plant Shanghai", 1, "owned")


def test_create_refuses_bad_input_by_field():
    plan = _plan()
    for fields, name in [
        ({"our_annual_value": D("-5")}, "our_annual_value"),
        ({"est_total_spend": D("-5")}, "est_total_spend"),
        ({"state": "lost"}, "state"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XYZ"}, "currency"),  # no exchange rate
    ]:
        with pytest.raises(ValidationError) as exc:
            _cell(plan, **fields)
        assert name in exc.value.message_dict, fields
    with pytest.raises(ValidationError) as exc:
        _cell(plan, centre="  ")
    assert "buying_centre" in exc.value.message_dict
    assert not WhitespaceCell.objects.exists()
    with pytest.raises(TypeError):
        _cell(plan, version=3)


def test_a_duplicate_is_refused_on_the_offering():
    plan = _plan()
    _cell(plan)
    with pytest.raises(ValidationError) as exc:
        _cell(plan, centre="Plant Shanghai ")
    assert list(exc.value.message_dict) == ["offering"]
    other = _cell(plan, offering="Service contracts")
    with pytest.raises(ValidationError) as exc:
        services.whitespace_cell_update(cell=other, offering="Spare parts")
    assert list(exc.value.message_dict) == ["offering"]
    assert _cell(_plan()).offering == "Spare parts"  # another plan may map the same pair


def test_update_bumps_the_version_and_refuses_a_stale_one():
    cell = _cell(_plan())
    updated = services.whitespace_cell_update(cell=cell, expected_version=1, state="pipeline", competitor="Rival AG")
    assert (updated.version, updated.state, updated.competitor) == (2, "pipeline", "Rival AG")
    with pytest.raises(StaleVersion):
        services.whitespace_cell_update(cell=cell, expected_version=1, state="owned")
    assert WhitespaceCell.objects.get(pk=cell.pk).state == "pipeline"
    with pytest.raises(TypeError):
        services.whitespace_cell_update(cell=cell, plan=_plan())  # a cell stays on its plan


def test_delete_checks_the_version():
    cell = _cell(_plan())
    services.whitespace_cell_update(cell=cell, notes="Checked with procurement")
    with pytest.raises(StaleVersion):
        services.whitespace_cell_delete(cell=cell, expected_version=1)
    services.whitespace_cell_delete(cell=cell, expected_version=2)
    assert not WhitespaceCell.objects.exists()


def test_cells_are_visible_through_the_plans_account(account_manager, other_manager, executive):
    mine = _cell(plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026))
    theirs = _cell(plans.plan_create(account=AccountFactory(owner=other_manager), fiscal_year=2026))
    assert list(WhitespaceCell.objects.visible_to(account_manager)) == [mine]
    assert list(WhitespaceCell.objects.visible_to(other_manager)) == [theirs]
    assert set(WhitespaceCell.objects.visible_to(executive)) == {mine, theirs}


# --- Headroom ---------------------------------------------------------------------------------------


def test_headroom_worked_example():
    """Σ max(0, spend − ours): 300 + 0 (we have more than the estimate) + 250 + 80 + 0 = 630."""
    ExchangeRateFactory(currency="USD", year=2026)
    plan = _plan()
    _cell(plan, "Plant Shanghai", "Spare parts", state="owned", our_annual_value=D("100"), est_total_spend=D("400"))
    _cell(plan, "Plant Shanghai", "Service contracts", state="owned", our_annual_value=D("500"), est_total_spend=D("300"))
    _cell(plan, "Plant Suzhou", "Spare parts", state="gap", est_total_spend=D("250"))
    _cell(plan, "Procurement HQ", "Training", state="pipeline", our_annual_value=D("20"), est_total_spend=D("100"))
    _cell(plan, "Procurement HQ", "Spare parts", state="not_eligible")
    _cell(plan, "Export desk", "Spare parts", state="gap", est_total_spend=D("70.50"), currency="USD")
    empty = _plan()
    result = whitespace_headroom(plan_ids=[plan.pk, empty.pk])
    assert result == {plan.pk: {"CNY": D("630.00"), "USD": D("70.50")}}


def test_headroom_is_one_query_for_many_plans(django_assert_num_queries):
    plan_list = [_plan() for _ in range(5)]
    for i, plan in enumerate(plan_list):
        _cell(plan, est_total_spend=D(100 * (i + 1)), our_annual_value=D("50"))
    with django_assert_num_queries(1):
        result = whitespace_headroom(plan_ids=[p.pk for p in plan_list])
    assert [result[p.pk]["CNY"] for p in plan_list] == [D("50"), D("150"), D("250"), D("350"), D("450")]


# --- Admin ------------------------------------------------------------------------------------------


def test_admin_shows_visible_cells_and_saves_through_the_service(client, account_manager, other_manager, admin_user):
    from django.urls import reverse

    mine = _cell(plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026))
    theirs = _cell(plans.plan_create(account=AccountFactory(owner=other_manager), fiscal_year=2026))
    client.force_login(account_manager)
    assert client.get(reverse("admin:service_plans_whitespacecell_change", args=[theirs.pk])).status_code in {302, 404}
    client.force_login(admin_user)
    url = reverse("admin:service_plans_whitespacecell_change", args=[mine.pk])
    data = {
        "buying_centre": mine.buying_centre, "offering": mine.offering, "state": "owned", "our_annual_value": "10",
        "est_total_spend": "20", "currency": "CNY", "competitor": "", "notes": "",
    }  # fmt: skip
    assert client.post(url, data).status_code == 302
    mine.refresh_from_db()
    assert (mine.state, mine.version) == ("owned", 2)
    delete = reverse("admin:service_plans_whitespacecell_delete", args=[mine.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not WhitespaceCell.objects.filter(pk=mine.pk).exists()
