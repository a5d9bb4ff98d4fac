"""Every API endpoint × action × persona × object, generated from the URL configuration.

The endpoints are read from the resolver (every route under ``/api/v1/`` and the HTTP methods its
viewset answers), so a new endpoint fails ``test_every_endpoint_is_in_the_matrix`` until a row
for it is added to ``MATRIX`` below, with the statuses each persona must get.

Personas: ``owner`` (the account manager who owns the "own" account), ``other`` (another account
manager, owner of the "other's" account), ``executive``, ``admin``, ``readonly`` (the owner with a
read-only token) and ``anonymous``. Objects: ``own`` (hangs off the owner's account), ``others``
(hangs off the other manager's account) and ``missing`` (an id that does not exist). For POST on a
list, the object is the account the payload points at. Lists also check visibility: the owner sees
the own object and not the other's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts_services
from integrations.webhooks import subscription_create
from kam import jobs
from kam.models import JobRun
from reports import services as reports_services
from reports.models import KpiRun, KpiValue
from service_plans.models import AlertTask, BusinessCalendar, Notification, ServiceStandard
from service_plans.services import alerts, delivery, plans, sla, standards, whitespace
from tests.api.conftest import token_client
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    ExchangeRateFactory,
    InvoiceFactory,
    MeetingFactory,
    TeamMemberFactory,
    UserFactory,
)
from tiering import services as tiering_services
from tiering.models import HealthSnapshot, ScoreSnapshot, ScoringModel, ScoringRun, TierAssignment

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "other", "executive", "admin", "readonly", "anonymous"]
OBJECTS = ["own", "others", "missing"]
MISSING_ID = 987_654_321


def api_endpoints() -> list[tuple[str, str]]:
    """(url name, HTTP method) for every route under api/v1/, from the URL resolver."""
    found = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = (prefix + str(pattern.pattern)).replace("^", "")
                actions = getattr(pattern.callback, "actions", None)
                if not route.startswith("api/v1/") or actions is None:
                    continue
                allowed = set(pattern.callback.cls.http_method_names)
                for method, action in actions.items():
                    if method in allowed and method not in {"head", "options"} and hasattr(pattern.callback.cls, action):
                        found.append((pattern.name, method.upper()))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


# --- Expected statuses ------------------------------------------------------------------------


def table(**rows: Any) -> dict[str, dict[str, int]]:
    """persona -> object -> status; a bare int applies to every object."""
    return {p: (v if isinstance(v, dict) else dict.fromkeys(OBJECTS, v)) for p, v in rows.items()}


def read_scoped(ok: int = 200) -> dict:
    return table(
        owner={"own": ok, "others": 404, "missing": 404},
        other={"own": 404, "others": ok, "missing": 404},
        executive={"own": ok, "others": ok, "missing": 404},
        admin={"own": ok, "others": ok, "missing": 404},
        readonly={"own": ok, "others": 404, "missing": 404},
        anonymous=401,
    )


def write_scoped(ok: int, *, managers: bool = True) -> dict:
    """Managers write the data of accounts they see; executives read only; administrators write all."""
    mine = {"own": ok, "others": 404, "missing": 404} if managers else 403
    theirs = {"own": 404, "others": ok, "missing": 404} if managers else 403
    return table(
        owner=mine, other=theirs, executive=403, admin={"own": ok, "others": ok, "missing": 404}, readonly=403, anonymous=401
    )


def create_scoped() -> dict:
    """POST with ``account`` in the payload: an account the caller cannot see is "does not exist" (400)."""
    return table(
        owner={"own": 201, "others": 400, "missing": 400},
        other={"own": 400, "others": 201, "missing": 400},
        executive=403,
        admin={"own": 201, "others": 201, "missing": 400},
        readonly=403,
        anonymous=401,
    )


def read_all(ok: int = 200) -> dict:
    return table(
        owner={"own": ok, "others": ok, "missing": 404},
        other={"own": ok, "others": ok, "missing": 404},
        executive={"own": ok, "others": ok, "missing": 404},
        admin={"own": ok, "others": ok, "missing": 404},
        readonly={"own": ok, "others": ok, "missing": 404},
        anonymous=401,
    )


def admin_only(ok: int, *, missing: int = 404) -> dict:
    return table(
        owner=403, other=403, executive=403, admin={"own": ok, "others": ok, "missing": missing}, readonly=403, anonymous=401
    )


def approvers(ok: int) -> dict:
    """Overrides need the approval permission: administrators and executives, on any visible account."""
    return table(
        owner=403,
        other=403,
        executive={"own": ok, "others": ok, "missing": 404},
        admin={"own": ok, "others": ok, "missing": 404},
        readonly=403,
        anonymous=401,
    )


def create_child() -> dict:
    """POST with ``plan`` (not ``account``) in the payload; "missing" sends the other account's plan again."""
    return table(
        owner={"own": 201, "others": 400, "missing": 400},
        other={"own": 400, "others": 201, "missing": 201},
        executive=403,
        admin=201,
        readonly=403,
        anonymous=401,
    )


