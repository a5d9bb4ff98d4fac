"""Tier and health overrides from the account page, for users allowed to approve them.

``tiering.services`` holds the rules (a reason, an expiry within the model's maximum, an approver
with the permission, a score or a band): the forms call its validators, so every rule's message
comes back on its field at once, and the service checks them again when it saves. The override applies to the account's group. The approver is the user who
sets it: only approvers see these forms, others get a 403 (another manager's account is a 404 first).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tiering import services as tiering_services
from tiering.choices import OverrideStatus
from tiering.models import HealthOverride, TierOverride
from web import forms as web_forms
from web.views.edit import _data, _form_flow, _require, _visible_account

# The services name some errors after the override's columns.
ALIASES = {"override_score": "score", "override_band": "band"}


def _renamed(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({ALIASES.get(name, name): errors for name, errors in error.error_dict.items()})


def _scores_url(account_id: int) -> str:
    return reverse("web:account_detail", args=[account_id]) + "#why-tier"


def _save(call: Any) -> Any:
    try:
        return call()
    except ValidationError as error:
        raise _renamed(error) from error


@login_required
@require_http_methods(["GET", "POST"])
def tier_override_set(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "tiering.approve_tieroverride")
    form = web_forms.TierOverrideForm(_data(request), approver=request.user, initial={"tier": account.tier or None})
    return _form_flow(
        request,
        form=form,
        save=lambda f: _save(
            lambda: tiering_services.tier_override_set(
                account=account, approved_by=request.user, actor=request.user, **f.cleaned_data
            )
        ),
        title=_("Override the tier of %(name)s") % {"name": account.name},
        account=account,
        cancel_url=_scores_url(account.pk),
        success_url=lambda o: _scores_url(account.pk),
        success_message=_("The tier override applies to the whole group from its start date."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def health_override_set(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "tiering.approve_healthoverride")
    form = web_forms.HealthOverrideForm(_data(request), approver=request.user)

    def save(f: Any) -> HealthOverride:
        data = f.cleaned_data
        return _save(
            lambda: tiering_services.health_override_set(
                account=account,
                reason=data["reason"],
                score=data["score"],
                band=data["band"],
                approved_by=request.user,
                expires_on=data["expires_on"],
                starts_on=data["starts_on"],
                actor=request.user,
            )
        )

    return _form_flow(
        request,
        form=form,
        save=save,
        title=_("Override the health of %(name)s") % {"name": account.name},
        account=account,
        cancel_url=_scores_url(account.pk),
        success_url=lambda o: _scores_url(account.pk),
        success_message=_("The health override applies to the whole group; the computed score is kept beside it."),
    )


def _end(request: HttpRequest, pk: int, model: type[TierOverride] | type[HealthOverride], end: Any, perm: str) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, perm)
    group_id = account.group_root_id or account.pk
    override = model.objects.filter(account_id=group_id, status=OverrideStatus.ACTIVE).first()
    if override is None:
        messages.info(request, _("There is no active override to end."))
    else:
        try:
            end(override=override, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The override has ended: the computed value applies again."))
    return redirect(_scores_url(account.pk))


@login_required
@require_POST
def tier_override_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _end(request, pk, TierOverride, tiering_services.tier_override_end, "tiering.approve_tieroverride")


@login_required
@require_POST
def health_override_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _end(request, pk, HealthOverride, tiering_services.health_override_end, "tiering.approve_healthoverride")
