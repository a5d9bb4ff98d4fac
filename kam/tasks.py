"""The generic job task. Runners live in the apps; see ``kam.jobs``."""

from __future__ import annotations

import contextlib
import logging

from celery import Task, shared_task
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from kam.jobs import JobAlreadyRunning, job_execute, job_start
from kam.models import JobRun, JobStatus

logger = logging.getLogger(__name__)


class JobTask(Task):
    """Marks the job failed when the task gives up (retries exhausted, time limit, worker error)."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: object) -> None:
        job_id = kwargs.get("job_id")
        if job_id is not None:
            with contextlib.suppress(DatabaseError):
                JobRun.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
                    status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:10_000], finished_at=timezone.now()
                )


@shared_task(
    base=JobTask,
    name="kam.job_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def job_run(*, job_id: int) -> dict:
    job = job_execute(job_id)
    return {"id": job.pk, "status": job.status}


# A scheduled run that finds another run of its kind doing different work tries again this much later.
SCHEDULED_RETRY_SECONDS = 10 * 60
# The parameters that narrow a run's work: a run without them (or with the same) does a scheduled one's.
NARROWING_PARAMS = ("part", "periods")


def _covers(running: dict, wanted: dict) -> bool:
    return all(running.get(key) in (None, wanted.get(key)) for key in NARROWING_PARAMS)


@shared_task(bind=True, name="kam.job_scheduled", max_retries=12)
def job_scheduled(self: Task, *, kind: str, params: dict | None = None) -> dict:
    """Beat entry point: create the job row and run it here, in this worker.

    ``params`` (optional) are passed to the runner, e.g. ``{"part": "health"}`` for the nightly scores.
    Like a request, it goes through ``job_start``'s one-at-a-time guard: while a run of the same
    whole-portfolio kind is queued or running (someone pressed "Recompute now" at 03:00), the
    scheduled run is skipped when that run does its work anyway, and tried again later when it
    does other work (a health-only run while the quarter's tiers are due), instead of ending as a
    failed row that says "already running".
    """
    wanted = {"scheduled": True, **(params or {})}
    try:
        with transaction.atomic():
            job = job_start(kind=kind, params=wanted)
    except JobAlreadyRunning as exc:
        if _covers(exc.job.params or {}, wanted):
            logger.info("scheduled %s skipped: job %s, already running, does its work", kind, exc.job.pk)
            return {"id": None, "status": "skipped", "running_job": exc.job.pk}
        raise self.retry(exc=exc, countdown=SCHEDULED_RETRY_SECONDS) from exc
    job = job_execute(job.pk)
    return {"id": job.pk, "status": job.status}


@shared_task(name="kam.ping", ignore_result=False)
def ping() -> str:
    """Used by health checks and tests to prove a worker is consuming the queue."""
    return "pong"
