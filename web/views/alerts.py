"""The alerts inbox and the alert lifecycle: acknowledge, snooze, close, reassign, complete a playbook task.

Every alert is looked up through the visibility rule first (an alert on an account the user may not
see is a 404), then the permission is checked (an executive reads alerts but does not work them: 403).
The rules live in ``service_plans.services.alerts``; their ``ValidationError`` comes back on the form's
fields with status 422 and nothing saved, a stale version with 409.

Each alert renders as one ``<tbody>`` (its row plus a panel row for a form), so an htmx action swaps
exactly that alert wherever it is shown: the inbox, the account page or the alert's own page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kam.errors import StaleVersion
from service_plans.filters import AlertFilterSet
from service_plans.models import OPEN_STATUSES, Alert, AlertPriority, AlertStatus, AlertTask, Rule
from service_plans.selectors import alert_get
from service_plans.services import alerts as alert_services
from web import forms as web_forms
from web.pagination import BAD_CURSOR_MESSAGE, PAGE_SIZES, BadCursor, KeysetPaginator, SortKey, count_upto
from web.views.accounts import is_htmx, page_size
from web.views.edit import STALE_MESSAGE

LIST_COUNT_LIMIT = 1000

# "priority" sorts the stored codes, which happen to be in order of urgency (critical < high <
# medium), then the due date: the partial index ``alert_open_inbox`` serves it for open alerts.
ALERT_SORT_KEYS = [
    SortKey("priority", "priority", gettext_lazy("Priority"), then="due_on", then_kind="date"),
    SortKey("due", "due_on", gettext_lazy("Due"), kind="date"),
    SortKey("account", "account__name", gettext_lazy("Account")),
]
# Errors the model's clean() names after its columns, shown on the form's fields.
FIELD_ALIASES = {"closure_note": "note", "snoozed_until": "until", "snooze_reason": "reason"}


def _visible_alert(request: HttpRequest, pk: int) -> Alert:
    return get_object_or_404(Alert.objects.visible_to(request.user).select_related("account", "owner"), pk=pk)


def can_work_alerts(request: HttpRequest) -> bool:
    """Whether the rows offer acknowledge/snooze/close (asked once per page, not once per row)."""
    return request.user.has_perm("service_plans.change_alert")


def _require_change(request: HttpRequest) -> None:
    if not can_work_alerts(request):
        raise PermissionDenied


def _place(request: HttpRequest) -> str:
    """Where the alert is shown ("inbox", "account", "detail"): the row's columns depend on it."""
    place = request.POST.get("from") or request.GET.get("from") or "inbox"
    return place if place in ("inbox", "account", "detail") else "inbox"


def _next_url(request: HttpRequest, alert: Alert) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return reverse("web:alert_detail", args=[alert.pk])


def _add_errors(form: Any, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        name = FIELD_ALIASES.get(name, name)
        form.add_error(name if name in form.fields else None, errors)


def _render_alert(
    request: HttpRequest, alert: Alert, *, form: Any = None, action: str = "", status: int = 200, note: str = ""
) -> HttpResponse:
    """The alert's ``<tbody>`` (htmx), or for a plain request the form on a page of its own."""
    if form is not None:
        web_forms.style_fields(form)
    context = {
        "a": alert,
        "form": form,
        "action": action,
        "place": _place(request),
        "note": note,
        "next": _next_url(request, alert),
        "today": timezone.localdate(),
        "can_work_alerts": can_work_alerts(request),
    }
    if is_htmx(request):
        return render(request, "web/alerts/_alert.html", context, status=status)
    if form is None:
        if note:  # without JavaScript the answer is the page the user came from, with the message
            messages.warning(request, note)
        return redirect(context["next"])
    return render(request, "web/alerts/action_page.html", context, status=status)


def _done(request: HttpRequest, alert: Alert, message: str) -> HttpResponse:
    alert = _visible_alert(request, alert.pk)
    if is_htmx(request):
        return _render_alert(request, alert, note=message)
    messages.success(request, message)
    return redirect(_next_url(request, alert))


# --- The inbox ------------------------------------------------------------------------------------


def alert_filter_data(request: HttpRequest) -> Any:
    """The inbox shows open alerts unless a status is chosen."""
    data = request.GET.copy()
    if not data.get("status") and not data.get("is_open"):
        data["is_open"] = "true"
    return data


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    filterset = AlertFilterSet(alert_filter_data(request), queryset=Alert.objects.visible_to(request.user), request=request)
    context: dict[str, Any] = {
        "filterset": filterset,
        "sort_keys": ALERT_SORT_KEYS,
        "page_sizes": PAGE_SIZES,
        "page": None,
        "priorities": AlertPriority.choices,
        "rules": Rule.choices,
        "statuses": AlertStatus.choices,
        "owners": get_user_model()
        .objects.filter(is_active=True)
        .order_by("username")
        .only("id", "username", "first_name", "last_name"),
        "today": timezone.localdate(),
        "place": "inbox",
        "next": request.get_full_path(),
        "can_work_alerts": can_work_alerts(request),
    }
    status = 200
    if not filterset.is_valid():
        status = 400
    else:
        queryset = filterset.qs.select_related("account", "owner")
        paginator = KeysetPaginator(queryset, keys=ALERT_SORT_KEYS, default_sort="priority", page_size=page_size(request))
        try:
            context["page"] = paginator.page(sort=request.GET.get("sort"), cursor=request.GET.get("cursor"))
        except BadCursor:
            context["page_error"] = BAD_CURSOR_MESSAGE
            status = 400
        else:
            context["total"], context["total_more"] = count_upto(filterset.qs, LIST_COUNT_LIMIT)
    template = "web/alerts/_results.html" if is_htmx(request) else "web/alerts/inbox.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if request.GET.get("row") and is_htmx(request):  # "Cancel" on a form: the alert's row alone
        return _render_alert(request, _visible_alert(request, pk))
    try:
        alert = alert_get(user=request.user, pk=pk)
    except Alert.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "web/alerts/detail.html",
        {
            "a": alert,
            "alert": alert,
            "place": "detail",
            "next": request.get_full_path(),
            "today": timezone.localdate(),
            "can_work_alerts": can_work_alerts(request),
        },
    )