def executives_and_admins(ok: int, *, missing: int = 404) -> dict:
    return table(
        owner=403,
        other=403,
        executive={"own": ok, "others": ok, "missing": missing},
        admin={"own": ok, "others": ok, "missing": missing},
        readonly=403,
        anonymous=401,
    )


def own_only(ok: int, *, readonly: int) -> dict:
    """Notifications: each user sees only their own, administrators too."""
    return table(
        owner={"own": ok, "others": 404, "missing": 404},
        other={"own": 404, "others": ok, "missing": 404},
        executive=404,
        admin=404,
        readonly={"own": readonly, "others": 404, "missing": 404} if readonly == ok else readonly,
        anonymous=401,
    )


LIST = table(owner=200, other=200, executive=200, admin=200, readonly=200, anonymous=401)
READ_ONLY_TIERING = ["tier-snapshot", "health-snapshot", "tier-assignment", "tier-override", "health-override"]
SCOPED = {"GET": read_scoped(), "PUT": write_scoped(200), "PATCH": write_scoped(200)}

OWN_IMPORTS = table(
    owner={"own": 200, "others": 404, "missing": 404},
    other={"own": 404, "others": 200, "missing": 404},
    executive=404,
    admin={"own": 200, "others": 200, "missing": 404},
    readonly={"own": 200, "others": 404, "missing": 404},
    anonymous=401,
)

