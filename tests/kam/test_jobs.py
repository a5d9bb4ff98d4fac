"""Job lifecycle: claim once, one run per kind at a time, clear failure when the broker is down."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from kam import jobs
from kam.locks import advisory_lock
from kam.models import JobRun, JobStatus

pytestmark = pytest.mark.django_db

CALLS: list[int] = []


def counting_runner(*, job, progress):
    CALLS.append(job.pk)
    for _ in range(4):
        progress.advance(25)
    return {"rows": 4}


@pytest.fixture
def runner(monkeypatch):
    CALLS.clear()
    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.counting_runner")


def test_requested_job_runs_and_records_its_result(runner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_request(kind="recompute_kpis")
    job.refresh_from_db()
    assert (job.status, job.progress, job.result, job.attempts) == (JobStatus.DONE, 100, {"rows": 4}, 1)
    assert CALLS == [job.pk]


def test_a_finished_job_is_not_run_again(runner):
    job = JobRun.objects.create(kind="recompute_kpis")
    jobs.job_execute(job.pk)
    jobs.job_execute(job.pk)  # a redelivered message
    assert CALLS == [job.pk]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.job_request(kind="make_coffee")


@pytest.mark.django_db(transaction=True)
def test_second_concurrent_run_reports_already_running(runner):
    """While one connection holds the kind's advisory lock, a run of the same kind ends at once."""
    held, release = threading.Event(), threading.Event()

    def hold_lock():
        with advisory_lock("job:recompute_kpis") as acquired:
            assert acquired
            held.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(10)
    try:
        job = JobRun.objects.create(kind="recompute_kpis")
        jobs.job_execute(job.pk)
        job.refresh_from_db()
        assert (job.status, job.error) == (JobStatus.FAILED, jobs.ALREADY_RUNNING)
        assert CALLS == []
    finally:
        release.set()
        holder.join()


def test_broker_down_marks_the_job_failed_and_tells_the_caller(runner, monkeypatch, django_capture_on_commit_callbacks):
    from kam.celery import app

    app.conf.task_always_eager = False
    # Celery reads the broker URL from this variable first; nothing listens on port 1.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app._pool = app.amqp._producer_pool = None  # drop connections made with the real URL
    try:
        with pytest.raises(jobs.BackgroundUnavailable), django_capture_on_commit_callbacks(execute=True):
            jobs.job_request(kind="recompute_kpis")
    finally:
        monkeypatch.undo()
        app._pool = app.amqp._producer_pool = None
    job = JobRun.objects.get()
    assert job.status == JobStatus.FAILED
    assert "Background processing is unavailable" in job.error
    assert CALLS == []


def test_progress_is_throttled_and_never_reaches_100_before_the_end(runner):
    job = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING)
    progress = jobs.Progress(total=1000, job_id=job.pk)
    progress.advance(500)
    job.refresh_from_db()
    assert job.progress == 50
    progress.advance(500)  # within the same second: not written yet
    job.refresh_from_db()
    assert job.progress == 50
    progress._write(force=True)
    job.refresh_from_db()
    assert job.progress == 99


FLAKY = {"failures_left": 0}


def flaky_runner(*, job, progress):
    from django.db import OperationalError

    if FLAKY["failures_left"] > 0:
        FLAKY["failures_left"] -= 1
        raise OperationalError("server closed the connection unexpectedly")
    return {"ok": True}


def test_a_lost_connection_leaves_the_job_claimable_for_the_retry(monkeypatch):
    from django.db import OperationalError

    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.flaky_runner")
    FLAKY["failures_left"] = 1
    job = JobRun.objects.create(kind="recompute_kpis")
    with pytest.raises(OperationalError):
        jobs.job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.error.startswith("retrying: OperationalError")
    assert jobs.job_execute(job.pk).status == JobStatus.DONE  # what the task's retry does


def test_the_task_marks_the_job_failed_when_retries_run_out(monkeypatch):
    from django.db import OperationalError

    from kam.tasks import job_run

    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.flaky_runner")
    monkeypatch.setattr(job_run, "max_retries", 0)  # give up at once (in production: 5 retries with backoff)
    FLAKY["failures_left"] = 100
    job = JobRun.objects.create(kind="recompute_kpis")
    result = job_run.apply(kwargs={"job_id": job.pk}, throw=False)
    assert result.state == "FAILURE"
    assert isinstance(result.result, OperationalError)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "OperationalError" in job.error


# --- a dead worker's job: continued, or failed when stale; requests while one is active -----------


