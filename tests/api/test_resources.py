"""Each resource: a happy path, a validation error naming the field, the outsider's 404, and the
writable-field allow-list (computed and owner-only fields cannot be set from a payload)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account, Contact, Contract, ExchangeRate, Meeting
from service_plans.models import AccountTeamMember, SurveyResponse
from tests.factories import AccountFactory, ContactFactory, ContractFactory, ExchangeRateFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Accounts -------------------------------------------------------------------------------------


def test_account_fields_follow_the_contract(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    Account.objects.filter(pk=account.pk).update(tier="T1", value_score="78.00", health_score="66.00", health_band="yellow")
    body = manager_api.get(f"/api/v1/accounts/{account.pk}/").json()
    for name in [
        "id", "name", "parent", "owner", "industry", "region", "currency", "credit_rating", "payment_terms_days",
        "market_influence", "integration_potential", "status", "tier", "value_score", "health_score", "health_band",
    ]:  # fmt: skip
        assert name in body, name
    assert (body["tier"], body["value_score"], body["health_score"], body["health_band"]) == ("T1", "78.00", "66.00", "yellow")


def test_account_without_a_tier_serves_null(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    body = manager_api.get(f"/api/v1/accounts/{account.pk}/").json()
    assert (body["tier"], body["health_band"], body["value_score"]) == (None, None, None)


def test_computed_fields_cannot_be_set_from_a_payload(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.patch(
        f"/api/v1/accounts/{account.pk}/",
        {"name": "Renamed", "tier": "T1", "value_score": "99.00", "health_band": "green", "version": 42, "group": 7},
        format="json",
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.tier, account.value_score, account.health_band, account.version) == ("Renamed", "", None, "", 2)


def test_unknown_fields_are_refused_by_name(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.patch(f"/api/v1/accounts/{account.pk}/", {"nmae": "typo"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"nmae": ["Unknown field."]}


def test_account_validation_error_names_the_field(manager_api):
    response = manager_api.post("/api/v1/accounts/", {"name": "X", "currency": "XXX", "market_influence": 9}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "market_influence" in body
    assert not Account.objects.exists()


def test_service_validation_errors_keep_field_names(manager_api):
    """Errors raised by the service's full_clean (not the serializer) come back under the field."""
    response = manager_api.post("/api/v1/accounts/", {"name": "X", "currency": "ZZZ"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["currency"]


def test_manager_creates_accounts_for_themselves_only(manager_api, account_manager, other_manager):
    response = manager_api.post("/api/v1/accounts/", {"name": "Mine", "currency": "CNY"}, format="json")
    assert (response.status_code, response.json()["owner"]) == (201, account_manager.pk)
    response = manager_api.post(
        "/api/v1/accounts/", {"name": "Theirs", "currency": "CNY", "owner": other_manager.pk}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()


def test_manager_cannot_hand_an_account_over_but_an_admin_can(manager_api, admin_api, account_manager, other_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.patch(f"/api/v1/accounts/{account.pk}/", {"owner": other_manager.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    response = admin_api.patch(f"/api/v1/accounts/{account.pk}/", {"owner": other_manager.pk}, format="json")
    assert (response.status_code, response.json()["owner"]) == (200, other_manager.pk)


def test_parent_must_be_visible(manager_api, account_manager, other_manager):
    theirs = AccountFactory(owner=other_manager)
    response = manager_api.post("/api/v1/accounts/", {"name": "Sub", "currency": "CNY", "parent": theirs.pk}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["parent"][0]  # the same words as for a missing id


def test_hierarchy_cycle_is_a_400_on_parent(manager_api, account_manager):
    group = AccountFactory(owner=account_manager)
    child = AccountFactory(owner=account_manager, parent=group)
    response = manager_api.patch(f"/api/v1/accounts/{group.pk}/", {"parent": child.pk}, format="json")
    assert response.status_code == 400
    assert "subsidiaries" in response.json()["parent"][0]


def test_team_member_sees_the_account_and_what_hangs_off_it(api_client_for, account_manager):
    account = AccountFactory(owner=account_manager)
    contract = ContractFactory(account=account)
    colleague = UserFactory(role="Account manager")
    client = api_client_for(colleague)
    assert client.get(f"/api/v1/contracts/{contract.pk}/").status_code == 404
    AccountTeamMember.objects.create(account=account, user=colleague, role="service_lead")
    colleague = type(colleague).objects.get(pk=colleague.pk)
    assert api_client_for(colleague).get(f"/api/v1/contracts/{contract.pk}/").status_code == 200


def test_subsidiary_of_a_visible_group_is_visible(manager_api, account_manager, other_manager):
    group = AccountFactory(owner=account_manager)
    sub = AccountFactory(owner=other_manager, parent=group)
    assert manager_api.get(f"/api/v1/accounts/{sub.pk}/").status_code == 200


def test_filters_ordering_search_and_page_size(manager_api, account_manager):
    for name, status in [("Alpha", "active"), ("Beta", "prospect"), ("Gamma", "active")]:
        AccountFactory(owner=account_manager, name=name, status=status)
    body = manager_api.get("/api/v1/accounts/", {"status": "active", "ordering": "-name"}).json()
    assert [row["name"] for row in body["results"]] == ["Gamma", "Alpha"]
    body = manager_api.get("/api/v1/accounts/", {"search": "bet"}).json()
    assert [row["name"] for row in body["results"]] == ["Beta"]
    page = manager_api.get("/api/v1/accounts/", {"page_size": 2, "ordering": "name"}).json()
    assert [row["name"] for row in page["results"]] == ["Alpha", "Beta"] and page["previous"] is None
    rest = manager_api.get(page["next"]).json()
    assert [row["name"] for row in rest["results"]] == ["Gamma"] and rest["next"] is None


def test_page_size_is_capped_at_500(manager_api, account_manager, settings):
    from kam.api.pagination import CursorPagination

    assert CursorPagination.max_page_size == 500 == settings.KAM_API_MAX_PAGE_SIZE


def test_bad_filter_value_is_a_400(manager_api):
    response = manager_api.get("/api/v1/accounts/", {"status": "exploded"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_garbage_cursor_is_a_404_not_a_500(manager_api):
    response = manager_api.get("/api/v1/accounts/", {"cursor": "zzzz"})
    assert response.status_code == 404


def test_malformed_json_is_a_400_in_the_usual_shape(manager_api):
    response = manager_api.generic("POST", "/api/v1/accounts/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


def test_unknown_api_path_is_a_json_404(manager_api):
    response = manager_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- Contacts -------------------------------------------------------------------------------------


def test_contact_buying_roles_are_a_list_of_codes(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/contacts/",
        {"account": account.pk, "name": "Li Wei", "buying_roles": ["economic_buyer", "approver"], "influence": 5, "support": 2},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["buying_roles"] == ["approver", "economic_buyer"]
    contact = Contact.objects.get()
    response = manager_api.patch(f"/api/v1/contacts/{contact.pk}/", {"buying_roles": ["blocker"]}, format="json")
    assert response.json()["buying_roles"] == ["blocker"]
    assert list(contact.buying_roles.values_list("code", flat=True)) == ["blocker"]


def test_unknown_buying_role_is_refused(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/contacts/", {"account": account.pk, "name": "X", "buying_roles": ["king"]}, format="json"
    )
    assert response.status_code == 400 and "buying_roles" in response.json()


def test_contact_support_range_is_checked(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post("/api/v1/contacts/", {"account": account.pk, "name": "X", "support": 3}, format="json")
    assert response.status_code == 400 and "support" in response.json()


def test_manager_cannot_reach_contacts_of_another_managers_account(manager_api, other_manager):
    contact = ContactFactory(account=AccountFactory(owner=other_manager))
    assert manager_api.get(f"/api/v1/contacts/{contact.pk}/").status_code == 404
    assert manager_api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- Contracts, invoices ---------------------------------------------------------------------------


def test_contract_money_is_a_decimal_string_with_its_currency(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/contracts/",
        {"account": account.pk, "number": "C-1", "start_date": "2025-01-01", "end_date": "2025-12-31", "annual_value": "1250000.00", "currency": "CNY"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    assert (response.json()["annual_value"], response.json()["currency"]) == ("1250000.00", "CNY")


def test_contract_dates_are_checked_by_the_service(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/contracts/",
        {"account": account.pk, "number": "C-1", "start_date": "2025-06-01", "end_date": "2025-05-31", "annual_value": "1", "currency": "CNY"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"end_date": ["The end date cannot be before the start date."]}
    assert not Contract.objects.exists()


def test_invoice_contract_must_belong_to_the_account(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    contract = ContractFactory(account=AccountFactory(owner=account_manager))
    response = manager_api.post(
        "/api/v1/invoices/",
        {"account": account.pk, "contract": contract.pk, "number": "I-1", "issued_on": "2025-03-01", "due_on": "2025-03-31", "amount": "10.00", "currency": "CNY"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert list(response.json()) == ["contract"]


# --- Meetings -------------------------------------------------------------------------------------


def test_meeting_contacts_must_be_of_the_same_account(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    response = manager_api.post(
        "/api/v1/meetings/",
        {"account": account.pk, "kind": "qbr", "occurred_at": "2025-06-01T10:00:00+08:00", "contacts": [stranger.pk]},
        format="json",
    )
    assert response.status_code == 400 and "contacts" in response.json()
    assert not Meeting.objects.exists()


def test_meeting_records_who_created_it_and_can_be_edited(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    contact = ContactFactory(account=account)
    response = manager_api.post(
        "/api/v1/meetings/",
        {
            "account": account.pk,
            "kind": "qbr",
            "occurred_at": "2025-06-01T10:00:00+08:00",
            "contacts": [contact.pk],
            "summary": "QBR",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created_by"], body["contacts"]) == (account_manager.pk, [contact.pk])
    response = manager_api.patch(
        f"/api/v1/meetings/{body['id']}/", {"summary": "QBR, renewal discussed", "contacts": []}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["summary"], response.json()["contacts"]) == ("QBR, renewal discussed", [])


# --- Exchange rates -------------------------------------------------------------------------------


def test_exchange_rates_are_read_by_all_and_set_by_admins(manager_api, admin_api):
    rate = ExchangeRateFactory(currency="USD", year=2025)
    assert manager_api.get(f"/api/v1/exchange-rates/{rate.pk}/").json()["rate_to_base"] == "7.10000000"
    assert manager_api.patch(f"/api/v1/exchange-rates/{rate.pk}/", {"rate_to_base": "7.3"}, format="json").status_code == 403
    response = admin_api.patch(f"/api/v1/exchange-rates/{rate.pk}/", {"rate_to_base": "7.3", "year": 1999}, format="json")
    assert response.status_code == 200
    rate.refresh_from_db()
    assert (str(rate.rate_to_base), rate.year) == ("7.30000000", 2025)  # currency and year identify the rate


def test_second_rate_for_the_same_year_is_a_409(admin_api):
    ExchangeRateFactory(currency="USD", year=2025)
    response = admin_api.post("/api/v1/exchange-rates/", {"currency": "USD", "year": 2025, "rate_to_base": "7.2"}, format="json")
    assert response.status_code == 409
    assert "year" in response.json()
    assert ExchangeRate.objects.get().rate_to_base == ExchangeRateFactory._meta.model.objects.get().rate_to_base


# --- Service delivery -----------------------------------------------------------------------------


def test_survey_response_keeps_the_contacts_main_buying_role(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    contact = ContactFactory(account=account, buying_roles=["user_buyer", "economic_buyer"])
    response = manager_api.post(
        "/api/v1/survey-responses/",
        {"account": account.pk, "contact": contact.pk, "kind": "nps", "score": 9, "responded_at": "2025-06-01T10:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["respondent_role"] == "economic_buyer"


def test_survey_score_out_of_scale_names_the_field(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/survey-responses/",
        {"account": account.pk, "kind": "csat", "score": 9, "responded_at": "2025-06-01T10:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 400 and "score" in response.json()
    assert not SurveyResponse.objects.exists()


def test_service_request_sla_due_dates_are_read_only(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/service-requests/",
        {
            "account": account.pk,
            "priority": "p1",
            "opened_at": "2025-06-01T10:00:00+08:00",
            "resolution_due_at": "2025-06-01T11:00:00+08:00",
        },
        format="json",
    )
    assert response.status_code == 201
    # Computed by the SLA clock from the tier's standard, whatever the payload said.
    assert response.json()["resolution_due_at"] != "2025-06-01T11:00:00+08:00"


def test_resolution_before_opening_is_refused(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/service-requests/",
        {
            "account": account.pk,
            "priority": "p1",
            "opened_at": "2025-06-02T10:00:00+08:00",
            "resolved_at": "2025-06-01T10:00:00+08:00",
        },
        format="json",
    )
    assert response.status_code == 400 and "resolved_at" in response.json()


def test_escalation_request_must_be_of_the_same_account(manager_api, account_manager):
    from service_plans.services import sla

    account = AccountFactory(owner=account_manager)
    other_request = sla.service_request_create(
        account=AccountFactory(owner=account_manager), priority="p3", opened_at=timezone.now()
    )
    response = manager_api.post(
        "/api/v1/escalations/",
        {"account": account.pk, "service_request": other_request.pk, "title": "Outage", "opened_at": "2025-06-01T10:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 400 and "service_request" in response.json()


def test_project_end_before_start_is_refused(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/projects/",
        {"account": account.pk, "name": "P", "started_on": "2025-06-01", "ended_on": "2025-05-01"},
        format="json",
    )
    assert response.status_code == 400 and "ended_on" in response.json()


def test_adding_a_team_member_twice_is_a_409(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    colleague = UserFactory()
    payload = {"account": account.pk, "user": colleague.pk, "role": "finance"}
    assert manager_api.post("/api/v1/team-members/", payload, format="json").status_code == 201
    response = manager_api.post("/api/v1/team-members/", {**payload, "role": "delivery"}, format="json")
    assert response.status_code == 409
    assert AccountTeamMember.objects.count() == 1


def test_team_member_account_and_user_cannot_be_changed(manager_api, account_manager):
    member = AccountTeamMember.objects.create(
        account=AccountFactory(owner=account_manager), user=UserFactory(), role="finance", since=dt.date(2025, 1, 1)
    )
    response = manager_api.patch(
        f"/api/v1/team-members/{member.pk}/", {"role": "delivery", "user": account_manager.pk}, format="json"
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert (member.role, member.user_id != account_manager.pk) == ("delivery", True)


def test_other_unknown_paths_keep_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_session_writes_need_the_csrf_token(account_manager):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(account_manager)
    assert browser.get("/api/v1/accounts/").status_code == 200
    response = browser.post("/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("occurred_at", "9999-12-31T20:00:00Z"), ("occurred_at", "0003-01-03T00:00:01Z")],
)
def test_datetimes_outside_the_business_window_are_a_400(manager_api, account_manager, field, value):
    """9999-12-31T20:00Z is valid in UTC but has no local-time form: stored, it would break every list."""
    account = AccountFactory(owner=account_manager)
    response = manager_api.post("/api/v1/meetings/", {"account": account.pk, "kind": "call", field: value}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert manager_api.get("/api/v1/meetings/").status_code == 200


def test_renewing_at_the_end_of_time_cannot_overflow(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    body = {
        "account": account.pk,
        "number": "C-END",
        "start_date": "2025-01-01",
        "end_date": "9999-12-31",
        "annual_value": "1",
        "currency": "CNY",
    }
    response = manager_api.post("/api/v1/contracts/", body, format="json")
    assert response.status_code == 400 and "end_date" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        {"renewal_due_within": "99999999999"},  # would overflow a timedelta
        {"renewal_due_within": "-1"},
        {"owner": "99999999999999999999"},
        {"status": "exploded"},
    ],
)
def test_out_of_range_filter_values_are_a_400(manager_api, query):
    response = manager_api.get("/api/v1/accounts/", query)
    assert response.status_code == 400 and set(response.json()) == set(query)
