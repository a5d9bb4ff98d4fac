"""The embedded default (SQLite, in-process jobs) computes the same KPIs as PostgreSQL.

The same demo portfolio is built in a fresh SQLite file by the real commands (`migrate`,
`seed_demo`, `recompute_kpis`, as `make run` does) and in the PostgreSQL test database; every
published value must agree (SQLite sums in floating point, hence the relative tolerance).
"""

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from accounts.demo import seed_demo
from accounts.models import Account
from reports.models import KpiValue
from reports.services import kpis_recompute
from tests.embedded import sqlite_manage

TODAY = "2026-06-30"
pytestmark = pytest.mark.slow

# The tiering app's job, done by hand so that the key-account KPIs have data.
SET_TIERS = """
from accounts.models import Account
for root in Account.objects.filter(parent__isnull=True):
    Account.objects.filter(pk=root.pk).update(tier="T%d" % (root.pk % 4 + 1))
"""
DUMP = """
import json
from reports.models import KpiValue
print(json.dumps({"|".join((v.code, v.period, v.scope)): [None if v.value is None else str(v.value), v.reason, v.n] for v in KpiValue.objects.all()}))
"""


def _snapshot() -> dict[str, list]:
    return {
        "|".join((v.code, v.period, v.scope)): [None if v.value is None else str(v.value), v.reason, v.n]
        for v in KpiValue.objects.all()
    }


def _sqlite_snapshot(tmp_path: Path) -> dict[str, list]:
    manage = sqlite_manage(tmp_path)

    manage("migrate", "--noinput", "-v0")
    manage("seed_demo", "--accounts", "80", "--today", TODAY, "--no-progress")
    manage("shell", "-v0", "-c", SET_TIERS)
    assert "Published" in manage("recompute_kpis", "--as-of", TODAY, "--no-progress")
    assert (tmp_path / "kam.sqlite3").exists()
    return json.loads(manage("shell", "-v0", "-c", DUMP))


@pytest.mark.django_db
def test_sqlite_and_postgresql_publish_the_same_kpis(tmp_path):
    on_sqlite = _sqlite_snapshot(tmp_path)
    seed_demo(accounts=80, seed=42, today=dt.date.fromisoformat(TODAY))
    for root in Account.objects.filter(parent__isnull=True):
        Account.objects.filter(pk=root.pk).update(tier=f"T{root.pk % 4 + 1}")
    kpis_recompute(as_of=dt.date.fromisoformat(TODAY))
    on_postgresql = _snapshot()
    assert set(on_sqlite) == set(on_postgresql)
    assert sum(v[0] is not None for v in on_postgresql.values()) > len(on_postgresql) / 2
    different = {}
    for key, (pg_value, pg_reason, pg_n) in on_postgresql.items():
        lite_value, lite_reason, lite_n = on_sqlite[key]
        same = (pg_reason, pg_n, pg_value is None) == (lite_reason, lite_n, lite_value is None) and (
            pg_value is None or abs(D(pg_value) - D(lite_value)) <= D("1e-6") * max(1, abs(D(pg_value)))
        )
        if not same:
            different[key] = (on_postgresql[key], on_sqlite[key])
    assert not different, list(different.items())[:10]
