"""Enumerations of the tiering app. Codes are stored and served; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    """What a factor feeds: the Account Value Score (tiers) or the health score."""

    VALUE = "value", _("Account value score")
    HEALTH = "health", _("Health score")


class Scorer(models.TextChoices):
    # DOMAIN.md §1.4: how a raw measure becomes 0–100.
    LINEAR_BAND = "linear_band", _("Linear band (poor → 0, good → 100)")
    STEP_BANDS = "step_bands", _("Step bands (ranges → points)")
    PERCENTILE = "percentile", _("Percentile rank in the portfolio")
    ORDINAL_MAP = "ordinal_map", _("Ordinal map (rating → points)")


class RunPart(models.TextChoices):
    ALL = "all", _("Tiers and health")
    TIERS = "tiers", _("Tiers (value score, ABC, gate rule)")
    HEALTH = "health", _("Health")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScoreStatus(models.TextChoices):
    OK = "ok", _("Scored")
    INSUFFICIENT = "insufficient_data", _("Insufficient data")


class TierChangeReason(models.TextChoices):
    INITIAL = "initial", _("First evaluation")
    PROMOTED = "promoted", _("Promoted (score above the entry threshold)")
    DEMOTED = "demoted", _("Demoted (score below the exit threshold)")
    CAPPED = "capped", _("Moved out of T1 by the T1 cap")
    OVERRIDE = "override", _("Manual override")
    OVERRIDE_ENDED = "override_ended", _("Override ended; computed tier restored")
    CHURNED = "churned", _("Account churned")
    GROUP = "group_membership", _("Follows its group")


class OverrideStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class Trend(models.TextChoices):
    UP = "up", _("Up")
    FLAT = "flat", _("Flat")
    DOWN = "down", _("Down")


class ABCClass(models.TextChoices):
    # Blank means "inactive": no revenue in the last twelve months (DOMAIN.md §1.1).
    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")
