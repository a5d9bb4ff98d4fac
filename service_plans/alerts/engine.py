"""The alert lifecycle of DOMAIN.md §5.3, applied set-based to a whole run's hits.

A run reads (one query per rule, plus a fixed handful for open alerts, cool-downs, owners and
playbooks), decides in memory, then writes everything in one short transaction with bulk
statements, so the query count does not depend on the number of accounts.

Idempotence: a second run on the same day changes nothing. "Two clear runs" count clear *days*
(``last_clear_on``), so a rerun cannot close an alert early.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Account
from kam.bulk import bulk_update
from kam.events import publish_many
from service_plans.alerts.rules import (
    DUE_BUSINESS_DAYS,
    OWNER_ROLES,
    REASON_LABELS,
    RULES,
    Context,
    Hit,
    RuleSettings,
    load_settings,
)
from service_plans.bulkwrite import insert_objects, insert_rows
from service_plans.models import (
    PRIORITY_RANK,
    AccountTeamMember,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertOutcome,
    AlertPriority,
    AlertStatus,
    AlertTask,
    PlaybookTaskTemplate,
    PlaybookTemplate,
    ReportingLine,
    Rule,
    ServiceStandard,
    TaskStatus,
    TeamRole,
)
from service_plans.notifications import Note, notify_many
from service_plans.sla import BusinessClock, default_clock

AUTO_CLOSE_CLEAR_RUNS = 2  # DOMAIN.md §8 cta.auto_close_clear_runs
ESCALATE_OVERDUE_BD = 3  # §8 cta.escalate_overdue_bd
SPONSOR_CRITICAL_BD = 5  # §5.3: Critical open > 5 bd on a T1 account → exec sponsor
AUTO_CLOSE_NOTE = "auto: condition cleared"
TASK_COLUMNS = (
    "alert_id", "template_id", "order", "title", "description", "owner_id", "owner_role", "due_on", "required",
    "evidence_required",
)  # fmt: skip


def alert_link(alert_id: int) -> str:
    """The alert's page in the workspace, where its owner works it (the admin is for administrators)."""
    # reverse() once; a run links thousands of alerts.
    return _alert_link_template().replace("/0/", f"/{alert_id}/")


@functools.cache
def _alert_link_template() -> str:
    return reverse("web:alert_detail", args=[0])


def alert_label(rule: str, reason: str) -> str:
    return _alert_label(rule, reason, get_language())


@functools.lru_cache(maxsize=4096)  # manual alerts carry free-text reasons: bounded
def _alert_label(rule: str, reason: str, language: str | None) -> str:
    return f"{Rule(rule).label}: {REASON_LABELS.get(reason, reason)}"


@functools.cache
def _priority_label(priority: str, language: str | None) -> str:
    return str(AlertPriority(priority).label)


@dataclass
class Plan:
    """What a reconcile decided, before it is written."""

    create: list[tuple[Hit, str]] = field(default_factory=list)  # (hit, rule)
    raise_priority: list[Alert] = field(default_factory=list)
    refresh: list[Alert] = field(default_factory=list)
    close: list[Alert] = field(default_factory=list)
    wake: list[Alert] = field(default_factory=list)
    escalate: list[Alert] = field(default_factory=list)
    sponsor: list[Alert] = field(default_factory=list)
    skipped_cooldown: int = 0


def _open_alerts(rules: set[str] | None = None, account_ids: list[int] | None = None) -> list[Alert]:
    qs = Alert.objects.open().annotate(
        account_tier=F("account__tier"),
        account_owner_id=F("account__owner_id"),
        account_health_band=F("account__health_band"),
        account_health_score=F("account__health_score"),
    )
    if rules is not None:
        qs = qs.filter(rule__in=rules)
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    return list(qs.order_by("id"))


