"""The whole API under schemathesis, in-process (WSGI), as an account manager and as an administrator.

Every operation of the served schema gets at least ``EXAMPLES`` generated requests per persona;
every answer must be a documented status with a body that matches the schema, and never a 5xx.
Data generation only (no shrinking) keeps the run to a few minutes on two cores.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kam import jobs, roles
from kam.wsgi import application
from reports.models import KpiRun, KpiValue
from reports.services import kpi_target_create
from service_plans.models import AlertTask, Notification
from service_plans.services import alerts, delivery, plans
from tests.api.conftest import token_client
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, MeetingFactory, UserFactory
from tiering.recompute import scores_recompute
from tiering.services import tier_override_set

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=DjangoJSONEncoder))
)
schema.app = application

HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],  # fuzzing only: the coverage phase would add ~10x the requests
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _keep_test_connection():
    """Django's handler closes the connection after each request; the test's transaction must outlive it
    (Django's own test client disconnects the same receivers)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(settings, monkeypatch, _keep_test_connection):
    """Some data to find (ids 1… exist), generous throttles, loopback webhooks, a registered job runner."""
    settings.KAM_API_THROTTLE_RATES = {"token": "100000/min", "user": "100000/min"}
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    monkeypatch.setitem(jobs.JOB_RUNNERS, "recompute_kpis", "tests.kam.test_jobs.counting_runner")
    manager = UserFactory(username="st_manager", role=roles.ACCOUNT_MANAGER)
    admin = UserFactory(username="st_admin", role=roles.ADMINISTRATOR)
    for owner in (manager, UserFactory(role=roles.ACCOUNT_MANAGER)):
        account = AccountFactory(owner=owner)
        ContactFactory(account=account)
        InvoiceFactory(account=account, contract=ContractFactory(account=account))
        MeetingFactory(account=account)
        _service_plan_rows(account)
    # Scores, overrides, KPI values and targets, so that the tiering and reports details have rows to find.
    scores_recompute(as_of=timezone.localdate())
    tier_override_set(
        account=account, tier="T1", reason="Committee", approved_by=admin,
        expires_on=timezone.localdate() + dt.timedelta(days=30),
    )  # fmt: skip
    kpi_run = KpiRun.objects.create(as_of=timezone.localdate(), status="published")
    KpiValue.objects.create(
        run=kpi_run, code="nps", period="2025", period_kind="year", period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2026, 1, 1), scope="owner:st_manager", as_of=kpi_run.as_of, value=None, reason="no_data",
        computed_at=timezone.now(),
    )  # fmt: skip
    kpi_target_create(code="grr", target_value=Decimal("0.9"))
    return {
        persona: {"Authorization": token_client(user)._credentials["HTTP_AUTHORIZATION"]}
        for persona, user in [("manager", manager), ("admin", admin)]
    }


def _service_plan_rows(account) -> None:
    """An alert with a task, a plan with an objective, an action and a review, a need, a case, a notification."""
    alert = alerts.alert_create_manual(account=account, rule="R3", reason="overdue", priority="high", actor=None)
    AlertTask.objects.create(alert=alert, title="Call", owner=account.owner, owner_role="account_manager", due_on=alert.due_on)
    plan = plans.plan_create(account=account, fiscal_year=2026)
    plans.objective_create(plan=plan, title="NPS")
    plans.action_create(plan=plan, title="Call")
    plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 1))
    delivery.need_create(account=account, description="A portal")
    delivery.benchmark_case_create(account=account, title="Case", problem="P", solution="S")
    Notification.objects.create(user=account.owner, kind="alert.opened", text="New alert")


@schema.parametrize()
@HYPOTHESIS
def test_api_as_account_manager(case, api_world):
    _call(case, api_world, "manager")


@schema.parametrize()
@HYPOTHESIS
def test_api_as_administrator(case, api_world):
    _call(case, api_world, "admin")


def _call(case, world: dict, persona: str) -> None:
    # Each request in its own savepoint, rolled back afterwards: in production each request is its own
    # transaction, so one the database refused (answered 4xx) must not poison the next one through the
    # test's shared transaction. The seeded data stays; what the fuzzer creates does not pile up.
    with transaction.atomic():
        response = case.call_and_validate(headers=world[persona], checks=CHECKS)
        transaction.set_rollback(True)
    assert response.status_code != 401, "the persona's token must authenticate every call"
