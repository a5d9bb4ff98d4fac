"""A real Celery worker on Redis: a queued recompute publishes the snapshot, and a burst of edits
causes one refresh."""

import time

import pytest

from accounts.services import contract_update
from kam import jobs
from kam.models import JobKind, JobRun, JobStatus
from reports.models import KpiRefreshState, KpiRun, KpiValue
from tests.reports.builders import account, contract, invoice

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float = 90, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.25)


def test_a_real_worker_runs_a_queued_recompute_and_the_snapshot_appears(celery_worker):
    invoice(account(), "2025-02-01", 900_000, due="2025-03-03")
    job = jobs.job_request(kind=JobKind.RECOMPUTE_KPIS, params={"periods": ["2025-Q1"], "as_of": "2025-06-30"})
    wait_for(lambda: JobRun.objects.get(pk=job.pk).is_finished, message="the job")
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (JobStatus.DONE, 100, "")
    dso = KpiValue.objects.get(code="dso", period="2025-Q1", scope="company")
    assert (dso.value, dso.run.job_id) == (90, job.pk)


@pytest.fixture
def quick_refresh(monkeypatch, settings):
    # The worker reads the variable at start (it must be set before ``celery_worker`` starts it).
    monkeypatch.setenv("KAM_KPI_REFRESH_DEBOUNCE_SECONDS", "2")
    settings.KAM_KPI_REFRESH_DEBOUNCE_SECONDS = 2


def _refreshes() -> int:
    return JobRun.objects.filter(kind=JobKind.RECOMPUTE_KPIS).count()


def _settled(runs: int):
    def check() -> bool:
        done = JobRun.objects.filter(kind=JobKind.RECOMPUTE_KPIS, status=JobStatus.DONE).count()
        return done >= runs and not KpiRefreshState.objects.get().families

    return check


def test_a_burst_of_edits_refreshes_the_kpis_once(quick_refresh, celery_worker):
    acc = account()
    c = contract(acc, "2025-01-01", "2026-12-31", 100_000)
    wait_for(_settled(1), message="the refresh after the account was created")
    assert _refreshes() == 1
    for value in range(110_000, 160_000, 10_000):  # five edits, each its own transaction
        c = contract_update(contract=c, annual_value=value)
    state = KpiRefreshState.objects.get()
    assert state.scheduled_at is not None
    assert state.families == ["programme", "renewals", "retention"]
    wait_for(_settled(2), message="the refresh after the edits")
    time.sleep(5)  # longer than the debounce: a third run would have started by now
    assert _refreshes() == 2
    run = KpiRun.objects.first()
    assert (run.trigger, run.is_full, run.families) == ("change", False, ["retention", "renewals", "programme"])
    current_month = KpiValue.objects.filter(code="nrr", scope="company", period=run.periods[0]).get()
    assert current_month.run_id == run.pk
    assert KpiRefreshState.objects.get().scheduled_at is None