def reconcile(
    *,
    hits: dict[str, list[Hit]],
    evaluated: set[str],
    open_alerts: list[Alert],
    settings: dict[str, RuleSettings],
    today: dt.date,
    clock: BusinessClock,
    cooldown_keys: dict[tuple[int, str, str], dt.datetime],
    now: dt.datetime,
) -> Plan:
    plan = Plan()
    open_by_key = {(a.account_id, a.rule, a.reason): a for a in open_alerts}
    seen: set[tuple[int, str, str]] = set()
    for rule, rule_hits in hits.items():
        for hit in rule_hits:
            key = (hit.account_id, rule, hit.reason)
            if key in seen:
                continue
            seen.add(key)
            alert = open_by_key.get(key)
            if alert is None:
                closed_at = cooldown_keys.get(key)
                cooldown = settings[rule].base.get("cooldown_days", 14)
                if (
                    closed_at is not None
                    and closed_at > now - dt.timedelta(days=cooldown)
                    and hit.priority != AlertPriority.CRITICAL
                ):
                    plan.skipped_cooldown += 1
                    continue
                plan.create.append((hit, rule))
                continue
            changed = False
            if PRIORITY_RANK[hit.priority] > PRIORITY_RANK[alert.priority]:
                alert._old_priority = alert.priority
                alert.priority = hit.priority  # never lowered automatically
                plan.raise_priority.append(alert)
                changed = True
            if alert.evidence != hit.evidence:
                alert.evidence = hit.evidence
                changed = True
            if alert.clear_runs:
                alert.clear_runs, alert.last_clear_on = 0, None
                changed = True
            if changed:
                alert.last_triggered_on = today
                plan.refresh.append(alert)
    for alert in open_alerts:
        key = (alert.account_id, alert.rule, alert.reason)
        if alert.rule in evaluated and key not in seen and not alert.is_manual and alert.last_clear_on != today:
            alert.clear_runs += 1
            alert.last_clear_on = today
            if alert.clear_runs >= AUTO_CLOSE_CLEAR_RUNS:
                plan.close.append(alert)
            else:
                plan.refresh.append(alert)
    closing = {a.pk for a in plan.close}
    for alert in open_alerts:
        if alert.pk in closing:
            continue
        if alert.status == AlertStatus.SNOOZED and alert.snoozed_until and alert.snoozed_until <= today:
            plan.wake.append(alert)
        if (
            alert.escalated_at is None
            and alert.status != AlertStatus.SNOOZED
            and alert.due_on < today
            and clock.business_days_between(alert.due_on, today) >= ESCALATE_OVERDUE_BD
        ):
            plan.escalate.append(alert)
        if (
            alert.sponsor_notified_at is None
            and alert.priority == AlertPriority.CRITICAL
            and alert.account_tier == "T1"
            and clock.business_days_between(timezone.localtime(alert.opened_at).date(), today) > SPONSOR_CRITICAL_BD
        ):
            plan.sponsor.append(alert)
    return plan


def _playbooks() -> dict[tuple[str, str], PlaybookTemplate]:
    result = {}
    for playbook in PlaybookTemplate.objects.filter(is_active=True).prefetch_related("tasks"):
        result[(playbook.rule, playbook.reason)] = playbook
    return result


