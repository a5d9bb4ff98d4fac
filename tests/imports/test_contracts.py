"""Contract and invoice imports: references by natural key and every bad-input case."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Contract, Invoice
from imports.models import ImportStatus
from tests.factories import AccountFactory, ContractFactory, InvoiceFactory
from tests.imports.conftest import csv_bytes, errors, run_import, xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["合同编号", "客户", "开始日期", "结束日期", "金额", "币种", "状态", "续约自"]


def test_contracts_with_chinese_headers_reference_accounts_by_external_id_or_name(account_manager, acme, usd):
    AccountFactory(name="Beta Ltd", parent=acme, owner=account_manager)  # same group: renewals allowed
    rows = [
        HEADER,
        ["HT-1", "ACME", "2025-01-01", "2025/12/31", "1,200,000.00", "", "active", ""],
        ["HT-2", "Beta Ltd", "2026年1月1日", "2026年12月31日", "￥1,300,000", "USD", "活跃", "HT-1"],
    ]
    record = run_import("contracts", csv_bytes(rows, encoding="gbk"), user=account_manager)
    assert (record.status, record.created_count) == (ImportStatus.DONE, 2), (record.message, record.errors)
    first, second = Contract.objects.order_by("number")
    assert (first.account, first.currency, first.annual_value, first.end_date) == (
        acme, "CNY", Decimal("1200000.00"), dt.date(2025, 12, 31),
    )  # fmt: skip
    assert (second.account.name, second.currency, second.renewal_of) == ("Beta Ltd", "USD", first)
    assert second.history.get().history_user == account_manager


def test_a_renewal_may_point_down_the_file(account_manager, acme):
    rows = [
        ["number", "account", "start_date", "end_date", "annual_value", "renewal_of"],
        ["R-2", "ACME", "2026-01-01", "2026-12-31", "10", "R-1"],
        ["R-1", "ACME", "2025-01-01", "2025-12-31", "10", ""],
    ]
    record = run_import("contracts", csv_bytes(rows), user=account_manager)
    assert record.status == ImportStatus.DONE, record.errors
    assert Contract.objects.get(number="R-2").renewal_of == Contract.objects.get(number="R-1")
    assert list(Contract.objects.order_by("pk").values_list("number", flat=True)) == ["R-2", "R-1"]  # file order


def test_reimport_updates_by_number(account_manager, acme):
    contract = ContractFactory(account=acme, number="C-9", annual_value=Decimal("100"))
    rows = [["number", "account", "start_date", "end_date", "annual_value"], ["C-9", "ACME", "2025-01-01", "2025-12-31", "150"]]
    record = run_import("contracts", csv_bytes(rows), user=account_manager)
    assert (record.created_count, record.updated_count) == (0, 1)
    contract.refresh_from_db()
    assert (contract.annual_value, contract.version, Contract.objects.count()) == (Decimal("150.00"), 2, 1)


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


CONTRACT_ROWS = [["number", "account", "start_date", "end_date", "annual_value"], ["S-1", "ACME", "2025-01-01", "2025-12-31", 10]]


@pytest.mark.parametrize("title", ["合同", "Contracts", "contracts"])
def test_a_workbook_of_several_sheets_imports_the_sheet_named_for_the_kind(account_manager, acme, title):
    content = _workbook(
        {"说明": [["Read me first"], ["Fill in the next sheet"]], "Accounts": [["name"], ["X"]], title: CONTRACT_ROWS}
    )
    record = run_import("contracts", content, user=account_manager, file_name="book.xlsx")
    assert record.status == ImportStatus.DONE, (record.message, record.errors)
    assert list(Contract.objects.values_list("number", flat=True)) == ["S-1"]


def test_without_a_sheet_named_for_the_kind_the_first_sheet_is_read(account_manager, acme):
    content = _workbook({"Sheet A": CONTRACT_ROWS, "Sheet B": [["name"], ["X"]]})
    record = run_import("contracts", content, user=account_manager, file_name="book.xlsx")
    assert record.status == ImportStatus.DONE, (record.message, record.errors)


def test_xlsx_with_excel_dates_and_numbers(account_manager, acme):
    content = xlsx_bytes(
        [
            ["number", "account", "start_date", "end_date", "annual_value", "auto_renew"],
            ["X-1", "ACME", dt.datetime(2025, 1, 1), 46022, 99.5, True],
        ]
    )
    record = run_import("contracts", content, user=account_manager, file_name="c.xlsx")
    assert record.status == ImportStatus.DONE, record.errors
    contract = Contract.objects.get()
    assert (contract.end_date, contract.annual_value, contract.auto_renew) == (dt.date(2025, 12, 31), Decimal("99.50"), True)


BAD_CONTRACTS = [
    # (cells for number, account, start, end, value, currency), column, message
    (["B-1", "ACME", "2025-01-01", "2025-12-31", "-5", ""], "annual_value", "Ensure this value is greater than or equal to 0."),
    (["B-1", "ACME", "2025-12-31", "2025-01-01", "5", ""], "end_date", "The end date cannot be before the start date."),
    (
        ["B-1", "ACME", "soon", "2025-12-31", "5", ""],
        "start_date",
        "Enter a date such as 2025-03-01, 2025/3/1, 01/03/2025 or 2025年3月1日.",
    ),
    (["B-1", "ACME", "2025-01-01", "2025-12-31", "a lot", ""], "annual_value", "“a lot” value must be a decimal number."),
    (["B-1", "NOPE", "2025-01-01", "2025-12-31", "5", ""], "account", "Unknown account “NOPE”."),
    (
        ["B-1", "ACME", "2025-01-01", "2025-12-31", "5", "XYZ"],
        "currency",
        "Unknown currency XYZ: add an exchange rate for it to CNY first.",
    ),
    (["B-1", "ACME", "", "2025-12-31", "5", ""], "start_date", "This field cannot be null."),
    (["", "ACME", "2025-01-01", "2025-12-31", "5", ""], "number", "This field cannot be blank."),
]


@pytest.mark.parametrize(("cells", "column", "message"), BAD_CONTRACTS)
def test_bad_contract_rows(account_manager, acme, cells, column, message):
    rows = [["number", "account", "start_date", "end_date", "annual_value", "currency"], cells]
    record = run_import("contracts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [(2, column, message)]


def test_duplicate_numbers_and_unknown_renewals(account_manager, acme):
    rows = [
        ["number", "account", "start_date", "end_date", "annual_value", "renewal_of"],
        ["D-1", "ACME", "2025-01-01", "2025-12-31", "5", ""],
        ["D-1", "ACME", "2025-01-01", "2025-12-31", "6", ""],
        ["D-2", "ACME", "2025-01-01", "2025-12-31", "6", "D-404"],
        ["D-3", "ACME", "2025-01-01", "2025-12-31", "6", "D-3"],
        ["D-4", "ACME", "2026-01-01", "2026-12-31", "6", "D-1"],
        ["D-5", "ACME", "2026-01-01", "2026-12-31", "6", "D-1"],
    ]
    record = run_import("contracts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (3, "number", "Duplicate key: “D-1” is also on row 2."),
        (4, "renewal_of", "Unknown contract “D-404”."),
        (5, "renewal_of", "A contract cannot renew itself."),
        (7, "renewal_of", "Contract with this Renewal of already exists."),
    ]


def test_renewal_in_another_group_is_refused(account_manager, acme):
    other = AccountFactory(name="Other Group", external_id="OG", owner=account_manager)
    ContractFactory(account=other, number="OLD-1")
    rows = [["number", "account", "start_date", "end_date", "annual_value", "renewal_of"],
            ["NEW-1", "ACME", "2026-01-01", "2026-12-31", "5", "OLD-1"]]  # fmt: skip
    record = run_import("contracts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [(2, "renewal_of", "A renewal must belong to the same group as the contract it renews.")]


def test_invoices_by_number_with_their_contract(account_manager, acme):
    ContractFactory(account=acme, number="C-1")
    other = ContractFactory(account=AccountFactory(owner=account_manager), number="C-2")
    rows = [
        ["发票号", "客户", "合同编号", "开票日期", "到期日", "金额", "付款日期", "核销金额", "核销日期"],
        ["INV-1", "ACME", "C-1", "2025-03-01", "2025-03-31", "100", "2025-03-15", "", ""],
        ["INV-2", "ACME", "C-2", "2025-03-01", "2025-03-31", "100", "", "", ""],
        ["INV-3", "ACME", "", "2025-03-01", "2025-02-01", "100", "2025-01-01", "200", ""],
    ]
    record = run_import("invoices", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (3, "合同编号", "The contract belongs to another account."),
        (4, "到期日", "The due date cannot be before the issue date."),
        (4, "付款日期", "The payment date cannot be before the issue date."),
        (4, "核销金额", "The written-off amount cannot exceed the invoice amount."),
        (4, "核销日期", "Give the date of the write-off."),
    ]
    assert other.number == "C-2"
    record = run_import("invoices", csv_bytes(rows[:2]), user=account_manager)
    assert record.status == ImportStatus.DONE
    invoice = Invoice.objects.get()
    assert (invoice.contract.number, invoice.paid_on, invoice.currency) == ("C-1", dt.date(2025, 3, 15), "CNY")


def test_invoice_reimport_is_unchanged(account_manager, acme):
    InvoiceFactory(account=acme, number="I-1", amount=Decimal("250000.00"))
    rows = [
        ["number", "account", "issued_on", "due_on", "amount", "currency"],
        ["I-1", "ACME", "2025-03-01", "2025-03-31", "250000", "CNY"],
    ]
    record = run_import("invoices", csv_bytes(rows), user=account_manager)
    assert (record.unchanged_count, record.updated_count) == (1, 0)
    assert Invoice.objects.get().version == 1
