"""Webhooks: subscriptions, fan-out of domain events into deliveries, signed delivery with retries.

Flow: ``kam.events`` announces an event after its transaction commits; ``on_event_published``
writes one ``WebhookDelivery`` per (event, matching subscription) and queues a dispatch. The
dispatch queues a delivery task per due row; each task claims its row (conditional UPDATE on
``next_attempt_at``), POSTs the signed body and records the outcome. Failures are retried with
exponential backoff; after ``KAM_WEBHOOK_DISABLE_AFTER`` failures in a row the subscription is
disabled and its owner gets an email. The rows are the queue, so a lost message only delays a
delivery until the next beat-driven dispatch.

Server-side request forgery: a URL is resolved and every address it resolves to must be public, at
save and again at every send; the connection then goes to the address that was checked (so a DNS
answer that changes between the check and the connection cannot redirect it), and redirects are
not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from kam.errors import StaleVersion
from kam.events import EVENT_TYPES

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-KAM-Signature"
TIMESTAMP_HEADER = "X-KAM-Timestamp"
EVENT_HEADER = "X-KAM-Event"
DELIVERY_HEADER = "X-KAM-Delivery"
DISPATCH_BATCH = 1000
MAX_RESPONSE_BYTES = 64 * 1024
SUBSCRIPTION_FIELDS = frozenset({"name", "url", "secret", "event_types", "is_active"})


# --- Validation -----------------------------------------------------------------------------------


def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return bool(settings.KAM_WEBHOOK_ALLOW_LOOPBACK)
    # is_global excludes private, shared (100.64/10), link-local, unspecified and documentation ranges.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve_public(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all public; otherwise a ValidationError naming the problem."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise ValidationError(_("The host %(host)s cannot be resolved.") % {"host": host}, code="unresolvable") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not _address_allowed(ip):
            raise ValidationError(
                _(
                    "%(host)s resolves to %(address)s, a private, loopback or link-local address: webhooks only go to public addresses."
                )
                % {"host": host, "address": address},
                code="private_address",
            )
    if not addresses:
        raise ValidationError(_("The host %(host)s cannot be resolved.") % {"host": host}, code="unresolvable")
    return addresses


def _url_parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_("Enter a valid URL."), code="invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(_("Enter an http or https URL."), code="invalid")
    if scheme == "http" and not settings.KAM_WEBHOOK_ALLOW_HTTP:
        raise ValidationError(_("Webhook URLs must use https."), code="insecure")
    if parts.username or parts.password:
        raise ValidationError(_("Put no user name or password in the URL; requests are signed instead."), code="credentials")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def validate_webhook_url(url: str) -> None:
    _, host, port = _url_parts(url)
    resolve_public(host, port)


def validate_event_types(value: Any) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Give a list of one or more event types."), code="invalid")
    unknown = sorted(set(value) - EVENT_TYPES)
    if unknown:
        raise ValidationError(
            _("Unknown event types: %(types)s. Known: %(known)s.")
            % {"types": ", ".join(unknown), "known": ", ".join(sorted(EVENT_TYPES))},
            code="invalid_choice",
        )


# --- Subscriptions --------------------------------------------------------------------------------


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - SUBSCRIPTION_FIELDS)
    if unknown:
        raise TypeError(f"not writable here: {', '.join(unknown)}")


@transaction.atomic
def subscription_create(*, owner: Any, **fields: Any) -> WebhookSubscription:
    """Create a subscription; without a ``secret`` one is generated (read it from the result once)."""
    _check_fields(fields)
    fields.setdefault("secret", "")
    if not fields["secret"]:
        fields["secret"] = "whsec_" + secrets.token_urlsafe(32)
    fields["event_types"] = sorted(set(fields.get("event_types") or []))
    subscription = WebhookSubscription(owner=owner, **fields)
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(
    *, subscription: WebhookSubscription, expected_version: int | None = None, **fields: Any
) -> WebhookSubscription:
    """Change a subscription. Re-activating it clears its failure count."""
    _check_fields(fields)
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    if "event_types" in fields and isinstance(fields["event_types"], list):
        fields["event_types"] = sorted(set(fields["event_types"]))
    if fields.get("secret") == "":
        fields.pop("secret")
    if fields.get("is_active") and not locked.is_active:
        locked.consecutive_failures, locked.disabled_at, locked.disabled_reason = 0, None, ""
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    return locked


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


# --- Fan-out --------------------------------------------------------------------------------------


def deliveries_create(name: str, payloads: Iterable[dict[str, Any]]) -> list[int]:
    """One delivery per event and matching active subscription; returns the new ids."""
    # Subscriptions are few: filtering their event lists in Python works on every database.
    subscriptions = [
        s for s in WebhookSubscription.objects.filter(is_active=True).only("id", "event_types") if name in s.event_types
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    rows = []
    for payload in payloads:
        event_id = uuid.uuid4()
        body = {"id": str(event_id), "type": name, "created_at": now.isoformat(), "data": payload}
        body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        rows.extend(
            WebhookDelivery(
                subscription_id=s.pk, event_id=event_id, event_type=name, body=body, next_attempt_at=now, created_at=now
            )
            for s in subscriptions
        )
    return [d.pk for d in WebhookDelivery.objects.bulk_create(rows, batch_size=1000)]


def on_event_published(sender: Any, name: str, payloads: list[dict[str, Any]], **kwargs: Any) -> None:
    """Receiver of ``kam.events.event_published`` (after commit): record deliveries, queue a dispatch."""
    if not deliveries_create(name, payloads):
        return
    from integrations.tasks import webhooks_dispatch

    try:
        webhooks_dispatch.delay()
    except Exception:  # the broker is down: the rows wait for the beat-driven dispatch
        logger.warning("webhook dispatch not queued; the next scheduled dispatch will send it", exc_info=True)


def deliveries_due(*, limit: int = DISPATCH_BATCH) -> list[int]:
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__is_active=True)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


# --- Sending --------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the subscription's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that passed the check, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    scheme, host, port = _url_parts(url)
    address = resolve_public(host, port)[0]
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=settings.KAM_WEBHOOK_TIMEOUT_SECONDS)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        connection.close()


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failures: base × 2^(attempts−1), capped at a day."""
    return dt.timedelta(seconds=min(settings.KAM_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), 86_400))