MATRIX: dict[tuple[str, str], dict] = {
    # accounts
    ("account-list", "GET"): LIST,
    ("account-list", "POST"): table(owner=201, other=201, executive=403, admin=201, readonly=403, anonymous=401),
    **{("account-detail", m): t for m, t in SCOPED.items()},
    # the stakeholder map over time (DOMAIN.md §6.3): read-only, the account's visibility
    ("account-stakeholder-changes", "GET"): read_scoped(),
    # the activity timeline: read-only, the account's visibility
    ("account-activity", "GET"): read_scoped(),
    # contacts
    ("contact-list", "GET"): LIST,
    ("contact-list", "POST"): create_scoped(),
    **{("contact-detail", m): t for m, t in SCOPED.items()},
    ("contact-detail", "DELETE"): write_scoped(204),
    # contracts
    ("contract-list", "GET"): LIST,
    ("contract-list", "POST"): create_scoped(),
    **{("contract-detail", m): t for m, t in SCOPED.items()},
    ("contract-renew", "POST"): write_scoped(201),
    # invoices
    ("invoice-list", "GET"): LIST,
    ("invoice-list", "POST"): create_scoped(),
    **{("invoice-detail", m): t for m, t in SCOPED.items()},
    # meetings
    ("meeting-list", "GET"): LIST,
    ("meeting-list", "POST"): create_scoped(),
    **{("meeting-detail", m): t for m, t in SCOPED.items()},
    ("meeting-detail", "DELETE"): write_scoped(204),
    # team relationships: through the contact's account; the payload names a contact, not an account
    ("team-relationship-list", "GET"): LIST,
    ("team-relationship-list", "POST"): create_child(),
    **{("team-relationship-detail", m): t for m, t in SCOPED.items()},
    ("team-relationship-detail", "DELETE"): write_scoped(204),
    # influence and conflict lines: through the contacts' account; the payload names two contacts
    ("influence-link-list", "GET"): LIST,
    ("influence-link-list", "POST"): create_child(),
    **{("influence-link-detail", m): t for m, t in SCOPED.items()},
    ("influence-link-detail", "DELETE"): write_scoped(204),
    # exchange rates: reference data, read by all, written by administrators
    ("exchange-rate-list", "GET"): LIST,
    ("exchange-rate-list", "POST"): admin_only(201, missing=201),
    ("exchange-rate-detail", "GET"): read_all(),
    ("exchange-rate-detail", "PUT"): admin_only(200),
    ("exchange-rate-detail", "PATCH"): admin_only(200),
    # service delivery
    ("team-member-list", "GET"): LIST,
    ("team-member-list", "POST"): create_scoped(),
    **{("team-member-detail", m): t for m, t in SCOPED.items()},
    ("team-member-detail", "DELETE"): write_scoped(204, managers=False),  # managers hold no delete grant
    ("survey-response-list", "GET"): LIST,
    ("survey-response-list", "POST"): create_scoped(),
    ("survey-response-detail", "GET"): read_scoped(),
    ("service-request-list", "GET"): LIST,
    ("service-request-list", "POST"): create_scoped(),
    **{("service-request-detail", m): t for m, t in SCOPED.items()},
    ("project-list", "GET"): LIST,
    ("project-list", "POST"): create_scoped(),
    **{("project-detail", m): t for m, t in SCOPED.items()},
    ("escalation-list", "GET"): LIST,
    ("escalation-list", "POST"): create_scoped(),
    **{("escalation-detail", m): t for m, t in SCOPED.items()},
    # jobs: portfolio jobs are started by administrators and executives; managers see their own
    ("job-list", "GET"): LIST,
    ("job-list", "POST"): table(owner=403, other=403, executive=202, admin=202, readonly=403, anonymous=401),
    ("job-detail", "GET"): table(
        owner={"own": 200, "others": 404, "missing": 404},
        other={"own": 404, "others": 404, "missing": 404},
        executive={"own": 200, "others": 200, "missing": 404},
        admin={"own": 200, "others": 200, "missing": 404},
        readonly={"own": 200, "others": 404, "missing": 404},
        anonymous=401,
    ),
    # webhooks: integration configuration, administrators only
    ("webhook-list", "GET"): admin_only(200, missing=200),
    ("webhook-list", "POST"): admin_only(201, missing=201),
    ("webhook-detail", "GET"): admin_only(200),
    ("webhook-detail", "PUT"): admin_only(200),
    ("webhook-detail", "PATCH"): admin_only(200),
    ("webhook-detail", "DELETE"): admin_only(204),
    ("webhook-deliveries", "GET"): admin_only(200),
    # tiering: scoring models are read by all and written by administrators; the rest is read-only
    ("scoring-model-list", "GET"): LIST,
    ("scoring-model-list", "POST"): admin_only(201, missing=201),
    ("scoring-model-detail", "GET"): read_all(),
    ("scoring-model-detail", "PUT"): admin_only(200),
    ("scoring-model-detail", "PATCH"): admin_only(200),
    ("scoring-model-activate", "POST"): admin_only(200),
    ("scoring-model-copy", "POST"): admin_only(201),
    **{(f"{name}-list", "GET"): LIST for name in READ_ONLY_TIERING},
    **{(f"{name}-detail", "GET"): read_scoped() for name in READ_ONLY_TIERING},
    # account verbs of tiering: overrides need an approver (administrators, executives)
    ("account-tiering-tier-override", "POST"): approvers(201),
    ("account-tiering-tier-override", "DELETE"): approvers(200),
    ("account-tiering-health-override", "POST"): approvers(201),
    ("account-tiering-health-override", "DELETE"): approvers(200),
    ("account-tiering-why", "GET"): read_scoped(),
    # the KAM portfolio matrix: one row per visible group, by its root account's id
    ("portfolio-matrix-list", "GET"): LIST,
    ("portfolio-matrix-detail", "GET"): read_scoped(),
    # reports: a manager sees the KPIs of their own book (owner:<username>); targets are the executives'
    ("kpi-list", "GET"): LIST,
    ("kpi-detail", "GET"): read_scoped(),
    ("kpi-target-list", "GET"): LIST,
    ("kpi-target-list", "POST"): executives_and_admins(201, missing=201),
    ("kpi-target-detail", "GET"): read_all(),
    ("kpi-target-detail", "PUT"): executives_and_admins(200),
    ("kpi-target-detail", "PATCH"): executives_and_admins(200),
    ("kpi-target-detail", "DELETE"): executives_and_admins(204),
    # alert calibration (DOMAIN.md §5.5): a portfolio report, executives and administrators only
    ("alert-calibration-list", "GET"): executives_and_admins(200),
    # imports: seen by the user who ran them (and administrators); executives import nothing. What an
    # import may touch is the importer's visibility rule: a row for an account the caller cannot see
    # is a row error of a 201 "invalid" import (tests/imports/test_api.py), not a status of its own.
    ("import-list", "GET"): LIST,
    ("import-list", "POST"): table(owner=201, other=201, executive=403, admin=201, readonly=403, anonymous=401),
    ("import-detail", "GET"): OWN_IMPORTS,
    ("import-errors", "GET"): OWN_IMPORTS,
    ("import-confirm", "POST"): table(
        owner={"own": 200, "others": 404, "missing": 404},
        other={"own": 404, "others": 200, "missing": 404},
        executive=404,
        admin={"own": 200, "others": 200, "missing": 404},
        readonly=403,
        anonymous=401,
    ),
    # alerts: raised by the engine (no POST); people act through verbs
    ("alert-list", "GET"): LIST,
    ("alert-detail", "GET"): read_scoped(),
    **{("alert-" + verb, "POST"): write_scoped(200) for verb in ("snooze", "close", "acknowledge", "reassign", "reschedule")},
    ("alert-task-list", "GET"): LIST,
    ("alert-task-detail", "GET"): read_scoped(),
    ("alert-task-complete", "POST"): write_scoped(200),
    # account plans and what hangs off them
    ("plan-list", "GET"): LIST,
    ("plan-list", "POST"): create_scoped(),
    **{("plan-detail", m): t for m, t in SCOPED.items()},
    ("plan-activate", "POST"): write_scoped(200),
    ("objective-list", "GET"): LIST,
    ("objective-list", "POST"): create_child(),
    **{("objective-detail", m): t for m, t in SCOPED.items()},
    ("action-list", "GET"): LIST,
    ("action-list", "POST"): create_child(),
    **{("action-detail", m): t for m, t in SCOPED.items()},
    ("review-list", "GET"): LIST,
    ("review-list", "POST"): create_child(),
    ("review-detail", "GET"): read_scoped(),
    **{("review-" + verb, "POST"): write_scoped(200) for verb in ("record", "recap", "complete")},
    ("whitespace-cell-list", "GET"): LIST,
    ("whitespace-cell-list", "POST"): create_child(),
    **{("whitespace-cell-detail", m): t for m, t in SCOPED.items()},
    ("whitespace-cell-detail", "DELETE"): write_scoped(204),  # managers may remove their plans' cells
    ("need-list", "GET"): LIST,
    ("need-list", "POST"): create_scoped(),
    **{("need-detail", m): t for m, t in SCOPED.items()},
    ("case-list", "GET"): LIST,
    ("case-list", "POST"): create_scoped(),
    **{("case-detail", m): t for m, t in SCOPED.items()},
    # configuration: read by all, written by administrators
    ("playbook-list", "GET"): LIST,
    ("playbook-list", "POST"): admin_only(201, missing=201),
    ("playbook-detail", "GET"): read_all(),
    ("playbook-version", "POST"): admin_only(201),
    ("service-standard-list", "GET"): LIST,
    ("service-standard-detail", "GET"): read_all(),
    ("service-standard-revise", "POST"): admin_only(201),
    # notifications: one's own only
    ("notification-list", "GET"): LIST,
    ("notification-detail", "GET"): own_only(200, readonly=200),
    ("notification-read", "POST"): own_only(200, readonly=403),
    ("notification-read-all", "POST"): table(owner=200, other=200, executive=200, admin=200, readonly=403, anonymous=401),
}


