"""The recompute job: runner, command, nightly schedule, and the debounced refresh after changes."""

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from accounts.services import account_update, contract_update
from kam import jobs
from kam.events import publish
from kam.models import JobRun, JobStatus
from kam.tasks import job_scheduled
from reports import catalogue
from reports.models import KpiRefreshState, KpiRun, KpiValue
from reports.receivers import _AfterCommit
from reports.services import kpis_snapshot_is_fresh
from tests.reports.builders import account, contract, invoice, rate, survey

pytestmark = pytest.mark.django_db


def test_the_runner_is_registered_for_recompute_kpis():
    assert jobs.JOB_RUNNERS["recompute_kpis"] == "reports.jobs.recompute_kpis"


def test_a_requested_job_publishes_a_snapshot_and_records_its_result(executive, django_capture_on_commit_callbacks):
    invoice(account(), "2025-02-01", 1000)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_request(kind="recompute_kpis", params={"periods": ["2025-Q1"], "as_of": "2025-06-30"}, user=executive)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (JobStatus.DONE, 100, "")
    assert job.result["values"] == KpiValue.objects.count() > 0
    assert job.result["periods"] == ["2025-Q1"]
    run = KpiRun.objects.get()
    assert (run.job, run.trigger, run.is_full) == (job, "manual", False)


def test_the_nightly_schedule_runs_a_full_recompute():
    entry = settings.CELERY_BEAT_SCHEDULE["recompute-kpis-nightly"]
    assert (entry["task"], entry["kwargs"]) == ("kam.job_scheduled", {"kind": "recompute_kpis"})
    result = job_scheduled.apply(kwargs=entry["kwargs"]).get()
    assert result["status"] == JobStatus.DONE
    run = KpiRun.objects.get()
    assert (run.trigger, run.is_full, len(run.periods)) == ("scheduled", True, 18)
    assert kpis_snapshot_is_fresh()


def test_the_command_recomputes_the_periods_given():
    invoice(account(), "2025-02-01", 1000)
    out = io.StringIO()
    call_command(
        "recompute_kpis", "--period", "2025-Q1", "--period", "2025-02", "--as-of", "2025-06-30", "--no-progress", stdout=out
    )
    assert "Published" in out.getvalue() and "for 2 periods" in out.getvalue()
    assert set(KpiValue.objects.values_list("period", flat=True)) == {"2025-Q1", "2025-02"}
    assert JobRun.objects.get().status == JobStatus.DONE


def test_the_command_refuses_a_bad_period_before_queuing_anything():
    with pytest.raises(CommandError, match="2025-13"):
        call_command("recompute_kpis", "--period", "2025-13", "--no-progress")
    assert not JobRun.objects.exists()


def test_the_command_if_stale_does_nothing_when_todays_snapshot_is_complete():
    out = io.StringIO()
    call_command("recompute_kpis", "--if-stale", "--as-of", "2025-06-30", "--no-progress", stdout=out)
    call_command("recompute_kpis", "--if-stale", "--as-of", "2025-06-30", "--no-progress", stdout=out)
    assert "up to date" in out.getvalue()
    assert KpiRun.objects.count() == 1


def test_the_command_reports_a_failed_run_with_its_reason():
    rate("EUR", 2020, "7.8")
    contract(account(currency="EUR"), "2025-01-01", "2025-12-31", 1000, currency="EUR")
    with pytest.raises(CommandError, match="EUR for fiscal year 2025"):
        call_command("recompute_kpis", "--period", "2025", "--as-of", "2026-02-01", "--no-progress")
    job = JobRun.objects.get()
    assert job.status == JobStatus.FAILED and "EUR for fiscal year 2025" in job.error


# --- changes mark families, once per transaction --------------------------------------------------


