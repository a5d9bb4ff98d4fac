"""Background jobs: request, claim, report progress, finish.

Every long job (score recompute, KPI recompute, alert evaluation, imports) is a ``JobRun`` row plus
one generic Celery task, ``kam.tasks.job_run``, that looks the job's runner up in ``JOB_RUNNERS``.
The flow gives the guarantees the issues ask for:

- A request creates a queued row and publishes the task after commit; if the broker is down the
  row is marked failed and ``BackgroundUnavailable`` tells the caller to retry. A request for a
  whole-portfolio kind while one is active is refused with ``JobAlreadyRunning`` (naming that job);
  requests are serialised by a transaction-level advisory lock, so two at once cannot both pass.
- The worker claims the row with a conditional UPDATE (a finished job is never run again, so a
  redelivered message is harmless) and takes an advisory lock per kind (one run at a time; a second
  concurrent run ends with "already running").
- A worker killed mid-run (SIGKILL, OOM) leaves its row "running"; Celery redelivers the message
  (``acks_late`` + ``reject_on_worker_lost``) and the next attempt continues the same row. The dead
  attempt's PostgreSQL session may still hold the kind's lock for a moment (a backend only notices
  its client is gone when it next talks to it), so a continued attempt waits for the lock instead
  of failing, and job sessions ask PostgreSQL to check their client every few seconds. A row left
  "running" with no lock holder beyond the broker's visibility timeout is stale: the next request
  marks it failed instead of being blocked by it forever.
- Progress is written in autocommit, so runners keep their heavy phase outside ``atomic()`` and
  publish results in one short transaction at the end: readers see the old or the new snapshot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from kam.locks import advisory_lock, advisory_lock_is_held, transaction_lock
from kam.models import JobKind, JobRun, JobStatus

logger = logging.getLogger(__name__)

# kind -> dotted path of ``runner(job: JobRun, progress: Progress) -> dict``. Each app adds its own.
JOB_RUNNERS: dict[str, str] = {}

# Stored in English and translated when shown (the row outlives the request's language).
ALREADY_RUNNING = gettext_noop("already running")
BROKER_UNAVAILABLE = gettext_noop("Background processing is unavailable: the message broker cannot be reached. Try again later.")
WORKER_LOST = gettext_noop("The worker running this job stopped and the job was not continued. Start it again.")

# Whole-portfolio kinds: one at a time, and a request while one is active is refused. Imports and
# exports queue behind each other instead (``imports.tasks``).
EXCLUSIVE_KINDS = frozenset({JobKind.RECOMPUTE_SCORES, JobKind.RECOMPUTE_KPIS, JobKind.EVALUATE_ALERTS})

# How long a continued attempt waits for the lock that its dead predecessor's session may still hold.
LOCK_WAIT_ON_RETRY_SECONDS = 120
# Job sessions ask PostgreSQL to notice a vanished client within this interval, even mid-statement
# or while waiting for a lock, so a killed worker's session (and its lock) does not linger.
CLIENT_CHECK_INTERVAL = "5s"


class BackgroundUnavailable(Exception):
    """The message broker cannot be reached; nothing was queued."""


class JobAlreadyRunning(Exception):
    """A job of this whole-portfolio kind is already queued or running: ``job`` is that one."""

    def __init__(self, job: JobRun) -> None:
        super().__init__(f"{job.kind} already running (job {job.pk})")
        self.job = job


class Progress:
    """Progress of a job, shown as a bar on the command line and as a percentage on the job row.

    Writes to the row at most once a second or per whole percent, so a million-row loop costs a
    few dozen UPDATEs, not a million.
    """

    def __init__(self, *, total: int, job_id: int | None = None, description: str = "", bar: bool = False) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.job_id = job_id
        self._last_pct = -1
        self._last_write = 0.0
        self._bar = None
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=description, unit="", dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self._bar is not None:
            self._bar.update(n)
        self._write()

    def set(self, done: int) -> None:
        self.advance(done - self.done)

    def _write(self, *, force: bool = False) -> None:
        if self.job_id is None:
            return
        pct = min(99, int(self.done * 100 / self.total))  # 100 only when the job is done
        now = time.monotonic()
        if force or (pct > self._last_pct and now - self._last_write >= 1.0):
            JobRun.objects.filter(pk=self.job_id, progress__lt=pct).update(progress=pct)
            self._last_pct, self._last_write = pct, now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _stale_after() -> dt.timedelta:
    # An unacknowledged message comes back within the broker's visibility timeout; a row older than
    # that whose lock nobody holds will not be continued by anyone.
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return dt.timedelta(seconds=options.get("visibility_timeout", 3600))


def job_is_stale(job: JobRun) -> bool:
    """A queued or running row that nothing will continue: no session holds its kind's lock and
    it was queued or last claimed longer ago than the broker takes to redeliver a message."""
    if job.is_finished:
        return False
    since = job.started_at or job.created_at
    if since is not None and timezone.now() - since < _stale_after():
        return False
    return not advisory_lock_is_held(f"job:{job.kind}")


def job_active(kind: str, *, exclude: int | None = None) -> JobRun | None:
    """The oldest queued or running job of ``kind`` that is not stale (other than ``exclude``)."""
    candidates = JobRun.objects.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exclude(pk=exclude)
    for job in candidates.order_by("created_at"):
        if not job_is_stale(job):
            return job
    return None


@transaction.atomic
def job_start(*, kind: str, params: dict[str, Any] | None = None, user: Any = None) -> JobRun:
    """Create the queued row of a job; the caller runs or publishes it.

    For a whole-portfolio kind, raises ``JobAlreadyRunning`` while another is queued or running;
    stale rows (see ``job_is_stale``) are marked failed on the way instead of blocking forever.
    """
    if kind not in JOB_RUNNERS:
        raise ValueError(f"unknown job kind {kind!r}")
    if kind in EXCLUSIVE_KINDS:
        # Two requests at once: the second waits here until the first commits, then sees its row.
        transaction_lock(f"job-request:{kind}")
        active = JobRun.objects.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).order_by("created_at")
        for job in active:
            if not job_is_stale(job):
                raise JobAlreadyRunning(job)
            job_fail(job.pk, WORKER_LOST)
            logger.warning("job %s was stale (its worker died and it was not redelivered); marked failed", job.pk)
    return JobRun.objects.create(kind=kind, params=params or {}, requested_by=user if getattr(user, "pk", None) else None)


def job_request(*, kind: str, params: dict[str, Any] | None = None, user: Any = None) -> JobRun:
    """Create a queued job and publish it after commit.

    Raises ``JobAlreadyRunning`` for a whole-portfolio kind that is already queued or running, and
    ``BackgroundUnavailable`` (with the job marked failed) when the broker is down.
    """
    job = job_start(kind=kind, params=params, user=user)
    transaction.on_commit(partial(_publish, job.pk))
    return job


def _publish(job_id: int) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from kam.tasks import job_run

    try:
        job_run.apply_async(kwargs={"job_id": job_id})
    except BrokerError as exc:
        JobRun.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=BROKER_UNAVAILABLE,
        )
        logger.error("job %s not queued: broker unavailable (%s)", job_id, exc)
        raise BackgroundUnavailable(str(exc)) from exc


def job_claim(job_id: int) -> bool:
    """Mark the job running unless it has finished. A redelivered message after a worker died finds
    the job 'running' and may continue it: the advisory lock keeps two runs from overlapping."""
    return bool(
        JobRun.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, error=""
        )
    )


def job_finish(job_id: int, result: dict[str, Any]) -> None:
    JobRun.objects.filter(pk=job_id).update(status=JobStatus.DONE, progress=100, result=result, finished_at=timezone.now())


def job_fail(job_id: int, error: str) -> None:
    JobRun.objects.filter(pk=job_id).update(status=JobStatus.FAILED, error=error[:10_000], finished_at=timezone.now())


def job_execute(job_id: int, *, bar: bool = False) -> JobRun:
    """Run a job in this process (the Celery task and the management commands both call this)."""
    job = JobRun.objects.get(pk=job_id)
    if not job_claim(job_id):
        logger.info("job %s already finished; nothing to do", job_id)
        return job
    runner: Callable[..., dict[str, Any]] = import_string(JOB_RUNNERS[job.kind])
    watch_client_connection()
    # A continued attempt (a redelivery after the worker died, or a retry) may find the lock still
    # held by its predecessor's session, which PostgreSQL ends within CLIENT_CHECK_INTERVAL: wait.
    continued = job.attempts > 0
    with advisory_lock(f"job:{job.kind}", wait=LOCK_WAIT_ON_RETRY_SECONDS if continued else 0) as acquired:
        if not acquired:
            other = job_active(job.kind, exclude=job_id)
            JobRun.objects.filter(pk=job_id).update(
                status=JobStatus.FAILED,
                error=ALREADY_RUNNING,
                result={"running_job": other.pk} if other is not None else {},
                finished_at=timezone.now(),
            )
            return JobRun.objects.get(pk=job_id)
        progress = Progress(total=100, job_id=job_id, description=job.get_kind_display(), bar=bar)
        try:
            result = runner(job=job, progress=progress)
        except (OperationalError, InterfaceError) as exc:
            # A lost database connection is transient: leave the job claimable so the task's
            # retry (with backoff) continues it; the task marks it failed when retries run out.
            with contextlib.suppress(DatabaseError):
                JobRun.objects.filter(pk=job_id).update(
                    status=JobStatus.QUEUED, error=f"retrying: {type(exc).__name__}: {exc}"[:10_000]
                )
            raise
        except Exception as exc:
            job_fail(job_id, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            progress.close()
        job_finish(job_id, result or {})
    return JobRun.objects.get(pk=job_id)


def watch_client_connection() -> None:
    # PostgreSQL 14 added the setting; older servers keep the old behaviour (the lock wait covers it).
    if connection.vendor == "postgresql" and connection.pg_version >= 140000:
        with connection.cursor() as cursor:
            cursor.execute(f"SET client_connection_check_interval = '{CLIENT_CHECK_INTERVAL}'")