# --- Objects and payloads per resource ------------------------------------------------------------

NOW = "2025-06-01T09:00:00+08:00"
_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


@dataclass
class Resource:
    make: Callable[[Any, Any], Any]  # (account, world) -> object hanging off it
    create: Callable[[Any, Any], dict] = lambda account, world: {}
    patch: Callable[[Any], dict] = lambda obj: {}
    put: Callable[[Any], dict] = lambda obj: {}
    extra: dict = field(default_factory=dict)


def _contract_payload(account_id: int) -> dict:
    return {
        "account": account_id, "number": f"M-{_n()}", "start_date": "2025-01-01", "end_date": "2025-12-31",
        "annual_value": "1000.00", "currency": "CNY",
    }  # fmt: skip


def _invoice_payload(account_id: int) -> dict:
    return {
        "account": account_id,
        "number": f"MI-{_n()}",
        "issued_on": "2025-03-01",
        "due_on": "2025-03-31",
        "amount": "10.00",
        "currency": "CNY",
    }


def _days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def _factors() -> list[dict]:
    return [
        {"purpose": "value", "code": "MI", "measure": "market_influence", "scorer": "ordinal_map",
         "params": {"map": {"1": 0, "5": 100}}, "weight": "1"},
        {"purpose": "health", "code": "PAY", "measure": "days_beyond_terms_t180", "scorer": "linear_band",
         "params": {"poor": 45, "good": 0}, "weight": "1"},
    ]  # fmt: skip


def _scoring_model(account, w):
    return tiering_services.scoring_model_save(fields={"name": f"Draft {_n()}"}, factors=_factors())


def _run():
    model = ScoringModel.objects.active()
    return ScoringRun.objects.create(model=model, config_hash=model.config_hash(), as_of=timezone.localdate(), status="done")


def _score_snapshot(account, w):
    today = timezone.localdate()
    return ScoreSnapshot.objects.create(
        run=_run(), account=account, as_of=today, period_start=today, score=D("62.5"), status="ok", coverage_pct=100, tier="T2"
    )


def _health_snapshot(account, w):
    return HealthSnapshot.objects.create(
        run=_run(), account=account, as_of=timezone.localdate(), score=D("80"), status="ok", coverage_pct=100,
        raw_band="green", band="green", effective_score=D("80"), effective_band="green",
    )  # fmt: skip


def _tier_override(account, w):
    return tiering_services.tier_override_set(
        account=account,
        tier="T1",
        reason="Committee",
        approved_by=w["admin"],
        expires_on=timezone.localdate() + dt.timedelta(days=30),
    )


def _health_override(account, w):
    return tiering_services.health_override_set(account=account, band="yellow", reason="Escalation", approved_by=w["admin"])


