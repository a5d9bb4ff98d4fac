"""Recent changes from simple-history, with what changed, in a fixed number of queries.

For each tracked model: one query for the latest history rows in scope, each annotated with the id
of the row before it (a correlated subquery on the history table's (id, history_date) index), and
one query for those previous rows; the field-by-field diff is then made in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import OuterRef, Q, Subquery
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
    # The field's name and the stored values (codes, ids), for callers that need more than the labels.
    name: str = ""
    old_value: Any = None
    new_value: Any = None


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


def _diff(model: type[models.Model], row: Any, previous: Any, only: Collection[str] | None = None) -> list[FieldChange]:
    """The fields (all tracked ones, or those named in ``only``) that differ between two history rows."""
    changes = []
    for f in _tracked_fields(model):
        if only is not None and f.name not in only:
            continue
        old, new = getattr(previous, f.attname), getattr(row, f.attname)
        if old != new:
            raw = {"name": f.name, "old_value": old, "new_value": new}
            if f.is_relation:
                # Showing the related object's name would cost a query per change; say that it changed.
                changes.append(FieldChange(label=f.verbose_name, old="…", new="…", **raw))
            else:
                changes.append(FieldChange(label=f.verbose_name, old=_display(f, old), new=_display(f, new), **raw))
    return changes


SCOPES: list[tuple[type[models.Model], str, str]] = [
    # model, account lookup on its history rows, label field
    (Account, "id", "name"),
    (Contact, "account_id", "name"),
    (Contract, "account_id", "number"),
    (Invoice, "account_id", "number"),
]


def recent_changes(*, account_filter: Callable[[str], Q], limit: int = 15) -> list[Change]:
    """The ``limit`` latest changes to accounts and their contacts, contracts and invoices.

    ``account_filter(lookup)`` returns the condition on a history table's account column (an id, a
    list, or a subquery of visible account ids), so callers apply the visibility rule.
    """
    changes: list[Change] = []
    for model, lookup, label_field in SCOPES:
        history = model.history.model
        previous_id = (
            history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
            .order_by("-history_date", "-history_id")
            .values("history_id")[:1]
        )
        rows = list(
            history.objects.filter(account_filter(lookup))
            .select_related("history_user")
            .annotate(previous_history_id=Subquery(previous_id))
            .order_by("-history_date", "-history_id")[:limit]
        )
        wanted = [r.previous_history_id for r in rows if r.history_type == "~" and r.previous_history_id]
        # Always one query (``[0]`` matches nothing), so the page's query count does not depend on the data.
        previous = {p.history_id: p for p in history.objects.filter(history_id__in=wanted or [0])}
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
