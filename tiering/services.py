"""Writes of the tiering app: scoring model versions, overrides, and the score run.

Overrides act at once (the group's tier or health changes, its members' fields follow and the
events go out after commit) and are audited (``simple_history`` keeps every version with its
author). Expiry needs no job of its own: every score run ends expired overrides first, which
restores the computed tier or health.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Tier
from accounts.models import Account
from kam.events import publish_many
from tiering.choices import OverrideStatus, Purpose, RunStatus
from tiering.hysteresis import band_of
from tiering.models import HealthOverride, HealthSnapshot, ScoreSnapshot, ScoringFactor, ScoringModel, TierOverride
from tiering.recompute import (
    Config,
    active_tier_overrides,
    denormalise_accounts,
    desired_tiers,
    publish_lock,
    reconcile_assignments,
    scores_recompute,
)

__all__ = [
    "health_override_end",
    "health_override_set",
    "scores_recompute",
    "scoring_model_activate",
    "scoring_model_copy",
    "scoring_model_save",
    "tier_override_end",
    "tier_override_set",
]

SCORING_MODEL_FIELDS = frozenset(
    f.name
    for f in ScoringModel._meta.concrete_fields
    if f.editable and f.name not in {"id", "version", "is_active", "based_on", "created_by", "created_at"}
)
FACTOR_FIELDS = ("purpose", "code", "measure", "scorer", "params", "weight", "position")


# --- Scoring models --------------------------------------------------------------------------------


def _validate_factor_set(factors: list[ScoringFactor]) -> None:
    errors: list[str] = []
    for purpose in Purpose:
        mine = [f for f in factors if f.purpose == purpose]
        if not any(f.weight and f.weight > 0 for f in mine):
            errors.append(_("The %(purpose)s needs at least one factor with a weight above zero.") % {"purpose": purpose.label})
        codes = [f.code for f in mine]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            errors.append(_("Factor codes must be unique: %(codes)s.") % {"codes": ", ".join(duplicates)})
    if errors:
        raise ValidationError({"factors": errors})


def _build_factors(model: ScoringModel, factors: list[dict[str, Any]]) -> list[ScoringFactor]:
    built, errors = [], {}
    for index, data in enumerate(factors):
        unknown = set(data) - set(FACTOR_FIELDS)
        if unknown:
            raise TypeError(f"not a factor field: {', '.join(sorted(unknown))}")
        factor = ScoringFactor(model=model, **{"position": index, **data})
        try:
            factor.full_clean(exclude=["model"])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(f"factors[{index}].{name}", []).extend(messages)
        built.append(factor)
    if errors:
        raise ValidationError(errors)
    _validate_factor_set(built)
    return built


@transaction.atomic
def scoring_model_save(
    *,
    model: ScoringModel | None = None,
    fields: dict[str, Any],
    factors: list[dict[str, Any]] | None = None,
    actor: Any = None,
) -> ScoringModel:
    """Create a model, change an unused one, or — when runs have used it — save the changes as a new version.

    A new version of the active model becomes the active one; a new version of an inactive one
    stays inactive. ``factors`` (a list of factor field dicts) replaces all factors; ``None`` keeps them.
    """
    unknown = set(fields) - SCORING_MODEL_FIELDS
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")
    if model is not None:
        model = ScoringModel.objects.select_for_update().get(pk=model.pk)
    if factors is None:
        if model is None:
            raise ValidationError({"factors": [_("A new scoring model needs its factors.")]})
        factors = [{name: getattr(f, name) for name in FACTOR_FIELDS} for f in model.factors.all()]
    if model is not None and not model.is_used:
        target = model
    else:
        target = ScoringModel(created_by=actor if getattr(actor, "pk", None) else None)
        if model is not None:
            for name in SCORING_MODEL_FIELDS:
                setattr(target, name, getattr(model, name))
            target.based_on = model
    for name, value in fields.items():
        setattr(target, name, value)
    if target.pk is None:
        target.version = (ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    target.full_clean(exclude=["version"])
    built = _build_factors(target, factors)
    becomes_active = model is not None and model.is_active and target.pk is None
    if becomes_active:
        ScoringModel.objects.filter(pk=model.pk).update(is_active=False)
        target.is_active = True
    target.save()
    ScoringFactor.objects.filter(model=target).delete()
    for factor in built:
        factor.model = target
    ScoringFactor.objects.bulk_create(built)
    return target


@transaction.atomic
def scoring_model_copy(*, model: ScoringModel, actor: Any = None) -> ScoringModel:
    """A new, inactive version with the same settings and factors, to edit before activating it."""
    copy = scoring_model_save(
        fields={name: getattr(model, name) for name in SCORING_MODEL_FIELDS},
        factors=[{name: getattr(f, name) for name in FACTOR_FIELDS} for f in model.factors.all()],
        actor=actor,
    )
    copy.based_on = model
    copy.save(update_fields=["based_on"])
    return copy


@transaction.atomic
def scoring_model_activate(*, model: ScoringModel, actor: Any = None) -> ScoringModel:
    """Make ``model`` the one active version (the next run uses it)."""
    model = ScoringModel.objects.select_for_update().get(pk=model.pk)
    model.full_clean(exclude=["version"])
    _validate_factor_set(list(model.factors.all()))
    ScoringModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
    if not model.is_active:
        model.is_active = True
        model.save(update_fields=["is_active"])
    return model


# --- Overrides ------------------------------------------------------------------------------------


def _group_of(account: Account) -> Account:
    if account.group_root_id in (None, account.pk):
        return account
    return Account.objects.get(pk=account.group_root_id)


def _check_approver(approver: Any, permission: str) -> None:
    if approver is None or not getattr(approver, "is_active", False) or not approver.has_perm(permission):
        raise ValidationError({"approved_by": [_("The approver must be an active user allowed to approve overrides.")]})


def _dates(
    starts_on: dt.date | None, expires_on: dt.date | None, default_days: int | None, max_days: int
) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    starts_on = starts_on or today
    if starts_on < today:
        raise ValidationError({"starts_on": [_("An override cannot start in the past.")]})
    if expires_on is None:
        if default_days is None:
            raise ValidationError({"expires_on": [_("Give the date the override expires.")]})
        expires_on = starts_on + dt.timedelta(days=default_days)
    if expires_on <= starts_on:
        raise ValidationError({"expires_on": [_("The expiry must be after the start.")]})
    if (expires_on - starts_on).days > max_days:
        raise ValidationError({"expires_on": [_("An override can last at most %(days)s days.") % {"days": max_days}]})
    return starts_on, expires_on


def _group_status(group: Account) -> str:
    statuses = set(Account.objects.filter(group_root_id=group.pk).values_list("status", flat=True)) | {group.status}
    return "active" if "active" in statuses else "prospect" if "prospect" in statuses else "churned"


def _apply_tier_now(group: Account, today: dt.date) -> None:
    """Re-derive the group's open tier assignment and its members' ``tier`` (one group, a few queries)."""
    latest = (
        ScoreSnapshot.objects.filter(account=group, run__status=RunStatus.DONE)
        .order_by("-period_start", "-as_of", "-run__finished_at", "-id")
        .values_list("computed_tier", "id", "change_reason")
        .first()
    )
    computed = {group.pk: latest} if latest else {}
    desired = desired_tiers(
        groups=[group.pk],
        status={group.pk: _group_status(group)},
        computed=computed,
        overrides=active_tier_overrides(today, [group.pk]),
    )
    changes = reconcile_assignments(desired=desired, as_of=today, run=None, groups=[group.pk])
    tier_events, _ = denormalise_accounts(changes=changes, as_of=today, groups=[group.pk])
    publish_many("account.tier_changed", tier_events)


def _end_active(model: type[TierOverride] | type[HealthOverride], group: Account, actor: Any, today: dt.date) -> None:
    for override in model.objects.select_for_update().filter(account=group, status=OverrideStatus.ACTIVE):
        override.status, override.ended_on = OverrideStatus.REVOKED, today
        override.ended_by = actor if getattr(actor, "pk", None) else None
        override._history_user = override.ended_by
        override.save()


def tier_override_validate(
    *, tier: str, approved_by: Any, expires_on: dt.date | None, starts_on: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """Check a tier override's fields (forms call this to show errors by field); returns (starts_on, expires_on)."""
    errors: dict[str, list[str]] = {}
    if tier not in Tier.values:
        errors["tier"] = [_("Choose one of T1, T2, T3 or T4.")]
    try:
        _check_approver(approved_by, "tiering.approve_tieroverride")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        dates = _dates(starts_on, expires_on, None, Config.load().model.tier_override_max_days)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return dates


