"""The import job's task: the generic job task, but it waits its turn instead of failing.

``kam.jobs.job_execute`` runs one job of a kind at a time and ends a second concurrent one with
"already running" — right for whole-portfolio recomputes, wrong for two people importing at once.
This task takes the same advisory lock first (without waiting) and, while another import holds
it, retries a few seconds later; once it holds the lock, ``job_execute`` re-enters it (PostgreSQL
advisory locks are re-entrant within a session) and runs the job as usual.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError, connection

from kam.jobs import job_execute
from kam.locks import advisory_lock
from kam.models import JobKind

RETRY_SECONDS = 3
MAX_WAIT_RETRIES = 1200  # an hour of waiting behind other imports


@shared_task(
    bind=True,
    name="imports.import_job",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_WAIT_RETRIES,
)
def import_job(self, *, job_id: int) -> dict:
    if connection.vendor != "postgresql":
        # The embedded default runs tasks in-process, one request at a time per import.
        job = job_execute(job_id)
        return {"id": job.pk, "status": job.status}
    with advisory_lock(f"job:{JobKind.IMPORT_DATA}") as acquired:
        if not acquired:
            raise self.retry(countdown=RETRY_SECONDS, max_retries=MAX_WAIT_RETRIES)
        job = job_execute(job_id)
    return {"id": job.pk, "status": job.status}
