"""Shared fixtures: the personas of STYLE.md and a real Celery worker.

Tests run on PostgreSQL and Redis (``make test`` checks both are up first). Celery tasks run eagerly
in-process unless a test asks for the ``celery_worker`` fixture, which starts a real worker process
on Redis consuming a queue of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from kam import roles
from kam.celery import app as celery_app
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _eager_celery():
    """Run tasks in-process by default, as the embedded default does."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _default_language():
    """A request in Chinese must not leave the next test speaking Chinese."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def account_manager(db):
    return UserFactory(username="am_owner", role=roles.ACCOUNT_MANAGER)


@pytest.fixture
def other_manager(db):
    return UserFactory(username="am_other", role=roles.ACCOUNT_MANAGER)


@pytest.fixture
def executive(db):
    return UserFactory(username="exec_user", role=roles.EXECUTIVE)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin_user", role=roles.ADMINISTRATOR)


@pytest.fixture
def manager_client(client, account_manager):
    client.force_login(account_manager)
    return client


@pytest.fixture
def celery_worker(transactional_db):
    """A real ``celery worker`` process on Redis, using the test database, on a private queue."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db_name = settings.DATABASES["default"]["NAME"]
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DATABASE_URL": f"{base}/{db_name}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "KAM_ENV": "test",
    }
    log = open(Path(settings.VAR_DIR) / f"worker-{queue}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kam",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "--pool",
            "prefork",
            "-n",
            f"{queue}@%h",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_always_eager = False
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while True:
            replies = celery_app.control.ping(timeout=1, destination=[f"{queue}@{socket.gethostname()}"]) or []
            if replies:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start; see {log.name}")
        yield proc
    finally:
        celery_app.conf.task_default_queue = previous_queue
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


# REST clients authenticated with a token of each persona (tests/api/conftest.py ``token_client``),
# shared by the API tests of every app.
@pytest.fixture
def manager_api(account_manager):
    from tests.api.conftest import token_client

    return token_client(account_manager)


@pytest.fixture
def other_api(other_manager):
    from tests.api.conftest import token_client

    return token_client(other_manager)


@pytest.fixture
def executive_api(executive):
    from tests.api.conftest import token_client

    return token_client(executive)


@pytest.fixture
def admin_api(admin_user):
    from tests.api.conftest import token_client

    return token_client(admin_user)
