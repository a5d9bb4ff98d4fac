"""A score run: aggregate, score every group, then publish everything in one short transaction.

The heavy phase (``tiering.inputs`` and the arithmetic of ``tiering.scoring``) runs outside any
transaction; the publish phase writes the denormalised account fields, tier assignments, the
domain events and the run's "done" status in one transaction, so readers see the old or the new
state and never half of one. The snapshots (COPY, unique per run and group) are written alongside,
on a second connection when the run is not inside a caller's transaction: readers see a run's
snapshots only once it is done. The number of queries depends on the part run,
never on the number of accounts.

Tier evaluations are per period (a quarter by default): a second run in the same period replaces
the first one's evaluation, so re-running is idempotent and clicking "recompute" twice never counts
as two consecutive evaluations. Health runs are per day in the same way.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from kam.bulk import PreparedCopy, array_literal, bulk_insert
from kam.events import publish_many
from kam.jobs import Progress
from kam.locks import lock_key
from kam.parallel import can_run_concurrently, meanwhile
from tiering.choices import OverrideStatus, Purpose, RunPart, RunStatus, ScoreStatus, TierChangeReason
from tiering.hysteresis import (
    BandRules,
    CapEntry,
    TierRules,
    TierState,
    apply_t1_cap,
    band_of,
    band_step,
    target_tier,
    tier_step,
    trend_of,
)
from tiering.inputs import PortfolioInputs, collect_inputs, period_start
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
from tiering.scoring import (
    abc_classes,
    composite,
    gate_rule,
    normalised_weights,
    percentile_ranks,
    round2,
    score_column,
)

logger = logging.getLogger(__name__)

ACCOUNT = Account._meta.db_table
ASSIGNMENT = TierAssignment._meta.db_table
# How far before the look-back date a health snapshot may be and still serve for the trend.
TREND_TOLERANCE_DAYS = 7


class NoActiveModel(Exception):
    def __init__(self) -> None:
        super().__init__("No active scoring model. Activate one in the admin (Tiering › Scoring models).")


@dataclass
class Config:
    model: ScoringModel
    value_factors: list[ScoringFactor]
    health_factors: list[ScoringFactor]
    tier_rules: TierRules
    band_rules: BandRules

    @classmethod
    def load(cls, model: ScoringModel | None = None) -> Config:
        if model is None:
            try:
                model = ScoringModel.objects.prefetch_related("factors").active()
            except ScoringModel.DoesNotExist:
                raise NoActiveModel() from None
        factors = sorted(model.factors.all(), key=lambda f: (f.position, f.code))
        return cls(
            model=model,
            value_factors=[f for f in factors if f.purpose == Purpose.VALUE],
            health_factors=[f for f in factors if f.purpose == Purpose.HEALTH],
            tier_rules=TierRules(
                entries=(model.t1_entry, model.t2_entry, model.t3_entry),
                band_gap=model.band_gap,
                consecutive=model.consecutive_evaluations,
                min_residence=model.min_residence_evaluations,
            ),
            band_rules=BandRules(
                yellow_min=model.health_yellow_min,
                green_min=model.health_green_min,
                min_cross=model.health_band_min_cross,
                consecutive_runs=model.health_band_consecutive_runs,
            ),
        )


class Stopwatch:
    """Wall seconds per phase of a run (``lap`` ends the current phase under a name), kept in the
    run's counts as ``seconds`` so that a slow run says where its time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now


# The queries of ``collect_inputs``, in order (its ``step`` is called after each; queries 4–7 run
# meanwhile on a second connection, so ``inputs.nps`` includes waiting for them).
INPUT_STEPS = ("accounts", "rates", "invoices", "nps", "meetings", "sla", "renewals")


# --- Scoring (pure Python over the aggregated inputs) ---------------------------------------------


@dataclass
class Scored:
    score: Decimal | None
    coverage: Decimal
    factors: list[dict[str, Any]]


