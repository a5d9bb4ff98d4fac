"""python manage.py export_data --kind KIND [--format csv|xlsx] OUT

Writes the importer's format, streaming rows from the database (``-`` writes CSV to stdout).
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.definitions import SPECS
from imports.exports import export_rows, write_csv, write_xlsx


class Command(BaseCommand):
    help = "Export a kind of row in the format import_data reads back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="the file to write, or - for CSV on standard output")
        parser.add_argument("--kind", required=True, choices=sorted(SPECS))
        parser.add_argument("--format", default=None, choices=["csv", "xlsx"], help="default: from OUT's extension, else csv")
        parser.add_argument("--user", help="export only what this user may see (default: everything)")
        parser.add_argument("--labels", action="store_true", help="headers as field labels in the current language")

    def handle(self, *args: Any, **options: Any) -> None:
        out = options["out"]
        fmt = options["format"] or ("xlsx" if out.lower().endswith(".xlsx") else "csv")
        if out == "-" and fmt != "csv":
            raise CommandError("Only CSV can be written to standard output.")
        user = None
        if options["user"]:
            try:
                user = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {options['user']!r}.") from None
        kind, labels = options["kind"], options["labels"]
        rows = export_rows(kind, user=user)
        if fmt == "xlsx":
            count = write_xlsx(out, kind, rows, labels=labels)
        elif out == "-":
            count = write_csv(sys.stdout.buffer, kind, rows, labels=labels)
        else:
            with open(out, "wb") as handle:
                count = write_csv(handle, kind, rows, labels=labels)
        if out != "-":
            self.stdout.write(f"{count} rows written to {out}")
