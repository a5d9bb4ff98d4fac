"""Account imports: upsert by natural key, parents anywhere in the file, the hierarchy, history."""

from decimal import Decimal

import pytest
from django.db import transaction

from accounts.hierarchy import hierarchy_rebuild
from accounts.models import Account, AccountAncestry
from imports.models import ImportStatus
from tests.factories import AccountFactory, UserFactory
from tests.imports.conftest import csv_bytes, errors, run_import

pytestmark = pytest.mark.django_db

HEADER = ["external_id", "name", "parent", "owner", "industry", "region", "currency", "wallet_estimate_amount"]


def hierarchy_snapshot():
    closure = set(AccountAncestry.objects.values_list("ancestor_id", "descendant_id", "depth"))
    roots = dict(Account.objects.values_list("id", "group_root_id"))
    return closure, roots


def assert_hierarchy_is_what_a_rebuild_gives():
    """The closure table and group roots after the import equal a full rebuild from ``parent``."""
    before = hierarchy_snapshot()
    with transaction.atomic():
        hierarchy_rebuild()
        after = hierarchy_snapshot()
        transaction.set_rollback(True)
    assert before == after


def group_file(owner="am_owner"):
    # Subsidiaries first, their parent last, a grandchild in the middle: any order works.
    return csv_bytes(
        [
            HEADER,
            ["G-2", "Group Shanghai", "G-1", owner, "manufacturing", "East", "CNY", "1,000.50"],
            ["G-3", "Group Pudong", "G-2", owner, "retail", "East", "", ""],
            ["G-1", "Group Holding", "", owner, "制造业", "East", "CNY", "¥2,000"],
            ["", "Solo Trading", "", owner, "Finance", "", "CNY", ""],
        ]
    )


def test_parents_anywhere_in_the_file_and_the_hierarchy_is_correct(account_manager):
    record = run_import("accounts", group_file(), user=account_manager)
    assert (record.status, record.created_count, record.error_count) == (ImportStatus.DONE, 4, 0), record.errors
    holding, shanghai, pudong = (Account.objects.get(external_id=e) for e in ("G-1", "G-2", "G-3"))
    assert (shanghai.parent, pudong.parent, holding.parent) == (holding, shanghai, None)
    assert {a.group_root_id for a in (holding, shanghai, pudong)} == {holding.pk}
    assert pudong.currency == "CNY"  # a blank currency is the base currency
    assert (holding.industry, holding.wallet_estimate_amount, shanghai.wallet_estimate_amount) == (
        "manufacturing", Decimal("2000.00"), Decimal("1000.50"),
    )  # fmt: skip
    assert set(AccountAncestry.objects.filter(descendant=pudong).values_list("ancestor_id", "depth")) == {
        (pudong.pk, 0), (shanghai.pk, 1), (holding.pk, 2),
    }  # fmt: skip
    assert_hierarchy_is_what_a_rebuild_gives()


def test_reimport_updates_never_duplicates_and_counts_unchanged(account_manager):
    run_import("accounts", group_file(), user=account_manager)
    changed = group_file().replace(b"Group Pudong,G-2,am_owner,retail,East", b"Group Pudong,G-2,am_owner,retail,West")
    record = run_import("accounts", changed, user=account_manager)
    assert (record.created_count, record.updated_count, record.unchanged_count) == (0, 1, 3)
    assert Account.objects.count() == 4
    pudong = Account.objects.get(external_id="G-3")
    assert (pudong.region, pudong.version) == ("West", 2)
    assert Account.objects.get(external_id="G-1").version == 1
    history = pudong.history.order_by("history_id")
    assert [h.history_type for h in history] == ["+", "~"]
    assert [h.region for h in history] == ["East", "West"]
    assert history.last().history_user == account_manager
    assert history.last().history_change_reason == f"import #{record.pk}"


def test_rows_without_external_id_match_by_name_within_their_parent(account_manager):
    rows = [["name", "parent"], ["Beta", ""], ["Beta Branch", "Beta"], ["Gamma", ""], ["Beta Branch", "Gamma"]]
    first = run_import("accounts", csv_bytes(rows), user=account_manager)
    assert first.created_count == 4, first.errors
    again = run_import("accounts", csv_bytes(rows), user=account_manager)
    assert (again.created_count, again.unchanged_count) == (0, 4)
    assert Account.objects.filter(name="Beta Branch").count() == 2


def test_an_external_id_is_added_to_the_account_known_by_name(account_manager):
    run_import("accounts", csv_bytes([["name"], ["Delta"]]), user=account_manager)
    record = run_import("accounts", csv_bytes([["external_id", "name"], ["D-9", "Delta"]]), user=account_manager)
    assert (record.created_count, record.updated_count) == (0, 1)
    assert Account.objects.get().external_id == "D-9"


def test_moving_accounts_moves_their_subtree(account_manager):
    run_import("accounts", group_file(), user=account_manager)
    # Shanghai (with Pudong below it) moves under Solo; Solo is known by name.
    record = run_import(
        "accounts",
        csv_bytes([["external_id", "name", "parent"], ["G-2", "Group Shanghai", "Solo Trading"]]),
        user=account_manager,
    )
    assert record.updated_count == 1, record.errors
    solo = Account.objects.get(name="Solo Trading")
    assert Account.objects.get(external_id="G-3").group_root_id == solo.pk
    assert_hierarchy_is_what_a_rebuild_gives()