def _overridden_account(account, w):
    _tier_override(account, w)
    _health_override(account, w)
    return account


def _kpi_value(account, w):
    run = KpiRun.objects.create(as_of=timezone.localdate(), status="published")
    owner = w["owner"] if account == w["own_account"] else account.owner
    return KpiValue.objects.create(
        run=run, code="nps", period=f"{1900 + _n()}", period_kind="year", period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2026, 1, 1), scope=f"owner:{owner.username}", as_of=timezone.localdate(), value=D("12.5"),
        numerator=D("25"), denominator=D("2"), n=2, computed_at=timezone.now(),
    )  # fmt: skip


def _kpi_target_payload() -> dict:
    return {"code": "grr", "scope": f"owner:u{_n()}"}


RESOURCES: dict[str, Resource] = {
    "account": Resource(
        make=lambda account, w: account,
        create=lambda account, w: {"name": f"New {_n()}", "currency": "CNY"},
        patch=lambda obj: {"name": "Renamed"},
        put=lambda obj: {"name": "Put", "currency": "CNY"},
    ),
    "contact": Resource(
        make=lambda account, w: ContactFactory(account=account),
        create=lambda account, w: {"account": account.pk, "name": "New contact", "buying_roles": ["coach_champion"]},
        patch=lambda obj: {"title": "CFO"},
        put=lambda obj: {"account": obj.account_id, "name": "Put contact"},
    ),
    "contract": Resource(
        make=lambda account, w: ContractFactory(account=account),
        create=lambda account, w: _contract_payload(account.pk),
        patch=lambda obj: {"title": "Renamed"},
        put=lambda obj: {**_contract_payload(obj.account_id), "number": obj.number},
    ),
    "invoice": Resource(
        make=lambda account, w: InvoiceFactory(account=account),
        create=lambda account, w: _invoice_payload(account.pk),
        patch=lambda obj: {"is_disputed": True},
        put=lambda obj: {**_invoice_payload(obj.account_id), "number": obj.number},
    ),
    "meeting": Resource(
        make=lambda account, w: MeetingFactory(account=account),
        create=lambda account, w: {"account": account.pk, "kind": "call", "occurred_at": NOW},
        patch=lambda obj: {"summary": "Discussed the renewal."},
        put=lambda obj: {"account": obj.account_id, "kind": "visit", "occurred_at": NOW},
    ),
    "team-relationship": Resource(
        make=lambda account, w: accounts_services.team_relationship_create(
            contact=ContactFactory(account=account), user=account.owner, level_current=1, level_target=3
        ),
        create=lambda account, w: {"contact": ContactFactory(account=account).pk, "level_current": 2},
        patch=lambda obj: {"level_current": 2},
        put=lambda obj: {"level_current": 3, "level_target": 4},
    ),
    "influence-link": Resource(
        make=lambda account, w: accounts_services.influence_link_create(
            from_contact=ContactFactory(account=account), to_contact=ContactFactory(account=account), kind="influences"
        ),
        create=lambda account, w: {
            "from_contact": ContactFactory(account=account).pk,
            "to_contact": ContactFactory(account=account).pk,
            "kind": "conflicts",
        },
        patch=lambda obj: {"note": "Patched"},
        put=lambda obj: {"kind": "conflicts", "note": "Put"},
    ),
    "exchange-rate": Resource(
        make=lambda account, w: ExchangeRateFactory(currency="USD" if account == w["own_account"] else "EUR", year=2025),
        create=lambda account, w: {"currency": "JPY", "year": 2000 + _n() % 150, "rate_to_base": "0.05"},
        patch=lambda obj: {"rate_to_base": "7.2"},
        put=lambda obj: {"currency": obj.currency, "year": obj.year, "rate_to_base": "7.3"},
    ),
    "team-member": Resource(
        make=lambda account, w: TeamMemberFactory(account=account),
        create=lambda account, w: {"account": account.pk, "user": UserFactory().pk, "role": "finance"},
        patch=lambda obj: {"role": "delivery"},
        put=lambda obj: {"role": "delivery", "since": "2025-01-01"},
    ),
    "survey-response": Resource(
        make=lambda account, w: delivery.survey_response_create(
            account=account, kind="nps", score=9, responded_at=timezone.now()
        ),
        create=lambda account, w: {"account": account.pk, "kind": "csat", "score": 4, "responded_at": NOW},
    ),
    "service-request": Resource(
        make=lambda account, w: sla.service_request_create(account=account, priority="p2", opened_at=timezone.now()),
        create=lambda account, w: {"account": account.pk, "priority": "p1", "opened_at": NOW},
        patch=lambda obj: {"status": "waiting"},
        put=lambda obj: {"account": obj.account_id, "priority": "p3", "opened_at": NOW},
    ),
    "project": Resource(
        make=lambda account, w: delivery.project_create(account=account, name="Pilot", started_on=dt.date(2025, 1, 1)),
        create=lambda account, w: {"account": account.pk, "name": "New project", "started_on": "2025-02-01"},
        patch=lambda obj: {"status": "active"},
        put=lambda obj: {"account": obj.account_id, "name": "Put project", "started_on": "2025-02-01"},
    ),
    "escalation": Resource(
        make=lambda account, w: delivery.escalation_create(account=account, title="Outage", opened_at=timezone.now()),
        create=lambda account, w: {"account": account.pk, "title": "Late delivery", "opened_at": NOW},
        patch=lambda obj: {"severity": "sev1"},
        put=lambda obj: {"account": obj.account_id, "title": "Put", "opened_at": NOW},
    ),
    "job": Resource(
        # Finished jobs: a queued one would make every POST a 409 ("already running").
        make=lambda account, w: JobRun.objects.create(
            kind="recompute_kpis", status="done", requested_by=w["owner"] if account == w["own_account"] else w["admin"]
        ),
        create=lambda account, w: _job_payload(),
    ),
    "webhook": Resource(
        make=lambda account, w: subscription_create(
            owner=w["admin"], url="http://127.0.0.1:9/hook", event_types=["contract.renewed"]
        ),
        create=lambda account, w: {"url": "http://127.0.0.1:9/new", "event_types": ["alert.opened"]},
        patch=lambda obj: {"name": "ERP"},
        put=lambda obj: {"url": "http://127.0.0.1:9/put", "event_types": ["kpis.recomputed"]},
    ),
}


