"""Break things on purpose: Redis gone, the database connection dropped, a login storm.

These use real processes and connections: a private redis-server that the test stops, and
PostgreSQL's own pg_terminate_backend on the connection serving a request.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from kam import jobs
from kam.models import JobRun, JobStatus
from tests.factories import AccountFactory, UserFactory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis():
    """A redis-server of our own, so stopping it does not disturb anything else on the machine."""
    port = _free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


@pytest.mark.django_db
def test_redis_stopped_pages_keep_serving_and_queueing_says_so(
    private_redis, monkeypatch, settings, manager_client, account_manager, django_capture_on_commit_callbacks
):
    from kam.celery import app

    url, proc = private_redis
    settings.CACHES = {"default": {"BACKEND": "kam.cache.ResilientRedisCache", "LOCATION": url}}
    AccountFactory(owner=account_manager, name="Still here")
    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.counting_runner")
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    app.conf.task_always_eager = False
    app._pool = app.amqp._producer_pool = None
    try:
        from django.core.cache import cache

        cache.set("probe", 1)
        assert cache.get("probe") == 1  # Redis is really in use
        proc.terminate()
        proc.wait(10)

        response = manager_client.get(reverse("home"))
        assert response.status_code == 200
        assert "Still here" in response.text
        assert cache.get("probe") is None  # a miss, not an error

        with pytest.raises(jobs.BackgroundUnavailable), django_capture_on_commit_callbacks(execute=True):
            jobs.job_request(kind="recompute_kpis")
        job = JobRun.objects.get()
        assert job.status == JobStatus.FAILED
        assert job.error == jobs.BROKER_UNAVAILABLE  # the user is told to retry; nothing is half-queued
    finally:
        monkeypatch.undo()
        app._pool = app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_database_connection_dropped_mid_request_gives_503_then_recovers(account_manager):
    """The connection serving a request is terminated by PostgreSQL between two of its queries."""
    AccountFactory(owner=account_manager, name="Recovered")
    client = Client()
    client.force_login(account_manager)
    params = settings.DATABASES["default"]
    calls = {"n": 0}

    def kill_on_third_query(execute, sql, params_, many, context):
        calls["n"] += 1
        if calls["n"] == 3:
            pid = connection.connection.info.backend_pid
            admin = psycopg2.connect(host=params["HOST"], port=params["PORT"], user=params["USER"], dbname=params["NAME"])
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            admin.close()
        return execute(sql, params_, many, context)

    with connection.execute_wrapper(kill_on_third_query):
        response = client.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "temporarily unavailable" in response.text

    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Recovered" in response.text


@pytest.mark.django_db(transaction=True)
def test_lockout_holds_under_50_parallel_attempts():
    UserFactory(username="storm")
    barrier = threading.Barrier(50)

    def attempt(_: int) -> int:
        barrier.wait(10)
        try:
            return Client().post(reverse("login"), {"username": "storm", "password": "wrong"}).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(attempt, range(50)))
    assert set(codes) <= {200, 429}  # a form error or a lock-out; never a 500
    from axes.models import AccessAttempt

    # Failures are counted atomically, so the storm cannot slip under the limit.
    assert AccessAttempt.objects.get(username="storm").failures_since_start >= settings.AXES_FAILURE_LIMIT
    # Whatever the interleaving, the right password is refused now.
    response = Client().post(reverse("login"), {"username": "storm", "password": "pw"})
    assert response.status_code == 429


@pytest.mark.django_db
def test_admin_is_served_under_the_content_security_policy(client, admin_user):
    client.force_login(admin_user)
    for url in ("/admin/", "/admin/accounts/account/", "/admin/accounts/account/add/"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy
        assert "unsafe-inline" not in policy
        # Every script on the page is external or carries the request's nonce.
        nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
        for tag in response.text.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or f'nonce="{nonce}"' in opening, (url, opening)


def test_no_secrets_in_the_repository():
    """Nothing that looks like a live credential is committed."""
    root = settings.BASE_DIR
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    suspicious = []
    for name in tracked:
        if name.startswith(("static/vendor/", "docs/")) or name.endswith((".png", ".woff", ".woff2", ".mo", ".lock")):
            continue
        text = (root / name).read_text(encoding="utf-8", errors="ignore")
        for marker in ("BEGIN RSA PRIVATE KEY", "BEGIN PRIVATE KEY", "AKIA", "xoxb-", "ghp_"):
            if marker in text and name != "tests/kam/test_faults.py":
                suspicious.append((name, marker))
    assert suspicious == []
