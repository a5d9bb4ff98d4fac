"""Domain events: what happened, announced once the change is committed.

Apps announce changes with ``publish`` (or ``publish_many`` for a whole run's worth) and other apps
subscribe to ``event_published``: service plans regenerate on ``account.tier_changed``,
notifications tell owners, webhooks deliver to subscribers. The event types are the webhook event
types of the REST API, so one name means one thing everywhere.

Receivers run after commit, in the committing process: they must be quick (queue a task for slow
work) and must not raise (a failing receiver is logged, the others still run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(
    {
        "account.tier_changed",  # account_id, old_tier, new_tier, reason, effective_on
        "account.health_band_changed",  # account_id, old_band, new_band, score, delta_30d
        "alert.opened",  # alert_id, account_id, rule, priority
        "alert.closed",  # alert_id, account_id, rule, outcome
        "contract.renewed",  # contract_id, renewal_id, account_id
        "contract.expiring",  # contract_id, account_id, end_date, days_left
        "kpis.recomputed",  # job_id, periods
    }
)

# Sent with ``name`` (one of EVENT_TYPES) and ``payloads`` (a list of JSON-ready dicts).
event_published = Signal()


def publish_many(name: str, payloads: Iterable[dict[str, Any]]) -> None:
    if name not in EVENT_TYPES:
        raise ValueError(f"unknown event type {name!r}")
    payloads = list(payloads)
    if not payloads:
        return

    def send() -> None:
        for receiver, result in event_published.send_robust(sender=None, name=name, payloads=payloads):
            if isinstance(result, Exception):
                logger.error("event receiver %r failed on %s", receiver, name, exc_info=result)

    transaction.on_commit(send)


def publish(name: str, payload: dict[str, Any]) -> None:
    publish_many(name, [payload])