def health_override_validate(
    *, score: Decimal | None, band: str, approved_by: Any, expires_on: dt.date | None, starts_on: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """Check a health override's fields; returns (starts_on, expires_on)."""
    model = Config.load().model
    errors: dict[str, list[str]] = {}
    if (score is None) == (not band):
        errors["override_score"] = [_("Give either a score or a band, not both.")]
    try:
        _check_approver(approved_by, "tiering.approve_healthoverride")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        dates = _dates(starts_on, expires_on, model.health_override_default_days, model.health_override_max_days)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return dates


@transaction.atomic
def tier_override_set(
    *,
    account: Account,
    tier: str,
    reason: str,
    approved_by: Any,
    expires_on: dt.date,
    starts_on: dt.date | None = None,
    actor: Any = None,
) -> TierOverride:
    """Set a group's tier by hand until ``expires_on`` (at most the model's maximum, 365 days by default).

    Replaces the group's active override, if any. Given any member, the override applies to its group.
    """
    publish_lock()
    starts_on, expires_on = tier_override_validate(tier=tier, approved_by=approved_by, expires_on=expires_on, starts_on=starts_on)
    group = _group_of(account)
    today = timezone.localdate()
    _end_active(TierOverride, group, actor, today)
    override = TierOverride(
        account=group, tier=tier, reason=(reason or "").strip(), approved_by=approved_by, starts_on=starts_on,
        expires_on=expires_on, created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    override.full_clean()
    override._history_user = override.created_by
    override.save()
    _apply_tier_now(group, today)
    return override


@transaction.atomic
def tier_override_end(*, override: TierOverride, actor: Any = None) -> TierOverride:
    """End an override early: the computed tier applies again from today."""
    publish_lock()
    override = TierOverride.objects.select_for_update().get(pk=override.pk)
    if override.status != OverrideStatus.ACTIVE:
        raise ValidationError({"status": [_("This override has already ended.")]})
    today = timezone.localdate()
    _end_active(TierOverride, override.account, actor, today)
    _apply_tier_now(override.account, today)
    override.refresh_from_db()
    return override


def _apply_health_now(group: Account, today: dt.date) -> None:
    """Re-derive the health score and band the group's members show (override, else the latest computed)."""
    latest = (
        HealthSnapshot.objects.filter(account=group, run__status=RunStatus.DONE)
        .order_by("-as_of", "-run__finished_at", "-id")
        .values_list("score", "band", "delta")
        .first()
    )
    score, band, delta = latest if latest else (None, "", None)
    override = (
        HealthOverride.objects.filter(account=group, status=OverrideStatus.ACTIVE, starts_on__lte=today, expires_on__gt=today)
        .values_list("override_score", "override_band")
        .first()
    )
    if override is not None:
        rules = Config.load().band_rules
        override_score, override_band = override
        score, band = (override_score, band_of(override_score, rules)) if override_score is not None else (score, override_band)
    members = Account.objects.filter(group_root_id=group.pk) | Account.objects.filter(pk=group.pk)
    changed = [
        {"account_id": pk, "old_band": old or None, "new_band": band or None, "score": None if score is None else float(score),
         "delta_30d": None if delta is None else float(delta)}
        for pk, old in members.exclude(health_band=band).values_list("id", "health_band")
    ]  # fmt: skip
    members.update(health_score=score, health_band=band)
    publish_many("account.health_band_changed", changed)


@transaction.atomic
def health_override_set(
    *,
    account: Account,
    reason: str,
    score: Decimal | None = None,
    band: str = "",
    approved_by: Any = None,
    expires_on: dt.date | None = None,
    starts_on: dt.date | None = None,
    actor: Any = None,
) -> HealthOverride:
    """Set a group's health score or band by hand; expires after 30 days by default (90 at most).

    The computed score stays in every snapshot beside the override; when the override ends the
    computed score and band return. ``approved_by`` defaults to the actor.
    """
    publish_lock()
    approved_by = approved_by or actor
    starts_on, expires_on = health_override_validate(
        score=score, band=band, approved_by=approved_by, expires_on=expires_on, starts_on=starts_on
    )
    group = _group_of(account)
    today = timezone.localdate()
    _end_active(HealthOverride, group, actor, today)
    override = HealthOverride(
        account=group, override_score=score, override_band=band or "", reason=(reason or "").strip(),
        approved_by=approved_by, starts_on=starts_on, expires_on=expires_on,
        created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    override.full_clean()
    override._history_user = override.created_by
    override.save()
    _apply_health_now(group, today)
    return override


@transaction.atomic
def health_override_end(*, override: HealthOverride, actor: Any = None) -> HealthOverride:
    publish_lock()
    override = HealthOverride.objects.select_for_update().get(pk=override.pk)
    if override.status != OverrideStatus.ACTIVE:
        raise ValidationError({"status": [_("This override has already ended.")]})
    today = timezone.localdate()
    _end_active(HealthOverride, override.account, actor, today)
    _apply_health_now(override.account, today)
    override.refresh_from_db()
    return override
