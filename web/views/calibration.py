"""Alert calibration (DOMAIN.md §5.5): per signal, precision and lead time over a fiscal quarter.

Executives and administrators only (account managers get 403, and the navigation does not show
them the page): the report judges the signals across the portfolio. The figures are
``reports.calibration.alert_calibration``'s, the same as the ``alert-calibration/`` API and the
``alert_calibration`` command; one query whatever the number of alerts.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kam.roles import sees_all_accounts
from reports.calibration import HORIZON_DAYS, alert_calibration, calibration_window, last_completed_quarter, recent_quarters
from reports.formulas import MIN_SAMPLE


@login_required
@require_GET
def alert_calibration_page(request: HttpRequest) -> HttpResponse:
    if not sees_all_accounts(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    quarter = request.GET.get("quarter") or last_completed_quarter(today)
    context = {
        "quarters": recent_quarters(today),
        "quarter": quarter,
        "horizon_days": HORIZON_DAYS,
        "min_sample": MIN_SAMPLE,
        "as_of": today,
        "rows": None,
    }
    try:
        window = calibration_window(quarter=quarter, today=today)
    except ValidationError as error:
        context["errors"] = error.message_dict
        return render(request, "web/calibration/page.html", context, status=400)
    quarter = context["quarter"] = window.quarter
    if quarter not in context["quarters"]:  # an older quarter asked for by its label: keep it selectable
        context["quarters"].append(quarter)
    context.update(window=window, rows=alert_calibration(user=request.user, start=window.start, end=window.end, as_of=today))
    return render(request, "web/calibration/page.html", context)
