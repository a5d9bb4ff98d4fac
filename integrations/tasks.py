"""Thin Celery tasks of the integrations app: webhook dispatch and delivery, the expiry scan, purges."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from integrations import webhooks

# Kept so that their activity can still be looked up for a while after the fact.
DELIVERY_LOG_DAYS = 30


@shared_task(name="integrations.webhooks_dispatch")
def webhooks_dispatch() -> int:
    """Queue a delivery task for every due delivery (bounded per run; beat runs this every minute)."""
    ids = webhooks.deliveries_due()
    for delivery_id in ids:
        webhook_deliver.delay(delivery_id=delivery_id)
    return len(ids)


@shared_task(name="integrations.webhook_deliver")
def webhook_deliver(*, delivery_id: int) -> str:
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="integrations.contracts_expiring_scan")
def contracts_expiring_scan() -> int:
    from integrations.expiry import contracts_expiring_scan as scan

    return scan()


@shared_task(name="integrations.purge")
def purge() -> dict:
    """Drop expired idempotency keys and old delivery log rows."""
    from integrations.models import DeliveryStatus, IdempotencyKey, WebhookDelivery

    now = timezone.now()
    keys, _ = IdempotencyKey.objects.filter(created_at__lt=now - dt.timedelta(hours=settings.KAM_API_IDEMPOTENCY_HOURS)).delete()
    deliveries, _ = (
        WebhookDelivery.objects.exclude(status=DeliveryStatus.PENDING)
        .filter(created_at__lt=now - dt.timedelta(days=DELIVERY_LOG_DAYS))
        .delete()
    )
    return {"idempotency_keys": keys, "deliveries": deliveries}
