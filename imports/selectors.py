"""Reads behind the import pages (and, in round 2, the API)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404

from imports.definitions import SPECS
from imports.models import ImportRecord
from kam.roles import is_administrator


def import_list(*, user: Any) -> models.QuerySet[ImportRecord]:
    """A user's own imports; administrators see everyone's. Files are never loaded here."""
    queryset = ImportRecord.objects.select_related("user", "job").defer("errors", "headers")
    return queryset if is_administrator(user) else queryset.filter(user=user)


def import_get(*, user: Any, pk: int) -> ImportRecord:
    """An import the user may see, or 404 (someone else's import does not exist for them)."""
    try:
        return ImportRecord.objects.select_related("user", "job").get(pk=pk, **({} if is_administrator(user) else {"user": user}))
    except ImportRecord.DoesNotExist:
        raise Http404 from None


def importable_kinds(*, user: Any) -> list[str]:
    """The kinds the user may import: those whose model they may both add and change."""
    kinds = []
    for kind, spec in SPECS.items():
        meta = spec.model._meta
        if user.has_perm(f"{meta.app_label}.add_{meta.model_name}") and user.has_perm(
            f"{meta.app_label}.change_{meta.model_name}"
        ):
            kinds.append(kind)
    return kinds
