"""The account manager's home page and the renewal pipeline."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.filters import ContractFilterSet
from web.money import RateTable, fiscal_year_of
from web.pagination import BAD_CURSOR_MESSAGE, PAGE_SIZES, BadCursor, KeysetPaginator, count_upto
from web.selectors.workspace import (
    LIST_COUNT_LIMIT,
    RENEWAL_SORT_KEYS,
    RENEWAL_WINDOWS,
    home_page,
    renewal_queryset,
    renewal_windows,
)
from web.views.accounts import is_htmx, narrows, page_size


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    page = home_page(user=request.user)
    return render(request, "web/home.html", {"page": page, **page.summary})


@login_required
@require_GET
def renewal_pipeline(request: HttpRequest) -> HttpResponse:
    """Contracts due within 30/60/90/180 days with value (base currency), health and last activity."""
    today = timezone.localdate()
    rates = RateTable.load()
    try:
        within = int(request.GET.get("within", 90))
    except ValueError:
        within = -1
    status = 200
    windows = renewal_windows(user=request.user, today=today, rates=rates)
    context = {"windows": windows, "within": within, "page": None}
    filterset = ContractFilterSet(
        request.GET, queryset=renewal_queryset(user=request.user, within_days=max(within, 0), today=today), request=request
    )
    context["filterset"] = filterset
    if within not in RENEWAL_WINDOWS:
        context["window_error"] = True
        status = 400
    elif not filterset.is_valid():
        status = 400
    else:
        paginator = KeysetPaginator(filterset.qs, keys=RENEWAL_SORT_KEYS, default_sort="end_date", page_size=page_size(request))
        try:
            page = paginator.page(sort=request.GET.get("sort"), cursor=request.GET.get("cursor"))
        except BadCursor:
            context["page_error"] = BAD_CURSOR_MESSAGE
            status = 400
        else:
            fy_now = fiscal_year_of(today)
            for contract in page.rows:
                contract.base_value = rates.convert(contract.annual_value, contract.currency, fy_now)
                contract.days_left = (contract.end_date - today).days
            context["page"] = page
            if narrows(filterset):
                context["total"], context["total_more"] = count_upto(filterset.qs, LIST_COUNT_LIMIT)
            else:
                # Nothing narrows the window: its count is the total, already read with the windows
                # (a second pass over the period's contracts cost as much again at 100,000 accounts).
                context["total"] = next(window.count for window in windows if window.days == within)
                context["total_more"] = False
    context.update(
        renewal_windows_days=RENEWAL_WINDOWS,
        sort_keys=RENEWAL_SORT_KEYS,
        page_sizes=PAGE_SIZES,
        base_currency=rates.base,
        missing_rates=rates.missing_labels,
    )
    template = "web/renewals/_results.html" if is_htmx(request) else "web/renewals/pipeline.html"
    return render(request, template, context, status=status)
