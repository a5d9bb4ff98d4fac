"""python manage.py import_data FILE --kind KIND [--dry-run] [--user USERNAME] [--mapping JSON]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.definitions import SPECS
from imports.models import ImportFile, ImportFileRole, ImportRecord, ImportStatus
from imports.services import import_record_create
from kam.jobs import ALREADY_RUNNING, job_execute
from kam.models import JobKind, JobRun, JobStatus


class Command(BaseCommand):
    help = "Import accounts, contacts, contracts, invoices, meetings or survey responses from a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument("--kind", required=True, choices=sorted(SPECS), help="what the file holds")
        parser.add_argument("--dry-run", action="store_true", help="check everything and report, write nothing")
        parser.add_argument(
            "--user",
            help="import as this user (their visibility and ownership rules apply; they are recorded as "
            "the author). Without it the import runs with full access.",
        )
        parser.add_argument(
            "--mapping",
            help='JSON object {"header in the file": "column name"} overriding the default mapping '
            "(null leaves a header out); or @path to a JSON file",
        )
        parser.add_argument("--day-first", action="store_true", help="read 01/03/2025 as 1 March (default: 3 January)")
        parser.add_argument("--errors", metavar="CSV", help="write the full error report to this file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = None
        if options["user"]:
            try:
                user = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {options['user']!r}.") from None
        mapping = self._mapping(options["mapping"])
        try:
            record = import_record_create(
                user=user,
                kind=options["kind"],
                file_name=path.name,
                content=path.read_bytes(),
                mapping=mapping,
                day_first=options["day_first"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if record.status == ImportStatus.INVALID:
            raise CommandError(f"Import #{record.pk}: {record.message}")
        self.stdout.write(f"Import #{record.pk}: {record.get_kind_display()} from {path.name} ({record.file_format})")
        for column, header in sorted(record.mapping.items()):
            self.stdout.write(f"  {header!r} → {column}")
        ignored = [h for h in record.headers if h and h not in record.mapping.values()]
        if ignored:
            self.stdout.write(f"  ignored columns: {', '.join(ignored)}")
        job = JobRun.objects.create(
            kind=JobKind.IMPORT_DATA,
            params={"record_id": record.pk, "dry_run": options["dry_run"]},
            requested_by=user,
        )
        ImportRecord.objects.filter(pk=record.pk).update(job=job)
        job = job_execute(job.pk, bar=not options["no_progress"])
        if job.status == JobStatus.FAILED and job.error == ALREADY_RUNNING:
            ImportRecord.objects.filter(pk=record.pk).update(status=ImportStatus.FAILED, message=ALREADY_RUNNING)
            raise CommandError("Another import is running; run this one again when it has finished.")
        record.refresh_from_db()
        self._report(record, options["errors"])

    def _mapping(self, value: str | None) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
            mapping = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"--mapping is not valid JSON: {exc}") from None
        if not isinstance(mapping, dict):
            raise CommandError('--mapping must be a JSON object such as {"客户全称": "name"}.')
        return mapping

    def _report(self, record: ImportRecord, errors_path: str | None) -> None:
        verb = "would be" if record.is_dry_run else "were"
        self.stdout.write(
            f"{record.rows_total} rows: {record.created_count} created, {record.updated_count} updated, "
            f"{record.unchanged_count} unchanged ({verb if record.status != ImportStatus.INVALID else 'checked'}); "
            f"{record.error_count} errors. Status: {record.get_status_display()}."
        )
        for error in record.errors[:20]:
            self.stdout.write(f"  row {error['row']}, {error['column'] or '-'} = {error['value']!r}: {error['message']}")
        if record.error_count > 20:
            self.stdout.write(f"  … and {record.error_count - 20} more")
        if errors_path and record.error_count:
            content = ImportFile.objects.values_list("content", flat=True).get(record=record, role=ImportFileRole.ERROR_REPORT)
            Path(errors_path).write_bytes(bytes(content))
            self.stdout.write(f"Error report written to {errors_path}")
        if record.status == ImportStatus.INVALID:
            raise CommandError(record.message or "Nothing was imported: fix the errors above and run the import again.")
        if record.status == ImportStatus.FAILED:
            raise CommandError(record.message)