def score_factors(
    factors: list[ScoringFactor], inputs: PortfolioInputs, groups: list[int], min_coverage: Decimal
) -> list[Scored]:
    """Score every group on ``factors``: scorers column by column, then the weighted composite.

    The same arithmetic as ``scoring.composite`` and ``scoring.breakdown`` (the worked examples
    test those), arranged for 100,000 groups: the weights, coverage and effective weights depend
    only on which factors have data, so they are computed once per pattern of missing factors
    (a handful per portfolio) instead of once per group, in ``Decimal``, as ``composite`` does.
    """
    measures = [inputs.measures.get(f.measure, {}) for f in factors]
    raw_columns = [[values.get(g) for g in groups] for values in measures]
    score_columns = [score_column(f.scorer, f.params, column) for f, column in zip(factors, raw_columns, strict=True)]
    raw_weights = [f.weight for f in factors]
    weights = [round(w, 2) for w in normalised_weights(raw_weights)]
    codes = [f.code for f in factors]
    note_maps = [(k, notes) for k, f in enumerate(factors) if (notes := inputs.notes.get(f.measure))]
    n = len(factors)
    # What is shown of each cell, column by column; and which factors have data, per group, as a
    # bit mask (the key of the group's plan).
    raws_shown = [[raw if raw is None or isinstance(raw, str) else round(raw, 4) for raw in column] for column in raw_columns]
    scores_shown = [[None if score is None else round(score, 2) for score in column] for column in score_columns]
    masks = [0] * len(groups)
    for k, column in enumerate(score_columns):
        bit = 1 << k
        for i, score in enumerate(column):
            if score is not None:
                masks[i] |= bit
    plans: dict[int, tuple[Decimal | None, list[float | None] | None]] = {}
    results = []

    def rows_of(columns: list[list[Any]]) -> Iterable[tuple[Any, ...]]:
        return zip(*columns, strict=True) if columns else itertools.repeat((), len(groups))

    for group, mask, scores, raws, shown in zip(
        groups, masks, rows_of(score_columns), rows_of(raws_shown), rows_of(scores_shown), strict=True
    ):
        plan = plans.get(mask)
        if plan is None:
            shape = composite([0.0 if mask >> k & 1 else None for k in range(n)], raw_weights, min_coverage)
            plan = plans[mask] = (
                round2(shape.coverage_pct),
                shape.effective_weights if shape.score is not None else None,
            )
        coverage, effective = plan
        rows = []
        value = 0
        for k in range(n):
            score = scores[k]
            if score is None:
                row = {"code": codes[k], "raw": raws[k], "score": None, "weight": weights[k], "contribution": None, "lost": None}
                row["missing"] = True
            elif effective is None:
                row = {
                    "code": codes[k],
                    "raw": raws[k],
                    "score": shown[k],
                    "weight": weights[k],
                    "contribution": None,
                    "lost": None,
                }
            else:
                weight = effective[k]
                contribution = weight * score / 100.0
                value += contribution
                row = {
                    "code": codes[k],
                    "raw": raws[k],
                    "score": shown[k],
                    "weight": weights[k],
                    "contribution": round(contribution, 2),
                    "lost": round(weight - contribution, 2),
                }
            rows.append(row)
        for k, notes in note_maps:
            if note := notes.get(group):
                rows[k]["note"] = note
        score = None if effective is None else round2(min(max(value, 0.0), 100.0))
        results.append(Scored(score, coverage, rows))
    return results


@dataclass
class ValueResult:
    group: int
    scored: Scored
    abc_class: str
    value_metric: Decimal
    value_percentile: Decimal | None
    gate: bool | None
    gate_detail: dict[str, Any]
    target_tier: str
    state: TierState
    reason: str
    is_candidate: bool = False
    is_frozen: bool = False


def evaluate_value(config: Config, inputs: PortfolioInputs, previous: dict[int, TierState]) -> list[ValueResult]:
    """AVS, ABC class, gate rule and the tier state machine for every group that has not churned."""
    model = config.model
    groups = [g for g in inputs.groups if inputs.status[g] != "churned"]
    scored = score_factors(config.value_factors, inputs, groups, model.value_min_coverage_pct)
    classes = abc_classes(
        {g: inputs.value_metric.get(g) for g in groups}, {g: inputs.t12m_revenue.get(g) for g in groups},
        model.abc_a_cut, model.abc_b_cut,
    )  # fmt: skip
    percentiles = percentile_ranks([float(inputs.value_metric.get(g, 0)) for g in groups], nonpositive_scores_zero=True)
    years = model.gate_years + 1
    company = inputs.company_fy_revenue[-years:]
    results = []
    for group, score, percentile in zip(groups, scored, percentiles, strict=True):
        gate, detail = gate_rule(
            inputs.fy_revenue.get(group, [Decimal(0)] * len(inputs.fiscal_years))[-years:],
            company,
            share_min=model.gate_revenue_share_min,
            growth_min=model.gate_yoy_growth_min,
        )
        frozen = group in inputs.open_renewal
        state, reason = tier_step(previous.get(group, TierState()), score.score, gate, config.tier_rules, demotion_frozen=frozen)
        results.append(
            ValueResult(
                group=group,
                scored=score,
                abc_class=classes.get(group, ""),
                value_metric=inputs.value_metric.get(group, Decimal(0)),
                value_percentile=round2(percentile),
                gate=gate,
                gate_detail=detail,
                target_tier=target_tier(score.score, gate, config.tier_rules),
                state=state,
                reason=reason,
                is_frozen=frozen,
            )
        )
    cap_entries = [CapEntry(r.group, previous.get(r.group, TierState()), r.state, r.reason, r.scored.score) for r in results]
    adjusted, candidates = apply_t1_cap(cap_entries, model.max_t1)
    for r in results:
        if r.group in adjusted:
            r.state, r.reason = adjusted[r.group]
        r.is_candidate = r.group in candidates
    return results


@dataclass
class HealthResult:
    group: int
    scored: Scored
    raw_band: str
    band: str
    streak: int
    score_before: Decimal | None
    delta: Decimal | None
    trend: str
    effective_score: Decimal | None = None
    effective_band: str = ""
    override_id: int | None = None


def evaluate_health(
    config: Config,
    inputs: PortfolioInputs,
    previous: dict[int, tuple[str, int]],
    before: dict[int, Decimal | None],
) -> list[HealthResult]:
    """Health score, band hysteresis and trend for every group that has not churned (§2.2)."""
    model = config.model
    groups = [g for g in inputs.groups if inputs.status[g] != "churned"]
    scored = score_factors(config.health_factors, inputs, groups, model.health_min_coverage_pct)
    results = []
    for group, score in zip(groups, scored, strict=True):
        previous_band, previous_streak = previous.get(group, ("", 0))
        band, streak = band_step(previous_band, previous_streak, score.score, config.band_rules)
        earlier = before.get(group)
        delta = score.score - earlier if score.score is not None and earlier is not None else None
        results.append(
            HealthResult(
                group=group,
                scored=score,
                raw_band=band_of(score.score, config.band_rules),
                band=band,
                streak=streak,
                score_before=earlier,
                delta=delta,
                trend=trend_of(delta, model.health_trend_deadband),
            )
        )
    return results


