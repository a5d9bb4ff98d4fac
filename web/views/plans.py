"""The account plan on the account page: create a plan, add and edit objectives, actions and
whitespace cells (and remove a cell).

Same flow as every form of the workspace (``web.views.edit._form_flow``): the form opens inline in
the plan section (htmx), each field is validated as it changes, the save goes through
``service_plans.services.plans`` and a rule it refuses comes back on its field with nothing saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kam.errors import StaleVersion
from service_plans.models import AccountPlan, PlanAction, PlanObjective, WhitespaceCell
from service_plans.services import plans as plan_services
from service_plans.services import whitespace as whitespace_services
from web import forms as web_forms
from web.views.accounts import is_htmx
from web.views.edit import STALE_MESSAGE, _data, _fields, _form_flow, _require, _visible_account, htmx_redirect


def _plan_url(account_id: int) -> str:
    return reverse("web:account_detail", args=[account_id]) + "#plan"


def _whitespace_url(account_id: int) -> str:
    return reverse("web:account_detail", args=[account_id]) + "#whitespace"


def _visible_plan(request: HttpRequest, pk: int) -> AccountPlan:
    return get_object_or_404(AccountPlan.objects.visible_to(request.user).select_related("account"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "service_plans.add_accountplan")
    form = web_forms.PlanCreateForm(
        _data(request),
        account=account,
        initial={"fiscal_year": plan_services.fiscal_year_of(timezone.localdate()), "owner": account.owner_id},
    )
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.plan_create(account=account, actor=request.user, **f.cleaned_data),
        title=_("New account plan"),
        account=account,
        cancel_url=_plan_url(account.pk),
        success_url=lambda p: _plan_url(account.pk),
        success_message=_("The plan was created."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_create(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _visible_plan(request, pk)
    _require(request, "service_plans.add_planobjective")
    form = web_forms.ObjectiveForm(_data(request), plan=plan)
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.objective_create(plan=plan, actor=request.user, **_fields(f)),
        title=_("New objective"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda o: _plan_url(plan.account_id),
        success_message=_("The objective was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(PlanObjective.objects.visible_to(request.user).select_related("plan__account"), pk=pk)
    _require(request, "service_plans.change_planobjective")
    plan = objective.plan
    form = web_forms.ObjectiveForm(_data(request), instance=objective, plan=plan)
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.objective_update(
            objective=objective, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit objective"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda o: _plan_url(plan.account_id),
        success_message=_("The objective was saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_create(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _visible_plan(request, pk)
    _require(request, "service_plans.add_planaction")
    form = web_forms.ActionForm(_data(request), plan=plan, initial={"owner_user": request.user.pk})
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.action_create(plan=plan, actor=request.user, **_fields(f)),
        title=_("New plan action"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda a: _plan_url(plan.account_id),
        success_message=_("The action was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(PlanAction.objects.visible_to(request.user).select_related("plan__account"), pk=pk)
    _require(request, "service_plans.change_planaction")
    plan = action.plan
    form = web_forms.ActionForm(_data(request), instance=action, plan=plan)
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.action_update(
            action=action, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit plan action"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda a: _plan_url(plan.account_id),
        success_message=_("The action was saved."),
    )


# --- Whitespace (DOMAIN.md §7.2) ----------------------------------------------------------------------


def _visible_cell(request: HttpRequest, pk: int) -> WhitespaceCell:
    return get_object_or_404(WhitespaceCell.objects.visible_to(request.user).select_related("plan__account"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def whitespace_cell_create(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _visible_plan(request, pk)
    _require(request, "service_plans.add_whitespacecell")
    initial = {key: request.GET[key] for key in ("buying_centre", "offering") if key in request.GET}
    form = web_forms.WhitespaceCellForm(_data(request), plan=plan, initial=initial)
    return _form_flow(
        request,
        form=form,
        save=lambda f: whitespace_services.whitespace_cell_create(plan=plan, actor=request.user, **_fields(f)),
        title=_("New whitespace cell"),
        account=plan.account,
        cancel_url=_whitespace_url(plan.account_id),
        success_url=lambda c: _whitespace_url(plan.account_id),
        success_message=_("The whitespace cell was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def whitespace_cell_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cell = _visible_cell(request, pk)
    _require(request, "service_plans.change_whitespacecell")
    plan = cell.plan
    form = web_forms.WhitespaceCellForm(_data(request), instance=cell, plan=plan)
    return _form_flow(
        request,
        form=form,
        save=lambda f: whitespace_services.whitespace_cell_update(
            cell=cell, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit whitespace cell"),
        account=plan.account,
        cancel_url=_whitespace_url(plan.account_id),
        success_url=lambda c: _whitespace_url(plan.account_id),
        success_message=_("The whitespace cell was saved."),
    )


@login_required
@require_POST
def whitespace_cell_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a cell (the × in the grid); a stale ``version`` is refused."""
    cell = _visible_cell(request, pk)
    _require(request, "service_plans.delete_whitespacecell")
    url = _whitespace_url(cell.plan.account_id)
    version = request.POST.get("version", "")
    status = 204
    try:
        whitespace_services.whitespace_cell_delete(
            cell=cell, actor=request.user, expected_version=int(version) if version.isdigit() else None
        )
    except StaleVersion:
        messages.error(request, str(STALE_MESSAGE))
        status = 409
    else:
        messages.success(request, _("The whitespace cell was removed."))
    if is_htmx(request):
        return htmx_redirect(request, url, status=status)
    return redirect(url)
