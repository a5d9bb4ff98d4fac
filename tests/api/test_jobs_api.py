"""jobs/: start a portfolio job (202), follow it, clear answers when it cannot start."""

from __future__ import annotations

import pytest

from kam import jobs
from kam.models import JobRun, JobStatus
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.counting_runner")


def test_admin_starts_a_job_and_gets_202_with_its_id(admin_api, admin_user, runner):
    response = admin_api.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json")
    assert response.status_code == 202
    body = response.json()
    job = JobRun.objects.get()
    assert (body["id"], body["status"], job.requested_by) == (job.pk, "queued", admin_user)
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job.pk}/")


@pytest.mark.django_db(transaction=True)
def test_a_finished_job_shows_status_progress_and_result(executive, runner):
    client = token_client(executive)
    job_id = client.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json").json()["id"]
    body = client.get(f"/api/v1/jobs/{job_id}/").json()  # tasks run in-process in tests
    assert (body["status"], body["progress"], body["error"], body["result"]) == ("done", 100, "", {"rows": 4})


def test_unknown_kind_is_a_400(admin_api, runner):
    response = admin_api.post("/api/v1/jobs/", {"kind": "make_coffee"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    assert not JobRun.objects.exists()


def test_a_kind_without_a_runner_yet_is_a_400(admin_api, monkeypatch):
    monkeypatch.delitem(jobs.JOB_RUNNERS, "recompute_scores", raising=False)
    response = admin_api.post("/api/v1/jobs/", {"kind": "recompute_scores"}, format="json")
    assert response.status_code == 400
    assert "No runner is registered" in response.json()["kind"][0]


def test_account_managers_cannot_start_portfolio_jobs(manager_api, runner):
    assert manager_api.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json").status_code == 403
    assert not JobRun.objects.exists()


def test_managers_see_only_the_jobs_they_started(manager_api, account_manager, admin_user):
    mine = JobRun.objects.create(kind="recompute_kpis", requested_by=account_manager)
    theirs = JobRun.objects.create(kind="recompute_kpis", requested_by=admin_user)
    assert [row["id"] for row in manager_api.get("/api/v1/jobs/").json()["results"]] == [mine.pk]
    assert manager_api.get(f"/api/v1/jobs/{theirs.pk}/").status_code == 404


def test_failed_job_error_is_shown_in_the_callers_language(admin_api):
    job = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.FAILED, error=jobs.ALREADY_RUNNING)
    body = admin_api.get(f"/api/v1/jobs/{job.pk}/", headers={"Accept-Language": "zh-hans"}).json()
    assert body["status"] == "failed" and body["error"] and body["error"] != "already running"


@pytest.mark.django_db(transaction=True)
def test_broker_down_is_a_503_with_a_clear_message(admin_user, runner, monkeypatch):
    from kam.celery import app

    client = token_client(admin_user)
    app.conf.task_always_eager = False
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    app._pool = app.amqp._producer_pool = None
    try:
        response = client.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json", headers={"Idempotency-Key": "j-1"})
    finally:
        monkeypatch.undo()
        app._pool = app.amqp._producer_pool = None
    assert response.status_code == 503
    assert "message broker cannot be reached" in response.json()["detail"]
    assert JobRun.objects.get().status == JobStatus.FAILED
    from integrations.models import IdempotencyKey

    assert not IdempotencyKey.objects.exists()  # the key is free for the retry


def test_a_second_request_while_one_is_active_is_a_409_naming_it(admin_api, runner):
    active = JobRun.objects.create(kind="recompute_kpis", status=JobStatus.RUNNING, progress=10)
    response = admin_api.post("/api/v1/jobs/", {"kind": "recompute_kpis"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["job"] == active.pk
    assert body["kind"] == [f"A job of this kind is already running (job {active.pk})."]
    assert JobRun.objects.count() == 1
    # Another kind is not blocked by it.
    assert admin_api.post("/api/v1/jobs/", {"kind": "evaluate_alerts"}, format="json").status_code == 202
