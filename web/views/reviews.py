"""Plan reviews on the account page: schedule one, record one as held (decisions and commitments on
both sides, the next one scheduled), mark the recap sent, and complete it.

The rules live in ``service_plans.services.plans``: ``review_hold`` records (our commitments become
plan actions), ``review_recap_sent`` needs a held review, ``review_complete`` refuses a QBR without its
recap or the next one scheduled (§7.4). A refusal comes back as the reason, with nothing saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kam.errors import StaleVersion
from service_plans.models import AccountPlan, PlanReview
from service_plans.services import plans as plan_services
from web import forms as web_forms
from web.selectors.preread import review_preread as preread_of
from web.views.accounts import is_htmx
from web.views.edit import STALE_MESSAGE, _data, _form_flow, _require, htmx_redirect
from web.views.plans import _plan_url, _visible_plan


def _visible_review(request: HttpRequest, pk: int) -> PlanReview:
    return get_object_or_404(PlanReview.objects.visible_to(request.user).select_related("plan__account"), pk=pk)


def _hold(request: HttpRequest, plan: AccountPlan, review: PlanReview | None) -> Any:
    def save(form: Any) -> PlanReview:
        data = form.cleaned_data
        return plan_services.review_hold(
            plan=plan,
            review=review,
            kind=data["kind"],
            held_on=data["held_on"],
            next_scheduled_on=data["next_scheduled_on"],
            notes=data["notes"],
            decisions=data["decisions"],
            meeting=data["meeting"],
            contacts=data["contacts"],
            attendees=data["attendees"],
            commitments=form.commitment_rows(),
            actor=request.user,
            expected_version=data["version"] if review is not None else None,
        )

    return save


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a review that was held without being scheduled here first."""
    plan = _visible_plan(request, pk)
    _require(request, "service_plans.add_planreview")
    form = web_forms.ReviewRecordForm(_data(request), account=plan.account, initial={"held_on": timezone.localdate()})
    return _form_flow(
        request,
        form=form,
        save=_hold(request, plan, None),
        title=_("Record a review"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda r: _plan_url(plan.account_id),
        success_message=_("The review was recorded."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a scheduled review as held."""
    review = _visible_review(request, pk)
    _require(request, "service_plans.change_planreview")
    plan = review.plan
    form = web_forms.ReviewRecordForm(
        _data(request), account=plan.account, review=review, initial={"held_on": timezone.localdate()}
    )
    return _form_flow(
        request,
        form=form,
        save=_hold(request, plan, review),
        title=_("Record the %(kind)s") % {"kind": review.get_kind_display()},
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda r: _plan_url(plan.account_id),
        success_message=_("The review was recorded."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _visible_plan(request, pk)
    _require(request, "service_plans.add_planreview")
    form = web_forms.ReviewScheduleForm(_data(request))
    return _form_flow(
        request,
        form=form,
        save=lambda f: plan_services.review_schedule(plan=plan, actor=request.user, **f.cleaned_data),
        title=_("Schedule a review"),
        account=plan.account,
        cancel_url=_plan_url(plan.account_id),
        success_url=lambda r: _plan_url(plan.account_id),
        success_message=_("The review was scheduled."),
    )


def _step(request: HttpRequest, pk: int, step: Any, done: str) -> HttpResponse:
    """A one-click step on a review (recap sent, complete): back to the plan, where a message says what
    happened. A refusal (422) names what is missing: "Send the recap first", "Schedule the next QBR
    first". htmx gets the status and an ``HX-Redirect`` to the plan; a plain form a redirect."""
    review = _visible_review(request, pk)
    _require(request, "service_plans.change_planreview")
    url = _plan_url(review.plan.account_id)
    try:
        step(review)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        status = 422
    except StaleVersion:
        messages.error(request, str(STALE_MESSAGE))
        status = 409
    else:
        messages.success(request, done)
        status = 204
    if is_htmx(request):
        return htmx_redirect(request, url, status=status)
    return redirect(url)


@login_required
@require_POST
def review_recap_sent(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request, pk, lambda r: plan_services.review_recap_sent(review=r, actor=request.user), _("The recap is marked as sent.")
    )


@login_required
@require_POST
def review_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, lambda r: plan_services.review_complete(review=r, actor=request.user), _("The review is complete."))


@login_required
@require_http_methods(["GET"])
def review_preread(request: HttpRequest, pk: int) -> HttpResponse:
    """The review's pre-read pack (§7.4), for anyone who can see the account; printable."""
    return render(request, "web/account/preread.html", {"pack": preread_of(user=request.user, pk=pk)})
