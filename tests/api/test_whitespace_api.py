"""``whitespace-cells/``: CRUD through the services, filters, visibility, If-Match, bad input by field."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from service_plans.models import WhitespaceCell
from service_plans.services import plans, whitespace
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/whitespace-cells/"


def _plan(owner, year=2026):
    return plans.plan_create(account=AccountFactory(owner=owner), fiscal_year=year)


def test_create_read_update_delete(manager_api, account_manager):
    plan = _plan(account_manager)
    payload = {
        "plan": plan.pk, "buying_centre": "Plant Shanghai", "offering": "Spare parts", "state": "owned",
        "our_annual_value": "100.00", "est_total_spend": "400.00", "competitor": "Rival AG",
    }  # fmt: skip
    response = manager_api.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["currency"], body["headroom"], body["version"], response["ETag"]) == ("CNY", "300.00", 1, '"1"')
    detail = f"{URL}{body['id']}/"
    response = manager_api.patch(detail, {"state": "pipeline"}, format="json", HTTP_IF_MATCH='"1"')
    assert (response.status_code, response.json()["state"], response["ETag"]) == (200, "pipeline", '"2"')
    response = manager_api.patch(detail, {"state": "gap"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    response = manager_api.patch(detail, {"plan": _plan(account_manager, 2027).pk}, format="json")
    assert response.status_code == 200 and response.json()["plan"] == plan.pk  # a cell stays on its plan
    response = manager_api.delete(detail, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412 and WhitespaceCell.objects.exists()
    response = manager_api.delete(detail, HTTP_IF_MATCH='"3"')
    assert response.status_code == 204 and not WhitespaceCell.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"our_annual_value": "-1"}, "our_annual_value"),
        ({"est_total_spend": "-0.01"}, "est_total_spend"),
        ({"state": "lost"}, "state"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"buying_centre": ""}, "buying_centre"),
        ({"offering": "   "}, "offering"),
        ({"headroom_bonus": 1}, "headroom_bonus"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(manager_api, account_manager, change, field):
    plan = _plan(account_manager)
    payload = {"plan": plan.pk, "buying_centre": "HQ", "offering": "Parts", **change}
    response = manager_api.post(URL, payload, format="json")
    assert (response.status_code, list(response.json())) == (400, [field])
    assert not WhitespaceCell.objects.exists()


def test_a_duplicate_is_a_409_on_the_offering(manager_api, account_manager):
    # API.md: 409 for conflicts with existing data, named on the field the user changes.
    plan = _plan(account_manager)
    whitespace.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Parts")
    response = manager_api.post(URL, {"plan": plan.pk, "buying_centre": "HQ", "offering": "Parts"}, format="json")
    assert (response.status_code, list(response.json())) == (409, ["offering"])
    other = whitespace.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Service")
    response = manager_api.patch(f"{URL}{other.pk}/", {"offering": "Parts"}, format="json")
    assert (response.status_code, list(response.json())) == (409, ["offering"])
    assert WhitespaceCell.objects.get(pk=other.pk).offering == "Service"
    # a duplicate together with another bad field is a 400 naming both: the request itself is wrong
    response = manager_api.post(
        URL, {"plan": plan.pk, "buying_centre": "HQ", "offering": "Parts", "currency": "XXX"}, format="json"
    )
    assert (response.status_code, sorted(response.json())) == (400, ["currency", "offering"])


def test_visibility_and_roles(manager_api, other_api, executive_api, admin_api, account_manager, other_manager):
    mine = whitespace.whitespace_cell_create(plan=_plan(account_manager), buying_centre="HQ", offering="Parts")
    theirs_plan = _plan(other_manager)
    theirs = whitespace.whitespace_cell_create(plan=theirs_plan, buying_centre="HQ", offering="Parts")
    assert [c["id"] for c in manager_api.get(URL).json()["results"]] == [mine.pk]
    assert manager_api.get(f"{URL}{theirs.pk}/").status_code == 404
    assert manager_api.patch(f"{URL}{theirs.pk}/", {"state": "owned"}, format="json").status_code == 404
    assert manager_api.delete(f"{URL}{theirs.pk}/").status_code == 404
    response = manager_api.post(URL, {"plan": theirs_plan.pk, "buying_centre": "X", "offering": "Y"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["plan"])
    assert other_api.get(f"{URL}{theirs.pk}/").status_code == 200
    assert {c["id"] for c in executive_api.get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert executive_api.patch(f"{URL}{mine.pk}/", {"state": "owned"}, format="json").status_code == 403
    assert executive_api.delete(f"{URL}{mine.pk}/").status_code == 403
    assert admin_api.delete(f"{URL}{theirs.pk}/").status_code == 204


def test_filters(manager_api, account_manager):
    plan = _plan(account_manager)
    other_plan = _plan(account_manager, 2027)
    a = whitespace.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Parts", state="owned")
    b = whitespace.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Service", state="gap")
    c = whitespace.whitespace_cell_create(
        plan=other_plan, buying_centre="HQ", offering="Parts", state="gap", est_total_spend=D(5)
    )

    def ids(**params):
        return sorted(row["id"] for row in manager_api.get(URL, params).json()["results"])

    assert ids(plan=plan.pk) == [a.pk, b.pk]
    assert ids(account=plan.account_id) == [a.pk, b.pk]
    assert ids(state="gap") == [b.pk, c.pk]
    assert ids(plan=plan.pk, state="gap") == [b.pk]
    assert manager_api.get(URL, {"state": "lost"}).status_code == 400
