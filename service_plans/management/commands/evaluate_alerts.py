"""python manage.py evaluate_alerts: run the alert rules (R1–R10, L1, L2, E1) over the whole portfolio now, with a progress bar."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.jobs import job_execute
from kam.models import JobKind, JobRun, JobStatus


class Command(BaseCommand):
    help = "Evaluate the risk alert rules over every account (one run at a time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, no_progress: bool, **options) -> None:
        started = time.monotonic()
        job = JobRun.objects.create(kind=JobKind.EVALUATE_ALERTS, params={"source": "command"})
        job = job_execute(job.pk, bar=not no_progress)
        if job.status != JobStatus.DONE:
            raise CommandError(f"evaluation failed: {job.error}")
        summary = ", ".join(f"{key} {value}" for key, value in job.result.items() if isinstance(value, int))
        self.stdout.write(self.style.SUCCESS(f"Alerts evaluated in {time.monotonic() - started:.1f} s: {summary}."))
