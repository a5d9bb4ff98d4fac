"""python manage.py recompute_scores [--part all|tiers|health] [--as-of YYYY-MM-DD] [--if-stale] [--no-progress]"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kam.jobs import job_execute
from kam.models import JobKind, JobRun, JobStatus
from tiering.choices import RunPart
from tiering.models import ScoringRun


def stale_part(as_of: dt.date) -> str | None:
    """What ``--if-stale`` recomputes: everything when no tiers were ever computed, the health when it
    was not computed for ``as_of`` (the nightly run's job), nothing otherwise."""
    done = ScoringRun.objects.done()
    if not done.with_tiers().exists():
        return RunPart.ALL
    if not done.with_health().filter(as_of=as_of).exists():
        return RunPart.HEALTH
    return None


class Command(BaseCommand):
    help = "Recompute account value scores, tiers and health for the whole portfolio (one run at a time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--part", choices=RunPart.values, default=RunPart.ALL, help="What to recompute (default: all).")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="Compute as of this date (default today).")
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="Compute tiers and health when none were ever computed, only the health when it is not from the "
            "--as-of day, else nothing (what `make run` does; --part is then ignored).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, part: str, as_of: dt.date | None, if_stale: bool, no_progress: bool, **options) -> None:
        if if_stale:
            part = stale_part(as_of or timezone.localdate())
            if part is None:
                self.stdout.write("Scores, tiers and health are up to date.")
                return
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
