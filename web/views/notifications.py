"""In-app notifications: the list (newest first, keyset pages) and marking them read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from service_plans.models import Notification
from service_plans.notifications import notification_list as notifications_of
from service_plans.notifications import notification_mark_read
from web.context_processors import unread_badge
from web.pagination import BAD_CURSOR_MESSAGE, BadCursor, KeysetPaginator, SortKey
from web.views.accounts import is_htmx

NOTIFICATION_SORT_KEYS = [SortKey("created", "created_at", gettext_lazy("Received"), kind="datetime")]


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    paginator = KeysetPaginator(
        notifications_of(user=request.user, unread_only=unread_only),
        keys=NOTIFICATION_SORT_KEYS,
        default_sort="-created",
        page_size=50,
    )
    context = {"unread_only": unread_only, "page": None}
    status = 200
    try:
        context["page"] = paginator.page(sort="-created", cursor=request.GET.get("cursor"))
    except BadCursor:
        context["page_error"] = BAD_CURSOR_MESSAGE
        status = 400
    return render(request, "web/notifications/list.html", context, status=status)


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one (``id``), several or all (``all=1``) of the user's notifications read; others' are untouched."""
    ids = None if request.POST.get("all") == "1" else [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    marked = notification_mark_read(user=request.user, ids=ids)
    if is_htmx(request) and ids:
        note = Notification.objects.for_user(request.user).filter(pk__in=ids).first()
        if note is None:  # someone else's notification: it does not exist for this user
            raise Http404
        context = {"note": note, "kam_unread": unread_badge(request.user), "oob": True}
        return render(request, "web/notifications/_item.html", context)
    if marked:
        messages.success(request, _("Notifications marked as read."))
    url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        url = reverse("web:notification_list")
    return redirect(url)
