"""`make test` fails loudly, naming what to start, when a service is missing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _preflight(**env):
    return subprocess.run(
        [sys.executable, "-m", "kam.preflight"], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )


def test_missing_postgres_names_the_command_to_start_it():
    result = _preflight(DATABASE_URL="postgres://postgres@127.0.0.1:1/kam")
    assert result.returncode == 1
    assert "PostgreSQL is not available" in result.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect" in result.stderr


def test_missing_redis_names_the_command_to_start_it():
    result = _preflight(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "Redis is not available" in result.stderr
    assert "redis-server --daemonize yes" in result.stderr


def test_both_present():
    result = _preflight()
    assert result.returncode == 0, result.stderr
