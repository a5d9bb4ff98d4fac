"""The embedded default (SQLite, in-process jobs) evaluates the alert rules and raises what PostgreSQL raises.

The same demo portfolio is built in a fresh SQLite file by the real commands (as a user of ``make run``
would), a champion's title is changed through the service (R4's "changed role" half reads the contact
history with hand-written SQL), and ``evaluate_alerts`` runs. The PostgreSQL test database does the
same in-process. Both must open the same alerts, except for the two signals documented as PostgreSQL
only (R1's RFM quintile drop and R8's score drop, docs/alerts.md), which SQLite skips.
"""

import json
from pathlib import Path

import pytest

from accounts.demo import seed_demo
from accounts.models import Contact
from accounts.services import contact_update
from service_plans.alerts.engine import evaluate_all
from service_plans.models import Alert
from tests.embedded import sqlite_manage
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.slow


def retitle_first_key_contact() -> str:
    """Rename the first economic buyer or champion of the first account (by name) that has one; return
    the account's name. The demo loads contacts in bulk (no history), so a first edit records the row
    the title change is compared to."""
    contact = (
        Contact.objects.filter(is_active=True, buying_roles__code__in=["economic_buyer", "coach_champion"])
        .order_by("account__name", "name", "pk")
        .first()
    )
    contact = contact_update(contact=contact, phone="+86 10 5555 0000")
    contact_update(contact=contact, title=(contact.title or "") + " (new role)")
    return contact.account.name


RETITLE = "from tests.service_plans.test_embedded import retitle_first_key_contact as r; print(r())"

DUMP = """
import json
from service_plans.models import Alert
print(json.dumps(sorted([a.account.name, a.rule, a.reason] for a in Alert.objects.select_related("account"))))
"""

POSTGRESQL_ONLY = {("R1", "rfm_drop"), ("R8", "health_drop")}


def _comparable(alerts: list[list[str]]) -> list[tuple[str, str, str]]:
    return sorted((name, rule, reason) for name, rule, reason in alerts if (rule, reason) not in POSTGRESQL_ONLY)


@pytest.mark.django_db
def test_sqlite_and_postgresql_raise_the_same_alerts(tmp_path: Path):
    manage = sqlite_manage(tmp_path)
    manage("migrate", "--noinput", "-v0")
    manage("seed_demo", "--accounts", "60", "--no-progress")
    manage("recompute_scores", "--no-progress")
    retitled = manage("shell", "-v0", "-c", RETITLE).strip()
    manage("evaluate_alerts", "--no-progress")
    on_sqlite = json.loads(manage("shell", "-v0", "-c", DUMP))

    seed_demo(accounts=60, seed=42)
    scores_recompute()
    assert retitle_first_key_contact() == retitled
    evaluate_all()
    on_postgresql = [[a.account.name, a.rule, a.reason] for a in Alert.objects.select_related("account")]

    # the retitled champion raised R4's "changed role" alert on both databases
    for alerts in (on_sqlite, on_postgresql):
        assert any(name == retitled and rule == "R4" and reason.endswith("_changed") for name, rule, reason in alerts)
    assert len({rule for _, rule, _ in on_postgresql}) >= 4  # a demo portfolio trips several rules
    assert _comparable(on_sqlite) == _comparable(on_postgresql)
