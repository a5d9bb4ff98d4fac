"""python manage.py recompute_kpis [--period P ...] [--family F ...] [--as-of YYYY-MM-DD] [--if-stale]"""

from __future__ import annotations

import datetime as dt
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.jobs import ALREADY_RUNNING, JobAlreadyRunning, job_execute, job_start
from kam.models import JobKind, JobStatus
from reports.catalogue import FAMILIES
from reports.periods import local_today, periods_for_labels
from reports.services import kpis_snapshot_is_fresh


class Command(BaseCommand):
    help = (
        "Recompute the KPI snapshot: every KPI for the last 12 months, 4 fiscal quarters and 2 fiscal years "
        "(or the periods given), for every scope. Runs as a job, one at a time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--period", action="append", default=[], help="A period to recompute: 2025, 2025-Q1 or 2025-03 (repeatable)."
        )
        parser.add_argument("--family", action="append", default=[], choices=FAMILIES, help="Only this KPI family (repeatable).")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="Compute as if today were this date.")
        parser.add_argument(
            "--if-stale", action="store_true", help="Do nothing when today's full snapshot exists and no change is waiting."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(
        self, *args, period: list[str], family: list[str], as_of: dt.date | None, if_stale: bool, no_progress: bool, **options
    ) -> None:
        as_of = as_of or local_today()
        try:
            periods_for_labels(period, as_of=as_of)  # refuse bad periods before queuing anything
        except ValidationError as exc:
            raise CommandError(" ".join(exc.message_dict["period"])) from exc
        if if_stale and not period and not family and kpis_snapshot_is_fresh(as_of=as_of):
            self.stdout.write("The KPI snapshot is up to date.")
            return
        params = {"periods": period, "families": family, "as_of": as_of.isoformat()}
        try:
            job = job_start(kind=JobKind.RECOMPUTE_KPIS, params={k: v for k, v in params.items() if v})
        except JobAlreadyRunning as exc:
            message = f"KPI recompute not started: already running (job {exc.job.pk})."
            if if_stale:  # `make run` starts with this: a recompute under way is not a reason to stop
                self.stdout.write(message)
                return
            raise CommandError(message) from exc
        started = time.monotonic()
        try:
            job = job_execute(job.pk, bar=not no_progress)
        except Exception as exc:
            job.refresh_from_db()
            raise CommandError(f"KPI recompute failed: {job.error or exc}") from exc
        if job.status == JobStatus.FAILED and job.error == ALREADY_RUNNING:
            # A run that did not come through a request (the nightly one, the refresh) holds the lock.
            running = job.result.get("running_job")
            raise CommandError(f"KPI recompute not started: already running{f' (job {running})' if running else ''}.")
        if job.status != JobStatus.DONE:
            raise CommandError(f"KPI recompute failed: {job.error}")
        result = job.result
        self.stdout.write(
            self.style.SUCCESS(
                f"Published {result['values']:,} KPI values for {len(result['periods'])} periods as of {result['as_of']} "
                f"in {time.monotonic() - started:.1f} s (run {result['run']}, job {job.pk})."
            )
        )