def apply(plan: Plan, *, today: dt.date, now: dt.datetime, clock: BusinessClock) -> dict[str, int]:
    """Write the plan: bulk statements in one transaction; events and mails after commit."""
    account_ids = {hit.account_id for hit, _ in plan.create} | {a.account_id for a in plan.escalate + plan.sponsor}
    accounts = (
        {a["id"]: a for a in Account.objects.filter(pk__in=account_ids).values("id", "owner_id", "name")} if account_ids else {}
    )
    team: dict[int, dict[str, int]] = defaultdict(dict)
    if account_ids:
        for member in (
            AccountTeamMember.objects.filter(account_id__in=account_ids).order_by("id").values("account_id", "role", "user_id")
        ):
            team[member["account_id"]].setdefault(member["role"], member["user_id"])
    playbooks = _playbooks() if plan.create else {}

    def owner_for(account_id: int, role: str) -> int | None:
        return team[account_id].get(role) or accounts.get(account_id, {}).get("owner_id")

    new_alerts: list[Alert] = []
    last_task_offset = {pb.pk: max((t.due_offset_days for t in pb.tasks.all()), default=0) for pb in playbooks.values()}
    due_by_rule = {rule: clock.add_business_days(today, DUE_BUSINESS_DAYS[rule]) for rule in {r for _, r in plan.create}}
    for hit, rule in plan.create:
        role = OWNER_ROLES.get(rule, TeamRole.ACCOUNT_MANAGER)
        playbook = playbooks.get((rule, hit.reason)) or playbooks.get((rule, ""))
        owner = owner_for(hit.account_id, role)
        due = due_by_rule[rule]
        if playbook is not None:  # §5.3: the alert is due no earlier than its tasks
            due = max(due, today + dt.timedelta(days=last_task_offset[playbook.pk]))
        new_alerts.append(
            Alert(
                account_id=hit.account_id,
                rule=rule,
                reason=hit.reason,
                priority=hit.priority,
                status=AlertStatus.OPEN,
                owner_id=owner,
                owner_role=role,
                due_on=due,
                opened_at=now,
                evidence=hit.evidence,
                playbook=playbook,
                last_triggered_on=today,
            )
        )

    notes: list[Note] = []
    events: list[tuple] = []  # (alert, kind, at, data)
    opened_payloads: list[dict[str, Any]] = []
    closed_payloads: list[dict[str, Any]] = []
    managers: dict[int, int] = {}
    if plan.escalate:
        owner_ids = {a.owner_id for a in plan.escalate if a.owner_id}
        managers = dict(ReportingLine.objects.filter(user_id__in=owner_ids).values_list("user_id", "manager_id"))
    with transaction.atomic():
        if new_alerts:
            insert_objects(Alert, new_alerts)
            _apply_playbooks([a.pk for a in new_alerts if a.playbook_id], today=today, team=team)
            for alert in new_alerts:
                events.append((alert.pk, AlertEventKind.OPENED, now, alert.evidence))
                opened_payloads.append(
                    {"alert_id": alert.pk, "account_id": alert.account_id, "rule": alert.rule, "priority": alert.priority}
                )
                text = _("New %(priority)s alert on %(account)s: %(what)s") % {
                    "priority": _priority_label(alert.priority, get_language()),
                    "account": accounts[alert.account_id]["name"],
                    "what": alert_label(alert.rule, alert.reason),
                }
                if alert.owner_id:
                    notes.append(Note(alert.owner_id, "alert.opened", text, alert_link(alert.pk), alert.pk))
                # §5.2: R3 (finance) and R6 (service lead) alerts copy the account manager ("KAM cc").
                kam = owner_for(alert.account_id, TeamRole.ACCOUNT_MANAGER)
                if alert.owner_role != TeamRole.ACCOUNT_MANAGER and kam and kam != alert.owner_id:
                    notes.append(Note(kam, "alert.cc", text, alert_link(alert.pk), alert.pk))
        for alert in plan.raise_priority:
            events.append((alert.pk, AlertEventKind.PRIORITY_RAISED, now, {"from": alert._old_priority, "to": alert.priority}))
            if alert.owner_id:
                text = _("Alert priority raised to %(priority)s: %(what)s") % {
                    "priority": alert.get_priority_display(),
                    "what": alert_label(alert.rule, alert.reason),
                }
                notes.append(Note(alert.owner_id, "alert.priority_raised", text, alert_link(alert.pk), alert.pk))
        for alert in plan.close:
            alert.status = AlertStatus.CLOSED_RESOLVED
            alert.closed_at = now
            alert.closure_note = AUTO_CLOSE_NOTE
            alert.outcome = AlertOutcome.NOT_APPLICABLE
            events.append((alert.pk, AlertEventKind.CLOSED, now, {"auto": True}))
            closed_payloads.append(
                {"alert_id": alert.pk, "account_id": alert.account_id, "rule": alert.rule, "outcome": alert.outcome}
            )
        for alert in plan.wake:
            alert.status = alert.status_before_snooze or AlertStatus.OPEN
            alert.status_before_snooze = ""
            alert.snoozed_until = None
            events.append((alert.pk, AlertEventKind.WOKEN, now, {}))
            if alert.owner_id:
                text = _("Snooze ended: %(what)s") % {"what": alert_label(alert.rule, alert.reason)}
                notes.append(Note(alert.owner_id, "alert.woken", text, alert_link(alert.pk), alert.pk))
        for alert in plan.escalate:
            alert.escalated_at = now
            manager = managers.get(alert.owner_id) or team[alert.account_id].get(TeamRole.EXECUTIVE_SPONSOR)
            events.append((alert.pk, AlertEventKind.ESCALATED, now, {"notified": manager}))
            if manager:
                text = _("Overdue alert on %(account)s (due %(due)s): %(what)s") % {
                    "account": accounts[alert.account_id]["name"],
                    "due": alert.due_on.isoformat(),
                    "what": alert_label(alert.rule, alert.reason),
                }
                notes.append(Note(manager, "alert.escalated", text, alert_link(alert.pk), alert.pk))
        for alert in plan.sponsor:
            alert.sponsor_notified_at = now
            sponsor = team[alert.account_id].get(TeamRole.EXECUTIVE_SPONSOR)
            events.append((alert.pk, AlertEventKind.SPONSOR_NOTIFIED, now, {"notified": sponsor}))
            if sponsor:
                text = _("Critical alert open for more than %(days)d business days on %(account)s: %(what)s") % {
                    "days": SPONSOR_CRITICAL_BD,
                    "account": accounts[alert.account_id]["name"],
                    "what": alert_label(alert.rule, alert.reason),
                }
                notes.append(Note(sponsor, "alert.sponsor", text, alert_link(alert.pk), alert.pk))
        changed = {a.pk: a for a in plan.refresh + plan.raise_priority + plan.close + plan.wake + plan.escalate + plan.sponsor}
        if changed:
            bulk_update(
                Alert,
                list(changed.values()),
                [
                    "priority", "evidence", "clear_runs", "last_clear_on", "last_triggered_on", "status", "closed_at",
                    "closure_note", "outcome", "snoozed_until", "status_before_snooze", "escalated_at", "sponsor_notified_at",
                ],
            )  # fmt: skip
            Alert.objects.filter(pk__in=list(changed)).update(version=F("version") + 1)
        if plan.close:
            AlertTask.objects.filter(alert_id__in=[a.pk for a in plan.close], status=TaskStatus.OPEN).update(
                status=TaskStatus.CANCELLED
            )
        insert_rows(AlertEvent, ("alert_id", "kind", "at", "data"), events)
        notify_many(notes)
        publish_many("alert.opened", opened_payloads)
        publish_many("alert.closed", closed_payloads)
    return {
        "opened": len(new_alerts),
        "raised": len(plan.raise_priority),
        "updated": len(plan.refresh),
        "closed": len(plan.close),
        "woken": len(plan.wake),
        "escalated": len(plan.escalate),
        "sponsor_notified": len(plan.sponsor),
        "cooldown_skipped": plan.skipped_cooldown,
        "notifications": len(notes),
    }


