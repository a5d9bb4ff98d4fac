"""The recompute_scores job: request, one run at a time, redelivery, CLI, beat entries, a real worker."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Account
from kam import jobs
from kam.locks import advisory_lock
from kam.models import JobRun, JobStatus
from kam.tasks import job_scheduled
from tests.factories import AccountFactory, ExchangeRateFactory
from tests.tiering.conftest import add_invoices
from tiering.models import HealthSnapshot, ScoreSnapshot, ScoringRun
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(scoring_model, account_manager):
    root = AccountFactory(owner=account_manager, wallet_estimate_amount=Decimal("1000000"))
    add_invoices(
        [
            {
                "account": root,
                "issued_on": dt.date.today() - dt.timedelta(days=60),
                "amount": "500000",
                "paid_on": dt.date.today() - dt.timedelta(days=20),
            }
        ]
    )
    return root


def test_a_requested_job_runs_and_records_its_counts(portfolio, account_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_request(kind="recompute_scores", params={"part": "health"}, user=account_manager)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (JobStatus.DONE, 100, "")
    run = ScoringRun.objects.get(job=job)
    assert (run.part, run.status, job.result["groups"]) == ("health", "done", 1)
    assert HealthSnapshot.objects.filter(run=run).count() == 1
    assert not ScoreSnapshot.objects.exists()


def _vacuum_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_run_outside_a_transaction_vacuums_the_accounts_while_it_scores(portfolio):
    """``vacuum_meanwhile``: a second connection vacuums the table the run is about to rewrite."""
    before = _vacuum_count("accounts_account")
    counts = scores_recompute()
    assert counts["groups"] == 1
    deadline = time.monotonic() + 10
    while _vacuum_count("accounts_account") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _vacuum_count("accounts_account") == before + 1
    assert ScoringRun.objects.get().status == "done"


def test_inside_a_transaction_the_run_does_not_vacuum(portfolio):
    before = _vacuum_count("accounts_account")
    scores_recompute()
    assert _vacuum_count("accounts_account") == before


@pytest.mark.django_db(transaction=True)
def test_a_second_concurrent_run_does_nothing(portfolio):
    """While one run holds the job lock, another request ends at once with "already running"."""
    held, release = threading.Event(), threading.Event()

    def hold_lock():
        with advisory_lock("job:recompute_scores") as acquired:
            assert acquired
            held.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(10)
    try:
        job = JobRun.objects.create(kind="recompute_scores")
        jobs.job_execute(job.pk)
        job.refresh_from_db()
        assert (job.status, job.error) == (JobStatus.FAILED, jobs.ALREADY_RUNNING)
        assert not ScoringRun.objects.exists()
        assert Account.objects.get(pk=portfolio.pk).tier == ""
    finally:
        release.set()
        holder.join()


def test_a_redelivered_job_does_not_run_twice(portfolio):
    job = JobRun.objects.create(kind="recompute_scores")
    counts = scores_recompute(job=job)  # the worker published, then died before marking the job done
    JobRun.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job = jobs.job_execute(job.pk)
    assert (job.status, job.result) == (JobStatus.DONE, counts)
    assert ScoringRun.objects.count() == 1
    assert ScoreSnapshot.objects.count() == 1
    jobs.job_execute(job.pk)  # finished: nothing to do
    assert ScoringRun.objects.count() == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [({"part": "everything"}, "part must be one of"), ({"as_of": "yesterday"}, "as_of must be a date")],
)
def test_bad_parameters_fail_the_job_with_a_clear_message(portfolio, params, message):
    job = JobRun.objects.create(kind="recompute_scores", params=params)
    with pytest.raises(ValueError, match=message):
        jobs.job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and message in job.error


def test_a_missing_rate_fails_the_job_naming_currency_and_year(portfolio, account_manager):
    ExchangeRateFactory(currency="JPY", year=dt.date.today().year)
    yen = AccountFactory(owner=account_manager, currency="JPY")
    add_invoices([{"account": yen, "issued_on": dt.date(dt.date.today().year - 2, 5, 1), "amount": "100", "currency": "JPY"}])
    job = JobRun.objects.create(kind="recompute_scores")
    with pytest.raises(Exception, match="JPY in fiscal year"):
        jobs.job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert f"JPY in fiscal year {dt.date.today().year - 2}" in job.error
    assert ScoringRun.objects.get().status == "failed"


def test_the_command_runs_a_job_and_prints_its_counts(portfolio, capsys):
    call_command("recompute_scores", "--part", "tiers", "--as-of", dt.date.today().isoformat(), "--no-progress")
    out = capsys.readouterr().out
    assert "done" in out and '"groups": 1' in out
    assert JobRun.objects.get().params == {"part": "tiers", "as_of": dt.date.today().isoformat()}
    assert Account.objects.get(pk=portfolio.pk).tier != ""


def test_the_command_if_stale_computes_what_is_missing(portfolio, capsys):
    today = dt.date.today()

    def run(day: dt.date) -> str:
        call_command("recompute_scores", "--if-stale", "--as-of", day.isoformat(), "--no-progress")
        return capsys.readouterr().out

    run(today - dt.timedelta(days=1))  # nothing computed yet: tiers and health
    assert list(ScoringRun.objects.values_list("part", flat=True)) == ["all"]
    assert "up to date" in run(today - dt.timedelta(days=1))
    run(today)  # the health is a day old: the health only (the nightly job's part)
    assert list(ScoringRun.objects.order_by("id").values_list("part", "as_of")) == [
        ("all", today - dt.timedelta(days=1)), ("health", today),
    ]  # fmt: skip
    assert "up to date" in run(today)


def test_the_command_reports_a_failure(scoring_model, account_manager):
    ExchangeRateFactory(currency="JPY", year=dt.date.today().year)
    yen = AccountFactory(owner=account_manager, currency="JPY")
    add_invoices([{"account": yen, "issued_on": dt.date(dt.date.today().year - 1, 5, 1), "amount": "100", "currency": "JPY"}])
    with pytest.raises(CommandError, match="No exchange rate"):
        call_command("recompute_scores", "--no-progress")


def test_the_beat_runs_health_nightly_and_tiers_quarterly():
    from celery.schedules import crontab

    health = settings.CELERY_BEAT_SCHEDULE["tiering-health-nightly"]
    tiers = settings.CELERY_BEAT_SCHEDULE["tiering-tiers-quarterly"]
    assert health["kwargs"] == {"kind": "recompute_scores", "params": {"part": "health"}}
    assert tiers["kwargs"] == {"kind": "recompute_scores", "params": {"part": "tiers"}}
    assert health["schedule"] == crontab(minute="30", hour="1")
    assert tiers["schedule"] == crontab(minute="30", hour="4", day_of_month="1", month_of_year="1,4,7,10")


def test_schedules_are_configurable_and_checked(monkeypatch):
    from kam.settings import _cron

    monkeypatch.setenv("KAM_TIERS_SCHEDULE", "0 5 1 1 *")
    assert _cron("KAM_TIERS_SCHEDULE", "x").month_of_year == {1}
    monkeypatch.setenv("KAM_TIERS_SCHEDULE", "every quarter")
    with pytest.raises(ImproperlyConfigured, match="KAM_TIERS_SCHEDULE"):
        _cron("KAM_TIERS_SCHEDULE", "x")


def test_the_scheduled_task_passes_its_parameters(portfolio):
    result = job_scheduled(kind="recompute_scores", params={"part": "health"})
    job = JobRun.objects.get(pk=result["id"])
    assert job.params == {"scheduled": True, "part": "health"}
    assert ScoringRun.objects.get(job=job).part == "health"


@pytest.mark.slow
def test_a_real_worker_recomputes_the_scores(celery_worker, scoring_model, account_manager, django_capture_on_commit_callbacks):
    root = AccountFactory(owner=account_manager, wallet_estimate_amount=Decimal("1000000"))
    child = AccountFactory(owner=account_manager, parent=root)
    add_invoices(
        [
            {
                "account": child,
                "issued_on": dt.date.today() - dt.timedelta(days=60),
                "amount": "500000",
                "paid_on": dt.date.today() - dt.timedelta(days=20),
            }
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_request(kind="recompute_scores")
    deadline = time.monotonic() + 60
    while True:
        job.refresh_from_db()
        if job.is_finished or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert (job.status, job.error, job.progress) == (JobStatus.DONE, "", 100)
    assert ScoringRun.objects.get(job=job).status == "done"
    tiers = set(Account.objects.filter(pk__in=[root.pk, child.pk]).values_list("tier", flat=True))
    assert len(tiers) == 1 and tiers != {""}


class _RowHeld:
    """Another connection holds ``account``'s row (FOR NO KEY UPDATE, as an edit would) so that the
    run's account UPDATE waits on it; the snapshots' key-share checks do not."""

    def __init__(self, account):
        self.account, self.held, self.release = account, threading.Event(), threading.Event()
        self.seen: dict[str, int] = {}
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        from django.db import transaction

        try:
            with transaction.atomic():
                Account.objects.select_for_update(no_key=True).get(pk=self.account.pk)
                self.held.set()
                self.release.wait(30)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)


def _run_in_thread(outcome: dict):
    def run():
        try:
            outcome["counts"] = scores_recompute()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    return threading.Thread(target=run)


def _start_run_waiting_for_snapshots_aside(outcome: dict) -> threading.Thread:
    """Start a run in a thread and wait (up to 20 s) until its snapshots are committed."""
    runner = _run_in_thread(outcome)
    runner.start()
    deadline = time.monotonic() + 20
    while _snapshots_of_running_runs() != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    return runner


def _snapshots_of_running_runs() -> tuple[int, int]:
    return (
        ScoreSnapshot.objects.filter(run__status="running").count(),
        HealthSnapshot.objects.filter(run__status="running").count(),
    )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_snapshots_are_written_aside_and_shown_once_the_run_is_done(portfolio, executive_api):
    """The snapshots commit on a second connection while the account UPDATE runs (here: waits on a
    row another connection holds); readers see them only once the run is done."""
    outcome: dict = {}
    with _RowHeld(portfolio):
        runner = _start_run_waiting_for_snapshots_aside(outcome)
        assert _snapshots_of_running_runs() == (1, 1)  # committed while the run's UPDATE waits
        assert Account.objects.get(pk=portfolio.pk).tier == ""  # the run's own transaction is not
        assert executive_api.get("/api/v1/tier-snapshots/").json()["results"] == []
        assert executive_api.get("/api/v1/health-snapshots/").json()["results"] == []
    runner.join(30)
    assert "error" not in outcome and outcome["counts"]["groups"] == 1
    run = ScoringRun.objects.get()
    assert run.status == "done"
    assert [s["run"] for s in executive_api.get("/api/v1/tier-snapshots/").json()["results"]] == [run.pk]
    assert Account.objects.get(pk=portfolio.pk).tier != ""


@pytest.mark.django_db(transaction=True)
def test_a_run_that_fails_after_writing_its_snapshots_aside_leaves_none(portfolio):
    """The run's UPDATE is cancelled (as by a statement timeout) after the snapshots committed on the
    second connection: the run is failed and its snapshots are gone."""
    outcome: dict = {}
    with _RowHeld(portfolio):
        runner = _start_run_waiting_for_snapshots_aside(outcome)
        assert _snapshots_of_running_runs() == (1, 1)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%%UPDATE accounts_account SET tier%%'"
            )
            (pid,) = cursor.fetchone()
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])
    runner.join(30)
    assert "canceling statement" in str(outcome.get("error"))
    assert ScoringRun.objects.get().status == "failed"
    assert (ScoreSnapshot.objects.count(), HealthSnapshot.objects.count()) == (0, 0)
    assert Account.objects.get(pk=portfolio.pk).tier == ""