# --- Reading the previous state -------------------------------------------------------------------


def _latest_tier_run(*, before_period: dt.date | None = None, exclude: int | None = None) -> ScoringRun | None:
    runs = ScoringRun.objects.done().with_tiers()
    if before_period is not None:
        runs = runs.filter(period_start__lt=before_period)
    if exclude is not None:
        runs = runs.exclude(pk=exclude)
    return runs.order_by("-period_start", "-as_of", "-finished_at", "-id").first()


def previous_tier_states(period: dt.date) -> dict[int, TierState]:
    run = _latest_tier_run(before_period=period)
    if run is None:
        return {}
    rows = ScoreSnapshot.objects.filter(run=run).values_list(
        "account_id", "computed_tier", "up_streak", "down_streak", "residence"
    )
    return {g: TierState(tier, up, down, residence) for g, tier, up, down, residence in rows}


def _latest_health_run(*, before: dt.date, not_before: dt.date | None = None) -> ScoringRun | None:
    runs = ScoringRun.objects.done().with_health().filter(as_of__lt=before)
    if not_before is not None:
        runs = runs.filter(as_of__gte=not_before)
    return runs.order_by("-as_of", "-finished_at", "-id").first()


def previous_health(as_of: dt.date, lookback_days: int) -> tuple[dict[int, tuple[str, int]], dict[int, Decimal | None]]:
    """The band state of the previous health run, and each group's score at the look-back date."""
    previous: dict[int, tuple[str, int]] = {}
    run = _latest_health_run(before=as_of)
    if run is not None:
        previous = {
            g: (band, streak)
            for g, band, streak in HealthSnapshot.objects.filter(run=run).values_list("account_id", "band", "band_streak")
        }
    target = as_of - dt.timedelta(days=lookback_days)
    earlier = _latest_health_run(
        before=target + dt.timedelta(days=1), not_before=target - dt.timedelta(days=TREND_TOLERANCE_DAYS)
    )
    before: dict[int, Decimal | None] = {}
    if earlier is not None:
        before = dict(HealthSnapshot.objects.filter(run=earlier).values_list("account_id", "score"))
    return previous, before


# --- Publishing -----------------------------------------------------------------------------------


def publish_lock() -> None:
    """Serialise publishing (runs and override services) for the rest of the transaction.

    Without it, an override saved while a run publishes could be overwritten by the run's
    "computed" tier until the next run. Blocking, transaction-scoped: released at commit.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(4242, %s)", [lock_key("tiering:publish")])


def expire_overrides(as_of: dt.date) -> None:
    for model in (TierOverride, HealthOverride):
        model.objects.filter(status=OverrideStatus.ACTIVE, expires_on__lte=as_of).update(
            status=OverrideStatus.EXPIRED, ended_on=F("expires_on")
        )


def active_tier_overrides(as_of: dt.date, groups: Iterable[int] | None = None) -> dict[int, tuple[int, str]]:
    rows = TierOverride.objects.filter(status=OverrideStatus.ACTIVE, starts_on__lte=as_of, expires_on__gt=as_of)
    if groups is not None:
        rows = rows.filter(account_id__in=list(groups))
    return {account: (pk, tier) for pk, account, tier in rows.values_list("id", "account_id", "tier")}


def active_health_overrides(as_of: dt.date, groups: Iterable[int] | None = None) -> dict[int, tuple[int, Decimal | None, str]]:
    rows = HealthOverride.objects.filter(status=OverrideStatus.ACTIVE, starts_on__lte=as_of, expires_on__gt=as_of)
    if groups is not None:
        rows = rows.filter(account_id__in=list(groups))
    return {
        a: (pk, score, band) for pk, a, score, band in rows.values_list("id", "account_id", "override_score", "override_band")
    }


def apply_health_override(result: HealthResult, override: tuple[int, Decimal | None, str] | None, rules: BandRules) -> None:
    """The score and band users see: the override's when one applies, the computed ones otherwise."""
    if override is None:
        result.effective_score, result.effective_band, result.override_id = result.scored.score, result.band, None
        return
    pk, score, band = override
    result.override_id = pk
    if score is not None:
        result.effective_score, result.effective_band = score, band_of(score, rules)
    else:
        result.effective_score, result.effective_band = result.scored.score, band


@dataclass
class Desired:
    tier: str
    override_id: int | None
    reason: str
    evidence_id: int | None


@dataclass
class TierChanges:
    by_group: dict[int, tuple[str, dt.date]] = field(default_factory=dict)  # group -> (reason, effective_on)