# Playbook tasks of the new alerts in one statement: each task template becomes a task owned by the
# account's team member in the template's role (the first one), else by the alert's owner (§5.3).
APPLY_PLAYBOOKS_SQL = """
INSERT INTO {task} (alert_id, template_id, "order", title, description, owner_id, owner_role, due_on, status,
                    required, evidence_required, evidence, completed_at)
SELECT a.id, t.id, t."order", t.title, t.description,
       COALESCE((SELECT m.user_id FROM {member} m WHERE m.account_id = a.account_id AND m.role = t.owner_role
                 ORDER BY m.id LIMIT 1), a.owner_id),
       t.owner_role, %(today)s::date + t.due_offset_days, %(status)s, t.required, t.evidence_required, '', NULL
FROM {alert} a
JOIN {template} t ON t.playbook_id = a.playbook_id
WHERE a.id = ANY(%(ids)s)
ORDER BY a.id, t."order", t.id
"""


def _apply_playbooks(alert_ids: list[int], *, today: dt.date, team: dict[int, dict[str, int]]) -> None:
    """Create the playbook tasks of new alerts set-based (PostgreSQL: one INSERT … SELECT)."""
    if not alert_ids:
        return
    if connection.vendor != "postgresql":
        rows = []
        for alert in Alert.objects.filter(pk__in=alert_ids).select_related("playbook").order_by("id"):
            for t in alert.playbook.tasks.all():
                owner = team[alert.account_id].get(t.owner_role) or alert.owner_id
                due = today + dt.timedelta(days=t.due_offset_days)
                rows.append((alert.pk, t.pk, t.order, t.title, t.description, owner, t.owner_role, due, t.required,
                             t.evidence_required))  # fmt: skip
        insert_rows(AlertTask, TASK_COLUMNS, rows)
        return
    sql = APPLY_PLAYBOOKS_SQL.format(
        task=AlertTask._meta.db_table,
        member=AccountTeamMember._meta.db_table,
        alert=Alert._meta.db_table,
        template=PlaybookTaskTemplate._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"today": today, "status": TaskStatus.OPEN, "ids": alert_ids})


def _cooldown_keys(
    rules: set[str], now: dt.datetime, settings: dict[str, RuleSettings]
) -> dict[tuple[int, str, str], dt.datetime]:
    longest = max((settings[r].base.get("cooldown_days", 14) for r in rules), default=14)
    rows = (
        Alert.objects.filter(rule__in=rules, closed_at__gte=now - dt.timedelta(days=longest))
        .values_list("account_id", "rule", "reason", "closed_at")
        .order_by("closed_at")
    )
    return {(a, r, reason): closed for a, r, reason, closed in rows}


