"""Risk alert evaluation over the whole portfolio (issue 5: under 30 s at 100,000 accounts, query count
independent of the number of accounts)."""

from __future__ import annotations

import time
from typing import Any

from bench.measure import count_queries
from bench.registry import case


def _clear_alerts() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (
            "DELETE FROM service_plans_notification WHERE alert_id IS NOT NULL",
            "DELETE FROM service_plans_alertevent",
            "DELETE FROM service_plans_alerttask",
            "UPDATE service_plans_planaction SET alert_id = NULL WHERE alert_id IS NOT NULL",
            "DELETE FROM service_plans_alert",
        ):
            cursor.execute(sql)


def _evaluate() -> dict[str, Any]:
    from kam.jobs import job_execute
    from kam.models import JobKind, JobRun

    job = job_execute(JobRun.objects.create(kind=JobKind.EVALUATE_ALERTS, params={"source": "bench"}).pk)
    assert job.status == "done", job.error
    return job.result


@case("evaluate_alerts", target="< 30 s at 100,000 accounts; queries independent of N")
def evaluate_alerts(*, scale: Any) -> dict[str, Any]:
    from django.conf import settings

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    _clear_alerts()
    start = time.perf_counter()
    first = _evaluate()
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    _evaluate()
    rerun_s = time.perf_counter() - start
    return {
        "median_s": first_s,
        "p95_s": first_s,
        "runs": 1,
        "first_run_s": round(first_s, 2),
        "rerun_s": round(rerun_s, 2),
        "alerts_opened": first.get("opened"),
        "queries": count_queries(_evaluate),
    }