def test_changes_in_one_transaction_register_one_callback_with_their_families(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        acc = account()
        c = contract(acc, "2025-01-01", "2025-12-31", 1000)
        contract_update(contract=c, annual_value=2000)
        invoice(acc, "2025-02-01", 1000)
        survey(acc, "csat", 5, "2025-02-01 10:00")
    ours = [c for c in callbacks if isinstance(c, _AfterCommit)]
    assert len(ours) == 1
    assert ours[0].families == set(catalogue.FAMILIES)  # an account was created: every family


def test_without_a_broker_changed_families_wait_for_the_next_run(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acc = account()
    KpiRefreshState.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        invoice(acc, "2025-02-01", 1000)
        survey(acc, "nps", 9, "2025-02-01 10:00")
    state = KpiRefreshState.objects.get()
    assert state.families == sorted([catalogue.RECEIVABLES, catalogue.CONCENTRATION, catalogue.SATISFACTION])
    assert state.scheduled_at is None  # eager mode: nothing queued, nothing run
    assert not KpiRun.objects.exists()
    assert not kpis_snapshot_is_fresh()


def test_a_full_run_takes_the_changes_recorded_before_it_and_no_others(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acc = account()
        invoice(acc, "2025-02-01", 1000)
    assert KpiRefreshState.objects.get().families  # waiting for a run
    call_command("recompute_kpis", "--period", "2025-02", "--as-of", "2025-06-30", "--no-progress")
    assert KpiRefreshState.objects.get().families  # a run of some periods is not all a refresh would do
    call_command("recompute_kpis", "--as-of", "2025-06-30", "--no-progress")
    state = KpiRefreshState.objects.get()
    assert (state.families, state.changed) == ([], {})  # the full run read those changes
    out = io.StringIO()
    call_command("recompute_kpis", "--if-stale", "--as-of", "2025-06-30", "--no-progress", stdout=out)
    assert "up to date" in out.getvalue()
    # a change recorded while a run goes on (after it started) still waits for the refresh
    KpiRefreshState.objects.filter(pk=1).update(
        families=[catalogue.RECEIVABLES], changed_at=timezone.now() + dt.timedelta(minutes=5)
    )
    call_command("recompute_kpis", "--as-of", "2025-06-30", "--no-progress")
    assert KpiRefreshState.objects.get().families == [catalogue.RECEIVABLES]


def test_a_tier_change_marks_every_family(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish("account.tier_changed", {"account_id": 1, "old_tier": "T2", "new_tier": "T1"})
    assert KpiRefreshState.objects.get().families == sorted(catalogue.FAMILIES)


def test_an_account_change_marks_every_family(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acc = account()
    KpiRefreshState.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        account_update(account=acc, region="West China")
    assert KpiRefreshState.objects.get().families == sorted(catalogue.FAMILIES)


def test_a_continued_job_closes_the_run_its_killed_attempt_left_running():
    """The worker died after the run row was written and before it published: the next attempt of
    the same job marks that run interrupted, so no run stays "running" for ever."""
    from reports.models import RunStatus
    from reports.services import INTERRUPTED

    invoice(account(), "2025-02-01", 1000)
    job = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING, attempts=1, params={"periods": ["2025-Q1"]})
    orphan = KpiRun.objects.create(job=job, as_of="2025-06-30", periods=["2025-Q1"], families=[], is_full=False)
    other_job = KpiRun.objects.create(as_of="2025-06-30", periods=["2025-Q1"], families=[], is_full=False)
    jobs.job_execute(job.pk)
    orphan.refresh_from_db()
    other_job.refresh_from_db()
    assert (orphan.status, orphan.error) == (RunStatus.FAILED, INTERRUPTED)
    assert other_job.status == RunStatus.RUNNING  # another job's run is not this attempt's business
    assert KpiRun.objects.get(job=job, status=RunStatus.PUBLISHED)


def test_the_command_says_already_running_with_the_jobs_id():
    running = jobs.job_start(kind="recompute_kpis")
    with pytest.raises(CommandError, match=f"already running \\(job {running.pk}\\)"):
        call_command("recompute_kpis", "--no-progress")
    assert JobRun.objects.count() == 1


def test_the_command_if_stale_is_content_when_a_recompute_is_under_way():
    running = jobs.job_start(kind="recompute_kpis")
    out = io.StringIO()
    call_command("recompute_kpis", "--if-stale", "--no-progress", stdout=out)  # no CommandError: `make run` goes on
    assert f"already running (job {running.pk})" in out.getvalue()
    assert JobRun.objects.count() == 1
