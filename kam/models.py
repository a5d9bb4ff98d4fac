"""Core models shared by every app: background job runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobKind(models.TextChoices):
    RECOMPUTE_SCORES = "recompute_scores", _("Recompute scores")
    RECOMPUTE_KPIS = "recompute_kpis", _("Recompute KPIs")
    EVALUATE_ALERTS = "evaluate_alerts", _("Evaluate alerts")
    IMPORT_DATA = "import_data", _("Import data")
    EXPORT_DATA = "export_data", _("Export data")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobRun(models.Model):
    """One run of a background job: what was asked, by whom, how far it got and how it ended.

    The UI and the API (``jobs/``) read progress from here while the run goes on, so progress is
    written in autocommit from the worker (see ``kam.jobs``).
    """

    kind = models.CharField(_("kind"), max_length=32, choices=JobKind.choices, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"], name="jobrun_kind_status")]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="jobrun_progress_0_100")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED}

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
