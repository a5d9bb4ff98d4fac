"""The columns of each import kind, shared by the importer and the exports.

One ``Column`` says what a spreadsheet column means: the model field it writes (whose own rules
validate the value), how a cell is read (``type``), the headers that map to it by default (English
and Chinese; the field's verbose name in both languages is added automatically) and how an export
writes it. Export columns are exactly the import columns, under their canonical ``name``, so an
exported file imports back without any mapping and changes nothing.

References to other rows use natural keys, never database ids: an account is its external id, or
its name when it has none; a contract or invoice its number; a contact its email, or its name
within the account; a user their username (or email).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import translation

from imports.models import ImportKind


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text, int, decimal, date, datetime, bool, choice, choices, ref, refs
    field: str  # the model field written (a ForeignKey for refs, the m2m field for lists)
    required: bool = False  # a file without this column cannot create rows
    aliases: tuple[str, ...] = ()
    export: Any = None  # a values() path or an expression; None: the field itself
    upper: bool = False  # codes such as currencies are upper-cased before validation
    cached: bool = True  # parse results memoised per distinct cell text (off for unique text)

    @property
    def is_ref(self) -> bool:
        return self.type in {"ref", "refs", "choices"}


@dataclass(frozen=True)
class KindSpec:
    kind: str
    model_label: str  # "accounts.Contract"
    columns: tuple[Column, ...]
    importer: str  # dotted path of the importer class
    natural_key: tuple[str, ...]  # for documentation and the mapping page

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def label(self, column: Column) -> str:
        return str(self.model._meta.get_field(column.field).verbose_name)

    def sheet_names(self) -> list[str]:
        """What a workbook's sheet of this kind is called: the kind, and the model's plural name in
        every language KAM speaks ("contracts", "Contracts", "合同")."""
        names = [self.kind, self.kind.replace("_", " ")]
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                names.append(str(self.model._meta.verbose_name_plural))
        return names


def _id_ref(prefix: str) -> Any:
    return Concat(Value("#"), Cast(F(f"{prefix}id"), output_field=models.CharField()))


def _natural(prefix: str = "") -> Any:
    """An account as the importer finds it: its external id; else its name, when no other account
    has that name (or that external id); else "#<id>". Built when an export runs."""

    def expression() -> Any:
        Account = apps.get_model("accounts", "Account")
        name, pk = OuterRef(f"{prefix}name"), OuterRef(f"{prefix}id")
        # Two lookups, each on an index (the name index; the partial unique index on external ids,
        # which PostgreSQL uses only when the query repeats its condition), never a scan per row.
        same_name = Account.objects.filter(name=name).exclude(pk=pk)
        name_is_an_id = Account.objects.filter(external_id=name).exclude(external_id="")
        return Case(
            When(**{f"{prefix}external_id__gt": ""}, then=F(f"{prefix}external_id")),
            When(~Exists(same_name) & ~Exists(name_is_an_id), then=F(f"{prefix}name")),
            default=_id_ref(prefix),
            output_field=models.CharField(),
        )

    return expression


def _contact_ref(prefix: str) -> Any:
    """A contact: its email; else its name, when unique within its account; else "#<id>"."""

    def expression() -> Any:
        Contact = apps.get_model("accounts", "Contact")
        clash = Contact.objects.filter(account_id=OuterRef(f"{prefix}account_id"), name=OuterRef(f"{prefix}name")).exclude(
            pk=OuterRef(f"{prefix}id")
        )
        return Case(
            When(**{f"{prefix}email__gt": ""}, then=F(f"{prefix}email")),
            When(~Exists(clash), then=F(f"{prefix}name")),
            default=_id_ref(prefix),
            output_field=models.CharField(),
        )

    return expression


ACCOUNT_REF_ALIASES = (
    "account",
    "customer",
    "company",
    "account name",
    "customer name",
    "客户",
    "客户名称",
    "公司",
    "公司名称",
    "客户编号",
)

ACCOUNT_COLUMNS = (
    Column(
        "external_id", "text", "external_id", cached=False,
        aliases=("account id", "customer id", "customer code", "account code", "code", "客户编号", "客户代码", "编号", "ERP编号"),
    ),
    Column(
        "name", "text", "name", required=True, cached=False,
        aliases=("account name", "account", "customer", "customer name", "company", "company name", "客户名称", "客户", "公司名称"),
    ),
    Column(
        "parent", "ref", "parent", export=_natural("parent__"),
        aliases=("parent", "parent account", "parent external id", "group", "上级", "上级客户编号", "母公司", "所属集团"),
    ),
    Column("owner", "ref", "owner", export="owner__username", aliases=("account manager", "manager", "客户经理", "所有者")),
    Column("industry", "choice", "industry", aliases=("sector", "行业")),
    Column("region", "text", "region", aliases=("area", "地区", "区域")),
    Column("currency", "text", "currency", upper=True, aliases=("币种", "货币")),
    Column("status", "choice", "status", aliases=("状态",)),
    Column("credit_rating", "choice", "credit_rating", aliases=("credit", "信用评级", "信用等级")),
    Column("payment_terms_days", "int", "payment_terms_days", aliases=("payment terms", "付款期限", "账期")),
    Column("market_influence", "int", "market_influence", aliases=("市场影响力",)),
    Column("integration_potential", "int", "integration_potential", aliases=("整合潜力",)),
    Column("relationship_stage", "int", "relationship_stage", aliases=("关系阶段",)),
    Column("wallet_estimate_amount", "decimal", "wallet_estimate_amount", cached=False, aliases=("wallet", "wallet estimate", "钱包估算")),
    Column("notes", "text", "notes", cached=False, aliases=("note", "comments", "备注")),
)  # fmt: skip

CONTACT_COLUMNS = (
    Column("email", "text", "email", cached=False, aliases=("e-mail", "mail", "邮箱", "电子邮件", "邮件")),
    Column("account", "ref", "account", required=True, export=_natural("account__"), aliases=ACCOUNT_REF_ALIASES),
    Column(
        "name", "text", "name", required=True, cached=False, aliases=("contact", "contact name", "full name", "姓名", "联系人")
    ),
    Column("phone", "text", "phone", cached=False, aliases=("mobile", "telephone", "tel", "电话", "手机")),
    Column("title", "text", "title", aliases=("job title", "position", "职位", "职务")),
    Column("department", "text", "department", aliases=("dept", "部门")),
    Column("buying_roles", "choices", "buying_roles", aliases=("roles", "buying role", "采购角色", "角色")),
    Column("influence", "int", "influence", aliases=("影响力",)),
    Column("support", "choice", "support", aliases=("支持度", "态度")),
    Column("coverage", "choice", "coverage", aliases=("覆盖",)),
    Column("political_status", "choice", "political_status", aliases=("政治地位",)),
    Column("decision_orientation", "choice", "decision_orientation", aliases=("决策导向",)),
    Column(
        "reports_to", "ref", "reports_to", export=_contact_ref("reports_to__"), aliases=("manager", "boss", "上级", "汇报对象")
    ),
    Column("is_active", "bool", "is_active", aliases=("active", "在职", "有效")),
    Column("left_on", "date", "left_on", aliases=("left", "离职日期")),
    Column(
        "replaced_by",
        "ref",
        "replaced_by",
        export=_contact_ref("replaced_by__"),
        aliases=("replacement", "successor", "replaced", "接替人", "接替者", "继任者"),
    ),
)

CONTRACT_COLUMNS = (
    Column("number", "text", "number", required=True, cached=False, aliases=("contract number", "contract no", "contract", "合同编号", "合同号", "编号")),
    Column("account", "ref", "account", required=True, export=_natural("account__"), aliases=ACCOUNT_REF_ALIASES),
    Column("title", "text", "title", aliases=("contract name", "合同名称", "标题")),
    Column("start_date", "date", "start_date", required=True, aliases=("start", "from", "开始日期", "起始日期", "生效日期")),
    Column("end_date", "date", "end_date", required=True, aliases=("end", "to", "结束日期", "截止日期", "到期日期")),
    Column("annual_value", "decimal", "annual_value", required=True, cached=False, aliases=("value", "amount", "contract value", "金额", "合同金额", "年度金额", "年金额")),
    Column("currency", "text", "currency", upper=True, aliases=("币种", "货币")),
    Column("status", "choice", "status", aliases=("状态",)),
    Column("renewal_of", "ref", "renewal_of", export="renewal_of__number", aliases=("renews", "previous contract", "续约自", "原合同编号")),
    Column("signed_on", "date", "signed_on", aliases=("signed", "signed date", "signing date", "签订日期", "签约日期")),
    Column("notice_on", "date", "notice_on", aliases=("notice", "notice date", "通知日期")),
    Column("auto_renew", "bool", "auto_renew", aliases=("auto renewal", "自动续约")),
    Column("is_customised_solution", "bool", "is_customised_solution", aliases=("customised", "customized", "定制方案", "定制")),
    Column("escalator_pct", "decimal", "escalator_pct", aliases=("escalator", "年度涨幅", "涨幅")),
)  # fmt: skip

INVOICE_COLUMNS = (
    Column("number", "text", "number", required=True, cached=False, aliases=("invoice number", "invoice no", "invoice", "发票号", "发票编号", "发票号码", "编号")),
    Column("account", "ref", "account", required=True, export=_natural("account__"), aliases=ACCOUNT_REF_ALIASES),
    Column("contract", "ref", "contract", export="contract__number", aliases=("contract number", "合同编号", "合同号", "合同")),
    Column("issued_on", "date", "issued_on", required=True, aliases=("issued", "issue date", "invoice date", "date", "开票日期", "发票日期")),
    Column("due_on", "date", "due_on", required=True, aliases=("due", "due date", "到期日", "应付日期", "付款到期日")),
    Column("amount", "decimal", "amount", required=True, cached=False, aliases=("invoice amount", "金额", "发票金额")),
    Column("currency", "text", "currency", upper=True, aliases=("币种", "货币")),
    Column("margin_amount", "decimal", "margin_amount", cached=False, aliases=("margin", "gross margin", "毛利")),
    Column("quantity", "decimal", "quantity", aliases=("qty", "units", "volume", "数量", "销量")),
    Column("paid_on", "date", "paid_on", aliases=("paid", "payment date", "付款日期", "回款日期")),
    Column("written_off_amount", "decimal", "written_off_amount", aliases=("written off", "write-off", "核销金额", "坏账金额")),
    Column("written_off_on", "date", "written_off_on", aliases=("write-off date", "核销日期")),
    Column("is_disputed", "bool", "is_disputed", aliases=("disputed", "争议", "有争议")),
)  # fmt: skip

MEETING_COLUMNS = (
    Column("account", "ref", "account", required=True, export=_natural("account__"), aliases=ACCOUNT_REF_ALIASES),
    Column("kind", "choice", "kind", aliases=("type", "meeting type", "类型", "会议类型")),
    Column("occurred_at", "datetime", "occurred_at", required=True, aliases=("date", "when", "meeting date", "日期", "会议时间")),
    Column("title", "text", "title", aliases=("subject", "主题", "标题")),
    Column("summary", "text", "summary", cached=False, aliases=("notes", "minutes", "纪要", "摘要")),
    Column("decisions", "text", "decisions", cached=False, aliases=("决定", "决议")),
    Column("contacts", "refs", "contacts", aliases=("customer attendees", "客户参会人", "客户出席人")),
    Column("attendees", "refs", "attendees", aliases=("internal attendees", "内部参会人", "我方参会人")),
)

SURVEY_COLUMNS = (
    Column("account", "ref", "account", required=True, export=_natural("account__"), aliases=ACCOUNT_REF_ALIASES),
    Column("contact", "ref", "contact", export=_contact_ref("contact__"), aliases=("respondent", "答复人", "联系人")),
    Column("kind", "choice", "kind", required=True, aliases=("survey", "type", "调查类型", "类型")),
    Column("score", "int", "score", required=True, aliases=("rating", "分数", "得分", "评分")),
    Column("respondent_role", "text", "respondent_role", aliases=("role", "答复人角色")),
    Column("responded_at", "datetime", "responded_at", required=True, aliases=("date", "response date", "日期", "答复时间")),
    Column("comment", "text", "comment", cached=False, aliases=("comments", "feedback", "评论", "意见")),
)

SPECS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(ImportKind.ACCOUNTS, "accounts.Account", ACCOUNT_COLUMNS, "imports.importers.accounts.AccountImporter",
                 ("external_id", "name + parent")),
        KindSpec(ImportKind.CONTACTS, "accounts.Contact", CONTACT_COLUMNS, "imports.importers.contacts.ContactImporter",
                 ("email", "account + name")),
        KindSpec(ImportKind.CONTRACTS, "accounts.Contract", CONTRACT_COLUMNS, "imports.importers.contracts.ContractImporter",
                 ("number",)),
        KindSpec(ImportKind.INVOICES, "accounts.Invoice", INVOICE_COLUMNS, "imports.importers.contracts.InvoiceImporter",
                 ("number",)),
        KindSpec(ImportKind.MEETINGS, "accounts.Meeting", MEETING_COLUMNS, "imports.importers.activities.MeetingImporter",
                 ("account + kind + occurred_at",)),
        KindSpec(ImportKind.SURVEY_RESPONSES, "service_plans.SurveyResponse", SURVEY_COLUMNS,
                 "imports.importers.activities.SurveyResponseImporter", ("account + kind + responded_at + contact",)),
    )
}  # fmt: skip


def kind_spec(kind: str) -> KindSpec:
    """The spec of ``kind``; accepts "survey-responses" as the API spells it."""
    return SPECS[kind.replace("-", "_")]


def normalise_header(text: Any) -> str:
    """Headers compare without case, spaces, punctuation, full-width forms or a trailing "(unit)"."""
    text = unicodedata.normalize("NFKC", str(text or "")).lower().strip()
    text = re.sub(r"[(\[][^)\]]*[)\]]\s*$", "", text)  # "Annual value (CNY)", "金额(元)"
    return re.sub(r"[\W_]+", "", text)


@functools.cache
def _aliases(kind: str) -> dict[str, str]:
    """normalised header → column name. Explicit aliases first, then verbose names in both languages."""
    spec = SPECS[kind]
    found: dict[str, str] = {}
    for column in spec.columns:
        for alias in (column.name, *column.aliases):
            found.setdefault(normalise_header(alias), column.name)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for column in spec.columns:
                found.setdefault(normalise_header(spec.label(column)), column.name)
    return found


def default_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """column name → the file's header for it, for every header that is recognised (first one wins)."""
    aliases = _aliases(kind)
    mapping: dict[str, str] = {}
    for header in headers:
        column = aliases.get(normalise_header(header))
        if column and column not in mapping:
            mapping[column] = header
    return mapping
