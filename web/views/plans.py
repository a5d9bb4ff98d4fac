"""The account plan on the account page: create a plan, add and edit objectives, actions and
whitespace cells (and remove a cell).

Same flow as every form of the workspace (``web.views.edit._form_flow``): the form opens inline in
the plan section (htmx), each field is validated as it changes, the save goes through
``service_plans.services.plans`` and a rule it refuses comes back on its field with nothing saved.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from service_plans.models import AccountPlan, PlanAction, PlanObjective, WhitespaceCell
from service_plans.services import plans as plan_services
from service_plans.services import whitespace as whitespace_services
from web import forms as web_forms
from web.views.edit import (
    FormSpec,
    Parent,
    _data,
    _delete_flow,
    _fields,
    _form_flow,
    _require,
    _visible_account,
    create_view,
    edit_view,
)


def _plan_url(account_id: int) -> str:
    return reverse("web:account_detail", args=[account_id]) + "#plan"


def _whitespace_url(account_id: int) -> str:
    return reverse("web:account_detail", args=[account_id]) + "#whitespace"


def _visible_plan(request: HttpRequest, pk: int) -> AccountPlan:
    return get_object_or_404(AccountPlan.objects.visible_to(request.user).select_related("account"), pk=pk)


ON_PLAN = Parent(name="plan", visible=_visible_plan, account=lambda plan: plan.account)


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


#: objective_create / objective_edit: an objective of the account plan (``pk`` of create is the plan's).
OBJECTIVE = FormSpec(
    name="objective",
    model=PlanObjective,
    form=web_forms.ObjectiveForm,
    parent=ON_PLAN,
    section="plan",
    add_perm="service_plans.add_planobjective",
    change_perm="service_plans.change_planobjective",
    select_related=("plan__account",),
    create=lambda request, plan, f: plan_services.objective_create(plan=plan, actor=request.user, **_fields(f)),
    update=lambda request, objective, f: plan_services.objective_update(
        objective=objective, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New objective"),
    edit_title=gettext_lazy("Edit objective"),
    created_message=gettext_lazy("The objective was added."),
    saved_message=gettext_lazy("The objective was saved."),
)
objective_create = create_view(OBJECTIVE)
objective_edit = edit_view(OBJECTIVE)

#: action_create / action_edit: an action of the account plan; a new one is the user's by default.
ACTION = FormSpec(
    name="action",
    model=PlanAction,
    form=web_forms.ActionForm,
    parent=ON_PLAN,
    section="plan",
    add_perm="service_plans.add_planaction",
    change_perm="service_plans.change_planaction",
    select_related=("plan__account",),
    initial=lambda request: {"owner_user": request.user.pk},
    create=lambda request, plan, f: plan_services.action_create(plan=plan, actor=request.user, **_fields(f)),
    update=lambda request, action, f: plan_services.action_update(
        action=action, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New plan action"),
    edit_title=gettext_lazy("Edit plan action"),
    created_message=gettext_lazy("The action was added."),
    saved_message=gettext_lazy("The action was saved."),
)
action_create = create_view(ACTION)
action_edit = edit_view(ACTION)


# --- Whitespace (DOMAIN.md §7.2) ----------------------------------------------------------------------


def _visible_cell(request: HttpRequest, pk: int) -> WhitespaceCell:
    return get_object_or_404(WhitespaceCell.objects.visible_to(request.user).select_related("plan__account"), pk=pk)


#: whitespace_cell_create / whitespace_cell_edit: a cell of the plan's whitespace grid; the grid's "+"
#: opens the create form with its row and column (``?buying_centre=…&offering=…``) filled in.
WHITESPACE_CELL = FormSpec(
    name="whitespace_cell",
    model=WhitespaceCell,
    form=web_forms.WhitespaceCellForm,
    parent=ON_PLAN,
    section="whitespace",
    add_perm="service_plans.add_whitespacecell",
    change_perm="service_plans.change_whitespacecell",
    select_related=("plan__account",),
    initial=lambda request: {key: request.GET[key] for key in ("buying_centre", "offering") if key in request.GET},
    create=lambda request, plan, f: whitespace_services.whitespace_cell_create(plan=plan, actor=request.user, **_fields(f)),
    update=lambda request, cell, f: whitespace_services.whitespace_cell_update(
        cell=cell, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New whitespace cell"),
    edit_title=gettext_lazy("Edit whitespace cell"),
    created_message=gettext_lazy("The whitespace cell was added."),
    saved_message=gettext_lazy("The whitespace cell was saved."),
)
whitespace_cell_create = create_view(WHITESPACE_CELL)
whitespace_cell_edit = edit_view(WHITESPACE_CELL)


@login_required
@require_POST
def whitespace_cell_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a cell (the × in the grid); a stale ``version`` is refused."""
    cell = _visible_cell(request, pk)
    _require(request, "service_plans.delete_whitespacecell")
    return _delete_flow(
        request,
        delete=lambda version: whitespace_services.whitespace_cell_delete(
            cell=cell, actor=request.user, expected_version=version
        ),
        url=_whitespace_url(cell.plan.account_id),
        success_message=_("The whitespace cell was removed."),
    )
