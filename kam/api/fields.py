"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

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
