"""Helpers for the service plans tests: a fixed clock and a way to run the evaluation."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings

from accounts.models import Account
from service_plans.alerts.engine import evaluate_all
from service_plans.models import Alert

TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
# A Wednesday at 10:00 local time: every rule test evaluates "as of" this instant.
NOW = dt.datetime(2026, 6, 17, 10, 0, tzinfo=TZ)
TODAY = NOW.date()


def set_tier(account: Account, tier: str) -> Account:
    """The tier is written by the tiering app only; tests set it directly."""
    Account.objects.filter(pk=account.pk).update(tier=tier)
    account.refresh_from_db()
    return account


def run(now: dt.datetime = NOW) -> dict:
    return evaluate_all(now=now)


def open_keys(account: Account | None = None) -> set[tuple[str, str, str]]:
    qs = Alert.objects.open()
    if account is not None:
        qs = qs.filter(account=account)
    return set(qs.values_list("rule", "reason", "priority"))


def reasons(account: Account) -> set[str]:
    return {reason for _, reason, _ in open_keys(account)}


@pytest.fixture
def now() -> dt.datetime:
    return NOW
