"""Running KAM's real management commands on the embedded default (a fresh SQLite file), as `make run` does."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sqlite_manage(tmp_path: Path) -> Callable[..., str]:
    """``manage(*args)`` runs ``manage.py`` in a subprocess on a SQLite file in ``tmp_path`` (no broker,
    no cache) and returns its standard output; a failing command fails the test."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.update({"KAM_ENV": "development", "KAM_VAR_DIR": str(tmp_path)})

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=600, capture_output=True, text=True
        )
        return done.stdout

    return manage
