"""SLA clocks of service requests: due times on business hours, pauses, breach flags (DOMAIN.md §4.11).

The due times and breach flags are stored on the request so that the KPI engine and the alert
rules read them with plain SQL and never recompute clocks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.errors import StaleVersion
from service_plans.models import ServiceRequest, ServiceRequestPause, ServiceRequestStatus, ServiceStandard, SlaTarget
from service_plans.sla import BusinessClock

FALLBACK_TIER = "T4"  # accounts not tiered yet get the most basic standard
SERVICE_REQUEST_FIELDS = frozenset({"title", "priority", "status", "opened_at", "first_response_at", "resolved_at"})


def sla_standard_for(tier: str | None) -> ServiceStandard | None:
    standards = {s.tier: s for s in ServiceStandard.objects.current().select_related("calendar")}
    return standards.get(tier or FALLBACK_TIER) or standards.get(FALLBACK_TIER)


def sla_targets(standard: ServiceStandard | None) -> dict[str, tuple[int, int]]:
    if standard is None:
        return {}
    return {t.priority: (t.first_response_minutes, t.resolution_minutes) for t in SlaTarget.objects.filter(standard=standard)}


def sla_clock(standard: ServiceStandard | None) -> BusinessClock:
    from service_plans.sla import default_clock

    return BusinessClock.from_calendar(standard.calendar) if standard is not None else default_clock()


def sla_compute(
    *,
    opened_at: dt.datetime,
    first_response_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    targets: tuple[int, int] | None,
    clock: BusinessClock,
    pauses: list[tuple[dt.datetime, dt.datetime | None]],
    now: dt.datetime,
) -> dict[str, Any]:
    """Due times, breach flags and paused business minutes of one request (pure: no queries)."""
    if targets is None:
        return {
            "first_response_due_at": None,
            "resolution_due_at": None,
            "first_response_breached": False,
            "resolution_breached": False,
            "paused_minutes": 0,
        }
    first_due = clock.add_business_minutes(opened_at, targets[0], pauses)
    resolution_due = clock.add_business_minutes(opened_at, targets[1], pauses)

    def breached(done: dt.datetime | None, due: dt.datetime | None) -> bool:
        if due is None:
            return False  # an open pause holds the clock: not due yet
        return (done or now) > due

    paused = sum(clock.business_minutes_between(a, b or now) for a, b in pauses)
    return {
        "first_response_due_at": first_due,
        "resolution_due_at": resolution_due,
        "first_response_breached": breached(first_response_at, first_due),
        "resolution_breached": breached(resolved_at, resolution_due),
        "paused_minutes": int(paused),
    }


def _recompute(request: ServiceRequest, *, now: dt.datetime | None = None) -> None:
    standard = request.sla_standard
    pauses = list(request.pauses.order_by("started_at").values_list("started_at", "ended_at"))
    values = sla_compute(
        opened_at=request.opened_at,
        first_response_at=request.first_response_at,
        resolved_at=request.resolved_at,
        targets=sla_targets(standard).get(request.priority),
        clock=sla_clock(standard),
        pauses=pauses,
        now=now or timezone.now(),
    )
    for name, value in values.items():
        setattr(request, name, value)


@transaction.atomic
def service_request_create(
    *, account: Any, priority: str, opened_at: dt.datetime | None = None, actor: Any = None, **fields: Any
) -> ServiceRequest:
    """Open a request under the SLA of the account's current tier standard."""
    unknown = set(fields) - SERVICE_REQUEST_FIELDS
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")
    request = ServiceRequest(account=account, priority=priority, opened_at=opened_at or timezone.now(), **fields)
    request.sla_standard = sla_standard_for(account.tier)
    request.full_clean(exclude=["first_response_due_at", "resolution_due_at"])
    request.save()
    _recompute(request)
    request.save(
        update_fields=[
            "first_response_due_at",
            "resolution_due_at",
            "first_response_breached",
            "resolution_breached",
            "paused_minutes",
        ]
    )
    return request


