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
from django.db.models.signals import post_delete, post_save

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
TIER_EVENTS = {"account.tier_changed"}
# Alerts are written in bulk by the evaluation run (no save signals): their events say what changed.
# Opening, raising or closing an alert moves ARR at risk (retention family).


class _AfterCommit:
    """The transaction's one callback; later changes in the same transaction add their families."""

    def __init__(self) -> None:
        self.families: set[str] = set()
        self.done = False

    def __call__(self) -> None:
        from reports.services import kpis_changed

        self.done = True
        kpis_changed(families=self.families)


def mark_changed(families: tuple[str, ...] | set[str]) -> None:
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _savepoints, callback, _robust in connection.run_on_commit:
            if isinstance(callback, _AfterCommit) and not callback.done:
                callback.families.update(families)
                return
    callback = _AfterCommit()
    callback.families.update(families)
    # robust: a failure to record the change is logged and never fails the user's committed write.
    transaction.on_commit(callback, robust=True)


def _source_changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    mark_changed(SOURCES[sender._meta.label])


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
    event_published.connect(_tier_event, dispatch_uid="reports.tier_changed")