def _job_payload() -> dict:
    # Jobs queued by the previous personas never run here (on_commit does not fire inside the
    # test's transaction) and would make this POST a 409 ("already running"): finish them first.
    JobRun.objects.update(status="done")
    return {"kind": "recompute_kpis"}


RESOURCES.update(
    {
        "scoring-model": Resource(
            make=_scoring_model,
            create=lambda account, w: {"name": f"New {_n()}", "factors": _factors()},
            patch=lambda obj: {"t1_entry": "80.00"},
            put=lambda obj: {"name": "Put", "notes": "Agreed by the committee"},
        ),
        "tier-snapshot": Resource(make=_score_snapshot),
        "health-snapshot": Resource(make=_health_snapshot),
        "tier-assignment": Resource(
            make=lambda account, w: TierAssignment.objects.create(
                account=account, tier="T2", valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2024, 4, 1), reason="initial"
            )
        ),
        "tier-override": Resource(make=_tier_override),
        "health-override": Resource(make=_health_override),
        "account-tiering": Resource(make=_overridden_account),
        "kpi": Resource(make=_kpi_value),
        "kpi-target": Resource(
            make=lambda account, w: reports_services.kpi_target_create(**_kpi_target_payload(), target_value=D("0.92")),
            create=lambda account, w: {**_kpi_target_payload(), "target_value": 0.92},
            patch=lambda obj: {"target_value": 0.95},
            put=lambda obj: {"code": obj.code, "scope": obj.scope, "target_value": 0.9, "direction": "higher"},
        ),
    }
)
SUCCESS_PAYLOAD_ACTIONS = {
    "renew": lambda obj: {"number": f"R-{_n()}"},
    "activate": lambda obj: {},
    "copy": lambda obj: {},
    "tier-override": lambda obj: {"tier": "T1", "reason": "Committee", "expires_on": _days(90)},
    "health-override": lambda obj: {"band": "red", "reason": "Escalation"},
}


def _import_file(account: Any, amount: str = "100") -> bytes:
    return (
        f"number,account,start_date,end_date,annual_value\r\nIMP-{_n()},#{account.pk},2025-01-01,2025-12-31,{amount}\r\n"
    ).encode()


def _import_record(account: Any, *, amount: str = "100") -> Any:
    """An import run by the account's owner: checked (dry run) and ready, or with a row error."""
    from imports.services import import_record_create, import_run

    record = import_record_create(user=account.owner, kind="contracts", file_name="c.csv", content=_import_file(account, amount))
    return import_run(record=record, dry_run=True)


RESOURCES["import"] = Resource(
    make=lambda account, w: _import_record(account),
    create=lambda account, w: {"kind": "contracts", "file": _import_file(account)},
    extra={"make": {"errors": lambda account, w: _import_record(account, amount="-1")}},
)
SUCCESS_PAYLOAD_ACTIONS["confirm"] = lambda obj: {}


