"""One-at-a-time guards for whole-portfolio jobs.

On PostgreSQL a session-level advisory lock: it spans the job's several short transactions and is
released by the server if the worker dies, so a crashed run never blocks the next one. The
embedded SQLite default runs jobs in one process, where a process-local lock does the same job.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(name: str) -> int:
    # A stable signed 32-bit key; the two-key form of the advisory functions namespaces KAM's locks.
    return zlib.crc32(name.encode()) - 2**31


NAMESPACE = 4242  # first key of KAM's session locks
REQUEST_NAMESPACE = 4243  # first key of the transaction locks that serialise job requests
POLL_SECONDS = 0.25


@contextmanager
def advisory_lock(name: str, *, wait: float = 0) -> Iterator[bool]:
    """Try to take the named lock, waiting up to ``wait`` seconds; yields whether it was taken.

    Waiting polls ``pg_try_advisory_lock`` rather than blocking in ``pg_advisory_lock``: a blocked
    call cannot be given up after a deadline without a statement timeout that would also cut the
    job's own statements.
    """
    if connection.vendor == "postgresql":
        key = lock_key(name)
        deadline = time.monotonic() + wait
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [NAMESPACE, key])
                acquired = bool(cursor.fetchone()[0])
            if acquired or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [NAMESPACE, key])
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()


def advisory_lock_is_held(name: str) -> bool:
    """Whether any session holds the named lock (``advisory_lock``), this one included."""
    if connection.vendor != "postgresql":
        with _local_guard:
            lock = _local_locks.get(name)
        return bool(lock and lock.locked())
    # The two-key form shows the first key as classid and the second, as an unsigned oid, as objid.
    # Advisory locks are per database: another database on the server may use the same keys.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s AND granted)",
            [NAMESPACE, lock_key(name) & 0xFFFFFFFF],
        )
        return bool(cursor.fetchone()[0])


def transaction_lock(name: str) -> None:
    """Wait for the named lock until the current transaction ends (PostgreSQL; a no-op elsewhere,
    where the embedded default serves one request at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REQUEST_NAMESPACE, lock_key(name)])
