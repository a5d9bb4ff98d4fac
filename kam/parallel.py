"""Independent read statements on several PostgreSQL connections at once.

A whole-portfolio job is a few large statements that do not depend on each other (the KPI families).
One connection runs them one after the other on one core of the database server, however many it
has. ``run_concurrently`` gives each of them a thread and, through Django's per-thread connections,
a backend of its own, so that ``workers`` of them run at the same time.

Only where that is safe: on PostgreSQL and outside a transaction. Inside one (tests, a caller's
atomic block) another connection would not see the caller's uncommitted rows, and SQLite serialises
its connections anyway; the tasks then run one after the other on the caller's connection, in order.
Each statement reads its own snapshot either way, as it does when they run one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext

from django.db import connection, connections

from kam.jobs import watch_client_connection


def can_run_concurrently() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def run_concurrently[T](
    tasks: Sequence[Callable[[], T]], *, workers: int, session: Callable[[], AbstractContextManager] = nullcontext
) -> Iterator[T]:
    """Run ``tasks`` (callables without arguments), ``workers`` at a time, and yield their results
    as they finish (in order when they run one after the other).

    ``session`` (a context manager factory, e.g. session settings) is entered around the tasks of
    each connection: once around them all on the caller's, or around each task on its own.

    Give the longest tasks first: each worker takes the next task when it is free. A task's
    exception is raised here once the tasks already running have finished (their statements cannot
    be abandoned half-way on a connection that is then closed); the tasks not yet started are not run.
    """
    if workers <= 1 or len(tasks) <= 1 or not can_run_concurrently():
        with session():
            for task in tasks:
                yield task()
        return

    def on_own_connection(task: Callable[[], T]) -> T:
        try:
            # Ended by PostgreSQL if this process dies mid-statement, as the job's own connection is
            # (a statement waiting for a lock would otherwise outlive the worker).
            watch_client_connection()
            with session():
                return task()
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kam-parallel") as pool:
        pending = {pool.submit(on_own_connection, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:  # after an error, or when the caller stops early
                future.cancel()
