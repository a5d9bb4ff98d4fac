"""Column definitions: default mappings in English and Chinese, aliases that never collide."""

import pytest

from imports.definitions import SPECS, default_mapping, normalise_header


@pytest.mark.parametrize(
    ("kind", "headers", "expected"),
    [
        ("accounts", ["名称", "客户编号", "上级客户", "负责人", "币种"], ["name", "external_id", "parent", "owner", "currency"]),
        ("accounts", ["Account Name", "External ID", "Parent Account", "Owner", "Payment terms (days)"],
         ["name", "external_id", "parent", "owner", "payment_terms_days"]),
        ("contracts", ["合同编号", "客户", "开始日期", "结束日期", "金额", "币种"],
         ["number", "account", "start_date", "end_date", "annual_value", "currency"]),
        ("contracts", ["Contract No.", "Customer", "Start Date", "End Date", "Annual value (CNY)"],
         ["number", "account", "start_date", "end_date", "annual_value"]),
        ("invoices", ["发票号", "客户", "开票日期", "到期日", "金额"], ["number", "account", "issued_on", "due_on", "amount"]),
        ("contacts", ["邮箱", "客户", "姓名", "职位"], ["email", "account", "name", "title"]),
        ("contacts", ["邮箱", "上级", "接任者", "离职日期"], ["email", "reports_to", "replaced_by", "left_on"]),
        ("contacts", ["Email", "Replaced by", "Left on"], ["email", "replaced_by", "left_on"]),
        ("contacts", ["姓名", "接替人"], ["name", "replaced_by"]),
        ("contacts", ["Name", "Successor"], ["name", "replaced_by"]),
        ("meetings", ["客户", "类型", "会议时间"], ["account", "kind", "occurred_at"]),
        ("survey_responses", ["客户", "调查类型", "分数", "答复时间"], ["account", "kind", "score", "responded_at"]),
    ],
)  # fmt: skip
def test_default_mapping_recognises_english_and_chinese_headers(db, kind, headers, expected):
    assert default_mapping(kind, headers) == dict(zip(expected, headers, strict=True))


def test_unknown_headers_are_left_out_and_the_first_match_wins(db):
    assert default_mapping("accounts", ["名称", "Name", "颜色"]) == {"name": "名称"}


@pytest.mark.parametrize("kind", list(SPECS))
def test_no_alias_means_two_columns(kind):
    seen = {}
    for column in SPECS[kind].columns:
        for alias in (column.name, *column.aliases):
            key = normalise_header(alias)
            assert seen.setdefault(key, column.name) == column.name, f"{alias!r} maps to {seen[key]} and {column.name}"


def test_headers_compare_without_case_spaces_or_units():
    assert normalise_header(" Annual Value (CNY) ") == normalise_header("annual_value") == "annualvalue"
    assert normalise_header("账期（天）") == "账期"
