"""Scoring models, score snapshots, tier assignments and overrides (DOMAIN.md §1 and §2).

Scores are computed per **group** (the ``group_root`` of an account, DOMAIN.md §0.1): snapshots,
tier assignments and overrides point at the group's root account, and every member account carries
the group's tier, ABC class, value score and health in its denormalised fields (written by
``tiering.recompute`` only). A stand-alone account is a group of one.

History is never recomputed: every run writes one snapshot per group with the factor breakdown it
used, under a ``ScoringRun`` that records the model version and a hash of its configuration.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.choices import HealthBand, Tier
from accounts.visibility import AccountScopedQuerySet
from tiering.choices import (
    ABCClass,
    OverrideStatus,
    Purpose,
    RunPart,
    RunStatus,
    Scorer,
    ScoreStatus,
    TierChangeReason,
    Trend,
)
from tiering.measures import MEASURE_CHOICES, MEASURES

SCORE = {"max_digits": 5, "decimal_places": 2}
PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
FRACTION = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
EVALUATION_PERIODS = [(1, _("Monthly")), (3, _("Quarterly")), (6, _("Half-yearly")), (12, _("Yearly"))]
BANDS = [
    (HealthBand.RED, HealthBand.RED.label),
    (HealthBand.YELLOW, HealthBand.YELLOW.label),
    (HealthBand.GREEN, HealthBand.GREEN.label),
]


class ScoringModelQuerySet(models.QuerySet):
    def active(self) -> ScoringModel:
        """The one active model; raises ``ScoringModel.DoesNotExist`` when there is none."""
        return self.get(is_active=True)


class ScoringModel(models.Model):
    """A version of the scoring configuration: value and health factors, thresholds, cap, hysteresis.

    Exactly one version is active. A version that a run has used is never changed again (its
    snapshots must stay reproducible): saving changes to it creates the next version instead
    (``tiering.services.scoring_model_save``). Raw factor weights are any non-negative numbers and
    are shown as normalised percentages (DOMAIN.md §1.3 "Weights input").
    """

    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=False, editable=False)
    based_on = models.ForeignKey(
        "self", verbose_name=_("based on"), null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("Why this version exists: what changed and who agreed."))

    # Account value score and tiers (DOMAIN.md §1.3–§1.8, defaults §8)
    value_min_coverage_pct = models.DecimalField(
        _("value score: minimum coverage %"), **SCORE, default=Decimal("70"), validators=PERCENT,
        help_text=_("Below this share of the factor weight with data, the score is 'insufficient data'."),
    )  # fmt: skip
    t1_entry = models.DecimalField(_("T1 entry score"), **SCORE, default=Decimal("75"), validators=PERCENT)
    t2_entry = models.DecimalField(_("T2 entry score"), **SCORE, default=Decimal("60"), validators=PERCENT)
    t3_entry = models.DecimalField(_("T3 entry score"), **SCORE, default=Decimal("40"), validators=PERCENT)
    band_gap = models.DecimalField(
        _("band gap"), **SCORE, default=Decimal("5"), validators=PERCENT,
        help_text=_("A tier's exit threshold is its entry threshold minus this gap."),
    )  # fmt: skip
    max_t1 = models.PositiveIntegerField(_("maximum T1 accounts"), default=30, validators=[MinValueValidator(1)])
    consecutive_evaluations = models.PositiveSmallIntegerField(
        _("consecutive evaluations to change tier"), default=2, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    min_residence_evaluations = models.PositiveSmallIntegerField(
        _("minimum residence (evaluations)"), default=2, validators=[MaxValueValidator(12)]
    )
    renewal_freeze_days = models.PositiveSmallIntegerField(
        _("renewal freeze (days)"), default=120, validators=[MaxValueValidator(730)],
        help_text=_("No automatic demotion while a renewal falls due within this many days."),
    )  # fmt: skip
    evaluation_period_months = models.PositiveSmallIntegerField(
        _("tier evaluation period"), choices=EVALUATION_PERIODS, default=3,
        help_text=_("Runs within one period replace each other; consecutive periods count as consecutive evaluations."),
    )  # fmt: skip
    tier_override_max_days = models.PositiveSmallIntegerField(
        _("tier override: maximum days"), default=365, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    gate_revenue_share_min = models.DecimalField(
        _("gate rule: minimum revenue share"), max_digits=6, decimal_places=4, default=Decimal("0.03"), validators=FRACTION,
        help_text=_("Share of company revenue in the last completed fiscal year (0.03 = 3%)."),
    )  # fmt: skip
    gate_yoy_growth_min = models.DecimalField(
        _("gate rule: minimum yearly growth"), max_digits=6, decimal_places=4, default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("-1")), MaxValueValidator(Decimal("10"))],
        help_text=_("Year-over-year growth required in each year (0.10 = 10%)."),
    )  # fmt: skip
    gate_years = models.PositiveSmallIntegerField(
        _("gate rule: consecutive growth years"), default=3, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    abc_a_cut = models.DecimalField(
        _("ABC: A cut"), max_digits=4, decimal_places=3, default=Decimal("0.800"), validators=FRACTION
    )
    abc_b_cut = models.DecimalField(
        _("ABC: B cut"), max_digits=4, decimal_places=3, default=Decimal("0.150"), validators=FRACTION
    )

    # Health (DOMAIN.md §2.2, defaults §8)
    health_min_coverage_pct = models.DecimalField(
        _("health: minimum coverage %"), **SCORE, default=Decimal("60"), validators=PERCENT
    )
    health_yellow_min = models.DecimalField(_("health: yellow from"), **SCORE, default=Decimal("50"), validators=PERCENT)
    health_green_min = models.DecimalField(_("health: green from"), **SCORE, default=Decimal("75"), validators=PERCENT)
    health_band_min_cross = models.DecimalField(
        _("health: points beyond an edge to change band at once"), **SCORE, default=Decimal("3"), validators=PERCENT
    )
    health_band_consecutive_runs = models.PositiveSmallIntegerField(
        _("health: runs beyond an edge to change band"), default=2, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    health_trend_lookback_days = models.PositiveSmallIntegerField(
        _("health: trend look-back (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    health_trend_deadband = models.DecimalField(
        _("health: trend dead-band (points)"), **SCORE, default=Decimal("3"), validators=PERCENT
    )
    health_override_default_days = models.PositiveSmallIntegerField(
        _("health override: default days"), default=30, validators=[MinValueValidator(1)]
    )
    health_override_max_days = models.PositiveSmallIntegerField(
        _("health override: maximum days"), default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScoringModelQuerySet.as_manager()

    class Meta:
        verbose_name = _("scoring model")
        verbose_name_plural = _("scoring models")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="scoring_model_one_active"),
            models.CheckConstraint(
                condition=Q(t1_entry__gt=F("t2_entry"), t2_entry__gt=F("t3_entry"), t3_entry__gt=0, t1_entry__lte=100),
                name="scoring_model_tiers_ordered",
            ),
            models.CheckConstraint(condition=Q(band_gap__gte=0), name="scoring_model_band_gap_non_negative"),
            models.CheckConstraint(
                condition=Q(health_yellow_min__gt=0, health_green_min__gt=F("health_yellow_min"), health_green_min__lte=100),
                name="scoring_model_health_bands_ordered",
            ),
            models.CheckConstraint(
                condition=Q(abc_a_cut__gt=0, abc_b_cut__gte=0, abc_a_cut__lte=1) & Q(abc_a_cut__lte=1 - F("abc_b_cut")),
                name="scoring_model_abc_cuts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        t1, t2, t3 = self.t1_entry, self.t2_entry, self.t3_entry
        if None not in (t1, t2, t3) and not (t1 > t2 > t3 > 0):
            errors["t2_entry"] = [_("Entry scores must be ordered: T1 > T2 > T3 > 0.")]
        if None not in (t2, t3, self.band_gap) and self.band_gap >= t3:
            errors["band_gap"] = [_("The band gap must be smaller than the T3 entry score.")]
        if None not in (self.health_yellow_min, self.health_green_min) and not (
            0 < self.health_yellow_min < self.health_green_min
        ):
            errors["health_green_min"] = [_("Health bands must be ordered: 0 < yellow < green.")]
        if None not in (self.abc_a_cut, self.abc_b_cut) and (self.abc_a_cut <= 0 or self.abc_a_cut + self.abc_b_cut > 1):
            errors["abc_b_cut"] = [_("The A cut must be above 0 and the A and B cuts together at most 1.")]
        if (
            None not in (self.health_override_default_days, self.health_override_max_days)
            and self.health_override_default_days > self.health_override_max_days
        ):
            errors["health_override_default_days"] = [_("The default cannot exceed the maximum.")]
        if errors:
            raise ValidationError(errors)

    @property
    def is_used(self) -> bool:
        return self.pk is not None and self.runs.exists()

    def config(self) -> dict[str, Any]:
        """Everything a run depends on, as JSON-ready data (hashed into ``ScoringRun.config_hash``)."""
        skip = {"id", "name", "version", "is_active", "based_on", "notes", "created_by", "created_at"}
        data: dict[str, Any] = {}
        for field in self._meta.concrete_fields:
            if field.name in skip:
                continue
            value = getattr(self, field.attname)
            if isinstance(value, Decimal):  # 70 and 70.00 are one configuration
                value = format(Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places)), "f")
            data[field.name] = value
        data["factors"] = [
            {
                "purpose": f.purpose, "code": f.code, "measure": f.measure, "scorer": f.scorer, "params": f.params,
                "weight": format(Decimal(f.weight).quantize(Decimal("0.001")), "f"),
            }
            for f in sorted(self.factors.all(), key=lambda f: (f.purpose, f.position, f.code))
        ]  # fmt: skip
        return data

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.config(), sort_keys=True, default=str).encode()).hexdigest()


class ScoringFactor(models.Model):
    """One factor of a scoring model: a measure, how it is scored (0–100) and its raw weight."""

    model = models.ForeignKey(ScoringModel, verbose_name=_("scoring model"), on_delete=models.CASCADE, related_name="factors")
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose.choices)
    code = models.SlugField(_("code"), max_length=32, help_text=_("Short stable name, e.g. F1 or payment."))
    measure = models.CharField(_("measure"), max_length=40, choices=MEASURE_CHOICES)
    scorer = models.CharField(_("scorer"), max_length=16, choices=Scorer.choices)
    params = models.JSONField(
        _("scorer parameters"), default=dict, blank=True,
        help_text=_(
            'Linear band: {"poor": 45, "good": 0}. Step bands: {"bounds": [10, 30], "scores": [100, 50, 0]} '
            '(a bound belongs to the range below it). Percentile: {} or {"nonpositive_scores_zero": true}. '
            'Ordinal map: {"map": {"A": 100, "B": 75}}.'
        ),
    )  # fmt: skip
    weight = models.DecimalField(
        _("raw weight"), max_digits=9, decimal_places=3, validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Any non-negative number; shown as a percentage of the purpose's total."),
    )  # fmt: skip
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("scoring factor")
        verbose_name_plural = _("scoring factors")
        ordering = ["model", "purpose", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["model", "purpose", "code"], name="scoring_factor_code_unique"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="scoring_factor_weight_non_negative"),
            models.CheckConstraint(condition=Q(purpose__in=Purpose.values), name="scoring_factor_purpose_valid"),
            models.CheckConstraint(condition=Q(scorer__in=Scorer.values), name="scoring_factor_scorer_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_measure_display()})"

    def clean(self) -> None:
        from tiering.scoring import validate_params

        errors: dict[str, list[Any]] = {}
        if self.weight is not None and self.weight < 0:
            errors["weight"] = [_("A weight cannot be negative.")]
        measure = MEASURES.get(self.measure)
        if measure is not None and measure.is_text and self.scorer and self.scorer != Scorer.ORDINAL_MAP:
            errors["scorer"] = [_("A letter rating can only be scored with the ordinal map.")]
        if self.scorer:
            messages = validate_params(self.scorer, self.params)
            if messages:
                errors["params"] = messages
        if errors:
            raise ValidationError(errors)


class ScoringRunQuerySet(models.QuerySet):
    def done(self) -> ScoringRunQuerySet:
        return self.filter(status=RunStatus.DONE)

    def with_tiers(self) -> ScoringRunQuerySet:
        return self.filter(part__in=[RunPart.ALL, RunPart.TIERS])

    def with_health(self) -> ScoringRunQuerySet:
        return self.filter(part__in=[RunPart.ALL, RunPart.HEALTH])


class ScoringRun(models.Model):
    """One recompute: which model version (and config hash) it used, for which date, and how it went."""

    model = models.ForeignKey(ScoringModel, verbose_name=_("scoring model"), on_delete=models.PROTECT, related_name="runs")
    config_hash = models.CharField(_("configuration hash"), max_length=64)
    job = models.OneToOneField(
        "kam.JobRun", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="scoring_run"
    )
    part = models.CharField(_("part"), max_length=8, choices=RunPart.choices, default=RunPart.ALL)
    as_of = models.DateField(_("as of"))
    period_start = models.DateField(_("evaluation period start"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    windows = models.JSONField(
        _("data windows"), default=dict, blank=True, help_text=_("The date ranges each measure read, for source links.")
    )
    error = models.TextField(_("error"), blank=True)

    objects = ScoringRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "part", "as_of"], name="scoring_run_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(part__in=RunPart.values), name="scoring_run_part_valid"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="scoring_run_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_part_display()} {self.as_of} #{self.pk}"


class ScoreSnapshot(models.Model):
    """A group's account value score, ABC class, gate rule and tier as one run computed them (§1.7).

    ``target_tier`` is what the score (or the gate rule) alone says; ``computed_tier`` is the tier
    after hysteresis and the T1 cap; ``tier`` is what applies, an active override included. The
    streak and residence counters carry the hysteresis state to the next evaluation.
    """

    # No index of their own: (run, account) and (account, -as_of) below serve both foreign keys.
    run = models.ForeignKey(
        ScoringRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="score_snapshots", db_index=False
    )
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("group"), on_delete=models.CASCADE, related_name="score_snapshots", db_index=False
    )
    as_of = models.DateField(_("as of"))
    period_start = models.DateField(_("evaluation period start"))
    score = models.DecimalField(_("value score"), **SCORE, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ScoreStatus.choices)
    coverage_pct = models.DecimalField(_("coverage %"), **SCORE)
    factors = models.JSONField(_("factor breakdown"), default=list)
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=ABCClass.choices, blank=True)
    value_metric = models.DecimalField(_("twelve-month value"), max_digits=18, decimal_places=2, null=True, blank=True)
    value_percentile = models.DecimalField(_("value percentile"), **SCORE, null=True, blank=True)
    gate = models.BooleanField(_("rule-qualified"), null=True, blank=True, help_text=_("Empty: unknown (too few years)."))
    gate_detail = models.JSONField(_("gate rule detail"), default=dict, blank=True)
    target_tier = models.CharField(_("tier by score"), max_length=2, choices=Tier.choices, blank=True)
    computed_tier = models.CharField(_("computed tier"), max_length=2, choices=Tier.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, blank=True)
    is_t1_candidate = models.BooleanField(_("T1 candidate"), default=False)
    change_reason = models.CharField(_("change"), max_length=20, choices=TierChangeReason.choices, blank=True)
    up_streak = models.PositiveSmallIntegerField(_("evaluations above entry"), default=0)
    down_streak = models.PositiveSmallIntegerField(_("evaluations below exit"), default=0)
    residence = models.PositiveSmallIntegerField(_("evaluations in tier"), default=0)
    is_frozen = models.BooleanField(_("renewal freeze"), default=False)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["account", "-as_of"], name="score_snapshot_account")]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="score_snapshot_run_account"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="score_snapshot_score_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.as_of}: {self.score} {self.tier}"


class HealthSnapshot(models.Model):
    """A group's health as one run computed it (§2.2): computed score and band, override, trend."""

    # No index of their own: (run, account) and (account, -as_of) below serve both foreign keys.
    run = models.ForeignKey(
        ScoringRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="health_snapshots", db_index=False
    )
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("group"), on_delete=models.CASCADE, related_name="health_snapshots", db_index=False
    )
    as_of = models.DateField(_("as of"))
    score = models.DecimalField(_("computed health score"), **SCORE, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ScoreStatus.choices)
    coverage_pct = models.DecimalField(_("coverage %"), **SCORE)
    is_partial = models.BooleanField(_("partial"), default=False)
    factors = models.JSONField(_("factor breakdown"), default=list)
    raw_band = models.CharField(_("band of the score"), max_length=8, choices=HealthBand.choices)
    band = models.CharField(_("computed band"), max_length=8, choices=HealthBand.choices)
    band_streak = models.SmallIntegerField(
        _("runs beyond the band edge"), default=0, help_text=_("Positive above the band, negative below.")
    )
    effective_score = models.DecimalField(_("health score"), **SCORE, null=True, blank=True)
    effective_band = models.CharField(_("health band"), max_length=8, choices=HealthBand.choices)
    override = models.ForeignKey(
        "tiering.HealthOverride", verbose_name=_("override"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score_before = models.DecimalField(_("score at the start of the look-back"), **SCORE, null=True, blank=True)
    delta = models.DecimalField(_("change over the look-back"), max_digits=6, decimal_places=2, null=True, blank=True)
    trend = models.CharField(_("trend"), max_length=4, choices=Trend.choices, blank=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("health snapshot")
        verbose_name_plural = _("health snapshots")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["account", "-as_of"], name="health_snapshot_account")]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="health_snapshot_run_account"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="health_snapshot_score_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.as_of}: {self.effective_score} {self.effective_band}"


class TierAssignment(models.Model):
    """The tier a group had over ``[valid_from, valid_to)``, why, and the evidence (§1.8).

    A blank tier means none (churned, or never scored). Exactly one assignment per group is open
    (``valid_to`` empty); it is what every member account shows in ``Account.tier``.
    """

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("group"), on_delete=models.CASCADE, related_name="tier_assignments"
    )
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=TierChangeReason.choices)
    evidence = models.ForeignKey(
        ScoreSnapshot, verbose_name=_("evidence"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override = models.ForeignKey(
        "tiering.TierOverride", verbose_name=_("override"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("tier assignment")
        verbose_name_plural = _("tier assignments")
        ordering = ["account", "-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(valid_to__isnull=True), name="tier_assignment_one_open"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="tier_assignment_valid_range"
            ),
            models.CheckConstraint(condition=Q(tier__in=[*Tier.values, ""]), name="tier_assignment_tier_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.tier or '—'} {self.valid_from}–{self.valid_to or ''}"


class OverrideBase(models.Model):
    """Reason, approver, validity ``[starts_on, expires_on)`` and how an override ended; audited."""

    account = models.ForeignKey("accounts.Account", verbose_name=_("group"), on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("reason"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    starts_on = models.DateField(_("starts on"))
    expires_on = models.DateField(_("expires on"), help_text=_("The first day the override no longer applies."))
    status = models.CharField(_("status"), max_length=8, choices=OverrideStatus.choices, default=OverrideStatus.ACTIVE)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("ended by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if not (self.reason or "").strip():
            errors["reason"] = [_("Give the reason for the override.")]
        if self.starts_on and self.expires_on and self.expires_on <= self.starts_on:
            errors["expires_on"] = [_("The expiry must be after the start.")]
        if errors:
            raise ValidationError(errors)


class TierOverride(OverrideBase):
    """A manual tier for a group (committee decision), e.g. approving a T1 candidate over the cap."""

    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tier override")
        verbose_name_plural = _("tier overrides")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_tieroverride", _("Can approve tier overrides"))]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(status="active"), name="tier_override_one_active"),
            models.CheckConstraint(condition=Q(expires_on__gt=F("starts_on")), name="tier_override_expiry_after_start"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="tier_override_tier_valid"),
            models.CheckConstraint(condition=Q(status__in=OverrideStatus.values), name="tier_override_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.tier} until {self.expires_on}"


class HealthOverride(OverrideBase):
    """A manual health score or band for a group; the computed score is kept beside it (§2.2)."""

    override_score = models.DecimalField(_("score"), **SCORE, null=True, blank=True, validators=PERCENT)
    override_band = models.CharField(_("band"), max_length=8, choices=BANDS, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("health override")
        verbose_name_plural = _("health overrides")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_healthoverride", _("Can approve health overrides"))]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(status="active"), name="health_override_one_active"),
            models.CheckConstraint(condition=Q(expires_on__gt=F("starts_on")), name="health_override_expiry_after_start"),
            models.CheckConstraint(
                condition=(Q(override_score__isnull=False) & Q(override_band=""))
                | (Q(override_score__isnull=True) & Q(override_band__in=["red", "yellow", "green"])),
                name="health_override_score_or_band",
            ),
            models.CheckConstraint(
                condition=Q(override_score__isnull=True) | Q(override_score__gte=0, override_score__lte=100),
                name="health_override_score_0_100",
            ),
            models.CheckConstraint(condition=Q(status__in=OverrideStatus.values), name="health_override_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.override_score if self.override_score is not None else self.override_band}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if (self.override_score is None) == (not self.override_band):
            errors["override_score"] = [_("Give either a score or a band, not both.")]
        if errors:
            raise ValidationError(errors)
