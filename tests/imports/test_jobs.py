"""Large imports run as a job: progress on the JobRun row, the result on the import record."""

import threading
import time

import pytest
from django.db import connection

from accounts.models import Contract
from imports import engine, services
from imports.models import ImportRecord, ImportStatus
from kam import jobs
from kam.locks import advisory_lock
from kam.models import JobRun, JobStatus
from tests.imports.conftest import csv_bytes


def contracts(n):
    rows = [["number", "account", "start_date", "end_date", "annual_value"]]
    rows += [[f"J-{i}", "ACME", "2025-01-01", "2025-12-31", "1"] for i in range(n)]
    return csv_bytes(rows)


@pytest.mark.django_db
def test_a_large_file_runs_as_a_job_and_reports_progress(
    account_manager, acme, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.KAM_IMPORT_INLINE_MAX_ROWS = 10
    monkeypatch.setattr(engine, "CHUNK_ROWS", 10)
    seen = []
    original = jobs.Progress.set
    monkeypatch.setattr(jobs.Progress, "set", lambda self, done: (seen.append(done), original(self, done))[1])
    record = services.import_record_create(user=account_manager, kind="contracts", file_name="c.csv", content=contracts(50))
    with django_capture_on_commit_callbacks(execute=True):
        record = services.import_start(record=record, dry_run=False, user=account_manager)
    record.refresh_from_db()
    job = record.job
    assert (job.kind, job.status, job.progress, job.requested_by) == ("import_data", JobStatus.DONE, 100, account_manager)
    assert job.result == {
        "import_id": record.pk,
        "status": "done",
        "rows": 50,
        "created": 50,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }
    assert (record.status, record.created_count) == (ImportStatus.DONE, 50)
    assert seen == sorted(seen) and len(set(seen)) >= 5 and seen[-1] == 100
    assert Contract.objects.count() == 50


@pytest.mark.django_db
def test_a_small_file_runs_at_once(account_manager, acme):
    record = services.import_record_create(user=account_manager, kind="contracts", file_name="c.csv", content=contracts(3))
    record = services.import_start(record=record, dry_run=True, user=account_manager)
    assert (record.status, record.job, record.created_count) == (ImportStatus.VALIDATED, None, 3)


@pytest.mark.django_db
def test_broker_down_fails_the_import_with_a_clear_message(
    account_manager, acme, monkeypatch, django_capture_on_commit_callbacks
):
    from kam.celery import app

    app.conf.task_always_eager = False
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app._pool = app.amqp._producer_pool = None
    record = services.import_record_create(user=account_manager, kind="contracts", file_name="c.csv", content=contracts(3))
    try:
        with pytest.raises(jobs.BackgroundUnavailable), django_capture_on_commit_callbacks(execute=True):
            services.import_start(record=record, dry_run=True, background=True)
    finally:
        monkeypatch.undo()
        app._pool = app.amqp._producer_pool = None
    record.refresh_from_db()
    assert record.status == ImportStatus.FAILED
    assert "Background processing is unavailable" in record.message
    assert record.job.status == JobStatus.FAILED


def _wait(record_id, statuses, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = ImportRecord.objects.get(pk=record_id)
        if record.status in statuses:
            return record
        time.sleep(0.3)
    raise AssertionError(f"import {record_id} still {record.status}")


@pytest.mark.slow
def test_a_real_worker_runs_the_import_and_waits_its_turn(celery_worker, account_manager, acme):
    """While another import holds the lock the job stays queued (it retries, it does not fail);
    once the lock is free it runs."""
    held, release = threading.Event(), threading.Event()

    def other_import():
        with advisory_lock("job:import_data") as acquired:
            assert acquired
            held.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=other_import)
    holder.start()
    held.wait(10)
    try:
        record = services.import_record_create(user=account_manager, kind="contracts", file_name="c.csv", content=contracts(25))
        services.import_start(record=record, dry_run=False, user=account_manager, background=True)
        time.sleep(4)
        record.refresh_from_db()
        assert (record.status, record.job.status) == (ImportStatus.QUEUED, JobStatus.QUEUED)
    finally:
        release.set()
        holder.join()
    record = _wait(record.pk, {ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.INVALID})
    assert (record.status, record.created_count) == (ImportStatus.DONE, 25), (record.message, record.errors)
    job = JobRun.objects.get(pk=record.job_id)
    assert (job.status, job.progress, job.attempts) == (JobStatus.DONE, 100, 1)
    assert Contract.objects.count() == 25