RESOURCES.update(
    {
        "alert": Resource(make=lambda account, w: _alert(account)),
        "alert-calibration": Resource(make=lambda account, w: _alert(account)),
        "portfolio-matrix": Resource(make=lambda account, w: account),
        "alert-task": Resource(
            make=lambda account, w: AlertTask.objects.create(
                alert=_alert(account), title="Call the CFO", owner_role="account_manager", due_on=dt.date(2025, 6, 9)
            )
        ),
        "plan": Resource(
            make=lambda account, w: _plan(account),
            create=lambda account, w: {"account": account.pk, "fiscal_year": _year()},
            patch=lambda obj: {"customer_vision": "Grow in Asia"},
            put=lambda obj: {"account": obj.account_id, "fiscal_year": obj.fiscal_year, "challenges": "Costs"},
        ),
        "objective": Resource(
            make=lambda account, w: plans.objective_create(plan=_plan(account), title="Raise NPS"),
            create=lambda account, w: {"plan": _plan(account).pk, "title": "New objective"},
            patch=lambda obj: {"status": "on_track"},
            put=lambda obj: {"plan": obj.plan_id, "title": "Put objective"},
        ),
        "action": Resource(
            make=lambda account, w: plans.action_create(plan=_plan(account), title="Send the pre-read"),
            create=lambda account, w: {"plan": _plan(account).pk, "title": "New action"},
            patch=lambda obj: {"status": "done"},
            put=lambda obj: {"plan": obj.plan_id, "title": "Put action"},
        ),
        "review": Resource(
            make=lambda account, w: _held_review(account),
            create=lambda account, w: {"plan": _plan(account).pk, "kind": "qbr", "scheduled_on": "2025-09-01"},
        ),
        "whitespace-cell": Resource(
            make=lambda account, w: whitespace.whitespace_cell_create(
                plan=_plan(account), buying_centre="Plant Shanghai", offering="Spare parts"
            ),
            create=lambda account, w: {"plan": _plan(account).pk, "buying_centre": "HQ", "offering": f"Offering {_n()}"},
            patch=lambda obj: {"state": "pipeline"},
            put=lambda obj: {"plan": obj.plan_id, "buying_centre": obj.buying_centre, "offering": "Put offering"},
        ),
        "need": Resource(
            make=lambda account, w: delivery.need_create(account=account, description="Faster invoicing"),
            create=lambda account, w: {"account": account.pk, "description": "A portal"},
            patch=lambda obj: {"priority": "high"},
            put=lambda obj: {"account": obj.account_id, "description": "Put need"},
        ),
        "case": Resource(
            make=lambda account, w: delivery.benchmark_case_create(
                account=account, title="Line 3 uptime", problem="Downtime", solution="Spares on site"
            ),
            create=lambda account, w: {"account": account.pk, "title": "Case", "problem": "P", "solution": "S"},
            patch=lambda obj: {"tags": ["uptime"]},
            put=lambda obj: {"account": obj.account_id, "title": "Put case", "problem": "P", "solution": "S"},
        ),
        "playbook": Resource(
            make=lambda account, w: standards.playbook_create(
                code=f"pb-{_n()}", name="Overdue invoices", rule="R3", tasks=[{"title": "Call", "due_offset_days": 2}]
            ),
            create=lambda account, w: {"code": f"new-{_n()}", "name": "New", "rule": "R1", "tasks": []},
        ),
        "service-standard": Resource(make=lambda account, w: _standard()),
        "notification": Resource(
            make=lambda account, w: Notification.objects.create(user=account.owner, kind="alert.opened", text="New alert")
        ),
    }
)


def _year() -> int:
    return 2000 + _n() % 200  # one plan per account and year may be active: give each its own year


def _alert(account):
    return alerts.alert_create_manual(account=account, rule="R3", reason=f"overdue-{_n()}", priority="high", actor=None)


def _plan(account):
    return plans.plan_create(account=account, fiscal_year=_year())


def _held_review(account):
    """A review held and recapped, with the next one scheduled: every verb on it succeeds."""
    plan = _plan(account)
    review = plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2025, 3, 1))
    plans.review_record(review=review, held_on=dt.date(2025, 3, 2))
    plans.review_recap_sent(review=review)
    plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2025, 6, 1))
    return review


def _standard():
    calendar = BusinessCalendar.objects.get_or_create(name="Matrix")[0]
    # Spaced versions: ``revise`` takes the tier's highest version + 1.
    return ServiceStandard.objects.create(tier="T3", version=1000 + 10 * _n(), is_active=False, calendar=calendar)


SUCCESS_PAYLOAD_ACTIONS |= {
    "renew": lambda obj: {"number": f"R-{_n()}"},
    "snooze": lambda obj: {"until": (timezone.localdate() + dt.timedelta(days=7)).isoformat(), "reason": "Customer on leave"},
    "close": lambda obj: {"note": "Paid.", "outcome": "retained"},
    "acknowledge": lambda obj: {},
    "reassign": lambda obj: {"owner": obj.account.owner_id},
    "reschedule": lambda obj: {"due_on": (max(obj.due_on, timezone.localdate()) + dt.timedelta(days=30)).isoformat()},
    "complete": lambda obj: {},
    "activate": lambda obj: {},
    "record": lambda obj: {"held_on": "2025-03-02", "decisions": "Go"},
    "recap": lambda obj: {},
    "version": lambda obj: {},
    "revise": lambda obj: {"included_services": "On-site spares"},
    "read": lambda obj: {},
}