@transaction.atomic
def service_request_update(
    *, service_request: ServiceRequest, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> ServiceRequest:
    """Change a request. Moving to and from "waiting on customer" opens and ends an SLA pause."""
    unknown = set(fields) - SERVICE_REQUEST_FIELDS
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")
    request = ServiceRequest.objects.select_for_update().get(pk=service_request.pk)
    if expected_version is not None and request.version != expected_version:
        raise StaleVersion(request.version)
    now = timezone.now()
    old_status = request.status
    for name, value in fields.items():
        setattr(request, name, value)
    if request.status == ServiceRequestStatus.RESOLVED and request.resolved_at is None:
        request.resolved_at = now
    request.full_clean()
    if old_status != request.status:
        if request.status == ServiceRequestStatus.WAITING:
            ServiceRequestPause.objects.create(service_request=request, started_at=now, reason=_("Waiting on customer"))
        elif old_status == ServiceRequestStatus.WAITING:
            ServiceRequestPause.objects.filter(service_request=request, ended_at__isnull=True).update(ended_at=now)
    _recompute(request, now=now)
    request.version = F("version") + 1
    request.save()
    request.refresh_from_db()
    return request


@transaction.atomic
def service_request_pause(
    *, service_request: ServiceRequest, at: dt.datetime | None = None, reason: str = ""
) -> ServiceRequestPause:
    request = ServiceRequest.objects.select_for_update().get(pk=service_request.pk)
    at = at or timezone.now()
    if request.pauses.filter(ended_at__isnull=True).exists():
        raise ValidationError({"status": [_("The SLA clock is already paused.")]})
    if at < request.opened_at:
        raise ValidationError({"started_at": [_("A pause cannot start before the request was opened.")]})
    if request.resolved_at is not None:
        raise ValidationError({"status": [_("A resolved request has no running clock to pause.")]})
    pause = ServiceRequestPause(service_request=request, started_at=at, reason=reason)
    pause.full_clean()
    pause.save()
    request.status = ServiceRequestStatus.WAITING
    _recompute(request, now=at)
    request.version = F("version") + 1
    request.save()
    return pause


@transaction.atomic
def service_request_resume(*, service_request: ServiceRequest, at: dt.datetime | None = None) -> ServiceRequest:
    request = ServiceRequest.objects.select_for_update().get(pk=service_request.pk)
    at = at or timezone.now()
    pause = request.pauses.filter(ended_at__isnull=True).first()
    if pause is None:
        raise ValidationError({"status": [_("The SLA clock is not paused.")]})
    if at < pause.started_at:
        raise ValidationError({"ended_at": [_("A pause cannot end before it started.")]})
    pause.ended_at = at
    pause.save(update_fields=["ended_at"])
    request.status = ServiceRequestStatus.OPEN
    _recompute(request, now=at)
    request.version = F("version") + 1
    request.save()
    request.refresh_from_db()
    return request


def service_request_respond(
    *, service_request: ServiceRequest, at: dt.datetime | None = None, actor: Any = None
) -> ServiceRequest:
    return service_request_update(service_request=service_request, first_response_at=at or timezone.now(), actor=actor)


def service_request_resolve(
    *, service_request: ServiceRequest, at: dt.datetime | None = None, actor: Any = None
) -> ServiceRequest:
    at = at or timezone.now()
    fields: dict[str, Any] = {"resolved_at": at, "status": ServiceRequestStatus.RESOLVED}
    if service_request.first_response_at is None:
        fields["first_response_at"] = at  # resolving is a response
    return service_request_update(service_request=service_request, actor=actor, **fields)


def sla_refresh_breaches(*, now: dt.datetime | None = None) -> int:
    """Flag open requests whose target passed since the last run: two UPDATEs, whatever the size."""
    now = now or timezone.now()
    first = ServiceRequest.objects.filter(
        first_response_at__isnull=True, first_response_breached=False, first_response_due_at__lt=now
    ).update(first_response_breached=True)
    resolution = ServiceRequest.objects.filter(
        Q(resolved_at__isnull=True), resolution_breached=False, resolution_due_at__lt=now
    ).update(resolution_breached=True)
    return first + resolution
