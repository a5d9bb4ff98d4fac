"""Saved views of the accounts list: the menu (loaded after the page), saving the current filters, deleting.

The filters saved are those of the page the user is looking at: htmx sends its address (``HX-Current-URL``,
kept current by the list's ``hx-push-url``), so a sort chosen in the results or a filter typed a moment
ago is included; without htmx the form's own fields are used.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from web.models import SavedList
from web.saved_views import saved_view_create, saved_view_delete, saved_views_for

TEMPLATE = "web/accounts/_saved_views.html"


def _menu(request: HttpRequest, *, status: int = 200, **context: object) -> HttpResponse:
    views = saved_views_for(user=request.user, list_name=SavedList.ACCOUNTS)
    return render(request, TEMPLATE, {"views": views, **context}, status=status)


def _current_params(request: HttpRequest) -> dict[str, list[str]]:
    current = request.headers.get("HX-Current-URL")
    if current:
        parts = urlsplit(current)
        if parts.path == reverse("web:account_list"):
            return parse_qs(parts.query)
        return {}  # saved from elsewhere: no filters
    return {key: request.POST.getlist(key) for key in request.POST}


@login_required
@require_http_methods(["GET", "POST"])
def saved_view_menu(request: HttpRequest) -> HttpResponse:
    """GET: the menu of one's own and the shared views. POST: save the current filters as a view."""
    if request.method == "GET":
        return _menu(request)
    name = request.POST.get("view_name", "")
    try:
        view = saved_view_create(
            user=request.user,
            list_name=SavedList.ACCOUNTS,
            name=name,
            params=_current_params(request),
            is_shared=request.POST.get("is_shared") in {"on", "true", "1"},
        )
    except ValidationError as error:
        return _menu(request, status=400, errors=error.message_dict, view_name=name, open=True)
    if request.headers.get("HX-Request") != "true":
        return redirect(reverse("web:account_list") + (f"?{view.query}" if view.query else ""))
    return _menu(request, created=view, open=True)


@login_required
@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of one's own views; another user's private view is a 404, a colleague's shared one a 403."""
    view = get_object_or_404(saved_views_for(user=request.user, list_name=SavedList.ACCOUNTS), pk=pk)
    saved_view_delete(user=request.user, view=view)
    if request.headers.get("HX-Request") != "true":
        return redirect("web:account_list")
    return _menu(request, open=True)
