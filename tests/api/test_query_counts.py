"""Every list costs a constant number of queries: pinned at N and at 5N rows.

The count for a token-authenticated page is the page (1) plus one per prefetched relation: the token,
its user and the user's groups come from the token cache (one query when it misses, see
``integrations.tokens``). Managers' visibility is a subquery inside the page's query, not an extra query.
"""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from integrations.webhooks import subscription_create
from kam.models import JobRun
from service_plans.models import AlertTask, BusinessCalendar, Notification, PlaybookTemplate, ServiceStandard, SlaTarget
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
)

pytestmark = pytest.mark.django_db


YEARS = itertools.count(1990)


def _rows(kind: str, owner, admin, n: int) -> None:
    for i in range(n):
        account = AccountFactory(owner=owner)  # a new parent per row, so relations vary too
        if kind == "contacts":
            ContactFactory(account=account, buying_roles=["approver", "blocker"])
        elif kind == "contracts":
            ContractFactory(account=account)
        elif kind == "invoices":
            InvoiceFactory(account=account, contract=ContractFactory(account=account))
        elif kind == "meetings":
            contact = ContactFactory(account=account)
            MeetingFactory(account=account, contacts=[contact], attendees=[owner])
        elif kind == "team-relationships":
            contact = ContactFactory(account=account)
            accounts_services.team_relationship_create(contact=contact, user=owner, level_current=1, level_target=2)
        elif kind == "influence-links":
            source, target = ContactFactory(account=account), ContactFactory(account=account)
            accounts_services.influence_link_create(from_contact=source, to_contact=target, kind="influences")
        elif kind == "team-members":
            TeamMemberFactory(account=account)
        elif kind == "survey-responses":
            delivery.survey_response_create(account=account, kind="nps", score=8, responded_at=timezone.now())
        elif kind == "service-requests":
            sla.service_request_create(account=account, priority="p3", opened_at=timezone.now())
        elif kind == "projects":
            delivery.project_create(account=account, name=f"P{i}", started_on=timezone.localdate())
        elif kind == "escalations":
            delivery.escalation_create(account=account, title="E", opened_at=timezone.now(), owner=owner)
        elif kind == "exchange-rates":
            ExchangeRateFactory(currency="USD", year=next(YEARS))
        elif kind == "jobs":
            JobRun.objects.create(kind="recompute_kpis", requested_by=admin)
        elif kind == "webhooks":
            subscription_create(owner=admin, url="http://127.0.0.1:9/h", event_types=["alert.opened"])
        else:
            _service_plan_row(kind, account, owner, i)


PLAN_YEARS = itertools.count(2000)


def _plan(account):
    return plans.plan_create(account=account, fiscal_year=next(PLAN_YEARS))


def _service_plan_row(kind: str, account, owner, i: int) -> None:
    """Rows of the alert, plan and configuration endpoints, each with children so prefetches are exercised."""
    if kind in {"alerts", "alert-tasks"}:
        alert = alerts.alert_create_manual(account=account, rule="R3", reason="overdue", priority="high", actor=None)
        for order in (1, 2) if kind == "alerts" else (1,):  # alerts nest their tasks: two each
            AlertTask.objects.create(
                alert=alert, title="T", owner=owner, owner_role="account_manager", due_on=alert.due_on, order=order
            )
    elif kind == "plans":
        _plan(account)
    elif kind == "objectives":
        objective = plans.objective_create(plan=_plan(account), title="O", owner=owner)
        plans.action_create(plan=objective.plan, objective=objective, title="A", status="done")
    elif kind == "actions":
        plans.action_create(plan=_plan(account), title="A", owner_user=owner)
    elif kind == "reviews":
        review = plans.review_schedule(plan=_plan(account), kind="qbr", scheduled_on=timezone.localdate())
        plans.review_record(
            review=review,
            held_on=timezone.localdate(),
            commitments=[{"side": "ours", "text": "X"}, {"side": "theirs", "text": "Y"}],
            contacts=[ContactFactory(account=account), ContactFactory(account=account)],
            attendees=[owner],
        )
    elif kind == "whitespace-cells":
        plan = _plan(account)
        for offering in ("Parts", "Service"):
            whitespace.whitespace_cell_create(plan=plan, buying_centre="HQ", offering=offering, est_total_spend=100)
    elif kind == "needs":
        delivery.need_create(account=account, description="N")
    elif kind == "cases":
        delivery.benchmark_case_create(account=account, title="C", problem="P", solution="S", tags=["a"])
    elif kind == "playbooks":
        PlaybookTemplate.objects.exclude(code__startswith="pb").delete()  # the seeded ones would count as rows
        standards.playbook_create(code=f"pb{account.pk}", name="P", rule="R1", tasks=[{"title": "T", "due_offset_days": 1}] * 2)
    elif kind == "service-standards":
        ServiceStandard.objects.filter(is_active=True).delete()  # the seeded ones would count as rows
        calendar = BusinessCalendar.objects.get_or_create(name="Q")[0]
        standard = ServiceStandard.objects.create(tier="T2", version=account.pk, is_active=False, calendar=calendar)
        for priority in ("p1", "p2"):
            SlaTarget.objects.create(standard=standard, priority=priority, first_response_minutes=60, resolution_minutes=600)
    elif kind == "notifications":
        Notification.objects.create(user=owner, kind="alert.opened", text="N")


# Queries per page, whatever the number of rows (managers: a token; admins for jobs and webhooks).
PINNED = {
    "accounts": 1,
    "contacts": 2,  # + buying roles
    "contracts": 1,
    "invoices": 1,
    "meetings": 3,  # + contacts, + attendees
    "team-members": 1,
    "team-relationships": 1,  # the contact (its account) in the page's query
    "influence-links": 1,  # the account comes with the page (select_related)
    "survey-responses": 1,
    "service-requests": 1,
    "projects": 1,
    "escalations": 1,
    "exchange-rates": 1,
    "jobs": 1,
    "webhooks": 1,
    "alerts": 2,  # + tasks
    "alert-tasks": 1,
    "plans": 1,
    "objectives": 1,  # progress is annotated in the page's query
    "actions": 1,
    "reviews": 4,  # + commitments, + the meeting's attendees, + its contacts (the meeting is joined)
    "whitespace-cells": 1,
    "needs": 1,
    "cases": 1,
    "playbooks": 2,  # + tasks
    "service-standards": 2,  # + SLA targets
    "notifications": 1,
}


# Kinds whose ``_rows`` make more than one row of the list per account.
ROWS_PER = {"whitespace-cells": 2}


@pytest.mark.parametrize("kind", sorted(PINNED))
def test_list_queries_are_constant(kind, account_manager, admin_user, settings, django_assert_num_queries):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    user = admin_user if kind in {"jobs", "webhooks"} else account_manager
    n = 3
    _rows(kind, account_manager, admin_user, n)
    client = token_client(user)
    client.get(f"/api/v1/{kind}/")  # the first call records the token's use (a write, once a minute)
    with django_assert_num_queries(PINNED[kind]):
        response = client.get(f"/api/v1/{kind}/", {"page_size": 500})
    assert len(response.json()["results"]) == n * ROWS_PER.get(kind, 1)
    _rows(kind, account_manager, admin_user, 4 * n)
    client.get(f"/api/v1/{kind}/")  # new users (team members) retired the cached token: read it again
    with django_assert_num_queries(PINNED[kind]):
        response = client.get(f"/api/v1/{kind}/", {"page_size": 500})
    assert len(response.json()["results"]) == 5 * n * ROWS_PER.get(kind, 1)
