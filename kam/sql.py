"""SQL helpers for set-based lookups (imports match keys with them, pages filter by the visible ids)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import F, Lookup


class AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as one array parameter on PostgreSQL, ``IN (...)``
    elsewhere. A chunk's 2,000 keys cost one parameter to send and to plan instead of 2,000, and
    PostgreSQL still uses the column's (partial) index for it."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        field = self.lhs.output_field
        # Integers for an integer column (the pages' visible account ids, thousands per query) go as
        # they are; anything else is prepared as the field would prepare it for an ``=``.
        ids = isinstance(getattr(field, "target_field", field), models.IntegerField) and all(type(v) is int for v in values)
        if not ids:
            values = [field.get_db_prep_value(field.get_prep_value(v), connection) for v in values]
        if not values:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            # Typed as the id columns are: an untyped integer array costs the planner a cross-type compare.
            return f"{lhs} = ANY(%s{'::bigint[]' if ids else ''})", [*lhs_params, values]
        marks = ", ".join(["%s"] * len(values))
        return f"{lhs} IN ({marks})", [*lhs_params, *values]


def any_of(field: str | Any, values: Iterable[Any]) -> AnyOf:
    """A filter expression: ``Model.objects.filter(any_of("number", numbers))``."""
    return AnyOf(F(field) if isinstance(field, str) else field, list(values))
