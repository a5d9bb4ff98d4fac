"""DOMAIN.md §5.5: per signal, precision (alerts followed by churn or contraction within 180 days)
and lead time, judged from contracts; young alerts are pending; the visibility rule applies."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports.calibration import alert_calibration
from service_plans.models import Alert
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 12, 31)


def alert(account, rule, opened_on, reason="x"):
    return Alert.objects.create(
        account=account, rule=rule, reason=reason, priority="high", due_on=opened_on, last_triggered_on=opened_on,
        opened_at=timezone.make_aware(dt.datetime.combine(opened_on, dt.time(12))),
    )  # fmt: skip


def test_precision_and_lead_time_per_signal(account_manager):
    opened = dt.date(2026, 1, 10)
    churned, contracted, renewed, late, young = (AccountFactory(owner=account_manager) for _ in range(5))
    # Churn: ends 100 days after the alert, no renewal.
    ContractFactory(account=churned, start_date=dt.date(2025, 4, 20), end_date=opened + dt.timedelta(days=100))
    # Contraction: renewed 60 days after the alert at a lower value.
    old = ContractFactory(account=contracted, end_date=opened + dt.timedelta(days=59))
    ContractFactory(
        account=contracted, renewal_of=old, start_date=opened + dt.timedelta(days=60),
        end_date=opened + dt.timedelta(days=424), annual_value=Decimal("800000"),
    )  # fmt: skip
    # Renewed at the same value: not followed.
    old = ContractFactory(account=renewed, end_date=opened + dt.timedelta(days=29))
    ContractFactory(
        account=renewed, renewal_of=old, start_date=opened + dt.timedelta(days=30), end_date=opened + dt.timedelta(days=394)
    )
    # Churn 181 days later: outside the window.
    ContractFactory(account=late, start_date=dt.date(2025, 8, 1), end_date=opened + dt.timedelta(days=181))
    for account in (churned, contracted, renewed, late):
        alert(account, "R1", opened)
    alert(churned, "R2", opened)
    alert(young, "R1", AS_OF - dt.timedelta(days=30))  # too young to judge
    rows = {r.rule: r for r in alert_calibration(user=account_manager, start=dt.date(2026, 1, 1), end=AS_OF, as_of=AS_OF)}
    r1 = rows["R1"]
    assert (r1.fired, r1.pending, r1.judged, r1.followed) == (5, 1, 4, 2)
    assert r1.precision == Decimal("0.5000") and r1.median_lead_days == 80  # leads of 100 and 60 days
    assert r1.mean_lead_days == 80 and r1.low_sample  # 4 judged: fewer than the KPIs' minimum sample
    assert (rows["R2"].precision, rows["R2"].median_lead_days) == (Decimal("1.0000"), 100)


def test_only_visible_alerts_count_and_nothing_judged_is_unknown_not_zero(account_manager, other_manager, executive):
    theirs = AccountFactory(owner=other_manager)
    alert(theirs, "R3", AS_OF - dt.timedelta(days=10))
    assert alert_calibration(user=account_manager, start=dt.date(2026, 1, 1), end=AS_OF, as_of=AS_OF) == []
    [row] = alert_calibration(user=executive, start=dt.date(2026, 1, 1), end=AS_OF, as_of=AS_OF)
    assert (row.rule, row.pending, row.judged, row.precision, row.median_lead_days) == ("R3", 1, 0, None, None)


def test_the_command_prints_one_line_per_signal(account_manager):
    account = AccountFactory(owner=account_manager)
    ContractFactory(account=account, start_date=dt.date(2025, 3, 1), end_date=dt.date(2026, 3, 1))
    alert(account, "R5", dt.date(2026, 1, 1))
    out = StringIO()
    call_command("alert_calibration", "--from", "2026-01-01", "--to", "2026-03-31", "--as-of", "2026-12-31", stdout=out)
    assert out.getvalue().splitlines()[1] == "R5\t1\t0\t1\t1\t100.00%\t59"
