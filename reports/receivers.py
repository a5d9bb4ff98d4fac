"""Source data changed: mark the KPI families it feeds, once per transaction, after commit.

``reports`` only reads the other apps, so it listens to their models' save and delete signals
instead of asking their services to call it. The receiver does no work in the request: it adds the
families to a callback registered once per transaction; after commit the callback records them and,
if no refresh is pending, queues one delayed task (``reports.services.kpis_changed``). Bulk loads
that bypass ``save()`` (seeding, COPY imports) are covered by the nightly run or an explicit one.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from kam.events import event_published
from reports import catalogue as c

logger = logging.getLogger(__name__)

SOURCES: dict[str, tuple[str, ...]] = {
    "accounts.Account": c.FAMILIES,  # owner, region, group and status decide the scopes
    "accounts.Contract": (c.RETENTION, c.RENEWALS, c.PROGRAMME),
    "accounts.Invoice": (c.RECEIVABLES, c.CONCENTRATION),
    "accounts.ExchangeRate": (c.RETENTION, c.RENEWALS, c.RECEIVABLES, c.CONCENTRATION),
    "service_plans.SurveyResponse": (c.SATISFACTION,),
    "service_plans.ServiceRequest": (c.SERVICE,),
    "service_plans.Project": (c.PROGRAMME,),
    "service_plans.Alert": (c.RETENTION,),  # ARR at risk; hand edits (snooze, close) save one by one
}
# The rows whose change a refresh can apply group by group (``reports.engine.facts``): the accounts
# they belong to, before and after the change, and for contracts the contracts they renew or are
# renewed by (whose groups' renewal and retention sums move too). Any other change is "unknown":
# the refresh then recomputes its families whole.
BY_ACCOUNT = {
    "accounts.Contract",
    "accounts.Invoice",
    "service_plans.SurveyResponse",
    "service_plans.ServiceRequest",
    "service_plans.Project",
}
LINK_FIELDS = ("renewal_of_id", "superseded_by_id")
TRACKED = ("account_id", *LINK_FIELDS)
MAX_TRACKED = 200  # more changed rows than this: a whole recompute is cheaper than one per group
TIER_EVENTS = {"account.tier_changed"}
# Alerts are written in bulk by the evaluation run (no save signals): their events say what changed.
# Opening, raising or closing an alert moves ARR at risk (retention family).


class _AfterCommit:
    """The transaction's one callback; later changes in the same transaction add their families."""

    def __init__(self) -> None:
        self.families: set[str] = set()
        self.changed: dict[str, set[int]] | None = {"accounts": set(), "contracts": set()}
        self.done = False

    def add(self, families: tuple[str, ...] | set[str], changed: dict[str, set[int]] | None) -> None:
        self.families.update(families)
        if self.changed is None or changed is None:
            self.changed = None
            return
        for key, ids in changed.items():
            self.changed[key].update(ids)
        if sum(len(ids) for ids in self.changed.values()) > MAX_TRACKED:
            self.changed = None

    def __call__(self) -> None:
        from reports.services import kpis_changed

        self.done = True
        changed = None if self.changed is None else {key: sorted(ids) for key, ids in self.changed.items()}
        kpis_changed(families=self.families, changed=changed)


def mark_changed(families: tuple[str, ...] | set[str], changed: dict[str, set[int]] | None = None) -> None:
    """``changed``: the accounts and contracts concerned, or None if not known (refresh whole)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _savepoints, callback, _robust in connection.run_on_commit:
            if isinstance(callback, _AfterCommit) and not callback.done:
                callback.add(families, changed)
                return
    callback = _AfterCommit()
    callback.add(families, changed)
    # robust: a failure to record the change is logged and never fails the user's committed write.
    transaction.on_commit(callback, robust=True)


def _source_changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    mark_changed(SOURCES[sender._meta.label], _changed_rows(sender._meta.label, kwargs["instance"]))


def _remember_loaded(sender: Any, instance: Any, **kwargs: Any) -> None:
    """The tracked columns as loaded, to know the account (and links) a row had before a change."""
    instance._kpi_loaded = tuple(instance.__dict__.get(name, ...) for name in TRACKED)


def _changed_rows(label: str, instance: Any) -> dict[str, set[int]] | None:
    if label not in BY_ACCOUNT:
        return None
    loaded = getattr(instance, "_kpi_loaded", (...,) * len(TRACKED))
    current = tuple(instance.__dict__.get(name, ...) for name in TRACKED)
    if ... in (loaded[0], current[0]) or None in (loaded[0], current[0]):
        return None  # the account is not known (a deferred field)
    changed = {"accounts": {loaded[0], current[0]}, "contracts": set()}
    if label == "accounts.Contract":
        if instance.pk is None:
            return None
        changed["contracts"] = {instance.pk, *(v for v in (*loaded[1:], *current[1:]) if v is not None and v is not ...)}
        if ... in loaded[1:] or ... in current[1:]:
            return None
    return changed


def _tier_event(sender: Any, name: str, payloads: list[dict[str, Any]], **kwargs: Any) -> None:
    if name in TIER_EVENTS:
        mark_changed(c.FAMILIES)
    elif name.startswith("alert."):
        mark_changed((c.RETENTION,))


def connect() -> None:
    for label in SOURCES:
        model = apps.get_model(label)
        uid = f"reports.source_changed.{label}"
        post_save.connect(_source_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(_source_changed, sender=model, dispatch_uid=f"{uid}.delete")
        if label in BY_ACCOUNT:
            post_init.connect(_remember_loaded, sender=model, dispatch_uid=f"{uid}.init")
    event_published.connect(_tier_event, dispatch_uid="reports.tier_changed")