def test_duplicate_keys_within_the_file(account_manager):
    rows = [["external_id", "name"], ["X-1", "One"], ["X-1", "One again"], ["", "Twin"], ["", "Twin"]]
    record = run_import("accounts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (3, "external_id", "Duplicate key: “X-1” is also on row 2."),
        (5, "name", "Duplicate: this account is also on row 4."),
    ]


def test_unknown_parent_and_owner(account_manager):
    rows = [["name", "parent", "owner"], ["Epsilon", "No Such Group", "nobody"]]
    record = run_import("accounts", csv_bytes(rows), user=None, dry_run=True)
    assert errors(record) == [
        (2, "parent", "Unknown account “No Such Group”."),
        (2, "owner", "Unknown user “nobody”: give a username or an email address."),
    ]


def test_owner_by_email(admin_user):
    owner = UserFactory(username="li.wei", email="Li.Wei@Example.com")
    record = run_import("accounts", csv_bytes([["name", "owner"], ["Zeta", "li.wei@example.com"]]), user=admin_user)
    assert record.status == ImportStatus.DONE, record.errors
    assert Account.objects.get().owner == owner


def test_a_parent_cycle_is_refused_in_the_file_and_against_the_database(account_manager):
    cycle = [["external_id", "name", "parent"], ["A", "A", "B"], ["B", "B", "A"], ["C", "C", "C"]]
    record = run_import("accounts", csv_bytes(cycle), user=account_manager, dry_run=True)
    message = "An account cannot be placed under itself or one of its own subsidiaries."
    assert {(row, column) for row, column, m in errors(record) if m == message} == {(2, "parent"), (3, "parent"), (4, "parent")}
    run_import("accounts", group_file(), user=account_manager)
    # G-1 is the holding above G-3: putting it under G-3 closes a loop through the database.
    record = run_import(
        "accounts", csv_bytes([["external_id", "name", "parent"], ["G-1", "Group Holding", "G-3"]]), user=account_manager
    )
    assert errors(record) == [(2, "parent", message)]
    assert Account.objects.get(external_id="G-1").parent is None


def test_missing_required_column_is_a_file_error(account_manager):
    record = run_import("accounts", csv_bytes([["external_id", "region"], ["X", "East"]]), user=account_manager)
    assert record.status == ImportStatus.INVALID
    assert record.message == "A required column is missing: name (name)."


def test_system_imports_need_owners(db):
    record = run_import("accounts", csv_bytes([["name"], ["Eta"]]), user=None)
    assert "owner" in record.message


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("payment_terms_days", "abc", "“abc” value must be an integer."),
        ("payment_terms_days", "400", "Ensure this value is less than or equal to 365."),
        ("market_influence", "7", "Ensure this value is less than or equal to 5."),
        ("credit_rating", "Z", "Value 'Z' is not a valid choice."),
        ("wallet_estimate_amount", "-5", "Ensure this value is greater than or equal to 0."),
        ("wallet_estimate_amount", "many", "“many” value must be a decimal number."),
        (
            "currency",
            "EURO",
            "Enter an ISO 4217 currency code: three capital letters, such as CNY or USD. "
            "Ensure this value has at most 3 characters (it has 4). "
            "Unknown currency EURO: add an exchange rate for it to CNY first.",
        ),
        ("currency", "GBP", "Unknown currency GBP: add an exchange rate for it to CNY first."),
        ("name", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_bad_values_name_the_column(account_manager, column, value, message):
    record = run_import("accounts", csv_bytes([["name", column], ["Theta", value]]) if column != "name" else csv_bytes([["name"], [value]]),
                        user=account_manager, dry_run=True)  # fmt: skip
    assert errors(record) == [(2, column, message)]
    assert record.status == ImportStatus.INVALID


def test_blank_cells_clear_optional_values_and_keep_defaults(account_manager):
    run_import(
        "accounts",
        csv_bytes([["external_id", "name", "region", "status"], ["K", "Kappa", "East", "prospect"]]),
        user=account_manager,
    )
    run_import("accounts", csv_bytes([["external_id", "name", "region", "status"], ["K", "Kappa", "", ""]]), user=account_manager)
    kappa = Account.objects.get()
    assert (kappa.region, kappa.status) == ("", "prospect")


def test_gbk_file_with_chinese_headers(account_manager, usd):
    AccountFactory(name="华东集团", external_id="HD", owner=account_manager)
    rows = [
        ["客户编号", "名称", "上级客户", "负责人", "行业", "区域", "币种", "账期（天）", "信用评级"],
        ["HD-01", "华东集团上海分公司", "华东集团", "am_owner", "制造业", "华东", "USD", "45", "A"],
    ]
    record = run_import("accounts", csv_bytes(rows, encoding="gbk"), user=account_manager)
    assert (record.encoding, record.status) == ("gb18030", ImportStatus.DONE), (record.message, record.errors)
    branch = Account.objects.get(external_id="HD-01")
    assert (branch.name, branch.parent.external_id, branch.industry, branch.currency, branch.payment_terms_days) == (
        "华东集团上海分公司", "HD", "manufacturing", "USD", 45,
    )  # fmt: skip
