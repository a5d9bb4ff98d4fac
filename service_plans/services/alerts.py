"""Writes on alerts and their tasks that people make: acknowledge, snooze, close, reassign, complete.

The UI, the API and the admin call these; the nightly evaluation (``service_plans.alerts.engine``)
makes the automatic changes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, ExpressionWrapper, F, Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Account
from kam.errors import StaleVersion
from kam.events import publish
from service_plans.alerts.rules import DUE_BUSINESS_DAYS_BY_PRIORITY
from service_plans.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AccountTeamMember,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertOutcome,
    AlertPriority,
    AlertStatus,
    AlertTask,
    Rule,
    TaskStatus,
    TeamRole,
)
from service_plans.sla import default_clock

SNOOZE_MAX_DAYS = 30  # DOMAIN.md §8 cta.snooze_max_days
# An alert raised by hand is due by its priority (DOMAIN.md §5.3 / §8 cta.due_offsets_bd,
# ``rules.DUE_BUSINESS_DAYS_BY_PRIORITY``); rule-raised alerts take their rule's due of the §5.2 table.


def _lock(alert: Alert, expected_version: int | None) -> Alert:
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    return locked


def _save(alert: Alert, fields: list[str]) -> Alert:
    alert.version = F("version") + 1
    alert.save(update_fields=[*fields, "version", "updated_at"])
    alert.refresh_from_db()
    return alert


def _require_open(alert: Alert) -> None:
    if alert.status not in OPEN_STATUSES:
        raise ValidationError({"status": [_("This alert is closed.")]})


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor: Any, expected_version: int | None = None) -> Alert:
    """The owner has seen the alert and works on it: OPEN → IN_PROGRESS."""
    alert = _lock(alert, expected_version)
    _require_open(alert)
    if alert.status == AlertStatus.IN_PROGRESS:
        return alert
    if alert.status == AlertStatus.SNOOZED:
        alert.snoozed_until, alert.status_before_snooze = None, ""
    alert.status = AlertStatus.IN_PROGRESS
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.ACKNOWLEDGED, at=timezone.now(), actor=actor)
    return _save(alert, ["status", "snoozed_until", "status_before_snooze"])


@transaction.atomic
def alert_snooze(
    *, alert: Alert, until: dt.date, reason: str, actor: Any, expected_version: int | None = None, today: dt.date | None = None
) -> Alert:
    """Hide the alert until ``until`` (at most 30 days ahead); the nightly run re-opens it then."""
    alert = _lock(alert, expected_version)
    _require_open(alert)
    today = today or timezone.localdate()
    if until <= today:
        raise ValidationError({"until": [_("Snooze until a later date.")]})
    if until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        raise ValidationError({"until": [_("An alert can be snoozed for at most %(days)d days.") % {"days": SNOOZE_MAX_DAYS}]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the alert is snoozed.")]})
    if alert.status != AlertStatus.SNOOZED:
        alert.status_before_snooze = alert.status
    alert.status = AlertStatus.SNOOZED
    alert.snoozed_until = until
    alert.snooze_reason = reason.strip()[:200]
    AlertEvent.objects.create(
        alert=alert, kind=AlertEventKind.SNOOZED, at=timezone.now(), actor=actor, data={"until": until.isoformat()}
    )
    return _save(alert, ["status", "status_before_snooze", "snoozed_until", "snooze_reason"])


@transaction.atomic
def alert_close(
    *,
    alert: Alert,
    actor: Any,
    note: str,
    outcome: str,
    status: str = AlertStatus.CLOSED_RESOLVED,
    saved_value_amount: Decimal | None = None,
    currency: str = "",
    expected_version: int | None = None,
) -> Alert:
    """Close with a note and an outcome (§5.3, §5.5); open tasks are cancelled."""
    alert = _lock(alert, expected_version)
    _require_open(alert)
    errors: dict[str, list[Any]] = {}
    if status not in CLOSED_STATUSES:
        errors["status"] = [_("Choose a closed status.")]
    if not (note or "").strip():
        errors["note"] = [_("Closing an alert needs a closure note.")]
    if outcome not in AlertOutcome.values:
        errors["outcome"] = [_("Choose an outcome: %(choices)s.") % {"choices": ", ".join(AlertOutcome.values)}]
    if saved_value_amount is not None and saved_value_amount < 0:
        errors["saved_value_amount"] = [_("The saved value cannot be negative.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    alert.status = status
    alert.closure_note = note.strip()
    alert.outcome = outcome
    alert.closed_at = now
    alert.closed_by = actor if getattr(actor, "pk", None) else None
    alert.saved_value_amount = saved_value_amount
    alert.currency = currency or ""
    alert.snoozed_until = None
    alert.full_clean()
    AlertTask.objects.filter(alert=alert, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.CLOSED, at=now, actor=alert.closed_by, data={"outcome": outcome})
    alert = _save(
        alert, ["status", "closure_note", "outcome", "closed_at", "closed_by", "saved_value_amount", "currency", "snoozed_until"]
    )
    publish("alert.closed", {"alert_id": alert.pk, "account_id": alert.account_id, "rule": alert.rule, "outcome": alert.outcome})
    return alert


@transaction.atomic
def alert_reassign(
    *, alert: Alert, owner: Any, actor: Any, move_tasks: bool = True, expected_version: int | None = None
) -> Alert:
    """Give the alert (and, by default, the previous owner's open tasks) to someone else (§5.3).

    The new owner must be an active user who can see the account: an alert handed to someone who
    cannot open it would sit unworked.
    """
    alert = _lock(alert, expected_version)
    _require_open(alert)
    if not getattr(owner, "is_active", False) or not Account.objects.visible_to(owner).filter(pk=alert.account_id).exists():
        raise ValidationError({"owner": [_("Give the alert to an active user who can see the account.")]})
    previous = alert.owner_id
    alert.owner = owner
    if move_tasks:
        AlertTask.objects.filter(alert=alert, status=TaskStatus.OPEN, owner_id=previous).update(owner=owner)
    AlertEvent.objects.create(
        alert=alert, kind=AlertEventKind.REASSIGNED, at=timezone.now(), actor=actor, data={"from": previous, "to": owner.pk}
    )
    return _save(alert, ["owner"])


@transaction.atomic
def alert_reschedule(
    *,
    alert: Alert,
    due_on: dt.date,
    actor: Any,
    shift_tasks: bool = True,
    expected_version: int | None = None,
    today: dt.date | None = None,
) -> Alert:
    """Change the due date (§5.1 [S-92]): the open tasks move by the same number of days unless
    ``shift_tasks`` is false, and the alert is never due before one of its open tasks (§5.3)."""
    alert = _lock(alert, expected_version)
    _require_open(alert)
    today = today or timezone.localdate()
    if due_on < today:
        raise ValidationError({"due_on": [_("Choose today or a later date.")]})
    delta = due_on - alert.due_on
    if not delta:
        return alert
    # Set-based (a query count that does not grow with the tasks): one aggregate checks the rule, one
    # UPDATE moves the open tasks. Checked before the move: a refused date writes nothing. No other
    # writer moves a task's due date, and every move happens under the alert's row lock taken above.
    tasks = AlertTask.objects.filter(alert=alert, status=TaskStatus.OPEN)
    latest = tasks.aggregate(latest=Max("due_on"))["latest"]
    if latest is not None and shift_tasks:
        latest += delta
    if latest is not None and due_on < latest:
        raise ValidationError(
            {
                "due_on": [
                    _("An alert can be due no earlier than its open tasks; the last one is due on %(date)s.")
                    % {"date": date_format(latest, "SHORT_DATE_FORMAT")}
                ]
            }
        )
    # A task carries no version, updated_at or history: its due date is the only column the move writes.
    shifted = tasks.update(due_on=ExpressionWrapper(F("due_on") + delta, output_field=DateField())) if shift_tasks else 0
    previous = alert.due_on
    alert.due_on = due_on
    AlertEvent.objects.create(
        alert=alert,
        kind=AlertEventKind.RESCHEDULED,
        at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        data={"from": previous.isoformat(), "to": due_on.isoformat(), "tasks_shifted": shifted},
    )
    return _save(alert, ["due_on"])


@transaction.atomic
def alert_create_manual(
    *, account: Any, rule: str, reason: str, priority: str, actor: Any, owner: Any = None, due_on: dt.date | None = None
) -> Alert:
    """An alert raised by hand (never auto-closed). The one-open-per-key rule still holds.

    Without a due date it is due by its priority (§5.3: Critical +2, High +5, Medium +10 business days)."""
    errors: dict[str, list[Any]] = {}
    if rule not in Rule.values:
        errors["rule"] = [_("Unknown rule.")]
    if priority not in AlertPriority.values:
        errors["priority"] = [_("Unknown priority.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give a reason.")]
    if errors:
        raise ValidationError(errors)
    if Alert.objects.open().filter(account=account, rule=rule, reason=reason).exists():
        message = _("An open alert with this rule and reason already exists for the account.")
        raise ValidationError({"reason": [ValidationError(message, code="unique")]})
    today = timezone.localdate()
    now = timezone.now()
    alert = Alert(
        account=account,
        rule=rule,
        reason=reason.strip(),
        priority=priority,
        owner=owner or account.owner,
        due_on=due_on or default_clock().add_business_days(today, DUE_BUSINESS_DAYS_BY_PRIORITY[priority]),
        opened_at=now,
        last_triggered_on=today,
        is_manual=True,
    )
    alert.full_clean()
    alert.save()
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.OPENED, at=now, actor=actor)
    publish("alert.opened", {"alert_id": alert.pk, "account_id": account.pk, "rule": rule, "priority": priority})
    return alert


@transaction.atomic
def alert_task_complete(*, task: AlertTask, actor: Any, evidence: str = "") -> AlertTask:
    task = AlertTask.objects.select_for_update().select_related("alert").get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise ValidationError({"status": [_("Only an open task can be completed.")]})
    if task.evidence_required and not evidence.strip():
        raise ValidationError({"evidence": [_("This task needs evidence before it can be completed.")]})
    task.status = TaskStatus.DONE
    task.evidence = evidence.strip()
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "evidence", "completed_at"])
    return task


def role_owners(*, account_id: int) -> dict[str, int | None]:
    """Who each team role resolves to on an account, as the rules resolve it (§5.3): the role's first
    team member (by id, as ``service_plans.alerts.engine`` picks), else the account's manager."""
    owners: dict[str, int | None] = {}
    for role, user_id in AccountTeamMember.objects.filter(account_id=account_id).order_by("id").values_list("role", "user_id"):
        owners.setdefault(role, user_id)
    fallback = Account.objects.filter(pk=account_id).values_list("owner_id", flat=True).first()
    return {role: owners.get(role, fallback) for role in TeamRole.values}


def alert_work_follow_roles(*, account_id: int, before: dict[str, int | None], after: dict[str, int | None], actor: Any) -> int:
    """Move open alerts and open tasks whose role now resolves to someone else (§5.3: "reassigning a
    role moves open tasks", Gainsight's owner-change behaviour [S-92]).

    Only work held by the role's previous holder moves: a task someone handed to a colleague stays
    with that colleague. Returns the number of alerts and tasks moved.
    """
    moved = 0
    now = timezone.now()
    for role, old in before.items():
        new = after.get(role)
        if old is None or new is None or old == new:
            continue
        moved += AlertTask.objects.filter(
            alert__account_id=account_id,
            alert__status__in=OPEN_STATUSES,
            status=TaskStatus.OPEN,
            owner_role=role,
            owner_id=old,
        ).update(owner_id=new)
        alerts = list(
            Alert.objects.select_for_update()
            .filter(account_id=account_id, status__in=OPEN_STATUSES, owner_role=role, owner_id=old)
            .values_list("pk", flat=True)
        )
        if alerts:
            Alert.objects.filter(pk__in=alerts).update(owner_id=new, version=F("version") + 1, updated_at=now)
            AlertEvent.objects.bulk_create(
                AlertEvent(
                    alert_id=pk,
                    kind=AlertEventKind.REASSIGNED,
                    at=now,
                    actor=actor if getattr(actor, "pk", None) else None,
                    data={"from": old, "to": new, "role": role},
                )
                for pk in alerts
            )
            moved += len(alerts)
    return moved
