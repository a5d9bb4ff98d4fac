"""Data builders for the workspace's page tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services
from accounts.choices import BuyingRoleCode
from accounts.models import BuyingRole
from service_plans.models import Project, ServiceRequest, SurveyResponse
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    ExchangeRateFactory,
    InvoiceFactory,
    MeetingFactory,
    TeamMemberFactory,
)


def ensure_buying_roles() -> None:
    """The buying roles are rows a data migration adds; a transactional test elsewhere in the run
    (a real Celery worker, the browser) flushes them, so tests that set roles make sure they exist."""
    for code in BuyingRoleCode.values:
        BuyingRole.objects.get_or_create(code=code)


def build_account(owner, *, n: int, name: str = "Acme Group", today: dt.date | None = None):
    """An account with ``n`` of everything: subsidiaries, contacts, contracts, invoices, meetings…"""
    today = today or timezone.localdate()
    now = timezone.now()
    account = AccountFactory(owner=owner, name=name)
    ensure_buying_roles()
    previous = None
    for i in range(n):
        sub = AccountFactory(owner=owner, name=f"{name} sub {i}", parent=account)
        ContractFactory(
            account=sub,
            number=f"{name[:4]}-S{i}",
            start_date=today - dt.timedelta(days=100),
            end_date=today + dt.timedelta(days=200),
        )
        contact = ContactFactory(account=account, name=f"Contact {i}", reports_to=previous)
        if previous is not None:  # influence and conflict lines, so that their prefetch is counted
            services.influence_link_create(from_contact=contact, to_contact=previous, kind="influences")
            services.influence_link_create(from_contact=previous, to_contact=contact, kind="conflicts")
        previous = contact
        ContractFactory(
            account=account,
            number=f"{name[:4]}-C{i}",
            start_date=today - dt.timedelta(days=300 + i),
            end_date=today + dt.timedelta(days=30 + i),
        )
        InvoiceFactory(
            account=account,
            issued_on=today - dt.timedelta(days=60 + i),
            due_on=today - dt.timedelta(days=30 + i),
            paid_on=today - dt.timedelta(days=20),
        )
        InvoiceFactory(account=sub, issued_on=today - dt.timedelta(days=90), due_on=today - dt.timedelta(days=45))
        MeetingFactory(account=account, title=f"Meeting {i}", occurred_at=now - dt.timedelta(days=i + 1))
        TeamMemberFactory(account=account)
        SurveyResponse.objects.create(
            account=account, contact=contact, kind="nps", score=8, responded_at=now - dt.timedelta(days=i + 1)
        )
        ServiceRequest.objects.create(
            account=account,
            title=f"Request {i}",
            opened_at=now - dt.timedelta(hours=10 + i),
            first_response_due_at=now - dt.timedelta(hours=8),
        )
        Project.objects.create(account=account, name=f"Project {i}", started_on=today - dt.timedelta(days=10))
        services.contract_update(contract=account.contracts.get(number=f"{name[:4]}-C{i}"), annual_value=Decimal(1000 + i))
    return account


@pytest.fixture
def usd_rate(db):
    year = timezone.localdate().year
    return ExchangeRateFactory(currency="USD", year=year, rate_to_base=Decimal("7.00000000"))


def add_plan_needs_alerts(account, owner, *, n: int, today: dt.date | None = None):
    """An active plan with ``n`` objectives and actions, ``n`` needs and ``n`` open alerts with a task each."""
    from service_plans.models import AlertTask, Need
    from service_plans.services import alerts as alert_services
    from service_plans.services import plans as plan_services

    today = today or timezone.localdate()
    plan = plan_services.plan_create(account=account, fiscal_year=plan_services.fiscal_year_of(today), owner=owner)
    plan = plan_services.plan_activate(plan=plan, actor=owner)
    for i in range(n):
        objective = plan_services.objective_create(plan=plan, title=f"Objective {i}", due_on=today + dt.timedelta(days=30 + i))
        plan_services.action_create(
            plan=plan, title=f"Action {i}", objective=objective, owner_user=owner, due_on=today + dt.timedelta(days=i)
        )
        Need.objects.create(account=account, description=f"Need {i}", priority=["high", "medium", "low"][i % 3])
        alert = alert_services.alert_create_manual(
            account=account, rule="R1", reason=f"reason-{i}", priority=["critical", "high", "medium"][i % 3], actor=owner
        )
        AlertTask.objects.create(
            alert=alert, title=f"Task {i}", owner=owner, owner_role="account_manager", due_on=today + dt.timedelta(days=i)
        )
    return plan
