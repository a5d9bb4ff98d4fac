"""Check that the services the test suite needs are reachable, and say how to start them if not.

``make test`` runs this first: a missing PostgreSQL or Redis fails the run in a second with the
command to run, instead of a hundred connection errors.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def _check_postgres(url: str) -> str | None:
    import psycopg2

    parsed = urlparse(url)
    try:
        conn = psycopg2.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password or None,
            dbname="postgres",
            connect_timeout=3,
        )
        # makemigrations --check connects to the configured database itself: make sure it exists.
        name = (parsed.path or "/").lstrip("/") or "kam"
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
    except psycopg2.OperationalError as exc:
        return (
            f"cannot connect to {parsed.hostname}:{parsed.port or 5432} as {parsed.username or 'postgres'} ({str(exc).strip()})"
        )
    return None


def _check_redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"cannot reach {url} ({exc})"
    return None


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    problems = []
    if not database_url.startswith(("postgres://", "postgresql://")):
        problems.append(("PostgreSQL", f"DATABASE_URL must point at PostgreSQL for the tests, got {database_url!r}"))
    elif error := _check_postgres(database_url):
        problems.append(("PostgreSQL", error))
    if not broker_url.startswith("redis://"):
        problems.append(("Redis", f"CELERY_BROKER_URL must point at Redis for the tests, got {broker_url!r}"))
    elif error := _check_redis(broker_url):
        problems.append(("Redis", error))
    for service, error in problems:
        print(f"\n*** {service} is not available: {error}", file=sys.stderr)
        print(f"*** Start it with:  {HINTS[service]}", file=sys.stderr)
    if problems:
        print("\nThe test suite runs against real PostgreSQL and Redis; nothing was run.\n", file=sys.stderr)
        return 1
    print("preflight: PostgreSQL and Redis are reachable.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
