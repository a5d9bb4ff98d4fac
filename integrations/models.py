"""What integrations need beside the data: API tokens, idempotency keys and webhooks.

Nothing here is business data; it is how other systems reach KAM (tokens, idempotent POSTs) and how
KAM tells them what happened (webhook subscriptions and their delivery log).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiToken(models.Model):
    """A key an integration sends as ``Authorization: Token kam_…``.

    Only a keyed hash of the key is stored (HMAC with SECRET_KEY, see ``integrations.tokens``), so a
    copy of the database yields no usable key; the key itself is shown once, when it is created.
    ``prefix`` is the start of the key, kept so that owners can tell their keys apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="apitoken_user")]
        constraints = [models.CheckConstraint(condition=Q(scope__in=TokenScope.values), name="apitoken_scope_valid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed for repeats of that key.

    The row is inserted in the same transaction as the POST's own writes, so a repeat sent while the
    first is still running waits on the unique index and then replays the committed answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    response_body = models.JSONField(_("response body"), null=True)
    response_headers = models.JSONField(_("response headers"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


class WebhookSubscription(models.Model):
    """An endpoint that receives the events it subscribes to, signed with ``secret``."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=128)
    event_types = models.JSONField(_("event types"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("reason disabled"), max_length=300, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        indexes = [models.Index(fields=["is_active"], name="webhook_active")]

    def __str__(self) -> str:
        return self.name or self.url

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from integrations.webhooks import validate_event_types, validate_webhook_url

        errors: dict[str, list] = {}
        for field, check in (("url", validate_webhook_url), ("event_types", validate_event_types)):
            try:
                check(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log, and the retry queue while ``pending``.

    ``next_attempt_at`` is both the retry schedule and the claim: a worker takes a due delivery by
    moving it into the future (a conditional UPDATE), so a delivery is never sent twice at once and
    one whose worker died becomes due again.
    """

    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    event_type = models.CharField(_("event type"), max_length=64)
    body = models.JSONField(_("body"))
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhookdelivery_due"),
            models.Index(fields=["subscription", "-created_at"], name="webhookdelivery_subscription"),
        ]
        constraints = [models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhookdelivery_status_valid")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"


class ContractExpiryNotice(models.Model):
    """A ``contract.expiring`` milestone already announced, so the daily scan announces each once."""

    contract = models.ForeignKey("accounts.Contract", on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField(_("days before the end"))
    end_date = models.DateField(_("end date announced"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contract expiry notice")
        verbose_name_plural = _("contract expiry notices")
        constraints = [models.UniqueConstraint(fields=["contract", "days", "end_date"], name="expiry_notice_unique")]

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.days} d"
