"""Every list and KPI table as CSV or XLSX: ``/exports/<list>/?format=csv|xlsx&<the list's filters>``.

Each export is the list's own visible, filtered queryset (the same FilterSet, window and sort as
its page or its API list) streamed by ``kam.export``: CSV row by row from a server-side cursor,
XLSX through openpyxl's write-only mode, so 100,000 rows never sit in memory, and the query count
does not grow with the rows (``select_related`` for what the columns show; many-to-many values
fetched per chunk by ``imports.exports``).

The kinds the importer reads (accounts, contacts, contracts, invoices, meetings, survey
responses) are exported in the import format, with the column labels in the user's language: the
importer recognises those labels, so a downloaded list imports back unchanged, or updates just
the rows someone edited. The other lists (service requests, projects, escalations, the renewal
pipeline, the alerts inbox, notifications, KPI values and targets) have columns of their own,
choices shown by their label.

The accounts page keeps its own export of the columns it shows (``web:account_export``, tiers and
scores); ``exports/accounts/`` is the re-importable one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts import filters as account_filters
from imports import exports as import_exports
from kam.export import Column
from service_plans.filters import SurveyResponseFilterSet

ROWS_CHUNK = 2_000


class ExportError(Exception):
    """The request cannot be exported as asked: ``messages`` name the parameter and the problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class ListExport:
    """One exportable list: what it is called, who may read it and how to build its rows."""

    name: str
    title: Any
    permission: str  # the model permission to read the list (else 404, as for a page)
    build: Callable[[Any], tuple[Iterable[Any], list[Column]]]  # request -> (rows, columns)
    params: tuple[str, ...] = field(default=())  # query parameters beyond the FilterSet's (documented)


