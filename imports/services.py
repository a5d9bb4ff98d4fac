"""Imports as the rest of KAM sees them: create a record from an upload, run it (dry or real),
in this process or as a background job, and keep the result.

The command line, the UI and (round 2) the API all go through these functions.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imports.definitions import SPECS, default_mapping, kind_spec
from imports.engine import BaseImporter, Outcome, RowError
from imports.models import ImportFile, ImportFileRole, ImportRecord, ImportStatus
from imports.readers import ImportFileError, open_table
from kam.jobs import BROKER_UNAVAILABLE, BackgroundUnavailable, Progress
from kam.models import JobKind, JobRun, JobStatus

logger = logging.getLogger(__name__)

# The page shows this many errors; the downloadable report has all of them.
ERRORS_SHOWN = 200
FAILED_MESSAGE = gettext_lazy("The import failed unexpectedly and nothing was imported. The error has been logged.")
ERROR_REPORT_HEADERS = (gettext_lazy("row"), gettext_lazy("column"), gettext_lazy("value"), gettext_lazy("message"))


def _max_upload_bytes() -> int:
    return settings.KAM_IMPORT_MAX_UPLOAD_MB * 1024 * 1024


@transaction.atomic
def import_record_create(
    *,
    user: Any,
    kind: str,
    file_name: str,
    content: bytes,
    mapping: dict[str, str] | None = None,
    day_first: bool = False,
) -> ImportRecord:
    """Keep the uploaded file and read its header row. A file that cannot be read still gets a
    record (status "invalid", with the reason), so every attempt is on file."""
    try:
        spec = kind_spec(kind)
    except KeyError:
        raise ValidationError({"kind": _("Unknown kind of import: %(kind)s.") % {"kind": kind}}) from None
    if len(content) > _max_upload_bytes():
        raise ValidationError({"file": _("The file is larger than %(size)s MB.") % {"size": settings.KAM_IMPORT_MAX_UPLOAD_MB}})
    record = ImportRecord(
        user=user if getattr(user, "pk", None) else None,
        kind=spec.kind,
        file_name=file_name[-255:],
        file_size=len(content),
        options={"day_first": bool(day_first)},
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    try:
        table = open_table(content, prefer_sheets=spec.sheet_names())
    except ImportFileError as exc:
        record.status = ImportStatus.INVALID
        record.message = str(exc.message)
    else:
        table.close()
        record.file_format = table.format
        record.encoding = table.encoding
        record.headers = table.headers
        record.rows_total = table.estimated_rows
        record.mapping = default_mapping(spec.kind, table.headers)
        if mapping:
            record.mapping = mapping_apply(record.mapping, mapping, kind=spec.kind, headers=table.headers)
    record.save()
    ImportFile.objects.create(record=record, role=ImportFileRole.SOURCE, content=content, size=len(content))
    return record


def mapping_apply(base: dict[str, str], overrides: dict[str, Any], *, kind: str, headers: list[str]) -> dict[str, str]:
    """Apply overrides given as {file header: column name} (the command line's ``--mapping``);
    a null column name leaves that header out."""
    columns = {c.name for c in SPECS[kind].columns}
    result = dict(base)
    for header, column in overrides.items():
        if header not in headers:
            raise ValidationError({"mapping": _("The file has no column “%(header)s”.") % {"header": header}})
        for name, mapped in list(result.items()):
            if mapped == header:
                del result[name]
        if column is None:
            continue
        if column not in columns:
            raise ValidationError({"mapping": _("Unknown column name: %(column)s.") % {"column": column}})
        result[column] = header
    return result


@transaction.atomic
def import_mapping_set(*, record: ImportRecord, mapping: dict[str, str], day_first: bool | None = None) -> ImportRecord:
    """Set the column mapping ({column name: file header}) before a run."""
    columns = {c.name for c in SPECS[record.kind].columns}
    unknown = sorted(set(mapping) - columns)
    if unknown:
        raise ValidationError({"mapping": _("Unknown column name: %(column)s.") % {"column": ", ".join(unknown)}})
    missing = sorted({h for h in mapping.values() if h} - set(record.headers))
    if missing:
        raise ValidationError({"mapping": _("The file has no column “%(header)s”.") % {"header": ", ".join(missing)}})
    record.mapping = {name: header for name, header in mapping.items() if header}
    if day_first is not None:
        record.options = {**record.options, "day_first": bool(day_first)}
    record.save(update_fields=["mapping", "options"])
    return record


def _source(record: ImportRecord) -> bytes:
    return bytes(ImportFile.objects.values_list("content", flat=True).get(record=record, role=ImportFileRole.SOURCE))


def import_file_problem(*, record: ImportRecord) -> str | None:
    """Why the file cannot be imported as a whole, found without reading its rows (the API refuses
    such a file with a 400): unreadable, a kind the user may not import, required columns missing,
    a header missing, repeated or mapped twice. ``None`` when the rows can be checked."""
    if record.status == ImportStatus.INVALID:
        return record.message
    try:
        table = open_table(_source(record), prefer_sheets=SPECS[record.kind].sheet_names())
        table.close()
        importer: BaseImporter = import_string(SPECS[record.kind].importer)(
            user=record.user, mapping=record.mapping, headers=table.headers, file_format=table.format
        )
        importer.check_permission()
        importer.check_columns()
    except ImportFileError as exc:
        return str(exc.message)
    return None


def import_run(*, record: ImportRecord, dry_run: bool, progress: Callable[[float], None] | None = None) -> ImportRecord:
    """Check the file and, unless ``dry_run``, write it: all rows or none. Runs in this process.

    Bad data ends as status "invalid" with every error recorded (and a downloadable report); an
    unexpected exception ends as "failed" and is raised again for the job machinery to log.
    """
    if not dry_run and record.status == ImportStatus.DONE:
        return record  # a redelivered job: the import was committed already
    ImportRecord.objects.filter(pk=record.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now(), is_dry_run=dry_run)
    record.refresh_from_db()
    with translation.override(record.language or settings.LANGUAGE_CODE):
        try:
            table = open_table(_source(record), prefer_sheets=SPECS[record.kind].sheet_names())
            importer: BaseImporter = import_string(SPECS[record.kind].importer)(
                user=record.user,
                mapping=record.mapping,
                headers=table.headers,
                day_first=bool(record.options.get("day_first")),
                file_format=table.format,
            )
            importer.record_id = record.pk
            outcome = importer.run(table, dry_run=dry_run, progress=progress, before_commit=partial(_finish, record, dry_run))
        except ImportFileError as exc:
            _finish(record, dry_run, Outcome(), message=str(exc.message))
        except Exception:
            logger.exception("import %s failed", record.pk)
            _finish(record, dry_run, Outcome(), message=str(FAILED_MESSAGE), failed=True)
            raise
        else:
            if not outcome.written:
                _finish(record, dry_run, outcome)
    record.refresh_from_db()
    return record


def _finish(record: ImportRecord, dry_run: bool, outcome: Outcome, *, message: str = "", failed: bool = False) -> None:
    """Store the result; for a real run this happens inside the write transaction, so the data
    and the record saying it was imported commit together."""
    if failed:
        status = ImportStatus.FAILED
    elif message or outcome.errors:
        status = ImportStatus.INVALID
    else:
        status = ImportStatus.VALIDATED if dry_run else ImportStatus.DONE
    record.status = status
    record.is_dry_run = dry_run
    record.message = message
    if outcome.rows or not message:
        record.rows_total = outcome.rows
    record.created_count, record.updated_count, record.unchanged_count = outcome.created, outcome.updated, outcome.unchanged
    record.error_count = len(outcome.errors)
    record.errors = [e.as_dict() for e in outcome.errors[:ERRORS_SHOWN]]
    record.timings = outcome.timings
    record.finished_at = timezone.now()
    record.save()
    ImportFile.objects.filter(record=record, role=ImportFileRole.ERROR_REPORT).delete()
    if outcome.errors:
        report = error_report_csv(outcome.errors)
        ImportFile.objects.create(record=record, role=ImportFileRole.ERROR_REPORT, content=report, size=len(report))


def error_report_csv(errors: list[RowError]) -> bytes:
    """All errors as CSV (row, column, value, message), UTF-8 with a BOM so Excel shows Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(h) for h in ERROR_REPORT_HEADERS])
    for error in errors:
        writer.writerow([error.row, error.column, error.value, error.message])
    return buffer.getvalue().encode("utf-8-sig")


