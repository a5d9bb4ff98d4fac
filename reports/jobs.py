"""The ``recompute_kpis`` job runner (registered in ``kam.jobs.JOB_RUNNERS`` by ReportsConfig)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kam.jobs import Progress
from kam.models import JobRun
from reports.models import RunTrigger
from reports.services import kpis_recompute


def recompute_kpis(*, job: JobRun, progress: Progress) -> dict[str, Any]:
    """Params (all optional): ``periods`` (labels), ``families``, ``as_of`` (YYYY-MM-DD), ``trigger``,
    ``changed`` (the accounts and contracts a refresh is about, ``{"accounts": [...], "contracts": [...]}``)."""
    params = job.params or {}
    as_of = dt.date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    trigger = params.get("trigger") or (RunTrigger.SCHEDULED if params.get("scheduled") else RunTrigger.MANUAL)
    run = kpis_recompute(
        periods=params.get("periods") or None,
        families=params.get("families") or None,
        as_of=as_of,
        job=job,
        progress=progress,
        trigger=trigger,
        changed=params.get("changed"),
    )
    return {
        "run": run.pk,
        "as_of": run.as_of.isoformat(),
        "periods": run.periods,
        "families": run.families,
        "values": run.value_count,
        "timings": run.timings,
    }
