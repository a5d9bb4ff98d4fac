"""A run computes its families on several connections at once (``kam.parallel``) and publishes
exactly what it publishes computing them one after the other."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from accounts.demo import seed_demo
from kam.parallel import can_run_concurrently, run_concurrently
from reports.models import KpiRun, KpiValue
from reports.services import kpis_recompute

TODAY = dt.date(2026, 6, 30)
FIELDS = ("value", "numerator", "denominator", "n", "reason", "low_confidence", "is_partial", "target_status")


def _snapshot() -> dict:
    return {
        (v["code"], v["period"], v["scope"]): tuple(v[f] for f in FIELDS)
        for v in KpiValue.objects.values("code", "period", "scope", *FIELDS)
    }


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_families_on_two_connections_publish_what_one_connection_publishes(settings):
    seed_demo(accounts=120, seed=5, today=TODAY)
    assert can_run_concurrently()
    before = _backends()
    threads: set[str] = set()

    def opened(sender, connection, **kwargs):
        threads.add(threading.current_thread().name)

    settings.KAM_KPI_WORKERS = 2
    connection_created.connect(opened)
    try:
        parallel = kpis_recompute(as_of=TODAY)
    finally:
        connection_created.disconnect(opened)
    parallel_values = _snapshot()

    settings.KAM_KPI_WORKERS = 1
    serial = kpis_recompute(as_of=TODAY)

    assert parallel.status == serial.status == "published"
    assert _snapshot() == parallel_values
    assert len(parallel_values) > 1_000
    # The families ran on the pool's threads, each opening its own connection and closing it when
    # done: no backend left behind.
    assert len([name for name in threads if name.startswith("kam-parallel")]) == 2
    assert _backends() == before
    assert set(KpiRun.objects.get(pk=parallel.pk).timings) >= {"receivables", "retention", "programme"}


def test_inside_a_transaction_the_tasks_run_in_order_on_the_callers_connection(db):
    seen = []

    def task(n):
        return lambda: seen.append((n, threading.current_thread().name)) or n

    assert not can_run_concurrently()  # the test's transaction
    assert list(run_concurrently([task(1), task(2), task(3)], workers=4)) == [1, 2, 3]
    assert {name for _, name in seen} == {threading.current_thread().name}


@pytest.mark.django_db(transaction=True)
def test_an_error_in_one_task_is_raised_and_the_tasks_not_started_do_not_run():
    started = []

    def failing():
        started.append("failing")
        raise ValueError("boom")

    def slow():
        started.append("slow")
        time.sleep(0.5)
        return "slow"

    def later():
        started.append("later")
        time.sleep(0.2)
        return "later"

    with pytest.raises(ValueError, match="boom"):
        for _ in run_concurrently([slow, failing, later, later, later], workers=2):
            pass
    assert "slow" in started  # it was running: the error waited for it
    assert started.count("later") < 3  # the tasks still waiting were cancelled
