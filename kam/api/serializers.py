"""Serializer building blocks: visible-only relations and strict, allow-listed input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from kam.api.fields import BoundedDateField, BoundedDateTimeField


class VisiblePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """Accepts only ids of objects the requesting user may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if hasattr(queryset, "visible_to"):
            request = self.context.get("request")
            queryset = queryset.visible_to(getattr(request, "user", None))
        return queryset


class ApiModelSerializer(serializers.ModelSerializer):
    """The base of every API serializer.

    - Writable fields are exactly those not in ``read_only_fields``: an explicit allow-list, so
      tier, scores, versions and other computed fields can never be set from a payload.
    - A payload key that is not a field of the resource is a 400 (a typo must not pass silently);
      read-only fields are accepted and ignored, so a resource read with GET can be sent back.
    - Uniqueness is checked once, by the service's ``full_clean`` (and PostgreSQL in a race), which
      the API answers with 409; DRF's own unique validators would only repeat the query.
    - Related ids must be visible to the caller (``VisiblePrimaryKeyRelatedField``).
    - Dates and times are bounded to years 1900–2200 (``kam.api.fields``).
    """

    serializer_related_field = VisiblePrimaryKeyRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: BoundedDateField,
        models.DateTimeField: BoundedDateTimeField,
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)

    def build_field(self, field_name: str, info: Any, model_class: Any, nested_depth: int) -> Any:
        field_class, kwargs = super().build_field(field_name, info, model_class, nested_depth)
        if "validators" in kwargs:
            kwargs["validators"] = [v for v in kwargs["validators"] if not isinstance(v, UniqueValidator)]
        return field_class, kwargs

    def get_validators(self) -> list[Any]:
        return []


class FixedOnUpdateMixin:
    """Fields that identify a record (its ``account``…) are writable on creation only.

    The services keep a record on the account it was created for; PUT/PATCH show these fields as
    read-only (ignored if sent back) instead of failing inside the service.
    """

    fixed_on_update: tuple[str, ...] = ("account",)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()  # type: ignore[misc]
        if self.instance is not None and not isinstance(self.instance, list):  # type: ignore[attr-defined]
            for name in self.fixed_on_update:
                fields[name].read_only = True
        return fields


class StrictInputSerializer(serializers.Serializer):
    """The input of a verb (``accounts/{id}/tier-override/``…): like ``ApiModelSerializer``, a key
    that is not a field is a 400 rather than silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)