def filtered(filterset_class: type, data: Any, queryset: models.QuerySet, request: Any) -> models.QuerySet:
    """The FilterSet's queryset, or ``ExportError`` naming each bad filter by its label."""
    filterset = filterset_class(data, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ExportError(
            [f"{filterset.form.fields[name].label or name}: {' '.join(msgs)}" for name, msgs in filterset.errors.items()]
        )
    return filterset.qs


# --- Columns ------------------------------------------------------------------------------------


def _field_value(model: type[models.Model], path: str) -> tuple[Any, Callable[[Any], Any]]:
    """(header, getter) for ``path``: a field (choices by their label) or ``fk__field``."""
    names = path.split("__")
    current: Any = model
    model_field = None
    for name in names:
        model_field = current._meta.get_field(name)
        current = model_field.related_model or current
    assert model_field is not None
    header = capfirst(model_field.verbose_name)

    def value(obj: Any) -> Any:
        for name in names[:-1]:
            obj = getattr(obj, name)
            if obj is None:
                return None
        if model_field.choices and not model_field.many_to_many:
            raw = getattr(obj, names[-1])
            return getattr(obj, f"get_{names[-1]}_display")() if raw not in (None, "") else ""
        return getattr(obj, names[-1])

    return header, value


def model_columns(model: type[models.Model], paths: Iterable[str | tuple[Any, str]]) -> list[Column]:
    """Columns for fields of ``model``; a ``(header, path)`` pair renames one."""
    columns = []
    for item in paths:
        header, path = item if isinstance(item, tuple) else (None, item)
        default_header, value = _field_value(model, path)
        columns.append(Column(header or default_header, value))
    return columns


def _rows(queryset: models.QuerySet) -> Iterator[Any]:
    return queryset.iterator(chunk_size=ROWS_CHUNK)


# --- The importable kinds: the import format ----------------------------------------------------


def _import_format(kind: str, filterset_class: type, base: Callable[[Any], models.QuerySet]) -> Callable:
    def build(request: Any) -> tuple[Iterable[Any], list[Column]]:
        queryset = filtered(filterset_class, request.GET, base(request.user), request)
        return import_exports.export_rows(kind, queryset), import_exports.export_columns(kind, labels=True)

    return build


def _visible(model_path: str) -> Callable[[Any], models.QuerySet]:
    def base(user: Any) -> models.QuerySet:
        from django.apps import apps

        return apps.get_model(model_path).objects.visible_to(user)

    return base


# --- Service delivery -----------------------------------------------------------------------------


def _plain(model_path: str, filterset_path: str, paths: list[Any], related: tuple[str, ...]) -> Callable:
    def build(request: Any) -> tuple[Iterable[Any], list[Column]]:
        from django.apps import apps
        from django.utils.module_loading import import_string

        model = apps.get_model(model_path)
        base = model.objects.visible_to(request.user).select_related(*related).order_by("pk")
        queryset = filtered(import_string(filterset_path), request.GET, base, request)
        return _rows(queryset), model_columns(model, paths)

    return build


# --- The renewal pipeline, the alerts inbox, notifications --------------------------------------


def _renewals(request: Any) -> tuple[Iterable[Any], list[Column]]:
    from accounts.models import Contract
    from web.money import RateTable, fiscal_year_of
    from web.pagination import BadCursor, KeysetPaginator
    from web.selectors.workspace import RENEWAL_SORT_KEYS, RENEWAL_WINDOWS, renewal_queryset

    today = timezone.localdate()
    raw = request.GET.get("within", "90")
    within = int(raw) if raw.isdigit() else -1
    if within not in RENEWAL_WINDOWS:
        windows = ", ".join(str(days) for days in RENEWAL_WINDOWS)
        raise ExportError([str(_("within: choose one of %(windows)s days.")) % {"windows": windows}])
    queryset = filtered(
        account_filters.ContractFilterSet,
        request.GET,
        renewal_queryset(user=request.user, within_days=within, today=today),
        request,
    )
    try:
        queryset = KeysetPaginator(queryset, keys=RENEWAL_SORT_KEYS, default_sort="end_date").ordered(request.GET.get("sort"))
    except BadCursor:
        raise ExportError([str(_("Unknown sort column."))]) from None
    rates = RateTable.load()
    fiscal_year = fiscal_year_of(today)
    columns = [
        *model_columns(Contract, ["number", "account__name", (_("Owner"), "account__owner__username"), "end_date"]),
        Column(_("Days left"), lambda c: (c.end_date - today).days),
        *model_columns(Contract, ["annual_value", "currency"]),
        Column(
            _("Annual value (%(currency)s)") % {"currency": rates.base},
            lambda c: rates.convert(c.annual_value, c.currency, fiscal_year),
        ),
        *model_columns(Contract, ["status", "auto_renew", (_("Health band"), "account__health_band")]),
        Column(_("Last activity"), lambda c: c.last_activity_at),
    ]
    return _rows(queryset), columns


def _alerts(request: Any) -> tuple[Iterable[Any], list[Column]]:
    from service_plans.filters import AlertFilterSet
    from service_plans.models import Alert
    from web.pagination import BadCursor, KeysetPaginator
    from web.views.alerts import ALERT_SORT_KEYS, alert_filter_data

    base = Alert.objects.visible_to(request.user).select_related("account", "owner")
    queryset = filtered(AlertFilterSet, alert_filter_data(request), base, request)
    try:
        queryset = KeysetPaginator(queryset, keys=ALERT_SORT_KEYS, default_sort="priority").ordered(request.GET.get("sort"))
    except BadCursor:
        raise ExportError([str(_("Unknown sort column."))]) from None
    paths = [
        "account__name", "rule", "reason", "priority", "status", (_("Owner"), "owner__username"), "due_on", "opened_at",
        "snoozed_until", "closed_at", "outcome", "saved_value_amount", "currency",
    ]  # fmt: skip
    return _rows(queryset), model_columns(Alert, paths)


def _notifications(request: Any) -> tuple[Iterable[Any], list[Column]]:
    from service_plans.models import Notification
    from service_plans.notifications import notification_list

    queryset = notification_list(user=request.user, unread_only=request.GET.get("unread") == "1").order_by("-created_at", "-id")
    return _rows(queryset), model_columns(Notification, ["created_at", "kind", "text", "link", "read_at"])


# --- KPI tables -----------------------------------------------------------------------------------

PERIOD_KINDS = ("year", "quarter", "month")


def _kpis(request: Any) -> tuple[Iterable[Any], list[Column]]:
    """Published KPI values (the snapshot the dashboard shows), by code, period, scope and period kind."""
    from reports.catalogue import KPI_BY_CODE
    from reports.models import KpiValue
    from reports.selectors import kpi_values

    get = request.GET.get
    errors = []
    if get("code") and get("code") not in KPI_BY_CODE:
        errors.append(str(_("code: unknown KPI “%(code)s”.")) % {"code": get("code")})
    if get("kind") and get("kind") not in PERIOD_KINDS:
        errors.append(str(_("kind: choose year, quarter or month.")))
    if errors:
        raise ExportError(errors)
    queryset = kpi_values(
        user=request.user, code=get("code") or None, period=get("period") or None, scope=get("scope") or None,
        period_kind=get("kind") or None,
    )  # fmt: skip
    columns = [
        Column(_("Code"), lambda v: v.code),
        *model_columns(KpiValue, [(_("KPI"), "code"), "period", "scope", "value", "numerator", "denominator", "n"]),
        *model_columns(KpiValue, ["is_partial", "low_confidence", "reason", "target_value", "target_status", "as_of"]),
        *model_columns(KpiValue, ["computed_at"]),
    ]
    return _rows(queryset), columns


def _kpi_targets(request: Any) -> tuple[Iterable[Any], list[Column]]:
    from reports.models import KpiTarget
    from reports.selectors import kpi_targets

    paths = [
        "code", "scope", "period", "target_value", "direction", "tolerance", "note", (_("Set by"), "created_by__username"),
        "updated_at",
    ]  # fmt: skip
    columns = [Column(_("Code"), lambda t: t.code), *model_columns(KpiTarget, paths)]
    return _rows(kpi_targets()), columns


SERVICE_REQUEST_COLUMNS = [
    "account__name", "title", "priority", "status", "opened_at", "first_response_at", "resolved_at", "first_response_due_at",
    "resolution_due_at", "first_response_breached", "resolution_breached",
]  # fmt: skip

EXPORTS: dict[str, ListExport] = {
    export.name: export
    for export in [
        ListExport(
            "accounts",
            _("Accounts"),
            "accounts.view_account",
            _import_format("accounts", account_filters.AccountFilterSet, _visible("accounts.Account")),
        ),
        ListExport(
            "contacts",
            _("Contacts"),
            "accounts.view_contact",
            _import_format("contacts", account_filters.ContactFilterSet, _visible("accounts.Contact")),
        ),
        ListExport(
            "contracts",
            _("Contracts"),
            "accounts.view_contract",
            _import_format("contracts", account_filters.ContractFilterSet, _visible("accounts.Contract")),
        ),
        ListExport(
            "invoices",
            _("Invoices"),
            "accounts.view_invoice",
            _import_format("invoices", account_filters.InvoiceFilterSet, _visible("accounts.Invoice")),
        ),
        ListExport(
            "meetings",
            _("Meetings"),
            "accounts.view_meeting",
            _import_format("meetings", account_filters.MeetingFilterSet, _visible("accounts.Meeting")),
        ),
        ListExport(
            "survey-responses",
            _("Survey responses"),
            "service_plans.view_surveyresponse",
            _import_format("survey_responses", SurveyResponseFilterSet, _visible("service_plans.SurveyResponse")),
        ),
        ListExport(
            "service-requests",
            _("Service requests"),
            "service_plans.view_servicerequest",
            _plain(
                "service_plans.ServiceRequest",
                "service_plans.filters.ServiceRequestFilterSet",
                SERVICE_REQUEST_COLUMNS,
                ("account",),
            ),
        ),
        ListExport(
            "projects",
            _("Projects"),
            "service_plans.view_project",
            _plain(
                "service_plans.Project",
                "service_plans.filters.ProjectFilterSet",
                ["account__name", "name", "kind", "status", "started_on", "ended_on"],
                ("account",),
            ),
        ),
        ListExport(
            "escalations",
            _("Escalations"),
            "service_plans.view_escalation",
            _plain(
                "service_plans.Escalation",
                "service_plans.filters.EscalationFilterSet",
                ["account__name", "title", "severity", (_("Owner"), "owner__username"), "opened_at", "closed_at"],
                ("account", "owner"),
            ),
        ),
        ListExport("renewals", _("Renewal pipeline"), "accounts.view_contract", _renewals, ("within", "sort")),
        ListExport("alerts", _("Alerts"), "service_plans.view_alert", _alerts, ("sort",)),
        ListExport("notifications", _("Notifications"), "", _notifications, ("unread",)),
        ListExport("kpis", _("KPI values"), "reports.view_kpivalue", _kpis, ("code", "period", "scope", "kind")),
        ListExport("kpi-targets", _("KPI targets"), "reports.view_kpitarget", _kpi_targets),
    ]
}


def export_filename(name: str) -> str:
    return f"{name}-{timezone.localtime().strftime('%Y%m%d-%H%M')}"


# The lists an account page offers for download, filtered to the account (``?account=<id>``).
ACCOUNT_LISTS = (
    "contacts", "contracts", "invoices", "meetings", "survey-responses", "service-requests", "projects", "escalations", "alerts",
)  # fmt: skip


def account_exports(user: Any) -> list[tuple[str, Any]]:
    """(name, title) of the account lists the user may export."""
    return [(name, EXPORTS[name].title) for name in ACCOUNT_LISTS if user.has_perm(EXPORTS[name].permission)]
