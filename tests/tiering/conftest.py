"""Fixtures of the tiering tests: the active default model and a compact way to build portfolios."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone

from accounts.models import Invoice
from kam.bulk import bulk_insert
from tiering.defaults import install_default_model
from tiering.models import ScoringFactor, ScoringModel

_numbers = count(1)


@pytest.fixture
def scoring_model(db):
    """The active model: the migrated §8 defaults (re-installed if a transactional test flushed them)."""
    if not ScoringModel.objects.filter(is_active=True).exists():
        install_default_model(ScoringModel, ScoringFactor)
    return ScoringModel.objects.get(is_active=True)


def aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def add_invoices(rows: list[dict]) -> None:
    """Insert invoices in bulk (COPY), as imports do; keys as Invoice fields."""
    columns = ("account_id", "number", "issued_on", "due_on", "amount", "currency", "margin_amount", "paid_on", "is_disputed")
    bulk_insert(
        Invoice,
        columns,
        [
            (
                r["account"].pk if "account" in r else r["account_id"],
                f"T-{next(_numbers):08d}",
                r["issued_on"],
                r.get("due_on", r["issued_on"] + dt.timedelta(days=30)),
                Decimal(r["amount"]),
                r.get("currency", "CNY"),
                None if r.get("margin") is None else Decimal(r["margin"]),
                r.get("paid_on"),
                r.get("is_disputed", False),
            )
            for r in rows
        ],
    )


RATING = {"map": {"1": 0, "2": 25, "3": 50, "4": 75, "5": 100}}


@pytest.fixture
def ratings_model(scoring_model):
    """An active model whose value score is the market-influence rating alone (1 → 0 … 5 → 100),
    so tests steer scores by editing one field; health keeps the default factors."""
    from tiering import services

    def make(**fields):
        factors = [
            {
                "purpose": "value",
                "code": "MI",
                "measure": "market_influence",
                "scorer": "ordinal_map",
                "params": RATING,
                "weight": Decimal(1),
            }
        ]
        factors += [
            {
                "purpose": f.purpose,
                "code": f.code,
                "measure": f.measure,
                "scorer": f.scorer,
                "params": f.params,
                "weight": f.weight,
            }
            for f in scoring_model.factors.filter(purpose="health")
        ]
        model = services.scoring_model_save(fields={"name": "ratings only", **fields}, factors=factors)
        return services.scoring_model_activate(model=model)

    return make


@pytest.fixture
def events():
    """Domain events published (after commit) during the test, as (name, payload) pairs."""
    from kam.events import event_published

    seen: list[tuple[str, dict]] = []

    def receiver(sender, name, payloads, **kwargs):
        seen.extend((name, payload) for payload in payloads)

    event_published.connect(receiver, dispatch_uid="tiering-test-events")
    yield seen
    event_published.disconnect(dispatch_uid="tiering-test-events")
