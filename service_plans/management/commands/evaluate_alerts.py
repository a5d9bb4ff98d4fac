"""python manage.py evaluate_alerts: run the alert rules (R1–R10, L1, L2, E1) over the whole portfolio now, with a progress bar."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kam.jobs import job_execute
from kam.models import JobKind, JobRun, JobStatus


def evaluated_today() -> bool:
    """An evaluation finished today (local time), as the nightly one would have."""
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    return JobRun.objects.filter(kind=JobKind.EVALUATE_ALERTS, status=JobStatus.DONE, finished_at__gte=start).exists()


class Command(BaseCommand):
    help = "Evaluate the risk alert rules over every account (one run at a time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-stale", action="store_true", help="Do nothing when an evaluation finished today (what `make run` does)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, if_stale: bool, no_progress: bool, **options) -> None:
        if if_stale and evaluated_today():
            self.stdout.write("Alerts were evaluated today.")
            return
        started = time.monotonic()
        job = JobRun.objects.create(kind=JobKind.EVALUATE_ALERTS, params={"source": "command"})
        job = job_execute(job.pk, bar=not no_progress)
        if job.status != JobStatus.DONE:
            raise CommandError(f"evaluation failed: {job.error}")
        summary = ", ".join(f"{key} {value}" for key, value in job.result.items() if isinstance(value, int))
        self.stdout.write(self.style.SUCCESS(f"Alerts evaluated in {time.monotonic() - started:.1f} s: {summary}."))
