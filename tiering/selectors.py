"""Reads of the tiering app for pages, the API and reports: "why this tier", health, history, candidates.

Every selector starts from ``Account.objects.visible_to(user)``: an account the user may not see
raises ``Account.DoesNotExist`` (a 404 for the caller). Scores live on the account's group root;
seeing an account means seeing the tier and health it carries, so the group's snapshot is read
once the account itself is known to be visible, even when the root is another manager's.
Each selector runs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from tiering.choices import OverrideStatus, RunStatus
from tiering.measures import EXECUTIVE_MEETING_KINDS, MEASURES, SOURCES
from tiering.models import (
    HealthOverride,
    HealthSnapshot,
    ScoreSnapshot,
    ScoringFactor,
    ScoringModel,
    ScoringRun,
    TierAssignment,
    TierOverride,
)
from tiering.scoring import normalised_weights

TOP_FACTORS = 3


def _visible_account(user: Any, account_id: int) -> Account:
    return Account.objects.visible_to(user).only("id", "name", "group_root_id", "tier", "health_band").get(pk=account_id)


def _group_id(account: Account) -> int:
    return account.group_root_id or account.pk


def format_raw(value: Any, unit: str) -> str:
    """A raw measure as the explanations show it (numbers localised by the template layer if needed)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "currency":
        return f"{value:,.0f} {settings.KAM_BASE_CURRENCY}"
    if unit in {"percent", "score"}:
        return f"{value:.1f}"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "days":
        return f"{value:.0f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def source_reference(source: str, group_id: int, windows: dict[str, Any]) -> dict[str, Any]:
    """Where a factor's data lives: a model and the filters that list the rows behind the number."""
    spec = SOURCES.get(source)
    if spec is None:
        return {}
    if "field" in spec:
        return {"model": spec["model"], "id": group_id, "field": spec["field"]}
    filters: dict[str, Any] = {"account__group_root": group_id}
    window = windows.get(spec["window"]) if spec["window"] else None
    if window:
        filters[f"{spec['date_field']}__date__gte" if spec["date_field"].endswith("_at") else f"{spec['date_field']}__gte"] = (
            window[0]
        )
        filters[f"{spec['date_field']}__date__lte" if spec["date_field"].endswith("_at") else f"{spec['date_field']}__lte"] = (
            window[1]
        )
    if source == "meetings_exec":
        filters["kind__in"] = list(EXECUTIVE_MEETING_KINDS)
    if source == "surveys_nps_12m":
        filters["kind"] = "nps"
    return {"model": spec["model"], "filters": filters}


def _explain_factors(snapshot: ScoreSnapshot | HealthSnapshot, purpose: str, group_id: int) -> list[dict[str, Any]]:
    """The stored breakdown with what the run's (immutable) model version says about each factor:
    measure, unit, label, the re-normalised weight, a sentence and a link to the source rows."""
    factors = {f.code: f for f in ScoringFactor.objects.filter(model_id=snapshot.run.model_id, purpose=purpose)}
    windows = snapshot.run.windows
    explained = []
    for row in snapshot.factors:
        factor = factors.get(row["code"])
        measure = MEASURES.get(factor.measure) if factor else None
        label = str(measure.label) if measure else row["code"]
        unit = measure.unit if measure else ""
        if row.get("missing"):
            text = _("No data: %(label)s") % {"label": label}
        else:
            text = str(measure.explanation % {"value": format_raw(row["raw"], unit)}) if measure else ""
        explained.append(
            {
                **row,
                "measure": factor.measure if factor else None,
                "unit": unit,
                "label": label,
                "effective_weight": None if row["contribution"] is None else round(row["contribution"] + row["lost"], 2),
                "explanation": text,
                "source_ref": source_reference(measure.source, group_id, windows) if measure else {},
            }
        )
    return explained