@pytest.fixture
def world(account_manager, other_manager, executive, admin_user, settings, monkeypatch):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.counting_runner")
    w = {
        "owner": account_manager,
        "admin": admin_user,
        "own_account": AccountFactory(owner=account_manager),
        "others_account": AccountFactory(owner=other_manager),
    }
    w["clients"] = {
        "owner": token_client(account_manager),
        "other": token_client(other_manager),
        "executive": token_client(executive),
        "admin": token_client(admin_user),
        "readonly": token_client(account_manager, scope="read"),
        "anonymous": APIClient(),
    }
    return w


LIST_VERBS = {"read-all"}  # verbs on a whole list (notifications/read-all/), not on one object


def _basename(url_name: str) -> tuple[str, str]:
    """(resource, kind): the longest resource name that prefixes the URL name ("account-tiering-why")."""
    for name in sorted(RESOURCES, key=len, reverse=True):
        if url_name.startswith(f"{name}-"):
            return name, url_name[len(name) + 1 :]
    base, _, kind = url_name.rpartition("-")
    return base, kind


def _request(client: APIClient, method: str, url: str, payload: dict | None):
    if payload and isinstance(payload.get("file"), bytes):  # an upload: multipart, a fresh file each time
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(url, {**payload, "file": SimpleUploadedFile("upload.csv", payload["file"])}, format="multipart")
    return client.generic(method, url, data=None if payload is None else json.dumps(payload), content_type="application/json")


def test_every_endpoint_is_in_the_matrix():
    endpoints = set(api_endpoints())
    assert endpoints, "no API routes found"
    missing = sorted(endpoints - set(MATRIX))
    stale = sorted(set(MATRIX) - endpoints)
    assert not missing, f"endpoints without a row in the permission matrix: {missing}"
    assert not stale, f"matrix rows for endpoints that do not exist: {stale}"


@pytest.mark.parametrize(("url_name", "method"), api_endpoints())
def test_permission_matrix(world, url_name, method):
    expected = MATRIX.get((url_name, method))
    assert expected is not None, f"{method} {url_name} is not in the permission matrix"
    resource_name, kind = _basename(url_name)
    resource = RESOURCES[resource_name]
    failures = []
    for persona in PERSONAS:
        for obj_name in OBJECTS:
            account = world["own_account"] if obj_name == "own" else world["others_account"]
            if kind in LIST_VERBS:  # a verb on the caller's own list: no object
                if obj_name != "own":
                    continue
                url, payload = reverse(f"api:{url_name}"), {}
            elif kind == "list":
                url = reverse(f"api:{url_name}")
                payload = None
                if method == "POST":
                    payload = resource.create(account, world)
                    if obj_name == "missing" and "account" in payload:
                        payload["account"] = MISSING_ID  # resources without an account send the same payload
                elif obj_name != "own":
                    continue  # a list GET does not depend on the object
                target = resource.make(account, world) if method == "GET" else None
            else:
                target = resource.extra.get("make", {}).get(kind, resource.make)(account, world)
                pk = MISSING_ID if obj_name == "missing" else target.pk
                url = reverse(f"api:{url_name}", kwargs={"pk": pk})
                if method in {"PUT", "PATCH"}:
                    payload = (resource.put if method == "PUT" else resource.patch)(target)
                elif method == "POST":
                    payload = SUCCESS_PAYLOAD_ACTIONS[kind](target)
                else:
                    payload = None
            response = _request(world["clients"][persona], method, url, payload)
            want = expected[persona][obj_name]
            if response.status_code != want:
                failures.append(f"{persona}/{obj_name}: {response.status_code} (want {want}) {response.content[:200]!r}")
            elif kind == "list" and method == "GET" and want == 200 and persona in {"owner", "readonly"}:
                ids = {row["id"] for row in response.json()["results"]}
                if resource_name not in {
                    "exchange-rate",
                    "job",
                    "webhook",
                    "scoring-model",
                    "kpi-target",
                    "playbook",
                    "service-standard",
                }:
                    other_obj = resource.make(world["others_account"], world)
                    response = _request(world["clients"][persona], method, url, None)
                    ids = {row["id"] for row in response.json()["results"]}
                    if target.pk not in ids or other_obj.pk in ids:
                        failures.append(
                            f"{persona}: list shows {sorted(ids)}; own {target.pk} must be in, other's {other_obj.pk} out"
                        )
    assert not failures, f"{method} {url_name}:\n" + "\n".join(failures)
