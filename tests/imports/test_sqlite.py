"""The embedded default (SQLite, `make run`) imports too: the portable write path, end to end."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CHECK = """
import django, os
django.setup()
from django.db import transaction
from accounts.hierarchy import hierarchy_rebuild
from accounts.models import Account, AccountAncestry
from imports.services import import_record_create, import_run
from django.contrib.auth import get_user_model

manager = get_user_model().objects.get(username="manager1")
first = Account.objects.filter(owner=manager, parent=None).order_by("pk").first()
rows = "external_id,name,parent\\nNEW-2,New child,NEW-1\\nNEW-1,New parent,\\n" + f"{first.external_id},{first.name},NEW-2\\n"
record = import_record_create(user=manager, kind="accounts", file_name="a.csv", content=rows.encode())
record = import_run(record=record, dry_run=False)
print("status", record.status, record.created_count, record.updated_count, record.errors)
snapshot = lambda: (set(AccountAncestry.objects.values_list("ancestor_id", "descendant_id", "depth")),
                    dict(Account.objects.values_list("id", "group_root_id")))
before = snapshot()
with transaction.atomic():
    hierarchy_rebuild()
    after = snapshot()
    transaction.set_rollback(True)
print("hierarchy", before == after, Account.objects.get(external_id="NEW-1").version, first.history.latest().history_type)
"""


def test_sqlite_round_trip_and_hierarchy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.update({"KAM_ENV": "development", "KAM_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "kam.settings"})
    manage = [sys.executable, "manage.py"]

    def run(*args):
        return subprocess.run([*manage, *args], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True).stdout

    run("migrate", "--noinput", "-v0")
    run("seed_demo", "--accounts", "30", "--no-progress")
    for kind in ("accounts", "contacts", "contracts", "invoices", "meetings", "survey_responses"):
        path = tmp_path / f"{kind}.csv"
        run("export_data", str(path), "--kind", kind)
        out = run("import_data", str(path), "--kind", kind, "--user", "admin", "--no-progress")
        assert " 0 created, 0 updated, " in out and "0 errors. Status: Imported." in out, out
    check = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True
    )
    assert "status done 2 1 []" in check.stdout, check.stdout + check.stderr
    assert "hierarchy True 1 ~" in check.stdout, check.stdout
