"""The executive dashboard, "Recompute now" and its progress.

The page reads the published KPI snapshot only (``web.selectors.dashboard``). Executives and
administrators see every scope; an account manager sees the figures of their own book (the reports
selectors' rule), so their scope is always ``owner:<username>``.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kam.jobs import BackgroundUnavailable, JobAlreadyRunning, job_request
from kam.models import JobKind, JobRun, JobStatus
from kam.roles import sees_all_accounts
from reports.catalogue import REASON_LABELS
from reports.selectors import kpi_values
from web.money import RateTable
from web.selectors.dashboard import PERIOD_KINDS, DashboardError, dashboard
from web.selectors.workspace import renewal_windows
from web.views.accounts import is_htmx

RECOMPUTE_PERMISSION = "reports.add_kpirun"


def _scope(request: HttpRequest) -> str:
    if not sees_all_accounts(request.user):
        return f"owner:{request.user.get_username()}"
    return request.GET.get("scope") or "company"


@login_required
@require_GET
def executive_dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "period_kinds": PERIOD_KINDS,
        "can_recompute": request.user.has_perm(RECOMPUTE_PERMISSION),
        "sees_all": sees_all_accounts(request.user),
    }
    status = 200
    try:
        board = dashboard(
            user=request.user,
            period_kind=request.GET.get("kind") or "month",
            period=request.GET.get("period") or None,
            scope=_scope(request),
        )
        context.update(
            board=board,
            sparks={tile.kpi.code: tile.spark for _family, tiles in board.families for tile in tiles},
            dashboard_labels={
                "top5": _("Top-5 share"),
                "hhi": _("HHI"),
                "nps": _("NPS"),
                "csat": _("CSAT"),
                "ces_easy": _("CES (easy share)"),
                "sla": _("SLA attainment"),
            },
        )
    except DashboardError as error:
        context.update(board=None, error=str(error))
        status = 400
    template = "web/dashboard/_board.html" if is_htmx(request) else "web/dashboard/page.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def dashboard_renewals(request: HttpRequest) -> HttpResponse:
    """Renewals due in the next 30/60/90/180 days (live, from contracts: not a KPI) and ARR at risk.

    Loaded after the page (htmx), so the dashboard itself reads the KPI snapshot only.
    """
    today = timezone.localdate()
    rates = RateTable.load()
    # ARR at risk is a KPI: the published value of the period and scope the dashboard shows.
    period, scope = request.GET.get("period", ""), request.GET.get("scope") or "company"
    at_risk = next(iter(kpi_values(user=request.user, code="arr_at_risk", period=period, scope=scope)), None) if period else None
    context = {
        "windows": renewal_windows(user=request.user, today=today, rates=rates),
        "base_currency": rates.base,
        "computed_at": timezone.now(),
        "at_risk": at_risk,
        "at_risk_period": period,
        "at_risk_reason": REASON_LABELS.get(at_risk.reason, at_risk.reason) if at_risk else "",
    }
    return render(request, "web/dashboard/_renewals.html", context)


@login_required
@require_POST
def kpi_recompute(request: HttpRequest) -> HttpResponse:
    """Queue a KPI recompute (one at a time: a second request while one runs says so)."""
    if not request.user.has_perm(RECOMPUTE_PERMISSION):
        raise PermissionDenied
    error = ""
    try:
        job = job_request(kind=JobKind.RECOMPUTE_KPIS, params={"trigger": "manual"}, user=request.user)
    except JobAlreadyRunning as exc:
        job = exc.job  # show the running one's progress instead of queuing a second
    except BackgroundUnavailable:
        error = _(
            "The recompute could not be queued: background processing is unavailable. The figures shown are "
            "still the last published ones. Try again in a few minutes."
        )
        job = None
    status = 503 if error else 202
    return render(request, "web/dashboard/_job.html", {"job": job, "job_error": error}, status=status)


@login_required
@require_GET
def kpi_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress of a KPI recompute, polled by the page; when it is done the page reloads."""
    job = get_object_or_404(JobRun, pk=pk, kind=JobKind.RECOMPUTE_KPIS)
    response = render(request, "web/dashboard/_job.html", {"job": job})
    if job.status == JobStatus.DONE and is_htmx(request):
        response["HX-Refresh"] = "true"  # the new snapshot is published: show it
    return response
