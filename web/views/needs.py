"""Needs on the account page: add and edit a department's need inline (``web.views.edit._form_flow``).

The form opens in the needs section by htmx, each field is validated as it changes, and the save goes
through ``service_plans.services.delivery`` (``need_create`` / ``need_update``, which checks the version).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from service_plans.models import Need
from service_plans.services import delivery
from web import forms as web_forms
from web.views.edit import _account_url, _data, _fields, _form_flow, _require, _visible_account


@login_required
@require_http_methods(["GET", "POST"])
def need_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "service_plans.add_need")
    form = web_forms.NeedForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: delivery.need_create(account=account, actor=request.user, **_fields(f)),
        title=_("New need"),
        account=account,
        cancel_url=_account_url(account.pk, "needs"),
        success_url=lambda n: _account_url(account.pk, "needs"),
        success_message=_("The need was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def need_edit(request: HttpRequest, pk: int) -> HttpResponse:
    need = get_object_or_404(Need.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "service_plans.change_need")
    form = web_forms.NeedForm(_data(request), instance=need, account=need.account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: delivery.need_update(
            need=need, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit need"),
        account=need.account,
        cancel_url=_account_url(need.account_id, "needs"),
        success_url=lambda n: _account_url(need.account_id, "needs"),
        success_message=_("The need was saved."),
    )
