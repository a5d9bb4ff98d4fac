"""python manage.py seed_demo --accounts N [--seed S] [--if-empty]"""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import DEMO_USERS, demo_present, demo_users, seed_demo


class Command(BaseCommand):
    help = "Build a coherent demo portfolio (deterministic for a seed) and the demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=300, help="How many accounts to create (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="Pretend today is this date (YYYY-MM-DD).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing but reset the demo users when accounts exist.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(
        self, *args, accounts: int, seed: int, today: dt.date | None, if_empty: bool, no_progress: bool, **options
    ) -> None:
        if accounts < 1:
            raise CommandError("--accounts must be at least 1.")
        try:
            if if_empty and demo_present():
                demo_users()
                self.stdout.write("Demo data is already present; left as it is.")
            else:
                started = time.monotonic()
                totals = seed_demo(accounts=accounts, seed=seed, today=today, bar=not no_progress)
                summary = ", ".join(f"{count:,} {name}" for name, count in totals.items())
                self.stdout.write(self.style.SUCCESS(f"Seeded {summary} in {time.monotonic() - started:.1f} s."))
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write("Demo users (change these passwords before showing KAM to anyone):")
        for username, _name, role, password, _superuser in DEMO_USERS:
            self.stdout.write(f"  {role:<16} {username:<10} password: {password}")
