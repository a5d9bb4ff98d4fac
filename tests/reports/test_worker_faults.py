"""Break a KPI recompute on purpose: a worker killed mid-run, two recomputes requested at once.

Real processes and connections throughout: a ``celery worker`` on a private queue (``celery_worker``
in tests/conftest.py), ``SIGKILL`` to the pool process running the job, and a second PostgreSQL
connection that holds ``LOCK TABLE`` on the survey table so the recompute stops at a known point
(after its first families have reported progress, before the satisfaction family reads surveys).
No sleeps stand in for synchronisation: every wait is for a row or a server state to change.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from kam import jobs
from kam.models import JobKind, JobRun, JobStatus
from reports.models import KpiRun, KpiValue, RunStatus
from reports.selectors import kpi_board, kpi_latest_run
from reports.services import INTERRUPTED
from service_plans.models import SurveyResponse
from tests.api.conftest import token_client
from tests.reports.builders import account, contract, invoice, survey

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PARAMS = {"periods": ["2025-Q1", "2025-Q2"], "as_of": "2025-06-30"}


def wait_for(condition: Callable[[], object], timeout: float = 120, message: str = "condition") -> None:
    """Poll a condition on the database or the OS (generous: the machine is shared and loaded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.2)


def _admin_connection():
    params = settings.DATABASES["default"]
    conn = psycopg2.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], password=params["PASSWORD"], dbname=params["NAME"]
    )
    return conn


class TableLock:
    """ACCESS EXCLUSIVE on the survey table, held by another session from ``hold()`` to ``release()``."""

    def __init__(self) -> None:
        self.conn = None

    def hold(self) -> None:
        self.conn = _admin_connection()
        self.conn.cursor().execute(f'LOCK TABLE "{SurveyResponse._meta.db_table}" IN ACCESS EXCLUSIVE MODE')

    def release(self) -> None:
        if self.conn is not None:
            self.conn.commit()
            self.conn.close()
            self.conn = None


@pytest.fixture
def surveys_lock() -> Iterator[TableLock]:
    lock = TableLock()
    try:
        yield lock
    finally:
        lock.release()


def _backends_waiting_for_a_lock() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [pid])
        return bool(cursor.fetchone()[0])


def _pool_children(worker_pid: int) -> list[int]:
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def _portfolio() -> None:
    acc = account(owner_name="am_fault", tier="T1")
    contract(acc, "2025-01-01", "2025-12-31", 120_000)
    invoice(acc, "2025-02-01", 30_000, due="2025-03-03")
    survey(acc, "nps", 9, "2025-02-10 10:00")
    survey(acc, "csat", 4, "2025-05-10 10:00")


def _snapshot() -> dict[tuple[str, str, str], tuple]:
    return {(v.code, v.period, v.scope): (v.value, v.run_id) for v in KpiValue.objects.all()}


def test_a_worker_killed_mid_recompute_is_redelivered_and_publishes_one_complete_snapshot(request, surveys_lock):
    # Data first, while tasks are eager (no debounced KPI refresh is queued to the worker), then
    # the first snapshot, then a change so that the next snapshot differs.
    _portfolio()
    first = jobs.job_execute(jobs.job_start(kind=JobKind.RECOMPUTE_KPIS, params=PARAMS).pk)
    assert first.status == JobStatus.DONE
    before = _snapshot()
    board_before = {code: v.value for code, v in kpi_board(period="2025-Q1").items()}
    published = kpi_latest_run()
    invoice(account(owner_name="am_fault"), "2025-04-01", 50_000, due="2025-05-01")
    surveys_lock.hold()
    celery_worker = request.getfixturevalue("celery_worker")

    job = jobs.job_request(kind=JobKind.RECOMPUTE_KPIS, params=PARAMS)  # autocommit: published at once
    wait_for(lambda: JobRun.objects.get(pk=job.pk).progress > 0, message="the job to report progress")
    wait_for(_backends_waiting_for_a_lock, message="the recompute to reach the locked survey table")
    [stale_backend] = _backends_waiting_for_a_lock()
    [pool_process] = _pool_children(celery_worker.pid)

    os.kill(pool_process, signal.SIGKILL)

    # Celery sees the pool process die and, with acks_late + reject_on_worker_lost, requeues the
    # message; the restarted pool process claims the same row again.
    wait_for(lambda: JobRun.objects.get(pk=job.pk).attempts >= 2, message="the redelivered task to claim the job")
    # The dead attempt's session still holds the job lock while it waits for the table; it must be
    # ended by PostgreSQL (client_connection_check_interval), not kept alive until the lock frees.
    wait_for(lambda: not _backend_alive(stale_backend), message="PostgreSQL to end the killed worker's session")
    running = JobRun.objects.get(pk=job.pk)
    assert (running.status, running.error) == (JobStatus.RUNNING, "")  # continued, not "already running"
    # Readers still see the previous complete snapshot, and its run as the latest published one.
    assert _snapshot() == before
    assert {code: v.value for code, v in kpi_board(period="2025-Q1").items()} == board_before
    assert kpi_latest_run() == published

    surveys_lock.release()
    wait_for(lambda: JobRun.objects.get(pk=job.pk).is_finished, message="the job to finish")
    job.refresh_from_db()
    assert (job.status, job.progress, job.error, job.attempts) == (JobStatus.DONE, 100, "", 2)
    after = _snapshot()
    new_run = KpiRun.objects.get(job=job, status=RunStatus.PUBLISHED)
    # Complete: every (code, period, scope) of the previous snapshot, each once, all from the new run.
    assert set(after) == set(before)
    assert KpiValue.objects.count() == len(before)
    assert {run_id for _, run_id in after.values()} == {new_run.pk}
    assert after[("dso", "2025-Q2", "company")][0] != before[("dso", "2025-Q2", "company")][0]
    # The killed attempt's run is closed as interrupted, not left "running" for ever.
    interrupted = KpiRun.objects.get(job=job, status=RunStatus.FAILED)
    assert interrupted.error == INTERRUPTED
    assert not KpiRun.objects.filter(status=RunStatus.RUNNING).exists()


