"""Demo rows for the service plans app, generated per chunk by ``accounts.demo`` (see EXTENSIONS)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.choices import AccountStatus
from kam.bulk import bulk_insert
from service_plans.models import Escalation, Project, ServiceRequest, SurveyResponse

# Wall-clock targets in hours per priority (first response, resolution), used only when no service
# standard exists; otherwise due times come from the real SLA clock (business hours of the standard).
DEMO_TARGET_HOURS = {"p1": (0.5, 4), "p2": (2, 24), "p3": (8, 72), "p4": (24, 120)}
PROJECT_NAMES = {
    "customised_solution": ["定制化生产排程系统", "Custom pricing engine", "专属供应链看板"],
    "joint_innovation": ["联合实验室", "Joint R&D: predictive maintenance", "共创新材料项目"],
    "standard": ["Standard rollout", "系统升级", "Training programme"],
}


def _nps_centre(rng: Any, payer: str) -> float:
    # Happier customers pay on time more often: a loose, realistic correlation. Each account has its
    # own level of satisfaction and its respondents answer close to it, so a detractor account or a
    # two-point drop is a real signal rather than the noise of one answer.
    return rng.gauss({"prompt": 8.9, "average": 8.5, "slow": 7.7}[payer], 0.7)


def _nps_score(rng: Any, centre: float) -> int:
    return max(0, min(10, round(rng.gauss(centre, 0.7))))


def _late_factor(rng: Any, low: float, late_share: float) -> float:
    """How much of an SLA target a response took: mostly within it, ``late_share`` of them late."""
    return rng.uniform(1.0, 1.5) if rng.random() < late_share else rng.uniform(low, 0.95)


class _DemoSla:
    """The SLA of the fallback standard (demo accounts are not tiered yet), loaded once per seed."""

    def __init__(self) -> None:
        from service_plans.services.sla import sla_clock, sla_standard_for, sla_targets

        self.standard = sla_standard_for(None)
        self.targets = sla_targets(self.standard)
        self.clock = sla_clock(self.standard) if self.standard else None

    def times(self, rng: Any, priority: str, opened: dt.datetime, now: dt.datetime) -> tuple:
        """(first response, resolved, first due, resolution due, first breached, resolution breached)."""
        if self.clock is None or priority not in self.targets:
            first_target, resolve_target = DEMO_TARGET_HOURS[priority]
            first_due, resolve_due = opened + dt.timedelta(hours=first_target), opened + dt.timedelta(hours=resolve_target)
            first = opened + dt.timedelta(hours=first_target * _late_factor(rng, 0.1, 0.03))
            resolved = opened + dt.timedelta(hours=resolve_target * _late_factor(rng, 0.3, 0.05))
        else:
            first_minutes, resolve_minutes = self.targets[priority]
            add = self.clock.add_business_minutes
            first_due, resolve_due = add(opened, first_minutes), add(opened, resolve_minutes)
            first = add(opened, first_minutes * _late_factor(rng, 0.1, 0.03))
            resolved = add(opened, resolve_minutes * _late_factor(rng, 0.3, 0.05))
        first = min(first, resolved)  # resolving is a response
        first = None if first > now else first
        resolved = None if resolved > now else resolved
        return (
            first, resolved, first_due, resolve_due,
            (first or now) > first_due, (resolved or now) > resolve_due,
        )  # fmt: skip


def extend(*, chunk: Any, ctx: Any) -> dict[str, int]:
    rng, now = ctx.rng, ctx.now
    sla = getattr(ctx, "_service_plans_sla", None)
    if sla is None:
        sla = ctx._service_plans_sla = _DemoSla()
    ids = ctx.ids
    for name in ("survey", "service_request", "project", "escalation"):
        if name not in ids:
            ids[name] = range(_start(name, ctx), 10**12)
    surveys: list[tuple] = []
    requests: list[tuple] = []
    projects: list[tuple] = []
    escalations: list[tuple] = []
    contacts_by_account: dict[int, list[dict[str, Any]]] = {}
    for contact in chunk.contacts:
        contacts_by_account.setdefault(contact["account_id"], []).append(contact)
    roles = {}  # the demo's first contact of an account is its economic buyer, the second its champion
    for contacts in contacts_by_account.values():
        for index, contact in enumerate(contacts):
            roles[contact["id"]] = {0: "economic_buyer", 1: "coach_champion", 2: "technical_buyer"}.get(index, "user_buyer")
    for account in chunk.accounts:
        if account["status"] != AccountStatus.ACTIVE:
            continue
        contacts = contacts_by_account.get(account["id"], [])
        centre = _nps_centre(rng, account["_payer"])
        csat_centre = rng.gauss(4.5, 0.25)
        for _ in range(rng.randint(0, 4) if contacts else 0):
            contact = rng.choice(contacts)
            when = now - dt.timedelta(days=rng.randint(1, 540), hours=rng.randint(0, 10))
            surveys.append(
                (
                    ctx.next_id("survey"),
                    account["id"],
                    contact["id"],
                    "nps",
                    _nps_score(rng, centre),
                    roles[contact["id"]],
                    when,
                )
            )
        for _ in range(rng.randint(0, 3)):
            when = now - dt.timedelta(days=rng.randint(1, 540), hours=rng.randint(0, 10))
            score = max(1, min(5, round(rng.gauss(csat_centre, 0.5))))
            surveys.append((ctx.next_id("survey"), account["id"], None, "csat", score, "", when))
        # A few customer effort answers (§4.9, 1–7, "easy" 5–7), from their own stream (DemoContext).
        effort = ctx.effort_rng
        ces_centre = effort.gauss(5.3, 0.6)
        for _ in range(effort.randint(0, 2)):
            when = now - dt.timedelta(days=effort.randint(1, 540), hours=effort.randint(0, 10))
            score = max(1, min(7, round(effort.gauss(ces_centre, 1.0))))
            surveys.append((ctx.next_id("survey"), account["id"], None, "ces", score, "", when))
        for _ in range(rng.randint(0, 4)):
            priority = rng.choices(["p1", "p2", "p3", "p4"], weights=[5, 20, 55, 20])[0]
            opened = now - dt.timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            first, resolved, first_due, resolve_due, first_breached, resolve_breached = sla.times(rng, priority, opened, now)
            status = "resolved" if resolved else "open"
            request_id = ctx.next_id("service_request")
            requests.append(
                (request_id, account["id"], f"Request {request_id}", priority, status, opened, first, resolved,
                 first_due, resolve_due, first_breached, resolve_breached, sla.standard.pk if sla.standard else None)
            )  # fmt: skip
            if priority in {"p1", "p2"} and rng.random() < 0.15:
                closed = resolved if resolved and rng.random() < 0.8 else None
                escalations.append(
                    (ctx.next_id("escalation"), account["id"], request_id, f"Escalation of request {request_id}",
                     "sev1" if priority == "p1" else "sev2", opened + dt.timedelta(hours=1), closed)
                )  # fmt: skip
        for _ in range(rng.choices([0, 1, 2], weights=[60, 30, 10])[0]):
            kind = rng.choices(["customised_solution", "joint_innovation", "standard"], weights=[35, 15, 50])[0]
            started = ctx.today - dt.timedelta(days=rng.randint(30, 900))
            done = rng.random() < 0.4
            ended = started + dt.timedelta(days=rng.randint(60, 400)) if done else None
            if ended and ended > ctx.today:
                ended, done = None, False
            projects.append(
                (
                    ctx.next_id("project"),
                    account["id"],
                    rng.choice(PROJECT_NAMES[kind]),
                    kind,
                    "done" if done else "active",
                    started,
                    ended,
                )
            )
    bulk_insert(SurveyResponse, ("id", "account_id", "contact_id", "kind", "score", "respondent_role", "responded_at"), surveys)
    bulk_insert(
        ServiceRequest,
        (
            "id",
            "account_id",
            "title",
            "priority",
            "status",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "first_response_due_at",
            "resolution_due_at",
            "first_response_breached",
            "resolution_breached",
            "sla_standard_id",
        ),
        requests,
    )
    bulk_insert(
        Escalation, ("id", "account_id", "service_request_id", "title", "severity", "opened_at", "closed_at"), escalations
    )
    bulk_insert(Project, ("id", "account_id", "name", "kind", "status", "started_on", "ended_on"), projects)
    return {"survey_responses": len(surveys), "service_requests": len(requests), "projects": len(projects)}


def _start(name: str, ctx: Any) -> int:
    from kam.bulk import next_ids

    model = {"survey": SurveyResponse, "service_request": ServiceRequest, "project": Project, "escalation": Escalation}[name]
    return next_ids(model, 1).start