# --- Lifecycle ------------------------------------------------------------------------------------


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _visible_alert(request, pk)
    _require_change(request)
    form = web_forms.AlertVersionForm(request.POST)
    if not form.is_valid():
        return _render_alert(request, alert, note=_("Reload the page and try again."), status=422)
    try:
        alert_services.alert_acknowledge(alert=alert, actor=request.user, expected_version=form.cleaned_data["version"])
    except StaleVersion:
        return _render_alert(request, _visible_alert(request, pk), note=str(STALE_MESSAGE), status=409)
    except ValidationError as error:
        return _render_alert(request, alert, note=" ".join(error.messages), status=422)
    return _done(request, alert, _("The alert is acknowledged: you are working on it."))


def _lifecycle_form(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type,
    action: str,
    save: Any,
    initial: Any,
    done: str,
    with_alert: bool = False,
) -> HttpResponse:
    """The GET (blank form) and POST (save through ``save``) of one lifecycle form; ``initial(alert)``.
    ``with_alert``: the form's choices depend on the alert (reassign offers the account's team)."""
    alert = _visible_alert(request, pk)
    _require_change(request)
    kwargs = {"alert": alert} if with_alert else {}
    if alert.status not in OPEN_STATUSES:
        return _render_alert(request, alert, note=_("This alert is closed."), status=409 if request.method == "POST" else 200)
    if request.method != "POST":
        form = form_class(initial={"version": alert.version, **initial(alert)}, **kwargs)
        return _render_alert(request, alert, form=form, action=action)
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            save(alert, form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        except StaleVersion:
            form.add_error(None, STALE_MESSAGE)
            return _render_alert(request, _visible_alert(request, pk), form=form, action=action, status=409)
        else:
            return _done(request, alert, done)
    return _render_alert(request, alert, form=form, action=action, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    def save(alert: Alert, data: dict[str, Any]) -> Alert:
        return alert_services.alert_snooze(
            alert=alert, until=data["until"], reason=data["reason"], actor=request.user, expected_version=data["version"]
        )

    return _lifecycle_form(
        request, pk, form_class=web_forms.AlertSnoozeForm, action="snooze", save=save, initial=lambda alert: {},
        done=_("The alert is snoozed."),
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    def save(alert: Alert, data: dict[str, Any]) -> Alert:
        amount = data["saved_value_amount"]
        return alert_services.alert_close(
            alert=alert,
            actor=request.user,
            note=data["note"],
            outcome=data["outcome"],
            status=data["status"],
            saved_value_amount=amount,
            currency=(data["currency"] or alert.account.currency) if amount is not None else "",
            expected_version=data["version"],
        )

    return _lifecycle_form(
        request, pk, form_class=web_forms.AlertCloseForm, action="close", save=save,
        initial=lambda alert: {"status": AlertStatus.CLOSED_RESOLVED, "currency": alert.account.currency},
        done=_("The alert is closed."),
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def alert_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    def save(alert: Alert, data: dict[str, Any]) -> Alert:
        return alert_services.alert_reschedule(
            alert=alert, due_on=data["due_on"], shift_tasks=data["shift_tasks"], actor=request.user,
            expected_version=data["version"],
        )  # fmt: skip

    return _lifecycle_form(
        request, pk, form_class=web_forms.AlertRescheduleForm, action="reschedule", save=save,
        initial=lambda alert: {"due_on": alert.due_on}, done=_("The due date is changed."),
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def alert_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    def save(alert: Alert, data: dict[str, Any]) -> Alert:
        return alert_services.alert_reassign(
            alert=alert, owner=data["owner"], actor=request.user, move_tasks=data["move_tasks"],
            expected_version=data["version"],
        )  # fmt: skip

    return _lifecycle_form(
        request, pk, form_class=web_forms.AlertReassignForm, action="reassign", save=save, initial=lambda alert: {},
        done=_("The alert is reassigned."), with_alert=True,
    )  # fmt: skip


@login_required
@require_POST
def alert_task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(AlertTask.objects.visible_to(request.user).select_related("alert"), pk=pk)
    if not request.user.has_perm("service_plans.change_alerttask"):
        raise PermissionDenied
    form = web_forms.AlertTaskCompleteForm(request.POST)
    form.is_valid()
    try:
        alert_services.alert_task_complete(task=task, actor=request.user, evidence=form.cleaned_data.get("evidence", ""))
    except ValidationError as error:
        _add_errors(form, error)
        web_forms.style_fields(form)
        return render(request, "web/alerts/_task.html", {"task": task, "form": form}, status=422)
    task.refresh_from_db()
    if is_htmx(request):
        return render(request, "web/alerts/_task.html", {"task": task, "note": _("Task done.")})
    messages.success(request, _("Task done."))
    return redirect(_next_url(request, task.alert))
