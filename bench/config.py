from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int

    @property
    def database(self) -> str:
        """``kam_bench_<scale>``, or ``BENCH_DATABASE``: a copy of a built dataset (``createdb -T
        kam_bench_full kam_mine_full``), so that a worktree can measure without touching, or
        rebuilding, the shared one."""
        return os.environ.get("BENCH_DATABASE") or f"kam_bench_{self.name}"

    @property
    def is_borrowed(self) -> bool:
        return bool(os.environ.get("BENCH_DATABASE"))

    @property
    def database_url(self) -> str:
        base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        return f"{base}/{self.database}"


SCALES = {
    "small": Scale("small", 10_000),
    "full": Scale("full", 100_000),
}


def case_env(scale: Scale) -> dict[str, str]:
    """Environment for a case subprocess: production-like (DEBUG off), the scale's database,
    tasks in-process (cases call the job runners directly and time them)."""
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "CACHE_URL", "DEBUG"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "kam.settings",
            "KAM_ENV": "test",
            "DATABASE_URL": scale.database_url,
            "KAM_DEMO_ALLOWED": "true",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env
