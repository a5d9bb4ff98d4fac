"""Webhooks: signed deliveries to a real HTTP server on loopback, retries with backoff, disabling
after repeated failures, and refusal of private, loopback and link-local addresses at save and at send."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts import services
from integrations import webhooks
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from integrations.tasks import webhooks_dispatch
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint: records what it receives and answers with the queued statuses (then 200)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/kam?source=test"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Receiver = self.server  # type: ignore[assignment]
        server.received.append((dict(self.headers.items()), body))
        self.send_response(server.statuses.pop(0) if server.statuses else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(settings):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def subscription(receiver, admin_user):
    return webhooks.subscription_create(owner=admin_user, url=receiver.url, event_types=["contract.renewed", "contract.expiring"])


def _renew(django_capture_on_commit_callbacks, number: str = "C-R1"):
    contract = ContractFactory(account=AccountFactory())
    with django_capture_on_commit_callbacks(execute=True):
        renewal = services.contract_renew(contract=contract, number=number)
    return contract, renewal


# --- Signing and delivery -------------------------------------------------------------------------------


def test_delivery_is_signed_with_timestamp_and_hmac(subscription, receiver, django_capture_on_commit_callbacks):
    contract, renewal = _renew(django_capture_on_commit_callbacks)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    timestamp = headers["X-KAM-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = "sha256=" + hmac.new(subscription.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-KAM-Signature"], expected)
    assert headers["X-KAM-Event"] == "contract.renewed" and headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["type"] == "contract.renewed"
    assert event["data"] == {"contract_id": contract.pk, "renewal_id": renewal.pk, "account_id": contract.account_id}
    assert headers["X-KAM-Delivery"] == event["id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)


def test_one_event_per_committed_change_and_none_for_a_rollback(subscription, receiver, django_capture_on_commit_callbacks):
    contract = ContractFactory(account=AccountFactory())
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.contract_renew(contract=contract, number="C-R9")
        transaction.set_rollback(True)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()
    _renew(django_capture_on_commit_callbacks)
    assert len(receiver.received) == 1


def test_only_subscribed_event_types_are_delivered(receiver, admin_user, django_capture_on_commit_callbacks):
    webhooks.subscription_create(owner=admin_user, url=receiver.url, event_types=["alert.opened"])
    _renew(django_capture_on_commit_callbacks)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_a_delivery_is_sent_once_even_if_queued_twice(subscription, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [200]
    _renew(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.received) == 1


# --- Retries, giving up, disabling -------------------------------------------------------------------------


def test_failures_are_retried_with_exponential_backoff(subscription, receiver, settings, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 503]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _renew(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
    base = dt.timedelta(seconds=settings.KAM_WEBHOOK_BACKOFF_SECONDS)
    assert delivery.next_attempt_at == start + base
    with time_machine.travel(start + base - dt.timedelta(seconds=1), tick=False):
        assert webhooks_dispatch() == 0  # not due yet
    with time_machine.travel(start + base, tick=False):
        assert webhooks_dispatch() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (2, 503, start + base + 2 * base)
    with time_machine.travel(start + 3 * base, tick=False):
        webhooks_dispatch()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    assert len(receiver.received) == 3
    # The three attempts carried the same event, each signed afresh.
    assert len({json.loads(body)["id"] for _, body in receiver.received}) == 1
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_a_delivery_gives_up_after_the_maximum_attempts(subscription, receiver, settings, django_capture_on_commit_callbacks):
    settings.KAM_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _renew(django_capture_on_commit_callbacks)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        webhooks_dispatch()
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert webhooks_dispatch() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 2, None)


def test_repeated_failures_disable_the_subscription_and_tell_the_owner(
    subscription, receiver, settings, admin_user, django_capture_on_commit_callbacks
):
    settings.KAM_WEBHOOK_DISABLE_AFTER = 3
    receiver.statuses = [500] * 3
    for n in range(3):
        _renew(django_capture_on_commit_callbacks, number=f"C-F{n}")
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.consecutive_failures) == (False, 3)
    assert "HTTP 500" in subscription.disabled_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_user.email]
    assert "disabled" in mail.outbox[0].subject
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    # Disabled: new events are not delivered.
    _renew(django_capture_on_commit_callbacks, number="C-F9")
    assert len(receiver.received) == 3


def test_reactivating_clears_the_failure_count(subscription, admin_user):
    webhooks.subscription_disable(subscription=subscription, reason="HTTP 500")
    subscription.refresh_from_db()
    updated = webhooks.subscription_update(subscription=subscription, is_active=True)
    assert (updated.is_active, updated.consecutive_failures, updated.disabled_at) == (True, 0, None)


# --- SSRF: refused at save and at send ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://172.16.3.4/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://100.64.0.1/hook",  # shared address space
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as a number
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
    ],
)
def test_private_loopback_and_link_local_urls_are_refused_at_save(admin_api, url):
    response = admin_api.post("/api/v1/webhooks/", {"url": url, "event_types": ["alert.opened"]}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["url"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "http or https"),
        ("http://user:pw@example.com/hook", "user name or password"),
        ("http://no-such-host.invalid/hook", "cannot be resolved"),
    ],
)
def test_other_bad_urls_are_refused_with_a_reason(admin_api, url, message):
    response = admin_api.post("/api/v1/webhooks/", {"url": url, "event_types": ["alert.opened"]}, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["url"])


def test_plain_http_is_refused_when_https_is_required(admin_api, settings):
    settings.KAM_WEBHOOK_ALLOW_HTTP = False
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    response = admin_api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/h", "event_types": ["alert.opened"]}, format="json"
    )
    assert response.status_code == 400 and "https" in response.json()["url"][0]


def test_loopback_is_allowed_only_with_the_test_setting(admin_api, settings):
    payload = {"url": "http://127.0.0.1:9/h", "event_types": ["alert.opened"]}
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = False
    assert admin_api.post("/api/v1/webhooks/", payload, format="json").status_code == 400
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    assert admin_api.post("/api/v1/webhooks/", payload, format="json").status_code == 201


def test_loopback_setting_is_refused_in_production():
    import os
    import subprocess
    import sys

    from tests.kam.test_settings import ROOT, STRONG_KEY

    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "KAM_ENV"}}
    env.update({"KAM_ENV": "production", "SECRET_KEY": STRONG_KEY, "KAM_WEBHOOK_ALLOW_LOOPBACK": "true"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "KAM_WEBHOOK_ALLOW_LOOPBACK is for tests only" in result.stderr


def test_an_address_that_became_private_is_refused_at_send(subscription, receiver, settings, django_capture_on_commit_callbacks):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = False  # as if the name now resolved to a private address
    _renew(django_capture_on_commit_callbacks)
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error.startswith("Refused:")
    assert "private, loopback or link-local" in delivery.last_error


def test_redirects_are_not_followed(subscription, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [302]
    _renew(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, "HTTP 302")
    assert len(receiver.received) == 1


# --- The API -------------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_the_log_is_readable(admin_api, receiver, django_capture_on_commit_callbacks):
    created = admin_api.post("/api/v1/webhooks/", {"url": receiver.url, "event_types": ["contract.renewed"]}, format="json")
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and WebhookSubscription.objects.get().secret == secret
    url = created.headers["Location"]
    assert "secret" not in admin_api.get(url).json()
    _renew(django_capture_on_commit_callbacks)
    log = admin_api.get(f"{url}deliveries/").json()
    assert [(row["event_type"], row["status"]) for row in log["results"]] == [("contract.renewed", "succeeded")]


def test_unknown_event_types_are_refused(admin_api, settings):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    response = admin_api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/h", "event_types": ["account.exploded"]}, format="json"
    )
    assert response.status_code == 400 and "event_types" in response.json()


def test_account_managers_cannot_subscribe(manager_api, settings):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    response = manager_api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/h", "event_types": ["alert.opened"]}, format="json"
    )
    assert response.status_code == 403


# --- With a real worker -----------------------------------------------------------------------------------


@pytest.fixture
def loopback_env(monkeypatch):
    """The worker process reads its settings from the environment: allow loopback there too."""
    monkeypatch.setenv("KAM_WEBHOOK_ALLOW_LOOPBACK", "true")


@pytest.mark.slow
def test_a_real_worker_delivers_after_commit(loopback_env, celery_worker, receiver, admin_user):
    subscription = webhooks.subscription_create(owner=admin_user, url=receiver.url, event_types=["contract.renewed"])
    contract = ContractFactory(account=AccountFactory())
    services.contract_renew(contract=contract, number="C-W1")  # autocommit: the event fires on commit
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert webhooks.signature(subscription.secret, int(headers["X-KAM-Timestamp"]), body) == headers["X-KAM-Signature"]
    deadline = time.monotonic() + 10
    while WebhookDelivery.objects.get().status != DeliveryStatus.SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
