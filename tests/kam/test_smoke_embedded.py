"""The embedded default of `make run`: SQLite, eager tasks, migrate, seed, serve, log in, home page."""

import http.cookiejar
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


def test_embedded_default_serves_the_home_page(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.update({"KAM_ENV": "development", "KAM_VAR_DIR": str(tmp_path)})
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--accounts", "40", "--no-progress"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert "manager1   password: kam-demo-manager1" in seeded.stdout
    assert (tmp_path / "kam.sqlite3").exists()
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
