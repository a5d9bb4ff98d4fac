"""Create/edit forms: saved through the services, errors per field, stale versions refused, nothing
half-saved, htmx partials, and the visibility rule (404) and permissions (403) on every form."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Account, Contact, Contract, Invoice, Meeting
from service_plans.models import AccountTeamMember
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    InvoiceFactory,
    MeetingFactory,
    TeamMemberFactory,
    UserFactory,
)
from tests.web.conftest import ensure_buying_roles

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager, name="Acme")


def contract_data(contract, **overrides):
    data = {
        "number": contract.number,
        "title": contract.title,
        "status": contract.status,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
        "annual_value": str(contract.annual_value),
        "currency": contract.currency,
        "escalator_pct": "0",
        "version": contract.version,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Contracts: the full flow ---------------------------------------------------------------------


def test_edit_contract_saves_through_the_service_and_bumps_the_version(manager_client, account, account_manager):
    contract = ContractFactory(account=account)
    url = reverse("web:contract_edit", args=[contract.pk])
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(url, contract_data(contract, annual_value="1234567.89", end_date="2026-06-30"))
    assert response.status_code == 302
    assert response["Location"].endswith(reverse("web:account_detail", args=[account.pk]) + "#contracts")
    contract.refresh_from_db()
    assert contract.annual_value == Decimal("1234567.89") and contract.end_date == dt.date(2026, 6, 30)
    assert contract.version == 2
    assert contract.history.first().history_user == account_manager


def test_end_before_start_is_an_error_on_the_end_date_and_nothing_is_saved(manager_client, account):
    contract = ContractFactory(account=account)
    url = reverse("web:contract_edit", args=[contract.pk])
    response = manager_client.post(url, contract_data(contract, start_date="2025-06-01", end_date="2025-05-01", title="Changed"))
    assert response.status_code == 422
    assert response.context["form"].errors["end_date"] == ["The end date cannot be before the start date."]
    assert 'data-error-for="end_date"' in response.text
    contract.refresh_from_db()
    assert contract.title == "" and contract.version == 1


def test_htmx_submit_with_an_error_returns_only_the_form(manager_client, account):
    contract = ContractFactory(account=account)
    url = reverse("web:contract_edit", args=[contract.pk])
    response = manager_client.post(url, contract_data(contract, annual_value="-5"), headers=HTMX)
    assert response.status_code == 422
    assert "<html" not in response.text and 'id="edit-form"' in response.text
    assert "annual_value" in response.context["form"].errors


def test_htmx_live_validation_checks_without_saving(manager_client, account):
    contract = ContractFactory(account=account)
    url = reverse("web:contract_edit", args=[contract.pk])
    data = contract_data(contract, end_date="2024-01-01", _validate="end_date")
    response = manager_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    assert 'id="field-end_date"' in response.text and "The end date cannot be before the start date." in response.text
    ok = manager_client.post(url, contract_data(contract, title="Not saved", _validate="title"), headers=HTMX)
    assert ok.status_code == 200 and not ok.context["form"].errors
    contract.refresh_from_db()
    assert contract.title == "" and contract.version == 1


def test_htmx_success_redirects_with_a_header(manager_client, account):
    contract = ContractFactory(account=account)
    response = manager_client.post(
        reverse("web:contract_edit", args=[contract.pk]), contract_data(contract, title="Via htmx"), headers=HTMX
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].endswith("#contracts")


def test_a_stale_version_is_refused_with_a_message(manager_client, account):
    contract = ContractFactory(account=account)
    services.contract_update(contract=contract, title="Someone else")  # version 2 now
    response = manager_client.post(
        reverse("web:contract_edit", args=[contract.pk]), contract_data(contract, version=1, title="Mine")
    )
    assert response.status_code == 409
    assert "Someone else changed this record" in response.text
    contract.refresh_from_db()
    assert contract.title == "Someone else" and contract.version == 2


def test_duplicate_contract_number_is_a_field_error(manager_client, account):
    ContractFactory(account=account, number="DUP-1")
    response = manager_client.post(
        reverse("web:contract_create", args=[account.pk]),
        {
            "number": "DUP-1",
            "status": "active",
            "start_date": "2025-01-01",
            "end_date": "2025-12-31",
            "annual_value": "10",
            "currency": "CNY",
            "escalator_pct": "0",
        },
    )
    assert response.status_code == 422 and "number" in response.context["form"].errors
    assert Contract.objects.filter(number="DUP-1").count() == 1


def test_create_contract(manager_client, account):
    response = manager_client.post(
        reverse("web:contract_create", args=[account.pk]),
        {
            "number": "NEW-1",
            "status": "active",
            "start_date": "2025-01-01",
            "end_date": "2025-12-31",
            "annual_value": "10",
            "currency": "CNY",
            "escalator_pct": "0",
        },
    )
    assert response.status_code == 302
    assert Contract.objects.get(number="NEW-1").account == account


# --- Visibility and permissions on every form -----------------------------------------------------


def _form_urls(account):
    contact = ContactFactory(account=account)
    contract = ContractFactory(account=account)
    invoice = InvoiceFactory(account=account)
    meeting = MeetingFactory(account=account)
    member = TeamMemberFactory(account=account)
    return [
        reverse("web:account_edit", args=[account.pk]),
        reverse("web:contact_create", args=[account.pk]),
        reverse("web:contact_edit", args=[contact.pk]),
        reverse("web:contract_create", args=[account.pk]),
        reverse("web:contract_edit", args=[contract.pk]),
        reverse("web:invoice_create", args=[account.pk]),
        reverse("web:invoice_edit", args=[invoice.pk]),
        reverse("web:meeting_create", args=[account.pk]),
        reverse("web:meeting_edit", args=[meeting.pk]),
        reverse("web:team_member_create", args=[account.pk]),
        reverse("web:team_member_edit", args=[member.pk]),
    ]


def test_every_form_is_a_404_for_another_manager(client, account, other_manager):
    urls = _form_urls(account)
    client.force_login(other_manager)
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url


def test_every_form_opens_for_the_owner(manager_client, account):
    for url in _form_urls(account):
        assert manager_client.get(url).status_code == 200, url
    assert manager_client.get(reverse("web:account_create")).status_code == 200


def test_an_executive_may_read_but_not_edit(client, account, executive):
    urls = _form_urls(account)
    client.force_login(executive)
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("web:account_create")).status_code == 403


def test_forms_require_login_and_csrf(client, account, account_manager):
    url = reverse("web:account_edit", args=[account.pk])
    assert client.get(url).status_code == 302
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(account_manager)
    assert strict.post(url, {"name": "x"}).status_code == 403


# --- Accounts, contacts, invoices, meetings, team -------------------------------------------------


def account_data(account, **overrides):
    data = {
        "name": account.name,
        "owner": account.owner_id,
        "status": account.status,
        "industry": account.industry,
        "region": account.region,
        "currency": account.currency,
        "credit_rating": account.credit_rating,
        "payment_terms_days": account.payment_terms_days,
        "version": account.version,
    }
    data.update(overrides)
    return data


def test_create_account_with_a_parent(manager_client, account, account_manager):
    response = manager_client.post(
        reverse("web:account_create"),
        {
            "name": "Acme Shanghai",
            "owner": account_manager.pk,
            "status": "active",
            "industry": "retail",
            "currency": "CNY",
            "payment_terms_days": 45,
            "parent": account.pk,
        },
    )
    assert response.status_code == 302
    child = Account.objects.get(name="Acme Shanghai")
    assert child.parent == account and child.group_root_id == account.pk


def test_account_cannot_move_under_its_own_subsidiary(manager_client, account, account_manager):
    child = AccountFactory(owner=account_manager, parent=account)
    response = manager_client.post(reverse("web:account_edit", args=[account.pk]), account_data(account, parent=child.pk))
    assert response.status_code == 422 and "parent" in response.context["form"].errors
    account.refresh_from_db()
    assert account.parent_id is None


def test_parent_must_be_visible(manager_client, account, other_manager):
    hidden = AccountFactory(owner=other_manager)
    response = manager_client.post(reverse("web:account_edit", args=[account.pk]), account_data(account, parent=hidden.pk))
    assert response.status_code == 422 and "parent" in response.context["form"].errors


def test_unknown_currency_is_refused(manager_client, account):
    response = manager_client.post(reverse("web:account_edit", args=[account.pk]), account_data(account, currency="XYZ"))
    assert response.status_code == 422 and "currency" in response.context["form"].errors


def test_account_picker_lookup_lists_visible_matches_except_own_subtree(manager_client, account, account_manager, other_manager):
    child = AccountFactory(owner=account_manager, name="Acme Child", parent=account)
    AccountFactory(owner=account_manager, name="Acme Other")
    AccountFactory(owner=other_manager, name="Acme Hidden")
    response = manager_client.get(reverse("web:account_lookup") + f"?q=acme&exclude={account.pk}")
    assert response.status_code == 200
    assert "Acme Other" in response.text
    assert "Acme Hidden" not in response.text and "Acme Child" not in response.text and f'value="{child.pk}"' not in response.text


def test_contact_with_buying_roles_and_manager(manager_client, account):
    ensure_buying_roles()
    boss = ContactFactory(account=account, name="Boss")
    response = manager_client.post(
        reverse("web:contact_create", args=[account.pk]),
        {
            "name": "Report",
            "buying_roles": ["economic_buyer", "coach_champion"],
            "influence": 4,
            "support": 1,
            "coverage": "brief",
            "political_status": "outside",
            "reports_to": boss.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(name="Report")
    assert contact.reports_to == boss
    assert sorted(contact.buying_roles.values_list("code", flat=True)) == ["coach_champion", "economic_buyer"]


def test_contact_errors_per_field(manager_client, account):
    ContactFactory(account=account, email="taken@example.com")
    response = manager_client.post(
        reverse("web:contact_create", args=[account.pk]),
        {
            "name": "",
            "email": "TAKEN@example.com",
            "influence": 9,
            "support": 0,
            "coverage": "brief",
            "political_status": "outside",
            "is_active": "on",
            "left_on": "2025-01-01",
        },
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"name", "influence", "left_on"} <= set(errors)
    assert Contact.objects.filter(account=account).count() == 1


def test_contact_manager_must_be_of_the_same_account(manager_client, account, account_manager):
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    response = manager_client.post(
        reverse("web:contact_create", args=[account.pk]),
        {
            "name": "X",
            "influence": 3,
            "support": 0,
            "coverage": "brief",
            "political_status": "outside",
            "is_active": "on",
            "reports_to": stranger.pk,
        },
    )
    assert response.status_code == 422 and "reports_to" in response.context["form"].errors


def test_invoice_edit_and_bad_dates(manager_client, account):
    invoice = InvoiceFactory(account=account)
    url = reverse("web:invoice_edit", args=[invoice.pk])
    base = {
        "number": invoice.number,
        "issued_on": "2025-03-01",
        "due_on": "2025-03-31",
        "amount": "100",
        "currency": "CNY",
        "written_off_amount": "0",
        "version": 1,
    }
    bad = manager_client.post(url, {**base, "paid_on": "2025-02-01"})
    assert bad.status_code == 422 and "paid_on" in bad.context["form"].errors
    good = manager_client.post(url, {**base, "paid_on": "2025-04-02"})
    assert good.status_code == 302
    invoice.refresh_from_db()
    assert invoice.paid_on == dt.date(2025, 4, 2) and invoice.amount == Decimal("100") and invoice.version == 2


def test_meeting_create_and_edit_with_a_stale_check(manager_client, account, account_manager):
    contact = ContactFactory(account=account)
    response = manager_client.post(
        reverse("web:meeting_create", args=[account.pk]),
        {
            "kind": "qbr",
            "occurred_at": "2026-03-01T10:00",
            "title": "Q1 review",
            "contacts": [contact.pk],
            "attendees": [account_manager.pk],
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="Q1 review")
    assert list(meeting.contacts.all()) == [contact] and meeting.created_by == account_manager
    assert timezone.localtime(meeting.occurred_at).hour == 10
    url = reverse("web:meeting_edit", args=[meeting.pk])
    seen = meeting.updated_at.isoformat()
    services.meeting_update(meeting=meeting, title="Changed elsewhere")
    stale = manager_client.post(url, {"kind": "qbr", "occurred_at": "2026-03-01T10:00", "title": "Mine", "seen_updated_at": seen})
    assert stale.status_code == 409
    meeting.refresh_from_db()
    assert meeting.title == "Changed elsewhere"
    fresh = manager_client.post(
        url,
        {"kind": "ebr", "occurred_at": "2026-03-02T09:30", "title": "Mine", "seen_updated_at": meeting.updated_at.isoformat()},
    )
    assert fresh.status_code == 302
    meeting.refresh_from_db()
    assert meeting.kind == "ebr" and meeting.title == "Mine" and list(meeting.contacts.all()) == []


def test_meeting_without_a_time_is_an_error(manager_client, account):
    response = manager_client.post(reverse("web:meeting_create", args=[account.pk]), {"kind": "qbr", "occurred_at": "yesterday"})
    assert response.status_code == 422 and "occurred_at" in response.context["form"].errors
    assert not Meeting.objects.filter(account=account).exists()


def test_team_member_add_edit_and_duplicate(manager_client, account):
    colleague = UserFactory(username="colleague")
    url = reverse("web:team_member_create", args=[account.pk])
    assert manager_client.post(url, {"user": colleague.pk, "role": "finance"}).status_code == 302
    member = AccountTeamMember.objects.get(account=account, user=colleague)
    assert member.role == "finance"
    duplicate = manager_client.post(url, {"user": colleague.pk, "role": "delivery"})
    assert duplicate.status_code == 422
    edit = manager_client.post(reverse("web:team_member_edit", args=[member.pk]), {"role": "delivery", "since": "2025-01-01"})
    assert edit.status_code == 302
    member.refresh_from_db()
    assert member.role == "delivery" and member.since == dt.date(2025, 1, 1) and member.user == colleague
    bad = manager_client.post(reverse("web:team_member_edit", args=[member.pk]), {"role": "chef"})
    assert bad.status_code == 422 and "role" in bad.context["form"].errors
    assert Invoice.objects.count() == 0


def test_an_empty_post_is_refused_field_by_field(manager_client, account):
    response = manager_client.post(reverse("web:contract_create", args=[account.pk]), {})
    assert response.status_code == 422
    assert {"number", "start_date", "end_date", "annual_value"} <= set(response.context["form"].errors)


@pytest.mark.parametrize("n", [3, 15])
def test_form_pages_query_counts_are_constant(manager_client, account_manager, n, django_assert_num_queries):
    from tests.web.conftest import build_account

    account = build_account(account_manager, n=n)
    contract = account.contracts.first()
    contact = account.contacts.first()
    # session, user, groups; the contract; permissions (2); the group's contracts for "renewal of";
    # the currencies with a rate; the unread badge (every count below includes it)
    with django_assert_num_queries(9):
        assert manager_client.get(reverse("web:contract_edit", args=[contract.pk])).status_code == 200
    # session, user, groups; the contact; permissions (2); the contact's roles; all buying roles;
    # colleagues for "reports to" and "replaced by" (2)
    with django_assert_num_queries(11):
        assert manager_client.get(reverse("web:contact_edit", args=[contact.pk])).status_code == 200
    # session, user, groups; the account; permissions (2); owners; currencies; the chosen parent (none)
    with django_assert_num_queries(9):
        assert manager_client.get(reverse("web:account_edit", args=[account.pk])).status_code == 200
