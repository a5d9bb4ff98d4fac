"""Build each scale's dataset once, in its own database, and reuse it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2

from bench.config import Scale, case_env

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "bench" / "datasets"


def _admin_connection(scale: Scale):
    base = scale.database_url.rsplit("/", 1)[0]
    conn = psycopg2.connect(f"{base}/postgres")
    conn.autocommit = True
    return conn


def _accounts_in(scale: Scale) -> int | None:
    try:
        conn = psycopg2.connect(scale.database_url)
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM accounts_account")
            return cursor.fetchone()[0]
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def _run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run a command, return (seconds, peak RSS in MiB) of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"bench: {' '.join(args)} failed with {proc.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss // 1024


def ensure_dataset(scale: Scale, *, rebuild: bool = False) -> dict[str, Any]:
    """Return the dataset's build record, building it first if it is missing or incomplete."""
    STATE.mkdir(exist_ok=True)
    record_file = STATE / f"{scale.name}.json"
    env = case_env(scale)
    present = _accounts_in(scale)
    if not rebuild and present == scale.accounts and record_file.exists():
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        record = json.loads(record_file.read_text())
        record["reused"] = True
        return record
    if scale.is_borrowed:
        if present != scale.accounts:
            raise SystemExit(
                f"bench: BENCH_DATABASE={scale.database} holds {present} accounts, not {scale.accounts:,}; "
                "copy a built dataset there (it is never rebuilt or dropped)"
            )
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        record = json.loads(record_file.read_text()) if record_file.exists() else {"seconds": None, "peak_mb": None}
        return {"built_at": "elsewhere", **record, "reused": True}
    print(f"bench: building the {scale.name} dataset ({scale.accounts:,} accounts) in database {scale.database}", flush=True)
    conn = _admin_connection(scale)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{scale.database}"')
        cursor.execute(f'CREATE DATABASE "{scale.database}"')
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seconds, peak_mb = _run([sys.executable, "manage.py", "seed_demo", "--accounts", str(scale.accounts), "--seed", "42"], env)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    record = {
        "scale": scale.name,
        "accounts": scale.accounts,
        "seconds": round(seconds, 2),
        "peak_mb": peak_mb,
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    record_file.write_text(json.dumps(record, indent=2))
    record["reused"] = False
    return record
