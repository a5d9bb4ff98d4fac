"""A 60-second mixed load on the REST API under gunicorn on loopback: zero 5xx, zero lost updates.

Twenty client threads, each with its own token and keep-alive connection, read and write at once:
list and detail GETs, PATCHes with ``If-Match`` on a few shared accounts (a 412 means someone else
won: read again and retry), and POSTs with an ``Idempotency-Key``, some of them sent twice. At the
end every account's version is its starting version plus the PATCHes that were answered 200, every
201 names a contact that exists, and a replayed key created nothing.

``KAM_LOAD_SECONDS`` shortens the load while working on this file; ``make test`` runs the full 60 s.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Account, Contact
from integrations.tokens import token_create
from kam import roles
from tests.factories import AccountFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 20
SECONDS = float(os.environ.get("KAM_LOAD_SECONDS", "60"))
SHARED_ACCOUNTS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn():
    """gunicorn (2 workers × 4 threads) on the test database, production-like (DEBUG off), throttles
    lifted (the load is the test, not abuse) and no broker (nothing is queued to a worker here)."""
    port = _free_port()
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {
        **os.environ,
        "KAM_ENV": "test",
        "DATABASE_URL": f"{base}/{settings.DATABASES['default']['NAME']}",
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "",
        "KAM_API_THROTTLE_TOKEN": "1000000/min",
        "KAM_API_THROTTLE_USER": "1000000/min",
    }
    log = open(Path(settings.VAR_DIR) / f"gunicorn-load-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kam.wsgi:application", "--workers", "2", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log.name}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Tally:
    """What the clients saw, shared between threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[tuple[str, str, int, str]] = []
        self.failures: list[str] = []
        self.patched: Counter[int] = Counter()
        self.created: dict[str, int] = {}  # idempotency key -> contact id

    def record(self, method: str, path: str, status: int, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append((method, path, status, body[:300].decode(errors="replace")))


class Client:
    def __init__(self, port: int, key: str, tally: Tally) -> None:
        self.port, self.key, self.tally = port, key, tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None):
        all_headers = {"Authorization": f"Token {self.key}", "Accept": "application/json", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: reopen once. Only
                # safe because the request never reached the server (no answer was read).
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        self.tally.record(method, path, response.status, data)
        return response, (
            json.loads(data) if data and response.getheader("Content-Type", "").startswith("application/json") else None
        )


def _run_client(number: int, port: int, key: str, shared: list[int], owned: list[int], tally: Tally, stop_at: float) -> None:
    rng = random.Random(number)
    client = Client(port, key, tally)
    try:
        while time.monotonic() < stop_at:
            roll = rng.random()
            if roll < 0.30:
                client.call("GET", f"/api/v1/accounts/?page_size=50&ordering={rng.choice(['name', '-id', 'id'])}")
            elif roll < 0.50:
                client.call("GET", f"/api/v1/accounts/{rng.choice(shared + owned)}/")
            elif roll < 0.85:
                account_id = rng.choice(shared)
                response, body = client.call("GET", f"/api/v1/accounts/{account_id}/")
                if response.status != 200:
                    continue
                response, _ = client.call(
                    "PATCH",
                    f"/api/v1/accounts/{account_id}/",
                    {"notes": f"client {number} at {time.monotonic():.6f}"},
                    {"If-Match": response.getheader("ETag")},
                )
                if response.status == 200:
                    with tally.lock:
                        tally.patched[account_id] += 1
                elif response.status != 412:  # 412: another client changed it first
                    with tally.lock:
                        tally.failures.append(f"PATCH {account_id}: {response.status}")
            else:
                key_ = str(uuid.uuid4())
                contact = {"account": rng.choice(owned), "name": f"Load {number}", "email": f"load-{key_}@example.com"}
                for _ in range(2 if rng.random() < 0.3 else 1):  # sometimes the same request twice
                    response, body = client.call("POST", "/api/v1/contacts/", contact, {"Idempotency-Key": key_})
                    if response.status != 201:
                        with tally.lock:
                            tally.failures.append(f"POST contacts: {response.status} {body}")
                        break
                    with tally.lock:
                        if tally.created.setdefault(key_, body["id"]) != body["id"]:
                            tally.failures.append(f"key {key_} answered two ids")
    except Exception as exc:  # any failure is reported by the test
        with tally.lock:
            tally.failures.append(f"client {number}: {type(exc).__name__}: {exc}")
    finally:
        client.conn.close()


def test_sixty_seconds_of_mixed_load_give_no_5xx_and_lose_no_update(gunicorn):
    manager = UserFactory(username="load_manager", role=roles.ACCOUNT_MANAGER)
    admin = UserFactory(username="load_admin", role=roles.ADMINISTRATOR)
    shared = [AccountFactory(owner=manager, name=f"Shared {i}").pk for i in range(SHARED_ACCOUNTS)]
    owned = [AccountFactory(owner=manager, name=f"Owned {i}").pk for i in range(16)]
    versions = dict(Account.objects.filter(pk__in=shared).values_list("pk", "version"))
    keys = [
        token_create(user=manager if n % 2 else admin, name=f"load-{n}", scope="write")[1] for n in range(CLIENTS)
    ]  # each client its own token; managers and an administrator write the same accounts
    tally = Tally()
    stop_at = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=_run_client, args=(n, gunicorn, keys[n], shared, owned, tally, stop_at), daemon=True)
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)  # bounded: a request in flight at the end has its 60 s timeout
    assert not any(thread.is_alive() for thread in threads), "a client hung"

    assert tally.server_errors == []
    assert tally.failures == []
    # The load really ran (on a quiet machine thousands of requests; on the shared 2-core host ~10/s).
    assert sum(tally.statuses.values()) >= 3 * CLIENTS, tally.statuses
    assert set(tally.statuses) <= {200, 201, 412}, tally.statuses
    # No lost update: every 200 to a PATCH bumped the version by exactly one.
    assert sum(tally.patched.values()) > 0
    final = dict(Account.objects.filter(pk__in=shared).values_list("pk", "version"))
    assert final == {pk: versions[pk] + tally.patched[pk] for pk in shared}
    # Every 201 exists, and a replayed key created nothing more.
    created = set(tally.created.values())
    assert len(created) == len(tally.created) > 0
    assert set(Contact.objects.filter(pk__in=created).values_list("pk", flat=True)) == created
    assert Contact.objects.filter(email__startswith="load-").count() == len(tally.created)
