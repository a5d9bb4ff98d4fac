"""The score recompute job. It runs through the generic job task (``kam.tasks.job_run``), which
claims the ``JobRun`` row, takes the one-run-at-a-time advisory lock and records the result; this
runner only reads its parameters and calls the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kam.jobs import Progress
from tiering.choices import RunPart
from tiering.services import scores_recompute


def recompute_scores_runner(*, job: Any, progress: Progress) -> dict[str, Any]:
    """``params``: ``part`` (``all``, ``tiers`` or ``health``; default ``all``) and ``as_of`` (YYYY-MM-DD; default today)."""
    params = job.params or {}
    part = params.get("part") or RunPart.ALL
    if part not in RunPart.values:
        raise ValueError(f"part must be one of {', '.join(RunPart.values)}, got {part!r}")
    as_of = params.get("as_of")
    if as_of:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except (TypeError, ValueError):
            raise ValueError(f"as_of must be a date YYYY-MM-DD, got {as_of!r}") from None
    return scores_recompute(part=part, as_of=as_of or None, job=job, progress=progress)
