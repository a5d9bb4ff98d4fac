"""One error shape for the whole API, and the mapping of domain and database errors onto statuses.

- 400: ``{"field": ["message"], "non_field_errors": [...]}`` from serializers and from the
  ``ValidationError`` that services raise (``full_clean``), field names kept.
- 409: the same shape, for conflicts with existing data: a duplicate unique value (found by
  ``full_clean`` or, in a race, by PostgreSQL), a row still referenced, ``kam.errors.Conflict``.
- 412: ``{"detail", "current_version"}`` for a stale ``If-Match`` (``kam.errors.StaleVersion``).
- 503: the message broker is down (``kam.jobs.BackgroundUnavailable``).
Other statuses keep DRF's ``{"detail": "..."}``.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kam.errors import Conflict, StaleVersion
from kam.jobs import BackgroundUnavailable

logger = logging.getLogger(__name__)

UNIQUE_CODES = {"unique", "unique_together"}


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The request conflicts with existing data.")
    default_code = "conflict"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__()
        self.detail = errors  # the 400 shape: {"field": ["message"]}


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy("The object has changed since you read it: fetch it again and re-apply your change.")
    default_code = "precondition_failed"

    def __init__(self, current_version: Any = None) -> None:
        super().__init__()
        self.current_version = current_version


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


def _model_of(view: Any) -> type[models.Model] | None:
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else getattr(view, "model", None)


def _unique_constraint_field(model: type[models.Model] | None, message: str) -> str | None:
    """The field of the model's unique constraint whose violation message is ``message``.

    Constraints with a condition or an expression (``Lower("email")``) report their violation as a
    non-field error without a code; matching the message finds which field it is about.
    """
    if model is None:
        return None
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and str(constraint.get_violation_error_message()) == message:
            if constraint.fields:
                return constraint.fields[0]
            for expression in constraint.expressions:
                names = [e.name for e in expression.flatten() if isinstance(e, models.F)]
                if names:
                    return names[0]
    return None


def _from_django_validation(exc: DjangoValidationError, view: Any) -> exceptions.APIException:
    model = _model_of(view)
    errors: dict[str, list[str]] = {}
    all_unique = True
    items = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD_ERRORS, exc.error_list)]
    for field, error_list in items:
        for error in error_list:
            for message in error.messages:
                key = "non_field_errors" if field == NON_FIELD_ERRORS else field
                is_unique = error.code in UNIQUE_CODES
                if not is_unique and field == NON_FIELD_ERRORS:
                    unique_field = _unique_constraint_field(model, message)
                    if unique_field:
                        is_unique, key = True, unique_field
                        message = _("Another record already has this %(field)s.") % {"field": unique_field.replace("_", " ")}
                all_unique = all_unique and is_unique
                errors.setdefault(key, []).append(str(message))
    if errors and all_unique:
        return ConflictError(errors)
    return exceptions.ValidationError(errors)


@cache
def _constraint_fields() -> dict[str, str | None]:
    """PostgreSQL constraint name → field, for unique constraints and unique columns of every model."""
    names: dict[str, str | None] = {}
    for model in apps.get_models():
        table = model._meta.db_table
        for field in model._meta.local_fields:
            if field.unique and not field.primary_key:
                names[f"{table}_{field.column}_key"[:63]] = field.name
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                names[constraint.name] = constraint.fields[0] if constraint.fields else None
    return names


def _from_integrity(exc: IntegrityError) -> exceptions.APIException:
    cause = exc.__cause__
    pgcode = getattr(cause, "pgcode", None)
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if pgcode in {"23502", "23514"}:  # not null, check: bad input that slipped past validation
        logger.warning("database refused input that validation accepted: %s", exc)
        return exceptions.ValidationError(
            {"non_field_errors": [_("The data breaks a rule of the database (%(rule)s).") % {"rule": constraint or pgcode}]}
        )
    if pgcode == "23505" or (pgcode is None and "unique" in str(exc).lower()):
        field = _constraint_fields().get(constraint or "")
        message = (
            _("Another record already has this %(field)s.") % {"field": field.replace("_", " ")}
            if field
            else _("Another record already has these values.")
        )
        return ConflictError({field or "non_field_errors": [message]})
    return ConflictError(
        {"non_field_errors": [_("The change conflicts with data changed at the same time; fetch it again and retry.")]}
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    view = context.get("view")

    current_version = None
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc, view)
    elif isinstance(exc, StaleVersion):
        current_version = exc.current_version
        exc = PreconditionFailed(current_version)
    elif isinstance(exc, Conflict):
        exc = ConflictError({exc.field or "non_field_errors": [exc.message]})
    elif isinstance(exc, IntegrityError):
        exc = _from_integrity(exc)
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        exc = ConflictError({"non_field_errors": [_("Other records still refer to this one; remove or change them first.")]})
    elif isinstance(exc, DataError):
        # Validation should have caught it: log the gap, answer like any bad input.
        logger.warning("database refused input that validation accepted: %s", exc)
        exc = exceptions.ValidationError({"non_field_errors": [_("A value is out of range or too long for its field.")]})
    elif isinstance(exc, BackgroundUnavailable):
        exc = ServiceUnavailable(
            _("Background processing is unavailable: the message broker cannot be reached. Try again later.")
        )
    if isinstance(exc, PreconditionFailed):
        current_version = exc.current_version
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    elif isinstance(exc, exceptions.ParseError):
        # Malformed JSON is bad input like any other: the same shape as field errors.
        response.data = {"non_field_errors": [str(exc.detail)]}
    if isinstance(exc, PreconditionFailed) and current_version is not None:
        response.data["current_version"] = current_version
        response["ETag"] = f'"{current_version}"'
    return response
