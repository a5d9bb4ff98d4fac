"""Needs, surveys, escalations and the benchmark case library: validation names the field."""

import pytest
from django.core.exceptions import ValidationError

from service_plans.models import Survey
from service_plans.services import delivery as services
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_survey_response_keeps_the_respondents_heaviest_buying_role():
    account = AccountFactory()
    contact = ContactFactory(account=account, buying_roles=["user_buyer", "economic_buyer"])
    survey = Survey.objects.create(name="2026 relationship survey", kind="nps")
    response = services.survey_response_create(account=account, contact=contact, survey=survey, kind="nps", score=9)
    assert response.respondent_role == "economic_buyer"
    with pytest.raises(ValidationError) as exc:
        services.survey_response_create(account=account, survey=survey, kind="csat", score=4)
    assert "kind" in exc.value.message_dict


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"outcome_metrics": [{"before": 1, "after": 2}]}, "outcome_metrics"),
        ({"outcome_metrics": [{"kpi_code": "nps", "before": "a lot", "after": 2}]}, "outcome_metrics"),
        ({"tags": "sla, nps"}, "tags"),
        ({"approval_status": "public"}, "published_on"),
    ],
)
def test_benchmark_case_validation(fields, field):
    with pytest.raises(ValidationError) as exc:
        services.benchmark_case_create(account=AccountFactory(), title="Case", problem="p", solution="s", **fields)
    assert field in exc.value.message_dict


def test_need_and_escalation_lifecycle():
    account = AccountFactory()
    need = services.need_create(account=account, department="Procurement", description="Consolidated invoicing", priority="high")
    need = services.need_update(need=need, status="met", expected_version=1)
    assert (need.status, need.version) == ("met", 2)
    with pytest.raises(ValidationError) as exc:
        services.need_create(account=account, description="x", priority="urgent")
    assert "priority" in exc.value.message_dict
    escalation = services.escalation_create(account=account, title="Line stop", severity="sev1")
    escalation = services.escalation_close(escalation=escalation)
    assert escalation.closed_at is not None
    with pytest.raises(ValidationError):
        services.escalation_close(escalation=escalation)
