"""Recent changes from simple-history, with what changed, in a fixed number of queries.

For each tracked model, one query: the latest history rows in scope and the rows just before them
(each row's predecessor is a correlated subquery on the history table's (id, history_date) index),
or two when the scope is a large array of ids (see ``recent_changes``); the field-by-field diff is
then made in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, Subquery, Value
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Contract, Invoice

# Bookkeeping columns that change on every save and say nothing to a reader.
IGNORED_FIELDS = {"version", "updated_at", "created_at", "id"}
ACTIONS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


@dataclass
class FieldChange:
    label: Any
    old: Any
    new: Any


@dataclass
class Change:
    at: dt.datetime
    user: Any
    action: str
    model_label: Any
    object_label: str
    object_id: int
    account_id: int | None
    kind: str
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def action_label(self) -> Any:
        return ACTIONS.get(self.action, self.action)


def _display(instance_field: models.Field, value: Any) -> Any:
    if value in (None, ""):
        return "—"
    if instance_field.choices:
        return dict(instance_field.flatchoices).get(value, value)
    if isinstance(instance_field, models.BooleanField):
        return _("yes") if value else _("no")
    return value


def _tracked_fields(model: type[models.Model]) -> list[models.Field]:
    history_model = model.history.model
    names = {f.name for f in history_model._meta.fields}
    return [f for f in model._meta.concrete_fields if f.name in names and f.name not in IGNORED_FIELDS and f.editable]


def _diff(model: type[models.Model], row: Any, previous: Any) -> list[FieldChange]:
    changes = []
    for f in _tracked_fields(model):
        old, new = getattr(previous, f.attname), getattr(row, f.attname)
        if old != new:
            if f.is_relation:
                # Showing the related object's name would cost a query per change; say that it changed.
                changes.append(FieldChange(label=f.verbose_name, old="…", new="…"))
            else:
                changes.append(FieldChange(label=f.verbose_name, old=_display(f, old), new=_display(f, new)))
    return changes


SCOPES: list[tuple[type[models.Model], str, str]] = [
    # model, account lookup on its history rows, label field
    (Account, "id", "name"),
    (Contact, "account_id", "name"),
    (Contract, "account_id", "number"),
    (Invoice, "account_id", "number"),
]


def recent_changes(*, account_filter: Callable[[str], Q], limit: int = 15, large_filter: bool = False) -> list[Change]:
    """The ``limit`` latest changes to accounts and their contacts, contracts and invoices.

    ``account_filter(lookup)`` returns the condition on a history table's account column (an id, a
    list, or a subquery of visible account ids), so callers apply the visibility rule.

    One query per model reads the latest rows and the rows before them, which names the condition
    three times. ``large_filter``: the condition carries a large array of ids (``web.visible``),
    which PostgreSQL takes a few milliseconds to plan each time it appears; then the latest rows
    are read first and the rows before them by id (two queries per model, one array each).
    """
    changes: list[Change] = []
    ordering = ("-history_date", "-history_id")
    for model, lookup, label_field in SCOPES:
        history = model.history.model
        previous_id = (
            history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
            .order_by(*ordering)
            .values("history_id")[:1]
        )
        scope = account_filter(lookup)
        latest = history.objects.filter(scope).order_by(*ordering)[:limit]
        if large_filter:
            rows = list(latest.select_related("history_user").annotate(previous_history_id=Subquery(previous_id)))
            wanted = [r.previous_history_id for r in rows if r.history_type == "~" and r.previous_history_id]
            # Always one query (``[0]`` matches nothing), so the page's query count does not depend on the data.
            previous = {p.history_id: p for p in history.objects.filter(history_id__in=wanted or [0])}
        else:
            before_latest = (
                history.objects.filter(history_id__in=latest.values("history_id"))
                .annotate(previous_history_id=Subquery(previous_id))
                .values("previous_history_id")
            )
            # The latest rows in scope and the rows before them. A row before one of the latest may
            # be out of scope (a contact that moved from another account): only rows in scope are
            # listed, and those that are not among the latest are older than all of them, so the
            # first ``limit`` rows in scope, in order, are the latest.
            fetched = list(
                history.objects.filter(Q(history_id__in=latest.values("history_id")) | Q(history_id__in=before_latest))
                .select_related("history_user")
                .annotate(
                    previous_history_id=Subquery(previous_id),
                    in_scope=ExpressionWrapper(scope, output_field=BooleanField()) if scope else Value(True),
                )
                .order_by(*ordering)
            )
            rows = [row for row in fetched if row.in_scope][:limit]
            previous = {p.history_id: p for p in fetched}
        for row in rows:
            before = previous.get(row.previous_history_id)
            changes.append(
                Change(
                    at=row.history_date,
                    user=row.history_user,
                    action=row.history_type,
                    model_label=model._meta.verbose_name,
                    object_label=str(getattr(row, label_field)),
                    object_id=row.id,
                    account_id=row.id if model is Account else row.account_id,
                    kind=model._meta.model_name,
                    fields=_diff(model, row, before) if before is not None else [],
                )
            )
    changes.sort(key=lambda c: c.at, reverse=True)
    return changes[:limit]
