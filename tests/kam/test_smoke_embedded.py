"""The embedded default of `make run`: SQLite, eager tasks, the Makefile's own set-up commands (migrate,
seed, scores, alerts, KPIs), serve, log in, home page."""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run_commands(accounts: int) -> list[list[str]]:
    """The ``manage.py`` commands of the Makefile's ``run`` recipe, in order, with their arguments."""
    recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    commands = []
    for line in re.findall(r"\$\(MANAGE\) ([^&>\\\n]+)", recipe):
        args = line.replace("$(DEMO_ACCOUNTS)", str(accounts)).split()
        if args[0] != "runserver":
            commands.append(args)
    return commands


STATE = """
import json
from accounts.models import Account
from reports.models import KpiRun
from service_plans.models import Alert
print(json.dumps({"tiered": Account.objects.exclude(tier="").count(), "banded": Account.objects.exclude(health_band="").count(),
                  "alerts": Alert.objects.count(), "kpi_runs": KpiRun.objects.count()}))
"""


def test_embedded_default_serves_the_home_page(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.update({"KAM_ENV": "development", "KAM_VAR_DIR": str(tmp_path)})
    manage = [sys.executable, "manage.py"]
    commands = make_run_commands(40)
    assert [c[0] for c in commands] == [
        "compilemessages", "migrate", "seed_demo", "recompute_scores", "evaluate_alerts", "recompute_kpis",
    ]  # fmt: skip
    output = {}
    for args in commands:
        done = subprocess.run([*manage, *args], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True)
        output[args[0]] = done.stdout
    assert "manager1   password: kam-demo-manager1" in output["seed_demo"]
    assert (tmp_path / "kam.sqlite3").exists()
    # the demo opens with tiers, health bands, alerts and a KPI snapshot, not empty dashboards
    state = json.loads(subprocess.run(
        [*manage, "shell", "-v0", "-c", STATE], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True
    ).stdout)  # fmt: skip
    assert state["tiered"] > 20 and state["banded"] > 20 and state["alerts"] > 0 and state["kpi_runs"] == 1, state
    # a second `make run` computes nothing again the same day
    for args in commands[2:]:
        again = subprocess.run(
            [*manage, *args], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True
        ).stdout
        assert "up to date" in again or "already present" in again or "evaluated today" in again, (args, again)
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                login_page = opener.open(f"{base}/login/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        body = urllib.parse.urlencode(
            {"username": "manager1", "password": "kam-demo-manager1", "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(f"{base}/login/", data=body, headers={"Referer": f"{base}/login/"})
        home = opener.open(request, timeout=30)
        html = home.read().decode()
        assert home.url == f"{base}/"
        assert "Welcome, Li Wei" in html
        assert re.search(r'data-figure="accounts">(\d+)<', html).group(1) != "0"
    finally:
        server.terminate()
        server.wait(timeout=20)
