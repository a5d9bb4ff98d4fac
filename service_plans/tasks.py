"""Thin Celery tasks of the service plans app: load, call one service, return a small result."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from kam.locks import advisory_lock

# The event handlers share the nightly run's lock so that R8 never races the evaluation.
EVALUATION_LOCK = "job:evaluate_alerts"


@shared_task(name="service_plans.health_changed", bind=True, max_retries=20, default_retry_delay=60)
def health_changed(self: Any, *, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    from service_plans.alerts.engine import health_changes_apply

    with advisory_lock(EVALUATION_LOCK) as acquired:
        if not acquired:
            raise self.retry()
        return health_changes_apply(payloads)


@shared_task(name="service_plans.tier_changed")
def tier_changed(*, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    from service_plans.services.plans import tier_changes_apply

    return tier_changes_apply(payloads)


def evaluate_alerts_runner(*, job: Any, progress: Any) -> dict[str, Any]:
    """Runner of JobKind ``evaluate_alerts`` (kam.jobs holds the one-at-a-time lock)."""
    from service_plans.alerts.engine import evaluate_all

    return evaluate_all(progress=progress)
