"""Writes to the service-delivery records: team members, survey responses, service requests,
projects and escalations.

The same rules as ``accounts.services``: keyword-only, one transaction, ``full_clean`` before every
write, the row lock and ``expected_version`` on updates. Kept apart from ``services.py`` (plans,
alerts, SLA clocks) so each file stays about one thing; the SLA service sets the due dates and
breach flags of service requests, never these functions.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.choices import BuyingRoleCode
from kam.errors import StaleVersion
from service_plans.models import AccountTeamMember, Escalation, Project, ServiceRequest, SurveyResponse

TEAM_MEMBER_FIELDS = frozenset({"account", "account_id", "user", "user_id", "role", "since"})
SURVEY_RESPONSE_FIELDS = frozenset(
    {"account", "account_id", "contact", "contact_id", "kind", "score", "respondent_role", "responded_at", "comment"}
)
SERVICE_REQUEST_FIELDS = frozenset(
    {"account", "account_id", "title", "priority", "status", "opened_at", "first_response_at", "resolved_at"}
)
PROJECT_FIELDS = frozenset({"account", "account_id", "name", "kind", "status", "started_on", "ended_on", "description"})
ESCALATION_FIELDS = frozenset(
    {
        "account",
        "account_id",
        "service_request",
        "service_request_id",
        "title",
        "severity",
        "owner",
        "owner_id",
        "opened_at",
        "closed_at",
    }
)
# The role a survey answer is attributed to when the contact holds several (DOMAIN.md §8, NPS role weights).
ROLE_PRECEDENCE = [
    BuyingRoleCode.ECONOMIC_BUYER,
    BuyingRoleCode.COACH_CHAMPION,
    BuyingRoleCode.TECHNICAL_BUYER,
    BuyingRoleCode.USER_BUYER,
    BuyingRoleCode.APPROVER,
    BuyingRoleCode.EVALUATOR,
    BuyingRoleCode.INFLUENCER,
    BuyingRoleCode.GATEKEEPER,
    BuyingRoleCode.BLOCKER,
]


def _check_fields(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"not writable here: {', '.join(unknown)}")


def _create[M: models.Model](instance: M) -> M:
    instance.full_clean()
    instance.save()
    return instance


def _update[M: models.Model](model: type[M], pk: int, fields: dict[str, Any], *, expected_version: int | None) -> M:
    locked = model.objects.select_for_update().get(pk=pk)
    versioned = hasattr(locked, "version")
    if versioned and expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    if versioned:
        locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    return locked


@transaction.atomic
def team_member_add(*, actor: Any = None, **fields: Any) -> AccountTeamMember:
    _check_fields(fields, TEAM_MEMBER_FIELDS)
    return _create(AccountTeamMember(**fields))


@transaction.atomic
def team_member_update(*, member: AccountTeamMember, actor: Any = None, **fields: Any) -> AccountTeamMember:
    _check_fields(fields, TEAM_MEMBER_FIELDS)
    return _update(AccountTeamMember, member.pk, fields, expected_version=None)


@transaction.atomic
def team_member_remove(*, member: AccountTeamMember, actor: Any = None) -> None:
    member.delete()


@transaction.atomic
def survey_response_create(*, actor: Any = None, **fields: Any) -> SurveyResponse:
    """Record an answer. Without ``respondent_role`` the contact's main buying role today is kept,
    so later role changes do not rewrite past role-weighted NPS."""
    _check_fields(fields, SURVEY_RESPONSE_FIELDS)
    response = SurveyResponse(**fields)
    if not response.respondent_role and response.contact_id is not None:
        held = set(response.contact.buying_roles.values_list("code", flat=True))
        response.respondent_role = next((str(code) for code in ROLE_PRECEDENCE if code in held), "")
    return _create(response)


@transaction.atomic
def service_request_create(*, actor: Any = None, **fields: Any) -> ServiceRequest:
    _check_fields(fields, SERVICE_REQUEST_FIELDS)
    return _create(ServiceRequest(**fields))


@transaction.atomic
def service_request_update(
    *, service_request: ServiceRequest, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> ServiceRequest:
    _check_fields(fields, SERVICE_REQUEST_FIELDS)
    return _update(ServiceRequest, service_request.pk, fields, expected_version=expected_version)


@transaction.atomic
def project_create(*, actor: Any = None, **fields: Any) -> Project:
    _check_fields(fields, PROJECT_FIELDS)
    return _create(Project(**fields))


@transaction.atomic
def project_update(*, project: Project, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Project:
    _check_fields(fields, PROJECT_FIELDS)
    return _update(Project, project.pk, fields, expected_version=expected_version)


@transaction.atomic
def escalation_create(*, actor: Any = None, **fields: Any) -> Escalation:
    _check_fields(fields, ESCALATION_FIELDS)
    escalation = Escalation(**fields)
    _check_request_account(escalation)
    return _create(escalation)


@transaction.atomic
def escalation_update(
    *, escalation: Escalation, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> Escalation:
    _check_fields(fields, ESCALATION_FIELDS)
    candidate = copy.copy(escalation)
    for name, value in fields.items():
        setattr(candidate, name, value)
    _check_request_account(candidate)
    return _update(Escalation, escalation.pk, fields, expected_version=expected_version)


def _check_request_account(escalation: Escalation) -> None:
    if escalation.service_request_id is not None and escalation.service_request.account_id != escalation.account_id:
        raise ValidationError({"service_request": [_("The service request belongs to another account.")]})
