"""The evaluation as a job: set-based (query count independent of the portfolio), one run at a
time, progress on the run row, the command, the nightly beat entry and the real worker."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from kam import jobs
from kam.locks import advisory_lock
from kam.models import JobKind, JobRun, JobStatus
from service_plans.models import Alert, AlertTask, Escalation, SurveyResponse
from service_plans.services import plans as plan_services
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory
from tests.service_plans.conftest import NOW, TODAY, run, set_tier

pytestmark = pytest.mark.django_db


def days(n):
    return dt.timedelta(days=n)


def risky_account(index: int):
    """An account that trips R1, R2, R3, R4 (left and changed), R5, R6, R9 and L1 (and R7, L2 on T1)."""
    account = set_tier(AccountFactory(), "T1" if index % 2 else "T2")
    InvoiceFactory(
        account=account, issued_on=TODAY - days(370), due_on=TODAY - days(340), amount=Decimal("1000"), paid_on=TODAY - days(340)
    )
    InvoiceFactory(account=account, issued_on=TODAY - days(100), due_on=TODAY - days(70), amount=Decimal("100"))
    SurveyResponse.objects.create(
        account=account, kind="nps", score=3, respondent_role="economic_buyer", responded_at=NOW - days(3)
    )
    ContactFactory(account=account, buying_roles=["coach_champion"], is_active=False, left_on=TODAY - days(5))
    ContractFactory(account=account, start_date=TODAY - days(300), end_date=TODAY + days(50))
    Escalation.objects.create(account=account, title="Down", severity="sev1", opened_at=NOW - days(4))
    with time_machine.travel(NOW - days(30), tick=False):
        buyer = ContactFactory(account=account, buying_roles=["economic_buyer"], title="CFO")
        account_services.contact_update(contact=buyer, title="COO")
    plan = plan_services.plan_create(account=account, fiscal_year=2026)
    qbr = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=TODAY - days(10))
    plan_services.review_record(review=qbr, held_on=TODAY - days(10))
    return account


def _count_queries(n: int) -> tuple[int, int, int]:
    for i in range(n):
        risky_account(i)
    with CaptureQueriesContext(connection) as first:
        result = run()
    with CaptureQueriesContext(connection) as second:
        run()
    return len(first.captured_queries), len(second.captured_queries), result["opened"]


@pytest.mark.parametrize("n", [3, 15])
def test_query_count_does_not_depend_on_the_number_of_accounts(n):
    first, rerun, opened = _count_queries(n)
    assert opened >= 10 * n
    # One query per rule (R1, R4, R6, L2: two; R10, E1: one; R8: the score drops, one more for their accounts), plus a fixed
    # handful: settings, standards, calendar, open alerts, cool-downs, owners, team, playbooks, and the bulk writes (tasks:
    # one INSERT … SELECT).
    assert (first, rerun) == (35, 27)
    reasons = set(Alert.objects.values_list("reason", flat=True))
    assert {"economic_buyer_changed", "qbr_follow_up", "plan_missing"} <= reasons


def test_job_request_runs_the_evaluation_and_records_progress(django_capture_on_commit_callbacks):
    risky_account(1)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_request(kind=JobKind.EVALUATE_ALERTS)
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.DONE, 100)
    assert job.result["opened"] == Alert.objects.count() > 0
    assert AlertTask.objects.exists()


def test_command_runs_once_at_a_time(capsys):
    risky_account(1)
    call_command("evaluate_alerts", "--no-progress")
    assert "Alerts evaluated" in capsys.readouterr().out
    assert JobRun.objects.get(kind="evaluate_alerts").status == "done"


@pytest.mark.django_db(transaction=True)
def test_a_second_concurrent_evaluation_reports_already_running():
    held, release = threading.Event(), threading.Event()

    def hold():
        with advisory_lock("job:evaluate_alerts") as acquired:
            assert acquired
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        job = JobRun.objects.create(kind=JobKind.EVALUATE_ALERTS)
        job = jobs.job_execute(job.pk)
        assert (job.status, job.error) == (JobStatus.FAILED, jobs.ALREADY_RUNNING)
    finally:
        release.set()
        thread.join()


def test_nightly_beat_entry_and_registered_runner():
    entry = settings.CELERY_BEAT_SCHEDULE["evaluate-alerts-nightly"]
    assert (entry["task"], entry["kwargs"]) == ("kam.job_scheduled", {"kind": "evaluate_alerts"})
    assert jobs.JOB_RUNNERS["evaluate_alerts"] == "service_plans.tasks.evaluate_alerts_runner"


@pytest.mark.slow
def test_scheduled_evaluation_on_a_real_worker(celery_worker):
    from kam.tasks import job_scheduled

    # A transactional test starts from an empty database (no shipped buying roles): R3 needs none.
    account = AccountFactory()
    InvoiceFactory(account=account, issued_on=TODAY - days(100), due_on=TODAY - days(70), amount=Decimal("100"))
    result = job_scheduled.apply_async(kwargs={"kind": "evaluate_alerts"}, ignore_result=False).get(timeout=60)
    assert result["status"] == "done"
    assert Alert.objects.filter(account=account, rule="R3").exists()