def _holding_down(factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The factors that cost the most points (§1.7 "what is holding this score down")."""
    losing = [f for f in factors if f.get("lost")]
    return sorted(losing, key=lambda f: (-f["lost"], f["code"]))[:TOP_FACTORS]


def tier_explanation(*, user: Any, account_id: int) -> dict[str, Any]:
    """Why the account has its tier: the group's latest value score with its factor breakdown,
    the three factors holding the score down, the factors without data, the gate rule, the ABC
    class, the T1 candidate state and the active override (5 queries)."""
    return tier_explanation_of(_visible_account(user, account_id))


def tier_explanation_of(account: Account) -> dict[str, Any]:
    """``tier_explanation`` for an account the caller has already found through ``visible_to``
    (a page that loaded the account does not look it up again; 4 queries)."""
    group_id = _group_id(account)
    snapshot = (
        ScoreSnapshot.objects.filter(account_id=group_id, run__status=RunStatus.DONE)
        .select_related("run", "run__model")
        .order_by("-period_start", "-as_of", "-run__finished_at", "-id")
        .first()
    )
    override = (
        TierOverride.objects.filter(account_id=group_id, status=OverrideStatus.ACTIVE).select_related("approved_by").first()
    )
    result: dict[str, Any] = {
        "account_id": account.pk,
        "group_id": group_id,
        "tier": account.tier or None,
        "override": None,
        "snapshot": None,
    }
    if override is not None:
        result["override"] = {
            "id": override.pk, "tier": override.tier, "reason": override.reason, "approved_by": str(override.approved_by),
            "starts_on": override.starts_on, "expires_on": override.expires_on,
        }  # fmt: skip
    if snapshot is None:
        return result
    factors = _explain_factors(snapshot, "value", group_id)
    result["snapshot"] = {
        "id": snapshot.pk,
        "run_id": snapshot.run_id,
        "as_of": snapshot.as_of,
        "model": str(snapshot.run.model),
        "model_version": snapshot.run.model.version,
        "score": snapshot.score,
        "status": snapshot.status,
        "coverage_pct": snapshot.coverage_pct,
        "target_tier": snapshot.target_tier or None,
        "computed_tier": snapshot.computed_tier or None,
        "tier": snapshot.tier or None,
        "is_t1_candidate": snapshot.is_t1_candidate,
        "is_frozen": snapshot.is_frozen,
        "change_reason": snapshot.change_reason,
        "streaks": {"up": snapshot.up_streak, "down": snapshot.down_streak, "residence": snapshot.residence},
        "abc_class": snapshot.abc_class or None,
        "value_metric": snapshot.value_metric,
        "value_basis": snapshot.run.windows.get("value_basis"),
        "value_percentile": snapshot.value_percentile,
        "rule_qualified": snapshot.gate,
        "gate_detail": {
            **snapshot.gate_detail,
            "fiscal_years": snapshot.run.windows.get("fiscal_year_labels", [])[-(snapshot.run.model.gate_years + 1) :],
        },
        "factors": factors,
        "holding_down": _holding_down(factors),
        "missing": [f for f in factors if f.get("missing")],
    }
    return result


def health_explanation(*, user: Any, account_id: int) -> dict[str, Any]:
    """The group's latest health: computed and shown score/band, trend, breakdown, top deficits (5 queries)."""
    return health_explanation_of(_visible_account(user, account_id))


def health_explanation_of(account: Account) -> dict[str, Any]:
    """``health_explanation`` for an account already found through ``visible_to`` (4 queries)."""
    group_id = _group_id(account)
    snapshot = (
        HealthSnapshot.objects.filter(account_id=group_id, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("-as_of", "-run__finished_at", "-id")
        .first()
    )
    override = HealthOverride.objects.filter(account_id=group_id, status=OverrideStatus.ACTIVE).first()
    result: dict[str, Any] = {"account_id": account.pk, "group_id": group_id, "override": None, "snapshot": None}
    if override is not None:
        result["override"] = {
            "id": override.pk, "score": override.override_score, "band": override.override_band or None,
            "reason": override.reason, "starts_on": override.starts_on, "expires_on": override.expires_on,
        }  # fmt: skip
    if snapshot is None:
        return result
    factors = _explain_factors(snapshot, "health", group_id)
    result["snapshot"] = {
        "id": snapshot.pk,
        "run_id": snapshot.run_id,
        "as_of": snapshot.as_of,
        "score": snapshot.score,
        "band": snapshot.band,
        "effective_score": snapshot.effective_score,
        "effective_band": snapshot.effective_band,
        "status": snapshot.status,
        "coverage_pct": snapshot.coverage_pct,
        "is_partial": snapshot.is_partial,
        "trend": snapshot.trend or None,
        "delta": snapshot.delta,
        "score_before": snapshot.score_before,
        "factors": factors,
        "holding_down": _holding_down(factors),
        "missing": [f for f in factors if f.get("missing")],
    }
    return result


def tier_history(*, user: Any, account_id: int) -> QuerySet[TierAssignment]:
    """The tier assignments of the account's group, newest first, with their evidence and override."""
    return tier_history_of(_visible_account(user, account_id))


def tier_history_of(account: Account) -> QuerySet[TierAssignment]:
    """``tier_history`` for an account already found through ``visible_to``."""
    return (
        TierAssignment.objects.filter(account_id=_group_id(account))
        .select_related("evidence", "override", "run")
        .order_by("-valid_from", "-id")
    )


def health_history(*, user: Any, account_id: int, since: dt.date | None = None) -> QuerySet[HealthSnapshot]:
    """The group's health snapshots (for a trend chart), oldest first."""
    return health_history_of(_visible_account(user, account_id), since=since)


def health_history_of(account: Account, *, since: dt.date | None = None) -> QuerySet[HealthSnapshot]:
    """``health_history`` for an account already found through ``visible_to``."""
    rows = HealthSnapshot.objects.filter(account_id=_group_id(account), run__status=RunStatus.DONE)
    if since is not None:
        rows = rows.filter(as_of__gte=since)
    return rows.only("id", "as_of", "score", "effective_score", "band", "effective_band", "trend").order_by("as_of", "id")


def latest_tier_run() -> ScoringRun | None:
    return (
        ScoringRun.objects.done()
        .with_tiers()
        .select_related("model")
        .order_by("-period_start", "-as_of", "-finished_at", "-id")
        .first()
    )


def t1_candidates(*, user: Any) -> QuerySet[ScoreSnapshot]:
    """Groups of the latest tier run that qualify for T1 but are over the cap (committee decides), best first."""
    run = latest_tier_run()
    if run is None:
        return ScoreSnapshot.objects.none()
    return (
        ScoreSnapshot.objects.filter(run=run, is_t1_candidate=True, account__in=Account.objects.visible_to(user))
        .select_related("account", "account__owner")
        .order_by("-score", "account_id")
    )


def rule_qualified(*, user: Any) -> QuerySet[ScoreSnapshot]:
    """Groups of the latest tier run that pass the gate rule (§1.5), to be confirmed by the committee."""
    run = latest_tier_run()
    if run is None:
        return ScoreSnapshot.objects.none()
    return (
        ScoreSnapshot.objects.filter(run=run, gate=True, account__in=Account.objects.visible_to(user))
        .select_related("account", "account__owner")
        .order_by("-score", "account_id")
    )


def override_usage(*, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Overrides per user who set them, tier and health (DOMAIN.md §2.2 "reported per user"); 2 queries."""
    usage: dict[Any, dict[str, Any]] = {}
    for model, key in ((TierOverride, "tier"), (HealthOverride, "health")):
        rows = model.objects.all()
        if since is not None:
            rows = rows.filter(created_at__date__gte=since)
        for row in (
            rows.values("created_by", "created_by__username")
            .annotate(total=Count("id"), active=Count("id", filter=Q(status=OverrideStatus.ACTIVE)))
            .order_by()
        ):
            entry = usage.setdefault(
                row["created_by"],
                {"user_id": row["created_by"], "username": row["created_by__username"], "tier": 0, "health": 0, "active": 0},
            )
            entry[key] += row["total"]
            entry["active"] += row["active"]
    return sorted(usage.values(), key=lambda e: (-(e["tier"] + e["health"]), e["username"] or ""))


def scoring_model_weights(model: ScoringModel) -> list[dict[str, Any]]:
    """The model's factors with raw weights shown as normalised percentages per purpose (1 query)."""
    factors = list(model.factors.all())
    rows = []
    for purpose in ("value", "health"):
        mine = [f for f in factors if f.purpose == purpose]
        for factor, pct in zip(mine, normalised_weights([f.weight for f in mine]), strict=True):
            rows.append(
                {
                    "purpose": purpose,
                    "code": factor.code,
                    "measure": factor.measure,
                    "weight": factor.weight,
                    "weight_pct": round(pct, 2),
                }
            )
    return rows
