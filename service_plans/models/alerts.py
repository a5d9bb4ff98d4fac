"""Risk alerts (CTAs), their rule configuration, playbooks, tasks and notifications (DOMAIN.md §5)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier
from accounts.visibility import AccountScopedQuerySet
from service_plans.models.delivery import TeamRole


class Rule(models.TextChoices):
    R1 = "R1", _("R1 Purchase drop")
    R2 = "R2", _("R2 Satisfaction drop")
    R3 = "R3", _("R3 Overdue invoices")
    R4 = "R4", _("R4 Champion or economic buyer left")
    R5 = "R5", _("R5 Renewal near, no activity")
    R6 = "R6", _("R6 Escalations and SLA")
    R7 = "R7", _("R7 Executive disengagement")
    R8 = "R8", _("R8 Health drop")
    R9 = "R9", _("R9 Single-threaded relationship")
    R10 = "R10", _("R10 Credit or financial distress")
    # Lifecycle CTAs (DOMAIN.md §5.1 "Lifecycle" type): §7.4 QBR follow-up, §7.3–7.4 plan discipline.
    L1 = "L1", _("L1 QBR follow-up missing")
    L2 = "L2", _("L2 Account plan missing or review overdue")
    # §5.2's positive signal (Gainsight's "Expansion" CTA type, §5.1): work for the account manager, not a risk.
    E1 = "E1", _("E1 Expansion signal")


# Rules whose alerts are opportunities, not risks: whatever counts risk (ARR at risk) leaves them out.
POSITIVE_RULES = (Rule.E1.value,)


class AlertPriority(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")


PRIORITY_RANK = {AlertPriority.MEDIUM: 1, AlertPriority.HIGH: 2, AlertPriority.CRITICAL: 3}


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    SNOOZED = "snoozed", _("Snoozed")
    CLOSED_RESOLVED = "closed_resolved", _("Closed: resolved")
    CLOSED_UNRESOLVED = "closed_unresolved", _("Closed: unresolved")
    CLOSED_INVALID = "closed_invalid", _("Closed: false positive")


OPEN_STATUSES = (AlertStatus.OPEN, AlertStatus.IN_PROGRESS, AlertStatus.SNOOZED)
CLOSED_STATUSES = (AlertStatus.CLOSED_RESOLVED, AlertStatus.CLOSED_UNRESOLVED, AlertStatus.CLOSED_INVALID)


class AlertOutcome(models.TextChoices):
    # DOMAIN.md §5.5, captured on close for calibration.
    RETAINED = "retained", _("Retained")
    DOWNSIZED = "downsized", _("Downsized")
    CHURNED = "churned", _("Churned")
    NOT_APPLICABLE = "n/a", _("Not applicable")


class RuleConfig(models.Model):
    """Settings of one rule: a row with an empty tier holds the defaults, a tier row overrides them.

    ``params`` is merged over the defaults in ``service_plans.alerts.rules.DEFAULTS``, so a row only
    names the thresholds it changes.
    """

    rule = models.CharField(_("rule"), max_length=4, choices=Rule.choices)
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, blank=True, help_text=_("Empty: every tier."))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rule setting")
        verbose_name_plural = _("rule settings")
        ordering = ["rule", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "tier"], name="rule_config_unique"),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="rule_config_rule_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.tier or '*'}"

    def clean(self) -> None:
        from service_plans.alerts.rules import validate_params

        errors = validate_params(self.rule, self.params)
        if errors:
            raise ValidationError({"params": errors})


class PlaybookTemplate(models.Model):
    """A versioned set of task templates applied when an alert of its rule opens (DOMAIN.md §5.4).

    A version that alerts used is frozen: ``playbook_new_version`` copies it into the next version,
    and tasks already created never change with the template.
    """

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    rule = models.CharField(_("rule"), max_length=4, choices=Rule.choices)
    reason = models.CharField(_("reason"), max_length=60, blank=True, help_text=_("Empty: any reason of the rule."))
    version = models.PositiveIntegerField(_("version"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["rule", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="playbook_code_version_unique"),
            models.UniqueConstraint(fields=["code"], condition=Q(is_active=True), name="playbook_one_active_version"),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="playbook_rule_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def name_display(self) -> str:
        """The name in the reader's language when it is a seeded playbook name (``seeded_text``)."""
        return f"{seeded_text(self.name)} v{self.version}"

    @property
    def is_used(self) -> bool:
        return self.alerts.exists()


class PlaybookTaskTemplate(models.Model):
    playbook = models.ForeignKey(PlaybookTemplate, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="tasks")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner_role = models.CharField(_("owner role"), max_length=24, choices=TeamRole.choices, default=TeamRole.ACCOUNT_MANAGER)
    due_offset_days = models.PositiveSmallIntegerField(_("due after (days)"), validators=[MinValueValidator(0)])
    required = models.BooleanField(_("required"), default=True)
    evidence_required = models.BooleanField(_("evidence required"), default=False)

    class Meta:
        verbose_name = _("playbook task")
        verbose_name_plural = _("playbook tasks")
        ordering = ["playbook", "order", "id"]
        constraints = [models.CheckConstraint(condition=Q(owner_role__in=TeamRole.values), name="playbook_task_role_valid")]

    def __str__(self) -> str:
        return f"{self.order}. {self.title} (d+{self.due_offset_days})"