def test_two_recomputes_at_once_one_runs_and_the_others_say_already_running(admin_user, executive, surveys_lock):
    """The command runs a recompute that stops at the locked table; meanwhile two API requests at
    once and a second command are each refused with the running job's id."""
    _portfolio()
    surveys_lock.hold()
    outcome: dict[str, object] = {}

    def command() -> None:
        out = io.StringIO()
        try:
            call_command("recompute_kpis", "--period", "2025-Q1", "--as-of", "2025-06-30", "--no-progress", stdout=out)
            outcome["out"] = out.getvalue()
        except Exception as exc:  # reported to the test below
            outcome["error"] = exc
        finally:
            connection.close()

    first = threading.Thread(target=command)
    first.start()
    try:
        wait_for(lambda: JobRun.objects.filter(status=JobStatus.RUNNING).exists(), message="the command's job to run")
        running = JobRun.objects.get()

        clients = [token_client(admin_user), token_client(executive)]
        barrier = threading.Barrier(2)

        def post(client) -> tuple[int, dict]:
            barrier.wait(30)
            try:
                response = client.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json")
                return response.status_code, response.json()
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(post, clients))
        assert [status for status, _ in answers] == [409, 409]
        for _, body in answers:
            assert body["job"] == running.pk
            assert "already running" in body["kind"][0]

        with pytest.raises(CommandError, match=f"already running \\(job {running.pk}\\)"):
            call_command("recompute_kpis", "--period", "2025-Q1", "--as-of", "2025-06-30", "--no-progress")
        assert JobRun.objects.count() == 1  # nothing else was queued or run
    finally:
        surveys_lock.release()
        first.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert "Published" in str(outcome["out"])
    running.refresh_from_db()
    assert running.status == JobStatus.DONE
    assert KpiRun.objects.filter(status=RunStatus.PUBLISHED).count() == 1


def test_two_api_requests_at_once_queue_exactly_one_job(admin_user, executive):
    """Both requests reach the check at the same moment; the request lock lets one through."""
    from kam.celery import app

    # Published to a queue that no worker consumes: the job stays queued while the second asks.
    # (``_eager_celery`` in conftest restores eagerness after the test.)
    previous_queue = app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = f"test-unconsumed-{os.getpid()}"
    barrier = threading.Barrier(2)

    def post(client) -> tuple[int, dict]:
        barrier.wait(30)
        try:
            response = client.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json")
            return response.status_code, response.json()
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = sorted(pool.map(post, [token_client(admin_user), token_client(executive)]), key=lambda a: a[0])
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        app.conf.task_default_queue = previous_queue
    (accepted, job), (refused, conflict) = answers
    assert (accepted, refused) == (202, 409)
    assert conflict["job"] == job["id"] == JobRun.objects.get().pk
    assert JobRun.objects.get().status == JobStatus.QUEUED