def reconcile_assignments(
    *,
    desired: dict[int, Desired],
    as_of: dt.date,
    run: ScoringRun | None,
    groups: Iterable[int] | None = None,
) -> TierChanges:
    """Make the open ``TierAssignment`` of each group match ``desired``; set-based.

    ``groups`` limits the work to some groups (an override service); ``None`` means the whole
    portfolio, and then open assignments of accounts that are no longer a group's root are closed.
    """
    open_rows = TierAssignment.objects.filter(valid_to__isnull=True)
    if groups is not None:
        open_rows = open_rows.filter(account_id__in=list(groups))
    current = {
        a: (pk, tier, override, start)
        for pk, a, tier, override, start in open_rows.values_list("id", "account_id", "tier", "override_id", "valid_from")
    }
    ended_override_ids = [o for _pk, _t, o, _s in current.values() if o is not None]
    ended_on = dict(
        TierOverride.objects.filter(pk__in=ended_override_ids).exclude(status=OverrideStatus.ACTIVE).values_list("id", "ended_on")
    ) if ended_override_ids else {}  # fmt: skip
    to_close: dict[int, dt.date] = {}
    new_rows = []
    changes = TierChanges()
    for group, want in desired.items():
        existing = current.get(group)
        if existing is not None and (existing[1], existing[2]) == (want.tier, want.override_id):
            continue
        if existing is None and not want.tier:
            continue
        reason = want.reason
        effective = as_of
        if existing is not None and existing[2] is not None and want.override_id is None:
            reason = TierChangeReason.OVERRIDE_ENDED
            effective = ended_on.get(existing[2]) or as_of
        if existing is not None:
            effective = max(effective, existing[3])
            to_close[existing[0]] = effective
        new_rows.append((group, want.tier, effective, reason, want.evidence_id, want.override_id, run.pk if run else None))
        if (existing[1] if existing else "") != want.tier:
            changes.by_group[group] = (reason, effective)
    if groups is None:
        for group, (pk, _tier, _override, start) in current.items():
            if group not in desired:
                to_close[pk] = max(as_of, start)
    _close_assignments(to_close)
    bulk_insert(TierAssignment, ("account_id", "tier", "valid_from", "reason", "evidence_id", "override_id", "run_id"), new_rows)
    return changes


def _close_assignments(to_close: dict[int, dt.date]) -> None:
    """Set ``valid_to`` of many assignments, each its own date, in one statement (two array
    parameters, so the statement's size does not grow with the number of rows)."""
    if not to_close:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # the embedded SQLite has no arrays
            cursor.executemany(f"UPDATE {ASSIGNMENT} SET valid_to = %s WHERE id = %s", [(d, pk) for pk, d in to_close.items()])
            return
        cursor.execute(
            f"UPDATE {ASSIGNMENT} SET valid_to = v.valid_to FROM unnest(%s::bigint[], %s::date[]) AS v(id, valid_to) "
            f"WHERE {ASSIGNMENT}.id = v.id",
            [list(to_close), list(to_close.values())],
        )


