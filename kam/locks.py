"""One-at-a-time guards for whole-portfolio jobs.

On PostgreSQL a session-level advisory lock: it spans the job's several short transactions and is
released by the server if the worker dies, so a crashed run never blocks the next one. The
embedded SQLite default runs jobs in one process, where a process-local lock does the same job.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(name: str) -> int:
    # A stable signed 32-bit key; the two-key form of the advisory functions namespaces KAM's locks.
    return zlib.crc32(name.encode()) - 2**31


@contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """Try to take the named lock without waiting; yields whether it was taken."""
    if connection.vendor == "postgresql":
        key = lock_key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(4242, %s)", [key])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(4242, %s)", [key])
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
