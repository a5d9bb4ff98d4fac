"""The beat entries of the integrations app name real tasks; the purge keeps what is still needed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.models import DeliveryStatus, IdempotencyKey, WebhookDelivery
from integrations.tasks import contracts_expiring_scan, purge
from integrations.webhooks import subscription_create
from kam.celery import app
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_beat_entries_name_registered_tasks():
    app.loader.import_default_modules()
    for entry in ("webhooks-dispatch", "contracts-expiring-scan", "integrations-purge"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks, entry


def test_purge_drops_expired_keys_and_old_finished_deliveries(account_manager, admin_user, settings):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    now = timezone.now()
    old_key = IdempotencyKey.objects.create(
        user=account_manager, key="old", fingerprint="x", created_at=now - dt.timedelta(hours=25)
    )
    fresh_key = IdempotencyKey.objects.create(user=account_manager, key="fresh", fingerprint="x", created_at=now)
    subscription = subscription_create(owner=admin_user, url="http://127.0.0.1:9/h", event_types=["alert.opened"])
    body = {"id": "e", "type": "alert.opened", "data": {}}
    old_done = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="alert.opened",
        body=body,
        status=DeliveryStatus.SUCCEEDED,
        created_at=now - dt.timedelta(days=31),
    )
    old_pending = WebhookDelivery.objects.create(
        subscription=subscription, event_type="alert.opened", body=body, created_at=now - dt.timedelta(days=31)
    )
    recent = WebhookDelivery.objects.create(
        subscription=subscription, event_type="alert.opened", body=body, status=DeliveryStatus.FAILED
    )
    assert purge() == {"idempotency_keys": 1, "deliveries": 1}
    assert set(IdempotencyKey.objects.values_list("pk", flat=True)) == {fresh_key.pk}
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}
    assert (
        not IdempotencyKey.objects.filter(pk=old_key.pk).exists() and not WebhookDelivery.objects.filter(pk=old_done.pk).exists()
    )


def test_the_scan_task_runs_the_scan(settings):
    settings.KAM_CONTRACT_EXPIRING_DAYS = [30]
    today = timezone.localdate()
    ContractFactory(start_date=today - dt.timedelta(days=200), end_date=today + dt.timedelta(days=10))
    assert contracts_expiring_scan() == 1
    assert contracts_expiring_scan() == 0
