"""Celery tasks of the reports app. The nightly full recompute is the generic ``kam.job_scheduled``
(see CELERY_BEAT_SCHEDULE); this module holds the debounced refresh after source changes."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reports.services import kpis_refresh_run


@shared_task(
    name="reports.kpis_refresh",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def kpis_refresh() -> dict:
    """Run the pending KPI refresh once the changes have settled; reschedule itself until then."""
    outcome = kpis_refresh_run()
    if outcome.get("countdown") is not None:
        kpis_refresh.apply_async(countdown=outcome["countdown"])
    return outcome
