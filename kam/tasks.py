"""The generic job task. Runners live in the apps; see ``kam.jobs``."""

from __future__ import annotations

import contextlib

from celery import Task, shared_task
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from kam.jobs import job_execute
from kam.models import JobRun, JobStatus


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


@shared_task(name="kam.job_scheduled")
def job_scheduled(*, kind: str, params: dict | None = None) -> dict:
    """Beat entry point: create the job row and run it here, in this worker.

    ``params`` (optional) are passed to the runner, e.g. ``{"part": "health"}`` for the nightly scores.
    """
    from kam.models import JobRun

    job = JobRun.objects.create(kind=kind, params={"scheduled": True, **(params or {})})
    job = job_execute(job.pk)
    return {"id": job.pk, "status": job.status}


@shared_task(name="kam.ping", ignore_result=False)
def ping() -> str:
    """Used by health checks and tests to prove a worker is consuming the queue."""
    return "pong"
