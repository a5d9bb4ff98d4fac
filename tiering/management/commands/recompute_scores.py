"""python manage.py recompute_scores [--part all|tiers|health] [--as-of YYYY-MM-DD] [--no-progress]"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.jobs import job_execute
from kam.models import JobKind, JobRun, JobStatus
from tiering.choices import RunPart


class Command(BaseCommand):
    help = "Recompute account value scores, tiers and health for the whole portfolio (one run at a time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--part", choices=RunPart.values, default=RunPart.ALL, help="What to recompute (default: all).")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="Compute as of this date (default today).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, part: str, as_of: dt.date | None, no_progress: bool, **options) -> None:
        params = {"part": part, **({"as_of": as_of.isoformat()} if as_of else {})}
        job = JobRun.objects.create(kind=JobKind.RECOMPUTE_SCORES, params=params)
        try:
            job = job_execute(job.pk, bar=not no_progress)
        except Exception:  # job_execute has recorded the error on the job row
            job.refresh_from_db()
        if job.status != JobStatus.DONE:
            raise CommandError(f"Score recompute #{job.pk} failed: {job.error}")
        self.stdout.write(self.style.SUCCESS(f"Score recompute #{job.pk} done."))
        self.stdout.write(json.dumps(job.result, indent=2, sort_keys=True, default=str))
