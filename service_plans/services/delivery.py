"""Writes on needs, surveys, escalations, projects and benchmark cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import NPS_ROLE_WEIGHTS
from kam.errors import StaleVersion
from service_plans.models import BenchmarkCase, Escalation, Need, Project, SurveyResponse

NEED_FIELDS = frozenset({"department", "description", "priority", "status", "last_reviewed_on"})
CASE_FIELDS = frozenset(
    {"title", "problem", "solution", "offerings", "outcome_metrics", "approval_status", "tags", "published_on"}
)
PROJECT_FIELDS = frozenset({"name", "kind", "status", "started_on", "ended_on", "description"})
ESCALATION_FIELDS = frozenset({"title", "severity", "owner", "service_request", "opened_at", "closed_at"})


def _check(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")


def _create[M: models.Model](model: type[M], account: Any, fields: dict[str, Any], allowed: frozenset[str]) -> M:
    _check(fields, allowed)
    obj = model(account=account, **fields)
    obj.full_clean()
    obj.save()
    return obj


def _update[M: models.Model](obj: M, fields: dict[str, Any], allowed: frozenset[str], expected_version: int | None) -> M:
    _check(fields, allowed)
    locked = type(obj).objects.select_for_update().get(pk=obj.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    return locked


@transaction.atomic
def need_create(*, account: Any, actor: Any = None, **fields: Any) -> Need:
    return _create(Need, account, fields, NEED_FIELDS)


@transaction.atomic
def need_update(*, need: Need, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Need:
    return _update(need, fields, NEED_FIELDS, expected_version)


@transaction.atomic
def benchmark_case_create(*, account: Any, actor: Any = None, **fields: Any) -> BenchmarkCase:
    return _create(BenchmarkCase, account, fields, CASE_FIELDS)


@transaction.atomic
def benchmark_case_update(
    *, case: BenchmarkCase, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> BenchmarkCase:
    return _update(case, fields, CASE_FIELDS, expected_version)


@transaction.atomic
def project_create(*, account: Any, actor: Any = None, **fields: Any) -> Project:
    return _create(Project, account, fields, PROJECT_FIELDS)


@transaction.atomic
def project_update(*, project: Project, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Project:
    return _update(project, fields, PROJECT_FIELDS, expected_version)


@transaction.atomic
def escalation_create(*, account: Any, actor: Any = None, **fields: Any) -> Escalation:
    fields.setdefault("opened_at", timezone.now())
    request = fields.get("service_request")
    if request is not None and request.account_id != account.pk:
        raise ValidationError({"service_request": [_("The service request belongs to another account.")]})
    return _create(Escalation, account, fields, ESCALATION_FIELDS)


@transaction.atomic
def escalation_update(
    *, escalation: Escalation, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> Escalation:
    """Change an escalation (the REST API's PATCH); its service request must stay on its account."""
    request = fields.get("service_request")
    if request is not None and request.account_id != escalation.account_id:
        raise ValidationError({"service_request": [_("The service request belongs to another account.")]})
    return _update(escalation, fields, ESCALATION_FIELDS, expected_version)


@transaction.atomic
def escalation_close(*, escalation: Escalation, actor: Any = None, at: dt.datetime | None = None) -> Escalation:
    if escalation.closed_at is not None:
        raise ValidationError({"closed_at": [_("The escalation is already closed.")]})
    return _update(escalation, {"closed_at": at or timezone.now()}, ESCALATION_FIELDS, None)


@transaction.atomic
def survey_response_create(
    *,
    account: Any,
    kind: str,
    score: int,
    responded_at: dt.datetime | None = None,
    contact: Any = None,
    survey: Any = None,
    comment: str = "",
    actor: Any = None,
) -> SurveyResponse:
    """Record an answer, keeping the respondent's buying role at that moment (the heaviest NPS weight)."""
    role = ""
    if contact is not None:
        codes = set(contact.buying_roles.values_list("code", flat=True))
        ranked = sorted(codes & set(NPS_ROLE_WEIGHTS), key=lambda c: -NPS_ROLE_WEIGHTS[c])
        role = ranked[0] if ranked else (sorted(codes)[0] if codes else "")
    response = SurveyResponse(
        account=account, contact=contact, survey=survey, kind=kind, score=score, respondent_role=role,
        responded_at=responded_at or timezone.now(), comment=comment,
    )  # fmt: skip
    response.full_clean()
    response.save()
    return response