class AlertQuerySet(AccountScopedQuerySet):
    def open(self) -> AlertQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Alert(models.Model):
    """A call to action on an account, raised by a rule or by hand (DOMAIN.md §5.3).

    At most one open alert per (account, rule, reason): a database constraint, so two concurrent
    evaluations cannot both create one.
    """

    account = models.ForeignKey("accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="alerts")
    rule = models.CharField(_("rule"), max_length=4, choices=Rule.choices)
    reason = models.CharField(_("reason"), max_length=60)
    priority = models.CharField(_("priority"), max_length=8, choices=AlertPriority.choices)
    status = models.CharField(_("status"), max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts_owned",
    )
    owner_role = models.CharField(_("owner role"), max_length=24, choices=TeamRole.choices, default=TeamRole.ACCOUNT_MANAGER)
    due_on = models.DateField(_("due"))
    opened_at = models.DateTimeField(_("opened at"))
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    playbook = models.ForeignKey(
        PlaybookTemplate, verbose_name=_("playbook"), null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    last_triggered_on = models.DateField(_("last triggered on"))
    clear_runs = models.PositiveSmallIntegerField(_("clear runs"), default=0)
    last_clear_on = models.DateField(_("last clear run on"), null=True, blank=True)
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    snooze_reason = models.CharField(_("snooze reason"), max_length=200, blank=True)
    status_before_snooze = models.CharField(_("status before snooze"), max_length=20, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated to manager at"), null=True, blank=True)
    sponsor_notified_at = models.DateTimeField(_("executive sponsor notified at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closure_note = models.TextField(_("closure note"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=AlertOutcome.choices, blank=True)
    saved_value_amount = models.DecimalField(_("saved value"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    is_manual = models.BooleanField(_("raised by hand"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["account", "status"], name="alert_account_status"),
            models.Index(fields=["owner", "status", "due_on"], name="alert_owner_inbox"),
            models.Index(fields=["rule", "status"], name="alert_rule_status"),
            models.Index(fields=["rule", "account", "reason", "closed_at"], name="alert_cooldown"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "rule", "reason"],
                condition=Q(status__in=["open", "in_progress", "snoozed"]),
                name="alert_one_open_per_key",
            ),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="alert_rule_valid"),
            models.CheckConstraint(condition=Q(priority__in=AlertPriority.values), name="alert_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "in_progress", "snoozed"])
                | (Q(closed_at__isnull=False) & ~Q(closure_note="") & ~Q(outcome="")),
                name="alert_closed_has_note_and_outcome",
            ),
            models.CheckConstraint(condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False), name="alert_snooze_has_end"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} – {self.account_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reason_display(self) -> str:
        """The reason in words, translated; a reason typed by hand (manual alerts) as it was typed."""
        from service_plans.alerts.rules import reason_text

        return reason_text(self.reason, self.evidence)

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.status in CLOSED_STATUSES:
            if not (self.closure_note or "").strip():
                errors["closure_note"] = [_("Closing an alert needs a closure note.")]
            if not self.outcome:
                errors["outcome"] = [_("Closing an alert needs an outcome.")]
        if self.saved_value_amount is not None and not self.currency:
            errors["currency"] = [_("Give the currency of the saved value.")]
        if errors:
            raise ValidationError(errors)


class TaskQuerySet(AccountScopedQuerySet):
    account_lookup = "alert__account_id"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class AlertTask(models.Model):
    """A concrete task created from a playbook task template when an alert opened."""

    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="tasks")
    template = models.ForeignKey(
        PlaybookTaskTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_tasks",
    )
    owner_role = models.CharField(_("owner role"), max_length=24, choices=TeamRole.choices)
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    required = models.BooleanField(_("required"), default=True)
    evidence_required = models.BooleanField(_("evidence required"), default=False)
    evidence = models.TextField(_("evidence"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert task")
        verbose_name_plural = _("alert tasks")
        ordering = ["alert", "order", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="alert_task_owner")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="alert_task_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(evidence_required=False) | ~Q(evidence=""), name="alert_task_evidence_given"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title_display(self) -> str:
        """The title in the reader's language when it is a seeded playbook text; as typed otherwise."""
        return seeded_text(self.title)


def seeded_text(text: str) -> str:
    """A text the migrations seed (playbook names and task titles, marked with ``gettext_noop``) in the
    active language; any other text, typed by a user, comes back as it is."""
    from django.utils.translation import gettext

    return gettext(text) if text else text


class AlertEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    PRIORITY_RAISED = "priority_raised", _("Priority raised")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    SNOOZED = "snoozed", _("Snoozed")
    WOKEN = "woken", _("Snooze ended")
    ESCALATED = "escalated", _("Escalated to the owner's manager")
    SPONSOR_NOTIFIED = "sponsor_notified", _("Executive sponsor notified")
    REASSIGNED = "reassigned", _("Reassigned")
    RESCHEDULED = "rescheduled", _("Due date changed")
    CLOSED = "closed", _("Closed")


class AlertEvent(models.Model):
    """The alert's history: what happened, when and the evidence at that moment."""

    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=AlertEventKind.choices)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(_("data"), default=dict, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        ordering = ["alert", "at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> NotificationQuerySet:
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app notification for one user. Mails are sent as one digest per user per run."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32)
    text = models.CharField(_("text"), max_length=500)
    link = models.CharField(_("link"), max_length=300, blank=True)
    alert = models.ForeignKey(Alert, verbose_name=_("alert"), null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.text[:60]