def _qbr_months() -> dict[str, int]:
    return {s.tier: s.review_cadence.get("qbr") for s in ServiceStandard.objects.current() if s.review_cadence.get("qbr")}


def evaluate_all(*, now: dt.datetime | None = None, progress: Any = None) -> dict[str, Any]:
    """Evaluate every enabled rule over the whole portfolio and apply the lifecycle."""
    from service_plans.services.sla import sla_refresh_breaches

    now = now or timezone.now()
    today = timezone.localdate(now)
    clock = default_clock()
    settings = load_settings()
    sla_refresh_breaches(now=now)
    open_alerts = _open_alerts()
    ctx = Context(
        today=today,
        now=now,
        settings=settings,
        qbr_months=_qbr_months(),
        clock=clock,
        open_r8=[
            {
                "account_id": a.account_id,
                "priority": a.priority,
                "evidence": a.evidence,
                "health_band": a.account_health_band,
                "health_score": a.account_health_score,
            }
            for a in open_alerts
            if a.rule == Rule.R8 and a.reason == "health_drop"
        ],
    )
    hits: dict[str, list[Hit]] = {}
    evaluated: set[str] = set()
    for code, rule in RULES.items():
        s = settings[code]
        if s.enabled or any(enabled for enabled, _ in s.tiers.values()):
            hits[code] = rule(ctx)
            evaluated.add(code)
        if progress is not None:
            progress.advance(96 // len(RULES))  # the last few points for the writes
    plan = reconcile(
        hits=hits,
        evaluated=evaluated,
        open_alerts=open_alerts,
        settings=settings,
        today=today,
        clock=clock,
        cooldown_keys=_cooldown_keys(evaluated, now, settings),
        now=now,
    )
    result = apply(plan, today=today, now=now, clock=clock)
    result["hits"] = sum(len(v) for v in hits.values())
    result["rules"] = sorted(evaluated)
    if progress is not None:
        progress.set(100)
    return result


def health_changes_apply(payloads: list[dict[str, Any]], *, now: dt.datetime | None = None) -> dict[str, Any]:
    """R8 from ``account.health_band_changed`` events: open or raise the health-drop alert.

    Only opens and raises: closing is the nightly run's job (after two clear runs).
    """
    from service_plans.alerts.rules import r8_priority, r8_triggered

    now = now or timezone.now()
    today = timezone.localdate(now)
    settings = load_settings()
    s = settings[Rule.R8]
    account_ids = [int(p["account_id"]) for p in payloads]
    tiers = dict(Account.objects.filter(pk__in=account_ids, status="active").values_list("id", "tier"))
    hits = []
    for payload in payloads:
        account_id = int(payload["account_id"])
        if account_id not in tiers or not s.applies_to(tiers[account_id] or ""):
            continue
        params = s.params(tiers[account_id] or "")
        delta = payload.get("delta_30d")
        delta = float(delta) if delta is not None else None
        if not r8_triggered(old_band=payload.get("old_band"), new_band=payload.get("new_band"), delta_30d=delta, params=params):
            continue
        score = payload.get("score")
        evidence = {
            "old_band": payload.get("old_band"),
            "new_band": payload.get("new_band"),
            "score": float(score) if score is not None else None,
            "delta_30d": delta,
            "score_before": float(score) - delta if score is not None and delta is not None else None,
        }
        priority = r8_priority(new_band=payload.get("new_band"), delta_30d=delta, params=params)
        hits.append(Hit(account_id, "health_drop", priority, evidence))
    if not hits:
        return {"opened": 0, "raised": 0}
    clock = default_clock()
    open_alerts = _open_alerts(rules={Rule.R8}, account_ids=[h.account_id for h in hits])
    plan = reconcile(
        hits={Rule.R8: hits},
        evaluated=set(),
        open_alerts=open_alerts,
        settings=settings,
        today=today,
        clock=clock,
        cooldown_keys=_cooldown_keys({Rule.R8}, now, settings),
        now=now,
    )
    plan.wake, plan.escalate, plan.sponsor = [], [], []  # the nightly run's business
    return apply(plan, today=today, now=now, clock=clock)
