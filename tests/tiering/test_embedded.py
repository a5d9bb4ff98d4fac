"""The embedded default (SQLite, in-process jobs) runs the score job and gets what PostgreSQL gets.

The same demo portfolio is built in a fresh SQLite file by the real commands (``migrate``,
``seed_demo``, ``recompute_scores``, as a user of ``make run`` would) and in the PostgreSQL test
database; two runs a quarter apart, a group churning between them (the second run closes its tier
assignment), must leave every
account with the same tier, ABC class, value score and health band on both.
"""

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.db.models import Q

from accounts.demo import seed_demo
from accounts.models import Account
from tests.embedded import sqlite_manage
from tiering.models import TierAssignment
from tiering.recompute import scores_recompute

FIRST, SECOND = "2026-06-30", "2026-10-05"
pytestmark = pytest.mark.slow

# Between the runs one group churns, so the second run closes its tier assignment.
CHURN = "from tests.tiering.test_embedded import churn_first_group; churn_first_group()"


def churn_first_group() -> None:
    root = Account.objects.filter(parent__isnull=True).exclude(tier="").order_by("name").first()
    Account.objects.filter(Q(pk=root.pk) | Q(group_root=root)).update(status="churned")


DUMP = """
import json
from accounts.models import Account
from tiering.models import TierAssignment
print(json.dumps({
    "accounts": {a.name: [a.tier, a.abc_class, None if a.value_score is None else str(a.value_score), a.health_band]
                 for a in Account.objects.all()},
    "closed": TierAssignment.objects.filter(valid_to__isnull=False).count(),
}))
"""


def _on_sqlite(tmp_path: Path) -> dict:
    manage = sqlite_manage(tmp_path)

    manage("migrate", "--noinput", "-v0")
    manage("seed_demo", "--accounts", "60", "--today", FIRST, "--no-progress")
    manage("recompute_scores", "--as-of", FIRST, "--no-progress")
    manage("shell", "-v0", "-c", CHURN)
    manage("recompute_scores", "--as-of", SECOND, "--no-progress")
    return json.loads(manage("shell", "-v0", "-c", DUMP))


@pytest.mark.django_db
def test_sqlite_and_postgresql_score_the_same(tmp_path):
    on_sqlite = _on_sqlite(tmp_path)
    seed_demo(accounts=60, seed=42, today=dt.date.fromisoformat(FIRST))
    scores_recompute(as_of=dt.date.fromisoformat(FIRST))
    churn_first_group()
    scores_recompute(as_of=dt.date.fromisoformat(SECOND))
    on_postgresql = {
        a.name: [a.tier, a.abc_class, None if a.value_score is None else str(a.value_score), a.health_band]
        for a in Account.objects.all()
    }
    assert set(on_sqlite["accounts"]) == set(on_postgresql)
    assert sum(1 for v in on_postgresql.values() if v[0]) > len(on_postgresql) / 2  # most accounts have a tier
    different = {}
    for name, (tier, abc, score, band) in on_postgresql.items():
        lite = on_sqlite["accounts"][name]
        # SQLite sums money in floating point: a score may differ in its last decimal.
        same_score = (score is None) == (lite[2] is None) and (score is None or abs(D(score) - D(lite[2])) <= D("0.01"))
        if [tier, abc, band] != [lite[0], lite[1], lite[3]] or not same_score:
            different[name] = ([tier, abc, score, band], lite)
    assert not different, list(different.items())[:10]
    assert on_sqlite["closed"] == TierAssignment.objects.filter(valid_to__isnull=False).count() > 0
