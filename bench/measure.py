"""Timing, statistics and query counting used inside case subprocesses."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lower = int(k)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (k - lower)


def timed(fn: Callable[[], Any], *, repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def summary(durations: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(durations), "p95_s": percentile(durations, 95), "runs": len(durations)}


def count_queries(fn: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)