def denormalise_accounts(
    *,
    changes: TierChanges,
    as_of: dt.date,
    value_run: ScoringRun | None = None,
    health_run: ScoringRun | None = None,
    groups: Iterable[int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Copy the group's results to every member account: the open tier assignment's tier, and —
    when given — the value run's ABC class and score and the health run's score and band.

    One UPDATE for all five fields and only for rows that change (each updated row is rewritten
    with its indexes, so one pass instead of three matters at 100,000 accounts). Returns the
    ``account.tier_changed`` and ``account.health_band_changed`` payloads, one per account.
    """
    group = "COALESCE(a.group_root_id, a.id)"
    joins = [f"LEFT JOIN {ASSIGNMENT} t ON t.account_id = {group} AND t.valid_to IS NULL"]
    params: list[Any] = []
    if value_run is not None:
        joins.append(f"LEFT JOIN {ScoreSnapshot._meta.db_table} s ON s.account_id = {group} AND s.run_id = %s")
        params.append(value_run.pk)
        abc, score = "COALESCE(s.abc_class, '')", "s.score"
    else:
        abc, score = "a.abc_class", "a.value_score"
    if health_run is not None:
        joins.append(f"LEFT JOIN {HealthSnapshot._meta.db_table} h ON h.account_id = {group} AND h.run_id = %s")
        params.append(health_run.pk)
        band, health, delta = "COALESCE(h.effective_band, '')", "h.effective_score", "h.delta"
    else:
        band, health, delta = "a.health_band", "a.health_score", "NULL"
    where = ""
    if groups is not None:
        group_list = list(groups)
        where = f" AND {group} IN ({', '.join(['%s'] * len(group_list))})"
        params += group_list
    source = f"""
        SELECT a.id, a.tier AS old_tier, a.health_band AS old_band, COALESCE(t.tier, '') AS tier, {abc} AS abc_class,
               {score} AS value_score, {band} AS health_band, {health} AS health_score, {delta} AS delta, {group} AS grp
        FROM {ACCOUNT} a {" ".join(joins)}
        WHERE (a.tier <> COALESCE(t.tier, '') OR a.abc_class <> {abc} OR a.value_score IS DISTINCT FROM {score}
               OR a.health_band <> {band} OR a.health_score IS DISTINCT FROM {health}){where}
    """
    update = f"""
        UPDATE {ACCOUNT} SET tier = v.tier, abc_class = v.abc_class, value_score = v.value_score,
               health_band = v.health_band, health_score = v.health_score
        FROM ({source}) v WHERE v.id = {ACCOUNT}.id"""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the source reads the rows before the update, so RETURNING gives old and new.
            cursor.execute(
                f"{update} RETURNING v.id, v.old_tier, v.old_band, v.tier, v.health_band, v.health_score, v.delta, v.grp",
                params,
            )
            changed = cursor.fetchall()
        else:
            # SQLite's RETURNING cannot name the FROM clause's columns: read the changes, then write
            # them (one writer at a time, in the run's transaction).
            cursor.execute(source, params)
            changed = [(r[0], r[1], r[2], r[3], r[6], r[7], r[8], r[9]) for r in cursor.fetchall()]
            cursor.execute(update, params)
    return account_events(changed, changes=changes, as_of=as_of)


def update_accounts(
    *,
    tiers: dict[int, str],
    values: dict[int, tuple[str, Decimal | None]] | None,
    health: dict[int, tuple[str, Decimal | None, Decimal | None]] | None,
) -> list[tuple]:
    """``denormalise_accounts`` for a whole-portfolio run on PostgreSQL, with the values given per
    group rather than read from the tables: the tier of every group (as its open assignment will
    be), and — for the parts run — ABC class and value score, health band, score and change. A
    group not given has none (blank, NULL), as a group without a snapshot or an open assignment.

    The values travel as array literals (one parameter each, whatever the number of groups) and
    are joined to every member account; only the rows that change are written. Returns the rows
    ``account_events`` reads.
    """
    columns = {"tier": ("text", tiers)}
    if values is not None:
        columns["abc_class"] = ("text", {g: v[0] for g, v in values.items()})
        columns["value_score"] = ("numeric", {g: v[1] for g, v in values.items()})
    if health is not None:
        columns["health_band"] = ("text", {g: v[0] for g, v in health.items()})
        columns["health_score"] = ("numeric", {g: v[1] for g, v in health.items()})
        columns["delta"] = ("numeric", {g: v[2] for g, v in health.items()})
    groups = sorted(set().union(*(values_by_group.keys() for _type, values_by_group in columns.values())))
    params = [array_literal(groups)] + [
        array_literal([values_by_group.get(g) for g in groups]) for _type, values_by_group in columns.values()
    ]
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{sql_type}[]" for sql_type, _values in columns.values())])
    names = ", ".join(["grp", *columns])
    abc, score = ("COALESCE(v.abc_class, '')", "v.value_score") if values is not None else ("a.abc_class", "a.value_score")
    band, score_h, delta = (
        ("COALESCE(v.health_band, '')", "v.health_score", "v.delta")
        if health is not None
        else ("a.health_band", "a.health_score", "NULL")
    )
    group = "COALESCE(a.group_root_id, a.id)"
    source = f"""
        SELECT a.id, a.tier AS old_tier, a.health_band AS old_band, COALESCE(v.tier, '') AS tier, {abc} AS abc_class,
               {score} AS value_score, {band} AS health_band, {score_h} AS health_score, {delta} AS delta, {group} AS grp
        FROM {ACCOUNT} a LEFT JOIN unnest({arrays}) AS v({names}) ON v.grp = {group}
        WHERE (a.tier <> COALESCE(v.tier, '') OR a.abc_class <> {abc} OR a.value_score IS DISTINCT FROM {score}
               OR a.health_band <> {band} OR a.health_score IS DISTINCT FROM {score_h})
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {ACCOUNT} SET tier = s.tier, abc_class = s.abc_class, value_score = s.value_score,
                   health_band = s.health_band, health_score = s.health_score
            FROM ({source}) s WHERE s.id = {ACCOUNT}.id
            RETURNING s.id, s.old_tier, s.old_band, s.tier, s.health_band, s.health_score, s.delta, s.grp
            """,
            params,
        )
        return cursor.fetchall()


def account_events(
    changed: list[tuple], *, changes: TierChanges, as_of: dt.date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``account.tier_changed`` and ``account.health_band_changed`` payloads of the account rows
    an UPDATE … RETURNING changed (id, old tier, old band, tier, band, health score, delta, group)."""
    tier_events, band_events = [], []
    for account_id, old_tier, old_band, tier, band_now, health_now, delta_now, grp in sorted(changed):
        if old_tier != tier:
            reason, effective = changes.by_group.get(grp, (TierChangeReason.GROUP, as_of))
            tier_events.append(
                {
                    "account_id": account_id,
                    "old_tier": old_tier or None,
                    "new_tier": tier or None,
                    "reason": str(reason),
                    "effective_on": effective.isoformat(),
                }
            )
        if old_band != band_now:
            band_events.append(
                {
                    "account_id": account_id,
                    "old_band": old_band or None,
                    "new_band": band_now or None,
                    "score": None if health_now is None else float(health_now),
                    "delta_30d": None if delta_now is None else float(delta_now),
                }
            )
    return tier_events, band_events


def _latest_computed_tiers() -> tuple[ScoringRun | None, dict[int, tuple[str, int, str]]]:
    run = _latest_tier_run()
    if run is None:
        return None, {}
    rows = ScoreSnapshot.objects.filter(run=run).values_list("account_id", "computed_tier", "id", "change_reason")
    return run, {g: (tier, pk, reason) for g, tier, pk, reason in rows}


def desired_tiers(
    *,
    groups: Iterable[int],
    status: dict[int, str],
    computed: dict[int, tuple[str, int | None, str]],
    overrides: dict[int, tuple[int, str]],
) -> dict[int, Desired]:
    """What each group's tier should be: an active override, else none if churned, else the computed tier."""
    desired = {}
    for group in groups:
        tier, evidence, reason = computed.get(group, ("", None, ""))
        if group in overrides:
            pk, override_tier = overrides[group]
            desired[group] = Desired(override_tier, pk, TierChangeReason.OVERRIDE, evidence)
        elif status.get(group) == "churned":
            desired[group] = Desired("", None, TierChangeReason.CHURNED, None)
        else:
            desired[group] = Desired(tier, None, reason or TierChangeReason.INITIAL, evidence)
    return desired


def _value_rows(
    run: ScoringRun, results: list[ValueResult], period: dt.date, overrides: dict[int, tuple[int, str]]
) -> list[tuple]:
    rows = []
    for r in results:
        effective = overrides[r.group][1] if r.group in overrides else r.state.tier
        rows.append(
            (
                run.pk, r.group, run.as_of, period, r.scored.score,
                ScoreStatus.OK if r.scored.score is not None else ScoreStatus.INSUFFICIENT,
                r.scored.coverage, r.scored.factors, r.abc_class, r.value_metric, r.value_percentile, r.gate,
                r.gate_detail, r.target_tier, r.state.tier, effective, r.is_candidate, r.reason, r.state.up_streak,
                r.state.down_streak, r.state.residence, r.is_frozen,
            )
        )  # fmt: skip
    return rows


VALUE_COLUMNS = (
    "run_id", "account_id", "as_of", "period_start", "score", "status", "coverage_pct", "factors", "abc_class",
    "value_metric", "value_percentile", "gate", "gate_detail", "target_tier", "computed_tier", "tier", "is_t1_candidate",
    "change_reason", "up_streak", "down_streak", "residence", "is_frozen",
)  # fmt: skip
HEALTH_COLUMNS = (
    "run_id", "account_id", "as_of", "score", "status", "coverage_pct", "is_partial", "factors", "raw_band", "band",
    "band_streak", "effective_score", "effective_band", "override_id", "score_before", "delta", "trend",
)  # fmt: skip


def _health_rows(run: ScoringRun, results: list[HealthResult]) -> list[tuple]:
    rows = []
    for r in results:
        ok = r.scored.score is not None
        rows.append(
            (
                run.pk, r.group, run.as_of, r.scored.score, ScoreStatus.OK if ok else ScoreStatus.INSUFFICIENT,
                r.scored.coverage, ok and r.scored.coverage < 100, r.scored.factors, r.raw_band, r.band, r.streak,
                r.effective_score, r.effective_band, r.override_id, r.score_before, r.delta, r.trend,
            )
        )  # fmt: skip
    return rows


def _write_snapshots(model: type[ScoreSnapshot] | type[HealthSnapshot], run: ScoringRun, columns: tuple, rows: list) -> None:
    """COPY the run's snapshots straight into the table (``kam.bulk.bulk_insert``).

    Cheaper than an upsert through a staging table (one pass over the data instead of three) and
    as idempotent: the DELETE (raw, so the ORM does not fetch the rows to cascade) removes what an
    earlier attempt at the same run wrote, and the unique (run, account) constraint guards the rule.
    """
    _delete_snapshots(model, run)
    bulk_insert(model, columns, rows)


def _delete_snapshots(model: type[ScoreSnapshot] | type[HealthSnapshot], run: ScoringRun) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE run_id = %s", [run.pk])


# --- The run --------------------------------------------------------------------------------------


def scores_recompute(
    *,
    part: str = RunPart.ALL,
    as_of: dt.date | None = None,
    job: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute tiers and/or health for the whole portfolio; returns the run's counts.

    Safe to run twice: a job whose run is already done returns its result; a rerun for the same
    period (tiers) or day (health) replaces that evaluation rather than adding one.
    """
    if part not in RunPart.values:
        raise ValueError(f"part must be one of {', '.join(RunPart.values)}, got {part!r}")
    as_of = as_of or timezone.localdate()
    progress = progress or Progress(total=100)
    config = Config.load()
    model = config.model
    tiers, health = part in (RunPart.ALL, RunPart.TIERS), part in (RunPart.ALL, RunPart.HEALTH)
    period = period_start(as_of, model.evaluation_period_months) if tiers else None
    fields = {
        "model": model, "config_hash": model.config_hash(), "part": part, "as_of": as_of, "period_start": period,
        "status": RunStatus.RUNNING, "error": "", "finished_at": None,
    }  # fmt: skip
    if job is not None:
        run, created = ScoringRun.objects.get_or_create(job=job, defaults=fields)
        if not created:
            if run.status == RunStatus.DONE:
                return run.counts
            for name, value in fields.items():
                setattr(run, name, value)
            run.save()
    else:
        run = ScoringRun.objects.create(**fields)
    progress.set(5)
    try:
        with gc_paused():
            counts = _run(run, config, tiers=tiers, health=health, period=period, progress=progress)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=str(exc)[:10_000], finished_at=timezone.now())
        # Snapshots written aside (``_publish_postgresql``) committed before the run failed.
        for model in (ScoreSnapshot, HealthSnapshot):
            _delete_snapshots(model, run)
        raise
    return counts


@contextmanager
def vacuum_meanwhile(table: str) -> Iterator[None]:
    """``VACUUM`` ``table`` on a second connection while the body runs (PostgreSQL, outside a transaction).

    A run rewrites most account rows, and each new row version enters every index of the table.
    When the versions the previous writes left behind are still there (the nightly run after a
    day's edits, or a whole-portfolio write just before, as the benchmark's reset does), the new
    index entries land on full pages and split them: the account UPDATE took twice as long.
    Vacuuming first frees that room. It runs while the run scores in Python, on the other core,
    so it costs no wall time; ``SKIP_LOCKED`` leaves the table alone if autovacuum is at it, and
    a failure (a role that does not own the table) only means the UPDATE runs without it.
    """
    if not can_run_concurrently():
        yield
        return

    def vacuum() -> None:
        try:
            with connection.cursor() as cursor:  # the helper thread's own connection
                cursor.execute(f"VACUUM (SKIP_LOCKED) {connection.ops.quote_name(table)}")
        except DatabaseError as exc:
            logger.info("score run: VACUUM %s skipped (%s)", table, exc)

    vacuumed = meanwhile(vacuum, aside=True)
    try:
        yield
    finally:
        vacuumed()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run.

    A run allocates millions of small containers (rows, factor breakdowns) and keeps them until it
    has published; the collector would traverse them again and again for nothing (none of them
    forms a cycle), which costs about a fifth of the scoring time. Reference counting still frees
    everything as usual; the collector resumes, as it was, when the run ends or fails.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(
    run: ScoringRun, config: Config, *, tiers: bool, health: bool, period: dt.date | None, progress: Progress
) -> dict[str, Any]:
    model = config.model
    as_of = run.as_of
    watch = Stopwatch()
    steps = iter(INPUT_STEPS)

    def step() -> None:
        watch.lap(f"inputs.{next(steps, 'other')}")
        progress.advance(5)

    inputs = collect_inputs(
        as_of=as_of,
        fiscal_years_needed=max(model.gate_years, 3) + 1,
        renewal_freeze_days=model.renewal_freeze_days,
        step=step,
    )  # 7 steps: 5 → 40
    with vacuum_meanwhile(ACCOUNT):
        value_results = evaluate_value(config, inputs, previous_tier_states(period)) if tiers else []
        watch.lap("score.value")
        progress.set(55)
        health_results: list[HealthResult] = []
        if health:
            previous, before = previous_health(as_of, model.health_trend_lookback_days)
            health_results = evaluate_health(config, inputs, previous, before)
            watch.lap("score.health")
    watch.lap("score.vacuum_wait")
    progress.set(70)

    # Decided before the publish transaction opens: whether the snapshots may be written on a
    # second connection (they then commit apart from it; see ``_publish_postgresql``).
    aside = can_run_concurrently()
    with transaction.atomic():
        publish_lock()
        expire_overrides(as_of)
        tier_overrides = active_tier_overrides(as_of)
        if health:
            health_overrides = active_health_overrides(as_of)
            for r in health_results:
                apply_health_override(r, health_overrides.get(r.group), config.band_rules)
        counts: dict[str, Any] = {"groups": len(inputs.groups), "accounts": sum(inputs.member_count.values())}
        watch.lap("publish.lock_overrides")
        if connection.vendor == "postgresql":
            changes, tier_events, health_events = _publish_postgresql(
                run, inputs, value_results, health_results, tier_overrides, tiers=tiers, health=health, watch=watch, aside=aside
            )
        else:
            changes, tier_events, health_events = _publish(
                run, inputs, value_results, health_results, tier_overrides, tiers=tiers, health=health, watch=watch
            )
        progress.set(95)
        publish_many("account.tier_changed", tier_events)
        publish_many("account.health_band_changed", health_events)
        counts.update(_counts(value_results, health_results, tier_events, health_events, changes, inputs))
        watch.lap("publish.events")
        counts["seconds"] = dict(watch.seconds)
        run.status, run.finished_at, run.counts, run.windows = RunStatus.DONE, timezone.now(), counts, inputs.windows
        run.save(update_fields=["status", "finished_at", "counts", "windows"])
    watch.lap("publish.commit")  # not in the stored counts: the row was written before the commit
    logger.debug("score run %s: seconds per phase %s", run.pk, watch.seconds)
    return counts


Events = tuple[TierChanges, list[dict[str, Any]], list[dict[str, Any]]]


def _publish(
    run: ScoringRun,
    inputs: PortfolioInputs,
    value_results: list[ValueResult],
    health_results: list[HealthResult],
    tier_overrides: dict[int, tuple[int, str]],
    *,
    tiers: bool,
    health: bool,
    watch: Stopwatch,
) -> Events:
    """Snapshots, tier assignments, then the accounts from the snapshots (any database)."""
    as_of = run.as_of
    if tiers:
        _write_snapshots(ScoreSnapshot, run, VALUE_COLUMNS, _value_rows(run, value_results, run.period_start, tier_overrides))
        snapshot_ids = dict(ScoreSnapshot.objects.filter(run=run).values_list("account_id", "id"))
        computed = {r.group: (r.state.tier, snapshot_ids.get(r.group), r.reason) for r in value_results}
        watch.lap("publish.value_snapshots")
    else:
        _tier_run, computed = _latest_computed_tiers()
    desired = desired_tiers(groups=inputs.groups, status=inputs.status, computed=computed, overrides=tier_overrides)
    changes = reconcile_assignments(desired=desired, as_of=as_of, run=run)
    watch.lap("publish.tier_assignments")
    if health:
        _write_snapshots(HealthSnapshot, run, HEALTH_COLUMNS, _health_rows(run, health_results))
        watch.lap("publish.health_snapshots")
    tier_events, health_events = denormalise_accounts(
        changes=changes, as_of=as_of, value_run=run if tiers else None, health_run=run if health else None
    )
    watch.lap("publish.accounts")
    return changes, tier_events, health_events


def _publish_postgresql(
    run: ScoringRun,
    inputs: PortfolioInputs,
    value_results: list[ValueResult],
    health_results: list[HealthResult],
    tier_overrides: dict[int, tuple[int, str]],
    *,
    tiers: bool,
    health: bool,
    watch: Stopwatch,
    aside: bool,
) -> Events:
    """The same writes as ``_publish``, ordered so that Python and PostgreSQL work at the same time.

    The account UPDATE — the longest statement of a run, PostgreSQL alone: every changed row enters
    every index of the accounts table — goes first, with the values sent from Python. Meanwhile a
    thread converts the snapshots to COPY's CSV (psycopg2 releases the GIL while the statement
    runs) and, with ``aside`` (the run is not inside a caller's transaction), copies them in on a
    connection of its own, on the other core, in a transaction of its own that commits before this
    one. Readers see them only once this transaction marks the run done (every reader of snapshots
    filters on done runs), and a run that fails afterwards deletes them (``scores_recompute``); a
    run computed again replaces its own. Without ``aside`` they are copied in here, after the
    UPDATE. Then the tier assignments, which point at the snapshots, as ``_publish`` does.
    """
    as_of = run.as_of
    if tiers:
        computed: dict[int, tuple[str, int | None, str]] = {r.group: (r.state.tier, None, r.reason) for r in value_results}
    else:
        _tier_run, computed = _latest_computed_tiers()
    desired = desired_tiers(groups=inputs.groups, status=inputs.status, computed=computed, overrides=tier_overrides)

    def prepare() -> list[PreparedCopy]:
        copies = []
        if tiers:
            copies.append(
                PreparedCopy(ScoreSnapshot, VALUE_COLUMNS, _value_rows(run, value_results, run.period_start, tier_overrides))
            )
        if health:
            copies.append(PreparedCopy(HealthSnapshot, HEALTH_COLUMNS, _health_rows(run, health_results)))
        return copies

    def insert(copies: list[PreparedCopy]) -> None:
        with transaction.atomic(savepoint=False):  # its own transaction aside; part of the run's here
            for copy in copies:
                _delete_snapshots(copy.model, run)
                copy.insert()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-csv") as pool:
        prepared = pool.submit(prepare)
        written = meanwhile(lambda: insert(prepared.result()), aside=True) if aside else None
        try:
            changed = update_accounts(
                tiers={group: want.tier for group, want in desired.items()},
                values={r.group: (r.abc_class, r.scored.score) for r in value_results} if tiers else None,
                health={r.group: (r.effective_band, r.effective_score, r.delta) for r in health_results} if health else None,
            )
        except BaseException:
            if written is not None:  # let it finish (or fail) before the run's failure deletes its rows
                with suppress(Exception):
                    written()
            raise
        watch.lap("publish.accounts")
        if written is not None:
            written()
            watch.lap("publish.snapshots_wait")
        else:
            insert(prepared.result())
            watch.lap("publish.snapshots")
    if tiers:
        snapshot_ids = dict(ScoreSnapshot.objects.filter(run=run).values_list("account_id", "id"))
        computed = {r.group: (r.state.tier, snapshot_ids.get(r.group), r.reason) for r in value_results}
        desired = desired_tiers(groups=inputs.groups, status=inputs.status, computed=computed, overrides=tier_overrides)
    changes = reconcile_assignments(desired=desired, as_of=as_of, run=run)
    watch.lap("publish.tier_assignments")
    tier_events, health_events = account_events(changed, changes=changes, as_of=as_of)
    return changes, tier_events, health_events


def _counts(
    value_results: list[ValueResult],
    health_results: list[HealthResult],
    tier_events: list[dict[str, Any]],
    health_events: list[dict[str, Any]],
    changes: TierChanges,
    inputs: PortfolioInputs,
) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "tier_changes": len(changes.by_group),
        "tier_events": len(tier_events),
        "band_events": len(health_events),
        "value_basis": inputs.value_basis,
    }
    if value_results:
        tiers: dict[str, int] = {}
        for r in value_results:
            tiers[r.state.tier or "none"] = tiers.get(r.state.tier or "none", 0) + 1
        counts.update(
            scored=sum(1 for r in value_results if r.scored.score is not None),
            insufficient=sum(1 for r in value_results if r.scored.score is None),
            computed_tiers=dict(sorted(tiers.items())),
            t1_candidates=sum(1 for r in value_results if r.is_candidate),
            rule_qualified=sum(1 for r in value_results if r.gate is True),
            gate_unknown=sum(1 for r in value_results if r.gate is None),
            abc={c or "inactive": sum(1 for r in value_results if r.abc_class == c) for c in ("A", "B", "C", "")},
        )
    if health_results:
        bands: dict[str, int] = {}
        for r in health_results:
            bands[r.effective_band] = bands.get(r.effective_band, 0) + 1
        counts["health_bands"] = dict(sorted(bands.items()))
    return counts
