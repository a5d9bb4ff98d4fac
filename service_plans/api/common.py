"""Pieces shared by the service plans endpoints: verb bodies, verbs, administrators-only writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.settings import api_settings

from kam.roles import is_administrator

VERSIONED_READ_ONLY = ["id", "version", "created_at", "updated_at"]
User = get_user_model()


class InputSerializer(serializers.Serializer):
    """The body of a verb: like ``ApiModelSerializer``, a key that is not a field is a 400."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)


def active_users() -> models.QuerySet:
    return User.objects.filter(is_active=True)


class AdministratorsWrite(permissions.BasePermission):
    """Configuration (playbooks, service standards) is read by everyone and written by administrators."""

    message = _("Only administrators change this configuration.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or is_administrator(request.user)


ADMIN_WRITE_PERMISSIONS = [*api_settings.DEFAULT_PERMISSION_CLASSES, AdministratorsWrite]


class VerbMixin:
    """``POST {id}/<verb>/``: validate the body, lock and check ``If-Match``, call the service."""

    def run_verb(
        self, request: Request, input_class: type[serializers.Serializer], service: Callable[..., Any], instance_kwarg: str
    ) -> Any:
        serializer = input_class(data=request.data, context=self.get_serializer_context())  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            instance, expected_version = self.checked_object(request)  # type: ignore[attr-defined]
            version = {"expected_version": expected_version} if expected_version is not None else {}
            return service(**{instance_kwarg: instance}, actor=request.user, **version, **serializer.validated_data)


class EmptySerializer(InputSerializer):
    """No body (``{}``)."""


class HashETagMixin:
    """For models whose ``version`` numbers versions (playbooks, standards) rather than counting changes:
    the ETag is a hash of the representation, and ``If-Match`` is checked against it alone."""

    def etag(self, instance: models.Model, data: Any = None) -> str:
        if data is None:
            data = self.get_serializer(instance).data  # type: ignore[attr-defined]
        return super().etag(_Unversioned(), data)  # type: ignore[misc]

    def checked_object(self, request: Request) -> tuple[models.Model, int | None]:
        return super().checked_object(request)[0], None  # type: ignore[misc]


class _Unversioned:
    version = None