def webhook_deliver(*, delivery_id: int) -> str:
    """Send one delivery if it is due and unclaimed. Returns ``succeeded``, ``retry``, ``failed`` or ``skipped``."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=max(60, 3 * settings.KAM_WEBHOOK_TIMEOUT_SECONDS))
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__is_active=True
    ).update(next_attempt_at=lease, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("subscription__owner").get(pk=delivery_id)
    subscription = delivery.subscription
    body = json.dumps(delivery.body, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "KAM-Webhooks/1",
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(subscription.secret, timestamp, body),
    }
    status_code: int | None = None
    try:
        status_code = _post(subscription.url, body, headers)
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    except ValidationError as exc:
        error = _("Refused: %(reason)s") % {"reason": " ".join(exc.messages)}
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if not error:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=timezone.now(),
            last_status_code=status_code,
            last_error="",
            next_attempt_at=None,
        )
        WebhookSubscription.objects.filter(pk=subscription.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        return "succeeded"
    return _record_failure(delivery, status_code, error)


def _record_failure(delivery: WebhookDelivery, status_code: int | None, error: str) -> str:
    now = timezone.now()
    gave_up = delivery.attempts >= settings.KAM_WEBHOOK_MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        next_attempt_at=None if gave_up else now + backoff(delivery.attempts),
        last_status_code=status_code,
        last_error=error[:2000],
    )
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = WebhookSubscription.objects.values_list("consecutive_failures", flat=True).get(pk=delivery.subscription_id)
    if failures >= settings.KAM_WEBHOOK_DISABLE_AFTER:
        subscription_disable(subscription=delivery.subscription, reason=error)
    return "failed" if gave_up else "retry"


def subscription_disable(*, subscription: WebhookSubscription, reason: str) -> bool:
    """Disable after repeated failures and tell the owner once. Returns whether this call disabled it."""
    now = timezone.now()
    text = _("%(count)s failed deliveries in a row; last error: %(error)s") % {
        "count": settings.KAM_WEBHOOK_DISABLE_AFTER,
        "error": reason,
    }
    changed = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=text[:300], version=F("version") + 1
    )
    if not changed:
        return False
    WebhookDelivery.objects.filter(subscription_id=subscription.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=_("Not sent: the subscription was disabled.")
    )
    owner = subscription.owner
    if owner.email:
        try:
            send_mail(
                _("KAM webhook disabled: %(name)s") % {"name": subscription.name or subscription.url},
                _(
                    "Your webhook subscription to %(url)s was disabled after %(text)s.\n\n"
                    "Fix the receiving endpoint, then re-activate the subscription (PATCH is_active=true) to resume deliveries."
                )
                % {"url": subscription.url, "text": text},
                None,
                [owner.email],
            )
        except Exception:  # a mail outage must not break delivery bookkeeping
            logger.exception("could not tell %s that webhook %s was disabled", owner.email, subscription.pk)
    logger.warning("webhook subscription %s disabled: %s", subscription.pk, text)
    return True
