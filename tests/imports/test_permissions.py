"""Who may import what: a manager imports into their own accounts only, and another manager's
account does not exist for them (the same message as an account that really does not exist)."""

import pytest

from accounts.models import Account, Contract
from imports.models import ImportStatus
from tests.factories import AccountFactory, ContactFactory, ContractFactory, TeamMemberFactory
from tests.imports.conftest import csv_bytes, errors, run_import

pytestmark = pytest.mark.django_db

CONTRACT_HEADER = ["number", "account", "start_date", "end_date", "annual_value"]


def test_a_manager_cannot_import_contracts_into_accounts_they_cannot_see(account_manager, acme, hidden):
    rows = [
        CONTRACT_HEADER,
        ["N-1", "HID", "2025-01-01", "2025-12-31", "5"],
        ["N-2", "Hidden Corp", "2025-01-01", "2025-12-31", "5"],
        ["N-3", "NO-SUCH", "2025-01-01", "2025-12-31", "5"],
        ["N-4", "ACME", "2025-01-01", "2025-12-31", "5"],
    ]
    record = run_import("contracts", csv_bytes(rows), user=account_manager)
    # Hidden accounts read exactly like accounts that do not exist: nothing leaks.
    assert errors(record) == [
        (2, "account", "Unknown account “HID”."),
        (3, "account", "Unknown account “Hidden Corp”."),
        (4, "account", "Unknown account “NO-SUCH”."),
    ]
    assert Contract.objects.count() == 0  # all or nothing: N-4 was fine but is not imported either


def test_a_manager_cannot_update_or_attach_to_an_account_they_cannot_see(account_manager, hidden):
    rows = [
        ["external_id", "name", "parent"],
        ["HID", "Renamed by someone else", ""],
        ["MINE-1", "Under hidden", "HID"],
    ]
    record = run_import("accounts", csv_bytes(rows), user=account_manager)
    assert errors(record) == [
        (2, "external_id", "Unknown account “HID”."),
        (3, "parent", "The parent account's row (2) has errors."),
    ]
    hidden.refresh_from_db()
    assert hidden.name == "Hidden Corp"


def test_a_manager_cannot_take_over_another_managers_contract_number(account_manager, acme, hidden):
    ContractFactory(account=hidden, number="TAKEN")
    record = run_import(
        "contracts", csv_bytes([CONTRACT_HEADER, ["TAKEN", "ACME", "2025-01-01", "2025-12-31", "5"]]), user=account_manager
    )
    assert errors(record) == [(2, "number", "Contract with this Number already exists.")]
    assert Contract.objects.get().account == hidden


def test_a_managers_new_accounts_are_theirs_and_owners_are_not_reassigned(account_manager, other_manager, acme):
    rows = [
        ["external_id", "name", "owner"],
        ["NEW-1", "Mine", ""],
        ["NEW-2", "For someone else", "am_other"],
        ["ACME", "Acme Group", "am_other"],
    ]
    record = run_import("accounts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (3, "owner", "Your new accounts are yours: leave the owner blank or give your own username."),
        (4, "owner", "Only an administrator can change an account's owner."),
    ]
    record = run_import("accounts", csv_bytes(rows[:2]), user=account_manager)
    assert Account.objects.get(external_id="NEW-1").owner == account_manager
    assert Account.objects.visible_to(account_manager).filter(external_id="NEW-1").exists()


def test_a_team_member_updates_the_account_they_serve_on(other_manager, hidden):
    member = TeamMemberFactory(account=hidden).user
    rows = [["external_id", "name", "region", "owner"], ["HID", "Hidden Corp", "North", "am_other"]]
    record = run_import("accounts", csv_bytes(rows), user=member)
    assert (record.status, record.updated_count) == (ImportStatus.DONE, 1), record.errors
    hidden.refresh_from_db()
    assert (hidden.region, hidden.owner) == ("North", other_manager)


def test_a_contact_of_a_hidden_account_is_not_updated(account_manager, acme, hidden):
    ContactFactory(account=hidden, email="secret@example.com")
    record = run_import(
        "contacts", csv_bytes([["email", "account", "name"], ["secret@example.com", "ACME", "Secret"]]), user=account_manager
    )
    assert errors(record) == [(2, "email", "This email address belongs to a contact you cannot see.")]


def test_executives_cannot_import(executive):
    record = run_import("accounts", csv_bytes([["name", "owner"], ["Nope", "exec_user"]]), user=executive)
    assert (record.status, record.message) == (ImportStatus.INVALID, "You do not have permission to import accounts.")
    assert not Account.objects.exists()


def test_administrators_import_for_any_owner_and_any_account(admin_user, account_manager, hidden):
    rows = [["external_id", "name", "owner"], ["HID", "Hidden Corp", "am_owner"], ["ADM-1", "Admin made", "am_other"]]
    record = run_import("accounts", csv_bytes(rows), user=admin_user)
    assert (record.status, record.created_count, record.updated_count) == (ImportStatus.DONE, 1, 1), record.errors
    hidden.refresh_from_db()
    assert hidden.owner == account_manager
    assert AccountFactory._meta.model.objects.get(external_id="ADM-1").owner.username == "am_other"
