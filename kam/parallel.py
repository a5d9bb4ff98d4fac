"""Independent read statements on several PostgreSQL connections at once.

A whole-portfolio job is a few large statements that do not depend on each other (the KPI families).
One connection runs them one after the other on one core of the database server, however many it
has. ``run_concurrently`` gives each of them a thread and, through Django's per-thread connections,
a backend of its own, so that ``workers`` of them run at the same time.

Only where that is safe: on PostgreSQL and outside a transaction. Inside one (tests, a caller's
atomic block) another connection would not see the caller's uncommitted rows, and SQLite serialises
its connections anyway; the tasks then run one after the other on the caller's connection, in order.
Each statement reads its own snapshot either way, as it does when they run one after the other.

``meanwhile`` is the one-task form, for a job that overlaps one piece of work with its own: it runs
on a connection of its own even while the caller is in a transaction, so the caller decides (before
its transaction) whether the task may commit on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from typing import Any

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

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kam-parallel") as pool:
        pending = {pool.submit(_on_own_connection, task, session) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:  # after an error, or when the caller stops early
                future.cancel()


def _on_own_connection[T](task: Callable[[], T], session: Callable[[], AbstractContextManager] = nullcontext) -> T:
    """Run ``task`` in this (pool or helper) thread, on the thread's own connection, then close it."""
    try:
        # Ended by PostgreSQL if this process dies mid-statement, as the job's own connection is
        # (a statement waiting for a lock would otherwise outlive the worker).
        watch_client_connection()
        with session():
            return task()
    finally:
        connections.close_all()  # this thread's connections only


def meanwhile[T](task: Callable[[], T], *, aside: bool) -> Callable[[], T]:
    """Start ``task`` and return a function that waits for it and gives its result (or raises its
    exception).

    With ``aside``, the task runs in a thread on a connection of its own (PostgreSQL: a second
    backend, on the other core) while the caller goes on with its own statements; whatever it
    writes commits on that connection, apart from the caller's transaction. Without, it runs on the
    caller's connection when the result is asked for, as if called then. The caller passes
    ``aside=can_run_concurrently()`` (or decides it before opening its own transaction).
    """
    if not aside:
        return task
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = _on_own_connection(task)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="kam-meanwhile", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return result
