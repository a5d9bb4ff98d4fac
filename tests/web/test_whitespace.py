"""The Whitespace part of the plan section (DOMAIN.md §7.2): the grid, headroom, add/edit/remove forms,
visibility (404) and permissions (403), field errors with nothing saved."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from service_plans.models import WhitespaceCell
from service_plans.services import plans as plan_services
from service_plans.services import whitespace as services
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _url(account):
    return reverse("web:account_detail", args=[account.pk])


def _plan(owner):
    return plan_services.plan_create(account=AccountFactory(owner=owner), fiscal_year=2026)


def test_grid_shows_states_values_and_headroom(manager_client, account_manager):
    plan = _plan(account_manager)
    services.whitespace_cell_create(
        plan=plan, buying_centre="Plant Shanghai", offering="Spare parts", state="owned",
        our_annual_value=D("100"), est_total_spend=D("400"), competitor="Rival AG",
    )  # fmt: skip
    services.whitespace_cell_create(
        plan=plan, buying_centre="Procurement HQ", offering="Training", state="gap", est_total_spend=D("250")
    )
    response = manager_client.get(_url(plan.account))
    grid = response.context["page"].plan.whitespace
    assert grid.offerings == ["Spare parts", "Training"]
    assert [(r.buying_centre, [c.state if c else None for _, c in r.slots]) for r in grid.rows] == [
        ("Plant Shanghai", ["owned", None]),
        ("Procurement HQ", [None, "gap"]),
    ]
    assert grid.headroom == {"CNY": D("550.00")}
    html = response.text
    assert 'id="whitespace-grid"' in html and 'data-state="owned"' in html and "Rival AG" in html
    assert 'data-headroom-currency="CNY"' in html and 'id="add-whitespace-cell"' in html
    assert html.count("data-delete-whitespace-cell=") == 2


def test_empty_whitespace_says_so(manager_client, account_manager):
    plan = _plan(account_manager)
    response = manager_client.get(_url(plan.account))
    assert response.context["page"].plan.whitespace.empty and 'id="no-whitespace"' in response.text


def test_add_edit_and_remove_a_cell_inline(manager_client, account_manager):
    plan = _plan(account_manager)
    url = reverse("web:whitespace_cell_create", args=[plan.pk])
    response = manager_client.get(url, {"buying_centre": "HQ", "offering": "Parts"}, headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.text and 'value="HQ"' in response.text
    data = {"buying_centre": "HQ", "offering": "Parts", "state": "gap", "our_annual_value": "0", "est_total_spend": "-5",
            "currency": "CNY"}  # fmt: skip
    response = manager_client.post(url, data, headers=HTMX)
    assert response.status_code == 422 and 'data-error-for="est_total_spend"' in response.text
    assert not WhitespaceCell.objects.exists()
    response = manager_client.post(url, {**data, "est_total_spend": "500"}, headers=HTMX)
    assert response.status_code == 204 and response["HX-Redirect"].endswith(_url(plan.account) + "#whitespace")
    cell = WhitespaceCell.objects.get()
    assert (cell.state, cell.est_total_spend, cell.currency) == ("gap", D("500"), "CNY")
    response = manager_client.post(url, {**data, "est_total_spend": "1"}, headers=HTMX)  # the same pair again
    assert response.status_code == 422 and 'data-error-for="offering"' in response.text
    edit = reverse("web:whitespace_cell_edit", args=[cell.pk])
    response = manager_client.post(edit, {**data, "state": "pipeline", "est_total_spend": "600", "version": 1}, headers=HTMX)
    assert response.status_code == 204
    cell.refresh_from_db()
    assert (cell.state, cell.version) == ("pipeline", 2)
    response = manager_client.post(edit, {**data, "state": "owned", "est_total_spend": "1", "version": 1}, headers=HTMX)
    assert response.status_code == 409  # someone saved in between
    delete = reverse("web:whitespace_cell_delete", args=[cell.pk])
    assert manager_client.post(delete, {"version": 1}, headers=HTMX).status_code == 409
    assert WhitespaceCell.objects.exists()
    assert manager_client.post(delete, {"version": 2}, headers=HTMX).status_code == 204
    assert not WhitespaceCell.objects.exists()


def test_forms_follow_visibility_and_permissions(client, account_manager, other_manager, executive):
    plan = _plan(account_manager)
    cell = services.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Parts")
    urls = [
        reverse("web:whitespace_cell_create", args=[plan.pk]),
        reverse("web:whitespace_cell_edit", args=[cell.pk]),
    ]
    delete = reverse("web:whitespace_cell_delete", args=[cell.pk])
    client.force_login(other_manager)
    assert [client.get(u).status_code for u in urls] == [404] * 2
    assert [client.post(u, {"buying_centre": "X"}).status_code for u in [*urls, delete]] == [404] * 3
    client.force_login(executive)  # reads every plan, edits none
    assert [client.get(u).status_code for u in urls] == [403] * 2
    assert client.post(delete, {"version": 1}).status_code == 403
    response = client.get(_url(plan.account))
    assert 'data-whitespace-cell="' in response.text and 'id="add-whitespace-cell"' not in response.text
    assert "data-delete-whitespace-cell" not in response.text
    assert WhitespaceCell.objects.filter(pk=cell.pk).exists()


@pytest.mark.parametrize("n", [2, 10])
def test_edit_form_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    plan = _plan(account_manager)
    cells = [services.whitespace_cell_create(plan=plan, buying_centre=f"C{i}", offering="Parts") for i in range(n)]
    # session, user, groups; the cell with its plan and account; permissions (2); currencies; the unread badge
    with django_assert_num_queries(8):
        assert manager_client.get(reverse("web:whitespace_cell_edit", args=[cells[-1].pk])).status_code == 200


def test_page_renders_in_chinese(manager_client, account_manager):
    plan = _plan(account_manager)
    services.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Parts", state="gap")
    response = manager_client.get(_url(plan.account), headers={"Accept-Language": "zh-hans"})
    assert "白区分析" in response.text and "增长空间" in response.text and "空白" in response.text