@pytest.mark.django_db(transaction=True)
def test_a_continued_attempt_waits_for_the_lock_its_dead_predecessor_still_holds(runner):
    """A redelivered job (claimed before) finds the lock held by the killed attempt's session,
    which PostgreSQL ends a moment later: the attempt waits and runs instead of failing."""
    tried, held, done = threading.Event(), threading.Event(), threading.Event()

    def predecessor():
        with advisory_lock("job:recompute_kpis") as acquired:
            assert acquired
            held.set()
            tried.wait(30)  # released only after the continued attempt has found it taken
        connection.close()
        done.set()

    def count_tries(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "pg_try_advisory_lock" in sql:
            tried.set()
        return result

    holder = threading.Thread(target=predecessor)
    holder.start()
    held.wait(30)
    job = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING, attempts=1, progress=40)
    try:
        with connection.execute_wrapper(count_tries):
            jobs.job_execute(job.pk)
    finally:
        tried.set()
        holder.join(30)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (JobStatus.DONE, 2, "")
    assert CALLS == [job.pk]


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_run_names_the_running_job(runner):
    held, release = threading.Event(), threading.Event()
    running = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING)

    def hold_lock():
        with advisory_lock("job:recompute_kpis"):
            held.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(30)
    try:
        job = jobs.job_execute(JobRun.objects.create(kind="recompute_kpis").pk)
    finally:
        release.set()
        holder.join(30)
    assert (job.status, job.error, job.result) == (JobStatus.FAILED, jobs.ALREADY_RUNNING, {"running_job": running.pk})


def test_a_request_while_one_is_queued_or_running_is_refused_with_its_id(runner):
    queued = jobs.job_start(kind="recompute_kpis")
    with pytest.raises(jobs.JobAlreadyRunning) as refused:
        jobs.job_request(kind="recompute_kpis")
    assert refused.value.job == queued
    JobRun.objects.filter(pk=queued.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    with pytest.raises(jobs.JobAlreadyRunning):
        jobs.job_start(kind="recompute_kpis")
    assert JobRun.objects.count() == 1


def test_a_stale_running_job_does_not_block_the_next_request(runner):
    """Its worker died and the message was not redelivered within the broker's visibility timeout:
    no session holds its lock, so the next request fails it and goes ahead."""
    long_ago = timezone.now() - jobs._stale_after() - dt.timedelta(minutes=1)
    stale = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING, progress=30)
    JobRun.objects.filter(pk=stale.pk).update(created_at=long_ago, started_at=long_ago)
    job = jobs.job_start(kind="recompute_kpis")
    stale.refresh_from_db()
    assert (stale.status, stale.error) == (JobStatus.FAILED, jobs.WORKER_LOST)
    assert job.status == JobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_an_old_running_job_whose_lock_is_held_still_blocks(runner):
    """A long run (older than the visibility timeout) that still holds its lock is alive."""
    held, release = threading.Event(), threading.Event()
    long_ago = timezone.now() - jobs._stale_after() - dt.timedelta(minutes=1)
    running = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING)
    JobRun.objects.filter(pk=running.pk).update(created_at=long_ago, started_at=long_ago)

    def hold_lock():
        with advisory_lock("job:recompute_kpis"):
            held.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(30)
    try:
        with pytest.raises(jobs.JobAlreadyRunning) as refused:
            jobs.job_start(kind="recompute_kpis")
    finally:
        release.set()
        holder.join(30)
    assert refused.value.job == running
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING


def test_imports_are_not_refused_while_another_is_queued(monkeypatch):
    monkeypatch.setitem(jobs.JOB_RUNNERS, "import_data", "tests.kam.test_jobs.counting_runner")
    jobs.job_start(kind="import_data")
    jobs.job_start(kind="import_data")
    assert JobRun.objects.filter(kind="import_data").count() == 2


# --- scheduled runs (beat) go through the same one-at-a-time guard --------------------------------


def test_a_scheduled_run_is_skipped_while_a_run_doing_its_work_is_going(runner):
    from kam.tasks import job_scheduled

    running = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING, params={"trigger": "manual"})
    result = job_scheduled(kind="recompute_kpis")
    assert result == {"id": None, "status": "skipped", "running_job": running.pk}
    assert JobRun.objects.count() == 1 and CALLS == []  # no failed "already running" row, no second run


def test_a_scheduled_run_waits_for_a_run_doing_other_work(runner):
    from kam.tasks import job_scheduled

    JobRun.objects.create(kind="recompute_scores", status=JobStatus.RUNNING, params={"part": "health"})
    with pytest.raises(jobs.JobAlreadyRunning):  # a worker retries it later (SCHEDULED_RETRY_SECONDS)
        job_scheduled(kind="recompute_scores", params={"part": "tiers"})
    assert JobRun.objects.count() == 1


def test_a_scheduled_run_runs_when_nothing_else_does(runner):
    from kam.tasks import job_scheduled

    JobRun.objects.create(kind="recompute_kpis", status=JobStatus.DONE)
    result = job_scheduled(kind="recompute_kpis")
    job = JobRun.objects.get(pk=result["id"])
    assert (result["status"], job.params, CALLS) == (JobStatus.DONE, {"scheduled": True}, [job.pk])
