"""The account's activity timeline page (``web.selectors.activity``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from web.pagination import BAD_CURSOR_MESSAGE, BadCursor
from web.selectors.activity import KINDS, ActivityQuery, activity_account, activity_page
from web.views.accounts import is_htmx


class ActivityFilterForm(forms.Form):
    """The feed's filters: kinds (none = all), a date range (inclusive), the group toggle."""

    kind = forms.MultipleChoiceField(label=_("Kind"), choices=list(KINDS.items()), required=False)
    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To"), required=False)
    group = forms.BooleanField(label=_("Include subsidiaries"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError({"until": _("The end of the range is before its start.")})
        return data


@login_required
@require_GET
def account_activity(request: HttpRequest, pk: int) -> HttpResponse:
    account = activity_account(user=request.user, pk=pk)
    form = ActivityFilterForm(request.GET)
    context = {"account": account, "form": form, "kinds": KINDS, "page": None, "page_error": None}
    status = 200
    if not form.is_valid():
        status = 400
    else:
        query = ActivityQuery(
            kinds=form.cleaned_data["kind"],
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
            group=form.cleaned_data["group"],
        )
        context["query"] = query
        try:
            context["page"] = activity_page(account=account, query=query, cursor=request.GET.get("cursor"))
        except BadCursor:
            context["page_error"] = BAD_CURSOR_MESSAGE
            status = 400
    if is_htmx(request) and context["page"] is not None:
        return render(request, "web/account/_activity_feed.html", context)
    return render(request, "web/account/activity.html", context, status=status)
