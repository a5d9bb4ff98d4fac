"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A read-only code stored as ``""`` when unknown, served as ``null`` (``tier``, ``health_band``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return value or None


class CodeListField(serializers.ListField):
    """A many-to-many relation to a table keyed by code, read and written as a list of codes."""

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=choices), **kwargs)

    def get_attribute(self, instance: Any) -> list[str]:
        # ``.all()`` is answered from the list's prefetch, so a page costs one query for all rows.
        return sorted(related.pk for related in getattr(instance, self.source).all())

    def to_internal_value(self, data: Any) -> list[str]:
        return list(dict.fromkeys(super().to_internal_value(data)))


# Business dates live in a sane window. Outside it a value may not survive the round trip: a UTC
# instant late on 9999-12-31 has no local-time representation, and date arithmetic (a renewal
# starts the day after the end) would overflow. Both would be a 500; bounding them makes a 400.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)
OUT_OF_RANGE = _("Enter a date between %(earliest)s and %(latest)s.")


class BoundedDateField(serializers.DateField):
    def to_internal_value(self, value: Any) -> dt.date:
        parsed = super().to_internal_value(value)
        if not EARLIEST <= parsed <= LATEST:
            raise serializers.ValidationError(OUT_OF_RANGE % {"earliest": EARLIEST, "latest": LATEST}, code="out_of_range")
        return parsed


class BoundedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed = super().to_internal_value(value)
        if not EARLIEST <= parsed.date() <= LATEST:
            raise serializers.ValidationError(OUT_OF_RANGE % {"earliest": EARLIEST, "latest": LATEST}, code="out_of_range")
        return parsed
