"""What an import did: who ran it, on which file, with which mapping, and how it ended.

The uploaded file and the error report are kept in the database (``ImportFile``), not on disk:
the web process that receives the upload and the worker that runs a large import do not share a
filesystem in the Compose stack or on most platforms, but they always share PostgreSQL. Files are
bounded by ``KAM_IMPORT_MAX_UPLOAD_MB``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    CONTRACTS = "contracts", _("Contracts")
    INVOICES = "invoices", _("Invoices")
    MEETINGS = "meetings", _("Meetings")
    SURVEY_RESPONSES = "survey_responses", _("Survey responses")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    VALIDATED = "validated", _("Checked, ready to import")
    INVALID = "invalid", _("Errors found, nothing imported")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


FINISHED_STATUSES = frozenset({ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.DONE, ImportStatus.FAILED})


class ImportRecord(models.Model):
    """One import: a file, its column mapping, and the result of its last run (dry or real).

    Counts are what the run did (or, for a dry run, would do). ``errors`` keeps the first errors
    for the page; the full report is an ``ImportFile`` with role ``error_report``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("run by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=ImportKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    is_dry_run = models.BooleanField(_("dry run"), default=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("file format"), max_length=8, blank=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("first errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    timings = models.JSONField(_("timings"), default=dict, blank=True)
    job = models.ForeignKey(
        "kam.JobRun", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="import_user_created")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ImportKind.values), name="import_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name} (#{self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ImportFileRole(models.TextChoices):
    SOURCE = "source", _("Uploaded file")
    ERROR_REPORT = "error_report", _("Error report")


class ImportFile(models.Model):
    """A file belonging to an import, stored in the database (see the module docstring)."""

    record = models.ForeignKey(ImportRecord, verbose_name=_("import"), on_delete=models.CASCADE, related_name="files")
    role = models.CharField(_("role"), max_length=16, choices=ImportFileRole.choices)
    content = models.BinaryField(_("content"))
    size = models.PositiveBigIntegerField(_("size"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("import file")
        verbose_name_plural = _("import files")
        constraints = [models.UniqueConstraint(fields=["record", "role"], name="import_file_one_per_role")]

    def __str__(self) -> str:
        return f"{self.record_id} {self.role}"
