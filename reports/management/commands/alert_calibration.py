"""python manage.py alert_calibration --from YYYY-MM-DD --to YYYY-MM-DD [--as-of YYYY-MM-DD]"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reports.calibration import HORIZON_DAYS, alert_calibration


class Command(BaseCommand):
    help = (
        "DOMAIN.md §5.5 calibration: per signal, the alerts opened in the period, the share followed by churn "
        f"or contraction within {HORIZON_DAYS} days (precision) and the median lead time. Whole portfolio."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, required=True, help="First day opened.")
        parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, required=True, help="Last day opened.")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="Judge as if today were this date.")

    def handle(self, *args: object, **options: object) -> None:
        as_of = options["as_of"] or timezone.localdate()
        rows = alert_calibration(user=None, start=options["start"], end=options["end"], as_of=as_of)
        self.stdout.write("rule\tfired\tpending\tjudged\tfollowed\tprecision\tmedian_lead_days")
        for r in rows:
            precision = "" if r.precision is None else f"{r.precision:.2%}"
            lead = "" if r.median_lead_days is None else f"{r.median_lead_days:g}"
            self.stdout.write(f"{r.rule}\t{r.fired}\t{r.pending}\t{r.judged}\t{r.followed}\t{precision}\t{lead}")
