"""KPI snapshots, the runs that publish them, targets, and the marker of pending source changes.

Readers (dashboards, the ``kpis/`` API) read ``KpiValue`` rows and never recompute. A run computes
everything first and publishes all its values in one short transaction, so readers see the previous
complete snapshot or the new complete one (DEVELOPERS.md "Jobs").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from reports.catalogue import CODE_CHOICES
from reports.formulas import AT_RISK, HIGHER, LOWER, MET, MISSED
from reports.periods import PERIOD_RE

SCOPE_KINDS = ("company", "tier", "owner", "region")


def scope_is_well_formed(scope: str) -> bool:
    """company, tier:T1…tier:T4, owner:<username> or region:<region> (API.md "Scopes")."""
    if scope == "company":
        return True
    kind, _sep, name = scope.partition(":")
    if kind == "tier":
        return name in {"T1", "T2", "T3", "T4"}
    return kind in {"owner", "region"} and bool(name.strip())


VALUE = {"max_digits": 30, "decimal_places": 12, "null": True, "blank": True}
# Numerators and denominators are sums of money in the base currency.
PART = {"max_digits": 34, "decimal_places": 12, "null": True, "blank": True}


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("Requested")
    SCHEDULED = "scheduled", _("Nightly schedule")
    CHANGE = "change", _("Source data changed")


class KpiRun(models.Model):
    """One recompute: what it covered (periods, families, as-of date), how it ended, what it wrote."""

    job = models.ForeignKey(
        "kam.JobRun", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    trigger = models.CharField(_("trigger"), max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    as_of = models.DateField(_("as of"))
    periods = models.JSONField(_("periods"), default=list)
    families = models.JSONField(_("families"), default=list)
    is_full = models.BooleanField(
        _("full recompute"), default=False, help_text=_("Every family for the standard rolling periods.")
    )
    value_count = models.PositiveIntegerField(_("values written"), default=0)
    timings = models.JSONField(
        _("timings"), default=dict, blank=True, help_text=_("Seconds spent per family and in the publish step.")
    )
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("KPI run")
        verbose_name_plural = _("KPI runs")
        ordering = ["-started_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="kpirun_status_valid")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk} ({self.get_status_display()})"


class TargetStatus(models.TextChoices):
    MET = MET, _("Met")
    AT_RISK = AT_RISK, _("At risk")
    MISSED = MISSED, _("Missed")


class KpiValue(models.Model):
    """One published KPI value for a period and a scope; unique per (code, period, scope).

    ``period_end`` is exclusive (DOMAIN.md §0.1: a period is ``[start, end)``); a partial period's
    data stop at the end of ``as_of``. ``numerator``/``denominator`` are the parts of the value (for
    the improvement KPIs: the current value and the baseline's); ``n`` the sample size.
    """

    run = models.ForeignKey(KpiRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="values")
    code = models.CharField(_("KPI"), max_length=48, choices=CODE_CHOICES)
    period = models.CharField(_("period"), max_length=16)
    period_kind = models.CharField(_("period kind"), max_length=8)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (exclusive)"))
    scope = models.CharField(_("scope"), max_length=200)
    as_of = models.DateField(_("as of"))
    value = models.DecimalField(_("value"), **VALUE)
    numerator = models.DecimalField(_("numerator"), **PART)
    denominator = models.DecimalField(_("denominator"), **PART)
    n = models.PositiveIntegerField(_("sample size"), null=True, blank=True)
    is_partial = models.BooleanField(_("partial period"), default=False)
    low_confidence = models.BooleanField(_("low confidence"), default=False)
    reason = models.CharField(_("reason"), max_length=48, blank=True, help_text=_("Why the value is empty."))
    target_value = models.DecimalField(_("target"), **VALUE)
    target_status = models.CharField(_("target status"), max_length=8, choices=TargetStatus.choices, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("KPI value")
        verbose_name_plural = _("KPI values")
        ordering = ["code", "period_start", "period_kind", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["code", "period", "scope"], name="kpivalue_unique"),
            models.CheckConstraint(condition=Q(value__isnull=False) | ~Q(reason=""), name="kpivalue_null_has_reason"),
        ]
        indexes = [
            models.Index(fields=["scope", "period"], name="kpivalue_scope_period"),
            models.Index(fields=["period", "code"], name="kpivalue_period_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.period} {self.scope}: {self.value}"


class Direction(models.TextChoices):
    HIGHER = HIGHER, _("Higher is better")
    LOWER = LOWER, _("Lower is better")


class KpiTarget(models.Model):
    """An executive's target for a KPI, optionally for one scope and/or one period.

    The most specific target applies to a value: scope and period, then scope, then period, then the
    KPI's general target. ``tolerance`` (in the KPI's unit) is how far a value may miss and be "at
    risk" rather than "missed"; empty means 5% of the target.
    """

    code = models.CharField(_("KPI"), max_length=48, choices=CODE_CHOICES)
    scope = models.CharField(_("scope"), max_length=200, blank=True, help_text=_("Empty: every scope."))
    period = models.CharField(_("period"), max_length=16, blank=True, help_text=_("Empty: every period."))
    target_value = models.DecimalField(_("target"), max_digits=30, decimal_places=12)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    tolerance = models.DecimalField(
        _("tolerance"),
        max_digits=30,
        decimal_places=12,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Empty: 5 percent of the target."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["code", "scope", "period"]
        constraints = [
            models.UniqueConstraint(fields=["code", "scope", "period"], name="kpitarget_unique"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="kpitarget_direction_valid"),
            models.CheckConstraint(
                condition=Q(tolerance__isnull=True) | Q(tolerance__gte=0), name="kpitarget_tolerance_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.scope or '*'} {self.period or '*'}: {self.target_value}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.scope and not scope_is_well_formed(self.scope):
            errors["scope"] = [
                _("Unknown scope “%(scope)s”: use company, tier:T1…tier:T4, owner:<username> or region:<region>.")
                % {"scope": self.scope}
            ]
        if self.period and not PERIOD_RE.match(self.period):
            errors["period"] = [
                _("Unknown period “%(label)s”: use a fiscal year (2025), a quarter (2025-Q1) or a month (2025-03).")
                % {"label": self.period}
            ]
        if errors:
            raise ValidationError(errors)


class KpiRefreshState(models.Model):
    """The one row that says which KPI families wait for a refresh after source data changed.

    Changes merge their families here after commit; a single delayed task runs the refresh once the
    changes have been quiet for the debounce time, so a burst of edits costs one run.
    """

    families = models.JSONField(_("families waiting"), default=list)
    changed = models.JSONField(
        _("changed rows"),
        null=True,
        blank=True,
        default=dict,
        help_text=_("Accounts and contracts changed since the last refresh; empty if not known (the refresh recomputes whole)."),
    )
    changed_at = models.DateTimeField(_("last change"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("refresh scheduled at"), null=True, blank=True)
    job = models.ForeignKey(
        "kam.JobRun", verbose_name=_("refresh job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("KPI refresh state")
        verbose_name_plural = _("KPI refresh state")

    def __str__(self) -> str:
        return ", ".join(self.families) or "-"


class KpiFactSet(models.Model):
    """Where the per-group sums of one additive KPI statement (a "part") of the standard periods are
    kept, so that the refresh after a change recomputes one group instead of everything.

    The rows live in an unlogged table per run (``kpi_facts_r<run>``: part, period, group, the
    group's tier, owner and region, and the sums); this row names the table holding the part's
    current rows and what they were computed for. Written in the publish transaction.
    """

    part = models.CharField(_("part"), max_length=32, unique=True)
    table = models.CharField(_("table"), max_length=63)
    run = models.ForeignKey(KpiRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    periods = models.JSONField(_("periods"), default=list)
    # The names of the sums in each row, in order: rows kept in another layout (a statement that
    # gained or lost sums since) are not used.
    names = models.JSONField(_("sum names"), default=list)

    class Meta:
        verbose_name = _("KPI fact set")
        verbose_name_plural = _("KPI fact sets")

    def __str__(self) -> str:
        return f"{self.part} → {self.table}"


class KpiMeasure(models.Model):
    """The sums of one additive family for one scope, per period label (baselines included), as
    published: what the values of the scope were computed from, moved by a refresh of one group."""

    family = models.CharField(_("family"), max_length=32)
    scope = models.CharField(_("scope"), max_length=200)
    as_of = models.DateField(_("as of"))
    sums = models.JSONField(_("sums"), default=dict)

    class Meta:
        verbose_name = _("KPI sums")
        verbose_name_plural = _("KPI sums")
        constraints = [models.UniqueConstraint(fields=["family", "scope"], name="kpimeasure_family_scope_unique")]

    def __str__(self) -> str:
        return f"{self.family} {self.scope}"
