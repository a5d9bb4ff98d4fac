"""The accounts list (filters, sorting, keyset pages, exports), the account page and its cards loaded on demand."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.filters import AccountFilterSet
from accounts.models import Account
from kam.export import FORMATS, Column, export_response
from kam.roles import is_administrator
from web.exports import account_exports
from web.pagination import BAD_CURSOR_MESSAGE, PAGE_SIZES, BadCursor, KeysetPaginator, count_upto
from web.selectors.account_page import account_for_page, account_history, account_page, account_stakeholder_changes
from web.selectors.workspace import ACCOUNT_SORT_KEYS, LIST_COUNT_LIMIT, account_list_queryset
from web.visible import Visibility


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", 50))
    except ValueError:
        return 50
    return size if size in PAGE_SIZES else 50


def _account_filterset(request: HttpRequest, visible: Visibility | None = None) -> AccountFilterSet:
    return AccountFilterSet(request.GET, queryset=account_list_queryset(user=request.user, visible=visible), request=request)


def narrows(filterset: Any) -> bool:
    """Whether any filter of a valid FilterSet has a value (the list is not just "everything I see")."""
    return any(value not in (None, "", []) for value in filterset.form.cleaned_data.values())


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    # The visible ids as an array (web.visible), except under the renewal filter: a manager's book
    # then starts the plan (a probe per account) only while PostgreSQL cannot count the book.
    visible = None if request.GET.get("renewal_due_within") else Visibility.of(request.user)
    filterset = _account_filterset(request, visible)
    context: dict[str, Any] = {"filterset": filterset, "sort_keys": ACCOUNT_SORT_KEYS, "page_sizes": PAGE_SIZES}
    status = 200
    if not filterset.is_valid():
        context["page"] = None
        status = 400
    else:
        paginator = KeysetPaginator(filterset.qs, keys=ACCOUNT_SORT_KEYS, default_sort="name", page_size=page_size(request))
        try:
            context["page"] = paginator.page(sort=request.GET.get("sort"), cursor=request.GET.get("cursor"))
        except BadCursor:
            context.update(page=None, page_error=BAD_CURSOR_MESSAGE)
            status = 400
        else:
            if visible is not None and visible.ids is not None and not narrows(filterset):
                # A manager's whole list: the ids are the count (no second pass over the book).
                context["total"], context["total_more"] = (
                    min(len(visible.ids), LIST_COUNT_LIMIT),
                    len(visible.ids) > LIST_COUNT_LIMIT,
                )
            else:
                context["total"], context["total_more"] = count_upto(filterset.qs, LIST_COUNT_LIMIT)
    template = "web/accounts/_results.html" if is_htmx(request) else "web/accounts/list.html"
    return render(request, template, context, status=status)


def account_export_columns() -> list[Column]:
    """Headers in the user's language; enum values as their translated labels, codes never changed."""
    return [
        Column(_("Name"), lambda a: a.name),
        Column(_("External id"), lambda a: a.external_id),
        Column(_("Parent account"), lambda a: a.parent_id),
        Column(_("Tier"), lambda a: a.tier),
        Column(_("Value score"), lambda a: a.value_score),
        Column(_("Health score"), lambda a: a.health_score),
        Column(_("Health band"), lambda a: a.get_health_band_display() if a.health_band else ""),
        Column(_("Status"), lambda a: a.get_status_display()),
        Column(_("Industry"), lambda a: a.get_industry_display()),
        Column(_("Region"), lambda a: a.region),
        Column(_("Owner"), lambda a: a.owner.username),
        Column(_("Currency"), lambda a: a.currency),
        Column(_("Next renewal"), lambda a: a.next_renewal_on),
    ]


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered, sorted list as CSV or XLSX, streamed; the same FilterSet as the page."""
    fmt = request.GET.get("format", "csv")
    filterset = _account_filterset(request)
    errors: list[str] = []
    if fmt not in FORMATS:
        errors.append(_("Unknown export format “%(format)s”: choose CSV or XLSX.") % {"format": fmt})
    if not filterset.is_valid():
        errors += [f"{filterset.form.fields[name].label}: {' '.join(messages)}" for name, messages in filterset.errors.items()]
    paginator = KeysetPaginator(filterset.qs, keys=ACCOUNT_SORT_KEYS, default_sort="name")
    try:
        rows = paginator.ordered(request.GET.get("sort")) if not errors else None
    except BadCursor:
        errors.append(_("Unknown sort column."))
    if errors:
        return render(request, "web/export_error.html", {"errors": errors}, status=400)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return export_response(
        rows=rows.iterator(chunk_size=2000),
        columns=account_export_columns(),
        filename=f"accounts-{stamp}",
        fmt=fmt,
        sheet_title=str(_("Accounts")),
    )


@login_required
@require_GET
def account_lookup(request: HttpRequest) -> HttpResponse:
    """<option>s of visible accounts matching ``q``, for the parent-account picker (htmx)."""
    query = request.GET.get("q", "").strip()
    accounts = Account.objects.none()
    if query:
        accounts = AccountFilterSet({"q": query}, queryset=Account.objects.visible_to(request.user)).qs.order_by("name", "id")
        exclude = request.GET.get("exclude", "")
        if exclude.isdigit():
            # An account cannot move under itself or its own subsidiaries: leave them out.
            accounts = accounts.exclude(ancestor_links__ancestor_id=int(exclude))
    return render(request, "web/forms/account_options.html", {"accounts": accounts.only("id", "name")[:20], "query": query})


def chart_labels() -> dict[str, Any]:
    """The charts' words in the user's language (the JavaScript has none of its own)."""
    return {
        "revenue": _("Revenue"),
        "daysToPay": _("Average days to pay"),
        "daysLate": _("Days beyond terms"),
        "days": _("days"),
        "amount": _("Open amount"),
        "today": _("Today"),
        "annualValue": _("Annual value"),
        "contribution": _("Points contributed"),
        "lost": _("Points lost"),
        "healthShown": _("Health score"),
        "healthComputed": _("Computed score"),
        "yellowFrom": _("Yellow from"),
        "greenFrom": _("Green from"),
        "buckets": {
            "current": _("Not yet due"),
            "1_30": _("1–30 days"),
            "31_60": _("31–60 days"),
            "61_90": _("61–90 days"),
            "over_90": _("Over 90 days"),
        },
    }


@login_required
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = account_page(user=request.user, pk=pk)
    context = {
        "page": page,
        "account": page.account,
        "chart_labels": chart_labels(),
        # The alert rows' actions come back here.
        "next": request.get_full_path() + "#alerts",
        "today": timezone.localdate(),
        "can_work_alerts": request.user.has_perm("service_plans.change_alert"),
        "account_exports": account_exports(request.user),
        "relationships_of_others": _manages_relationships_of_others(request.user, page),
    }
    for contact in page.stakeholders.contacts:  # the user's own level with each contact (prefetched)
        contact.my_relationship = next((r for r in contact.team_relationships.all() if r.user_id == request.user.pk), None)
    return render(request, "web/account/page.html", context)


def _manages_relationships_of_others(user: Any, page: Any) -> bool:
    """``accounts.services.may_manage_relationships_of_others`` without a query: the account's owner, the
    owner of a group above it (the page's ancestors), or an administrator."""
    return (
        is_administrator(user) or page.account.owner_id == user.pk or any(a.owner_id == user.pk for a in page.hierarchy.ancestors)
    )


# --- Cards loaded on demand ------------------------------------------------------------------------
# The account page shows a placeholder for each with a "Show" link: htmx swaps the card in; without
# JavaScript the link opens the card on a page of its own (the same include).


def _render_card(request: HttpRequest, *, account: Account, include: str, title: str, context: dict[str, Any]) -> HttpResponse:
    context = {"account": account, **context}
    if is_htmx(request):
        return render(request, include, context)
    return render(request, "web/account/card_page.html", {**context, "include": include, "title": title})


@login_required
@require_GET
def account_history_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The "History of changes" card of a visible account (another manager's: 404)."""
    account = account_for_page(user=request.user, pk=pk)
    return _render_card(
        request,
        account=account,
        include="web/account/_history.html",
        title=_("History of changes"),
        context={"history": account_history(account=account)},
    )


@login_required
@require_GET
def account_stakeholder_changes_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Stakeholder changes" card of a visible account (another manager's: 404)."""
    account = account_for_page(user=request.user, pk=pk)
    return _render_card(
        request,
        account=account,
        include="web/account/_stakeholder_changes.html",
        title=_("Stakeholder changes"),
        context={"stakeholder_history": account_stakeholder_changes(account=account)},
    )