# --- background -----------------------------------------------------------------------------


def import_start(*, record: ImportRecord, dry_run: bool, user: Any = None, background: bool | None = None) -> ImportRecord:
    """Run now (small files) or as a job (files above ``KAM_IMPORT_INLINE_MAX_ROWS`` rows).

    Raises ``BackgroundUnavailable`` when a job is needed but the broker cannot be reached.
    """
    if background is None:
        background = record.rows_total > settings.KAM_IMPORT_INLINE_MAX_ROWS
    if not background:
        return import_run(record=record, dry_run=dry_run)
    job = JobRun.objects.create(
        kind=JobKind.IMPORT_DATA,
        params={"record_id": record.pk, "dry_run": dry_run},
        requested_by=user if getattr(user, "pk", None) else None,
    )
    ImportRecord.objects.filter(pk=record.pk).update(status=ImportStatus.QUEUED, job=job, is_dry_run=dry_run)
    transaction.on_commit(partial(_publish, job.pk, record.pk))
    record.refresh_from_db()
    return record


def _publish(job_id: int, record_id: int) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from imports.tasks import import_job

    try:
        import_job.apply_async(kwargs={"job_id": job_id})
    except BrokerError as exc:
        JobRun.objects.filter(pk=job_id).update(status=JobStatus.FAILED, finished_at=timezone.now(), error=BROKER_UNAVAILABLE)
        ImportRecord.objects.filter(pk=record_id).update(
            status=ImportStatus.FAILED, message=BROKER_UNAVAILABLE, finished_at=timezone.now()
        )
        logger.error("import job %s not queued: broker unavailable (%s)", job_id, exc)
        raise BackgroundUnavailable(str(exc)) from exc


def import_job_runner(*, job: JobRun, progress: Progress) -> dict[str, Any]:
    """The ``import_data`` job runner (registered in ``ImportsConfig.ready``)."""
    record = ImportRecord.objects.get(pk=job.params["record_id"])
    record = import_run(
        record=record, dry_run=bool(job.params.get("dry_run")), progress=lambda fraction: progress.set(int(fraction * 100))
    )
    return {
        "import_id": record.pk,
        "status": record.status,
        "rows": record.rows_total,
        "created": record.created_count,
        "updated": record.updated_count,
        "unchanged": record.unchanged_count,
        "errors": record.error_count,
    }
