"""Writes of the reports app: KPI runs and their snapshot, targets, and the refresh after changes.

``kpis_recompute`` does the heavy part outside any transaction (a handful of set-based statements,
results kept in memory: a few values per scope and period, whatever the number of accounts) and
then publishes everything in one short transaction: the values are upserted, the values of the
recomputed periods it did not produce are removed, and the run is marked published. A reader sees
the previous complete snapshot or the new one; a failure anywhere leaves the previous one intact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Iterable, Sequence
from decimal import Context, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kam.errors import StaleVersion
from kam.events import publish
from kam.jobs import Progress
from kam.models import JobKind, JobRun, JobStatus
from kam.parallel import run_concurrently
from reports import catalogue
from reports.engine import FAMILIES, FAMILY_COST_ORDER, compute_family, facts, family_periods, results_of
from reports.engine.inputs import missing_exchange_rates, scope_universe
from reports.engine.sql import SqlContext
from reports.formulas import KpiResult, target_status
from reports.models import KpiFactSet, KpiRefreshState, KpiRun, KpiTarget, KpiValue, RunStatus, RunTrigger
from reports.periods import Period, default_periods, local_today, periods_for_labels

logger = logging.getLogger(__name__)

MONEY_FAMILIES = (catalogue.RETENTION, catalogue.RENEWALS, catalogue.RECEIVABLES, catalogue.CONCENTRATION)
VALUE_QUANTUM = Decimal("1e-12")
WIDE = Context(prec=60)
UPSERT_BATCH = 2_000
MAX_CHANGED_ROWS = 200  # a refresh of more accounts and contracts than this recomputes whole
VALUE_FIELDS = [
    "run", "period_kind", "period_start", "period_end", "as_of", "value", "numerator", "denominator", "n",
    "is_partial", "low_confidence", "reason", "target_value", "target_status", "computed_at",
]  # fmt: skip


# Stored in English like job errors; translated where shown.
INTERRUPTED = gettext_noop("Interrupted: the worker stopped before publishing; a later attempt of the job took over.")


class KpiRunError(Exception):
    """The run cannot compute correct values (e.g. a missing exchange rate); nothing was published."""


def _validate_families(families: Iterable[str] | None) -> list[str]:
    if not families:
        return list(catalogue.FAMILIES)
    wanted = set(families)
    unknown = sorted(wanted - set(catalogue.FAMILIES))
    if unknown:
        raise ValidationError(
            {
                "families": _("Unknown KPI family: %(names)s. Known: %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(catalogue.FAMILIES)}
            }
        )
    return [name for name in catalogue.FAMILIES if name in wanted]


def _quantize(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(VALUE_QUANTUM, context=WIDE)


def kpis_recompute(
    *,
    periods: Sequence[str] | None = None,
    families: Iterable[str] | None = None,
    as_of: dt.date | None = None,
    job: JobRun | None = None,
    progress: Progress | None = None,
    trigger: str = RunTrigger.MANUAL,
    changed: dict[str, list[int]] | None = None,
) -> KpiRun:
    """Compute the KPIs of ``families`` (all by default) for ``periods`` (the last 12 months, 4
    quarters and 2 fiscal years by default) as of ``as_of`` (today), and publish them atomically.

    Raises ``ValidationError`` for bad periods or families, ``KpiRunError`` when the data cannot
    give correct values (a missing exchange rate); the run is then recorded as failed.

    ``changed`` (the refresh after a change: the accounts and contracts concerned) lets the additive
    families whose per-group rows are kept for these periods (``reports.engine.facts``) recompute
    the groups of those rows only; the other families are recomputed whole.
    """
    as_of = as_of or local_today()
    period_list = periods_for_labels(list(periods), as_of=as_of) if periods else default_periods(as_of=as_of)
    family_names = _validate_families(families)
    if job is not None:
        # A run of this job left "running" by an attempt whose worker died: this attempt replaces it.
        KpiRun.objects.filter(job=job, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error=INTERRUPTED, finished_at=timezone.now()
        )
    run = KpiRun.objects.create(
        job=job,
        trigger=trigger,
        as_of=as_of,
        periods=[p.label for p in period_list],
        families=family_names,
        is_full=not periods and len(family_names) == len(catalogue.FAMILIES),
    )
    fact_table = None
    try:
        labels = [p.label for p in period_list]
        now = timezone.now()
        timings: dict[str, float] = {}
        delta_families = _refreshable(family_names, changed, as_of=as_of, labels=labels) if not periods else []
        group_ctx = SqlContext(now=now, groups=_groups_of(changed)) if delta_families else None
        for name in delta_families:  # a few groups' rows, read by index
            started = time.perf_counter()
            FAMILIES[name].measure(group_ctx, family_periods(FAMILIES[name], period_list))
            timings[f"{name} (groups)"] = round(time.perf_counter() - started, 3)
        for name in list(delta_families):
            # Rows kept before the family's sums changed cannot be moved by new ones: recompute whole.
            if not facts.same_layout({part: group_ctx.parts[part] for part in FAMILIES[name].parts}):
                delta_families.remove(name)
                del timings[f"{name} (groups)"]
        full_families = [name for name in family_names if name not in delta_families]
        if connection.vendor == "postgresql" and not periods and any(FAMILIES[name].parts for name in full_families):
            fact_table = facts.table_name(run.pk)
            facts.create_table(fact_table)
        ctx = SqlContext(now=now, fact_table=fact_table)
        missing = []
        for names, context in ((full_families, ctx), (delta_families, group_ctx)):
            money_periods = [p for name in names if name in MONEY_FAMILIES for p in family_periods(FAMILIES[name], period_list)]
            if money_periods:
                missing += [pair for pair in missing_exchange_rates(context, money_periods) if pair not in missing]
        if missing:
            raise KpiRunError(
                _("Missing exchange rate to %(base)s: %(pairs)s. Add the rates and run again.")
                % {
                    "base": settings.KAM_BASE_CURRENCY,
                    "pairs": ", ".join(
                        _("%(currency)s for fiscal year %(year)s") % {"currency": c, "year": y} for c, y in missing
                    ),
                }
            )
        scopes = scope_universe(ctx) if full_families else []
        results: dict[tuple[str, str, str], KpiResult] = {}
        measures: dict[str, Any] = {}

        def run_family(name: str) -> tuple[str, dict, float]:
            started = time.perf_counter()
            values = compute_family(FAMILIES[name], ctx, period_list, scopes, measures_out=measures)
            return name, values, round(time.perf_counter() - started, 3)

        # The families on several connections at once, the costliest first (kam.parallel).
        tasks = [partial(run_family, name) for name in sorted(full_families, key=FAMILY_COST_ORDER.index)]
        finished = run_concurrently(tasks, workers=settings.KAM_KPI_WORKERS, session=ctx.tuned)
        for index, (name, values, seconds) in enumerate(finished):
            results.update(values)
            timings[name] = seconds
            if progress is not None:
                progress.set(int(90 * (index + 1) / len(family_names)))
        if fact_table:
            started = time.perf_counter()
            facts.index_table(fact_table)
            timings["facts index"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        with transaction.atomic():
            if delta_families:
                results.update(_apply_groups(group_ctx, delta_families, period_list, as_of=as_of))
            if fact_table:
                additive = [name for name in full_families if FAMILIES[name].parts]
                parts = [part for name in additive for part in FAMILIES[name].parts]
                KpiFactSet.objects.filter(part__in=parts)._raw_delete(KpiFactSet.objects.db)
                KpiFactSet.objects.bulk_create(
                    [
                        KpiFactSet(part=part, table=fact_table, run=run, as_of=as_of, periods=labels, names=ctx.parts[part])
                        for part in parts
                    ]
                )
                facts.save_measures({name: measures[name] for name in additive}, as_of=as_of)
                facts.drop_unused()
            _publish(run, results, period_list, full_families, timings=timings, started=started)
            if run.is_full and trigger != RunTrigger.CHANGE:
                # Every change recorded before this run started is in it (recorded after its commit, read
                # after ``now``): a refresh waiting for them has nothing left to do, and `--if-stale` knows.
                KpiRefreshState.objects.filter(pk=1, changed_at__lte=now).update(families=[], changed={})
        logger.info("KPI run %s: seconds per step %s", run.pk, timings)
        if progress is not None:
            progress.set(100)
    except Exception as exc:
        if fact_table:
            try:
                facts.drop_table(fact_table)
            except DatabaseError:  # an aborted transaction: the next publish drops it
                logger.warning("could not drop the failed KPI run's facts", exc_info=True)
        KpiRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:10_000], finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def _refreshable(families: list[str], changed: dict[str, list[int]] | None, *, as_of: dt.date, labels: list[str]) -> list[str]:
    """The families a refresh of ``changed`` can apply group by group (``reports.engine.facts``)."""
    if not changed or not any(changed.get(key) for key in ("accounts", "contracts")) or connection.vendor != "postgresql":
        return []  # nothing known about the change (e.g. families marked before this was recorded)
    return [name for name in families if FAMILIES[name].parts and facts.usable(FAMILIES[name].parts, as_of=as_of, periods=labels)]


def _groups_of(changed: dict[str, list[int]] | None) -> list[int]:
    """The groups whose sums a change of these accounts and contracts can move: the groups of the
    accounts, of the contracts, and of the contracts renewing, renewed by or consolidated with them
    (their renewal and retention sums depend on each other's links)."""
    from accounts.models import Account, Contract

    changed = changed or {}
    account, contract = connection.ops.quote_name(Account._meta.db_table), connection.ops.quote_name(Contract._meta.db_table)
    linked = f"""
        SELECT id FROM {{prev}}
        UNION SELECT c.renewal_of_id FROM {contract} c WHERE c.id IN (SELECT id FROM {{prev}})
        UNION SELECT c.superseded_by_id FROM {contract} c WHERE c.id IN (SELECT id FROM {{prev}})
        UNION SELECT c.id FROM {contract} c WHERE c.renewal_of_id IN (SELECT id FROM {{prev}})
        UNION SELECT c.id FROM {contract} c WHERE c.superseded_by_id IN (SELECT id FROM {{prev}})"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH c0 (id) AS (SELECT unnest(CAST(%s AS BIGINT[]))),
            c1 AS ({linked.format(prev="c0")}),
            c2 AS ({linked.format(prev="c1")})
            SELECT DISTINCT COALESCE(a.group_root_id, a.id) FROM {account} a
            WHERE a.id = ANY(CAST(%s AS BIGINT[])) OR a.id IN (SELECT c.account_id FROM {contract} c WHERE c.id IN (SELECT id FROM c2))
            ORDER BY 1""",
            [list(changed.get("contracts", [])), list(changed.get("accounts", []))],
        )
        return [row[0] for row in cursor.fetchall()]


def _apply_groups(
    ctx: SqlContext, families: list[str], periods: list[Period], *, as_of: dt.date
) -> dict[tuple[str, str, str], KpiResult]:
    """Swap the groups' kept rows for the new ones, move the scopes' sums by the difference and
    return the values of the scopes that moved (in the publish transaction)."""
    results: dict[tuple[str, str, str], KpiResult] = {}
    for name in families:
        family = FAMILIES[name]
        parts = {part: ctx.parts[part] for part in family.parts}
        new = {part: ctx.group_facts.get(part, []) for part in family.parts}
        old = {part: facts.replace_rows(part, parts[part], ctx.groups or [], new[part]) for part in family.parts}
        moved = facts.apply(name, parts, old, new, as_of=as_of)
        results.update(results_of(family, moved, periods, sorted({scope for scope, _ in moved})))
    return results


def _publish(
    run: KpiRun,
    results: dict[tuple[str, str, str], KpiResult],
    periods: list[Period],
    families: list[str],
    *,
    timings: dict[str, float] | None = None,
    started: float | None = None,
) -> None:
    by_label = {p.label: p for p in periods}
    targets = _target_index(code for code, _, _ in results)
    rows = []
    for (code, label, scope), result in results.items():
        period = by_label[label]
        target = _target_for(targets, code, scope, label)
        value = _quantize(result.value)
        rows.append(
            {
                "run_id": run.pk,
                "code": code,
                "period": label,
                "period_kind": period.kind,
                "period_start": period.start,
                "period_end": period.end,
                "scope": scope,
                "as_of": run.as_of,
                "value": value,
                "numerator": _quantize(result.numerator),
                "denominator": _quantize(result.denominator),
                "n": result.n,
                "is_partial": period.is_partial,
                "low_confidence": result.low_confidence,
                "reason": result.reason if value is None else "",
                "target_value": target.target_value if target else None,
                "target_status": _status(value, target),
                "computed_at": run.started_at,
            }
        )
    _upsert_values(rows, stage=f"kpi_stage_{run.pk}")
    # Values of these periods and KPIs that this run did not produce (a scope that no longer exists).
    KpiValue.objects.filter(period__in=list(by_label), code__in=catalogue.codes_of(families)).exclude(run=run).delete()
    timings = dict(timings or {})
    if started is not None:
        timings["publish"] = round(time.perf_counter() - started, 3)
    KpiRun.objects.filter(pk=run.pk).update(
        status=RunStatus.PUBLISHED, value_count=len(rows), finished_at=timezone.now(), timings=timings
    )
    publish("kpis.recomputed", {"job_id": run.job_id, "periods": [p.label for p in periods]})


def _upsert_values(rows: list[dict[str, Any]], *, stage: str) -> None:
    """Insert or update by (code, period, scope). On PostgreSQL the rows go through COPY into a
    temporary table and one ``INSERT … ON CONFLICT``: three statements whatever their number."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        KpiValue.objects.bulk_create(
            [KpiValue(**row) for row in rows],
            batch_size=UPSERT_BATCH,
            update_conflicts=True,
            unique_fields=["code", "period", "scope"],
            update_fields=VALUE_FIELDS,
        )
        return
    table = connection.ops.quote_name(KpiValue._meta.db_table)
    columns = list(rows[0])
    names = ", ".join(connection.ops.quote_name(KpiValue._meta.get_field(c).column) for c in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NOTNULL)
    for row in rows:
        writer.writerow([_copy_value(row[c]) for c in columns])
    buffer.seek(0)
    updates = ", ".join(
        f"{n} = EXCLUDED.{n}"
        for n in (connection.ops.quote_name(KpiValue._meta.get_field(c).column) for c in columns)
        if n.strip('"') not in {"code", "period", "scope"}
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")
        cursor.cursor.copy_expert(f"COPY {stage} ({names}) FROM STDIN WITH (FORMAT csv)", buffer)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT (code, period, scope) DO UPDATE SET {updates}"
        )


def _copy_value(value: Any) -> Any:
    if value is None:
        return None  # unquoted and empty: NULL for COPY's CSV format
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


# --- targets ------------------------------------------------------------------------------------

TargetIndex = dict[tuple[str, str, str], KpiTarget]


def _target_index(codes: Iterable[str]) -> TargetIndex:
    return {(t.code, t.scope, t.period): t for t in KpiTarget.objects.filter(code__in=set(codes))}


def _target_for(index: TargetIndex, code: str, scope: str, period: str) -> KpiTarget | None:
    # The most specific target wins: scope and period, scope, period, then the KPI's general one.
    for key in ((code, scope, period), (code, scope, ""), (code, "", period), (code, "", "")):
        if key in index:
            return index[key]
    return None


def _status(value: Decimal | None, target: KpiTarget | None) -> str:
    if target is None:
        return ""
    return target_status(value, target=target.target_value, direction=target.direction, tolerance=target.tolerance)


TARGET_FIELDS = frozenset({"code", "scope", "period", "target_value", "direction", "tolerance", "note"})


def _refresh_statuses(code: str) -> int:
    """Re-apply the targets of ``code`` to its published values (a few hundred rows)."""
    index = _target_index([code])
    changed = []
    for value in KpiValue.objects.filter(code=code).only(
        "pk", "code", "scope", "period", "value", "target_value", "target_status"
    ):
        target = _target_for(index, code, value.scope, value.period)
        new_target, new_status = (target.target_value if target else None), _status(value.value, target)
        if (value.target_value, value.target_status) != (new_target, new_status):
            value.target_value, value.target_status = new_target, new_status
            changed.append(value)
    KpiValue.objects.bulk_update(changed, ["target_value", "target_status"], batch_size=UPSERT_BATCH)
    return len(changed)


@transaction.atomic
def kpi_target_create(*, actor: Any = None, **fields: Any) -> KpiTarget:
    unknown = sorted(set(fields) - TARGET_FIELDS)
    if unknown:
        raise TypeError(f"not writable here: {', '.join(unknown)}")
    if fields.get("code") in catalogue.KPI_BY_CODE and not fields.get("direction"):
        fields["direction"] = catalogue.KPI_BY_CODE[fields["code"]].direction
    target = KpiTarget(created_by=actor if getattr(actor, "pk", None) else None, **fields)
    target.full_clean()
    target.save()
    _refresh_statuses(target.code)
    return target


@transaction.atomic
def kpi_target_update(*, target: KpiTarget, actor: Any = None, expected_version: int | None = None, **fields: Any) -> KpiTarget:
    unknown = sorted(set(fields) - TARGET_FIELDS)
    if unknown:
        raise TypeError(f"not writable here: {', '.join(unknown)}")
    locked = KpiTarget.objects.select_for_update().get(pk=target.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    old_code = locked.code
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    _refresh_statuses(locked.code)
    if old_code != locked.code:
        _refresh_statuses(old_code)
    return locked


@transaction.atomic
def kpi_target_delete(*, target: KpiTarget, actor: Any = None) -> None:
    code = target.code
    KpiTarget.objects.filter(pk=target.pk).delete()
    _refresh_statuses(code)


# --- refresh after source changes ----------------------------------------------------------------


def refresh_debounce() -> dt.timedelta:
    return dt.timedelta(seconds=settings.KAM_KPI_REFRESH_DEBOUNCE_SECONDS)


def _refresh_stale_after() -> dt.timedelta:
    # A scheduled refresh that has not run by then was lost (broker down, worker gone): reschedule.
    return refresh_debounce() + dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def _state_for_update() -> KpiRefreshState:
    state, _ = KpiRefreshState.objects.select_for_update().get_or_create(pk=1)
    return state


def _merge_changed(waiting: dict[str, list[int]] | None, changed: dict[str, list[int]] | None) -> dict[str, list[int]] | None:
    if waiting is None or changed is None:
        return None
    merged = {key: sorted(set(waiting.get(key, ())) | set(changed.get(key, ()))) for key in ("accounts", "contracts")}
    return None if sum(map(len, merged.values())) > MAX_CHANGED_ROWS else merged


def kpis_changed(*, families: Iterable[str], changed: dict[str, list[int]] | None = None) -> bool:
    """Record that source data of ``families`` changed; schedule one refresh if none is pending.

    ``changed``: the accounts and contracts concerned (``reports.receivers``), for a refresh of
    their groups only; None when not known (the refresh recomputes the families whole).

    Called after the change committed (``reports.receivers``). Returns whether a refresh task was
    queued. Without a broker (the embedded default, and tests unless a real worker runs) nothing is
    queued: the families wait for the next run (``recompute_kpis --if-stale``, the jobs API, beat).
    """
    from kam.celery import app

    now = timezone.now()
    queue = False
    with transaction.atomic():
        state = _state_for_update()
        state.changed = _merge_changed({} if not state.families else state.changed, changed)
        state.families = sorted(set(state.families) | set(families))
        state.changed_at = now
        if not app.conf.task_always_eager and (state.scheduled_at is None or state.scheduled_at < now - _refresh_stale_after()):
            state.scheduled_at = now
            queue = True
        state.save()
    if queue:
        _queue_refresh(countdown=refresh_debounce().total_seconds())
    return queue


def _queue_refresh(*, countdown: float) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from reports.tasks import kpis_refresh

    try:
        kpis_refresh.apply_async(countdown=countdown)
    except BrokerError:
        # Let the next change try again; the nightly run covers the changes meanwhile.
        KpiRefreshState.objects.filter(pk=1).update(scheduled_at=None)
        logger.exception("KPI refresh not queued: broker unavailable")


def _refresh_job_busy(exclude: int | None) -> bool:
    horizon = timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    active = JobRun.objects.filter(
        kind=JobKind.RECOMPUTE_KPIS, status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__gte=horizon
    )
    return active.exclude(pk=exclude).exists()


def kpis_refresh_run() -> dict[str, Any]:
    """The debounced refresh (run by ``reports.tasks.kpis_refresh``).

    Waits until the changes have been quiet for the debounce time and no other KPI run is going,
    then recomputes the changed families once. The families are cleared only after the run
    published and only if nothing changed meanwhile, so a crash or a failure never loses a change;
    a redelivered task continues the same job. Returns ``{"countdown": s}`` when it must run again
    later.
    """
    from kam.jobs import ALREADY_RUNNING, job_execute

    debounce = refresh_debounce()
    now = timezone.now()
    with transaction.atomic():
        state = _state_for_update()
        if not state.families:
            state.scheduled_at = None
            state.job = None
            state.save()
            return {"status": "idle"}
        quiet = now - (state.changed_at or now)
        if quiet < debounce:
            return {"status": "waiting", "countdown": (debounce - quiet).total_seconds()}
        job = state.job if state.job and not state.job.is_finished else None
        if _refresh_job_busy(exclude=job.pk if job else None):
            return {"status": "waiting", "countdown": debounce.total_seconds()}
        if job is None:
            params: dict[str, Any] = {"families": state.families, "trigger": RunTrigger.CHANGE}
            if state.changed is not None:
                params["changed"] = state.changed
            job = JobRun.objects.create(kind=JobKind.RECOMPUTE_KPIS, params=params)
            state.job = job
            state.save()
        claimed_at = state.changed_at
    try:
        job = job_execute(job.pk)
    except Exception:
        KpiRefreshState.objects.filter(pk=1).update(scheduled_at=None, job=None)
        raise
    with transaction.atomic():
        state = _state_for_update()
        state.job = None
        if job.status == JobStatus.FAILED and job.error == ALREADY_RUNNING:
            state.save()
            return {"status": "waiting", "countdown": debounce.total_seconds(), "job": job.pk}
        if state.changed_at == claimed_at:
            state.families, state.scheduled_at, state.changed = [], None, {}
            state.save()
            return {"status": job.status, "job": job.pk}
        state.save()  # changed while running: this task stays scheduled and runs again
    return {"status": job.status, "job": job.pk, "countdown": debounce.total_seconds()}


def kpis_snapshot_is_fresh(*, as_of: dt.date | None = None) -> bool:
    """A full run published today and no source change waits for a refresh."""
    as_of = as_of or local_today()
    state = KpiRefreshState.objects.filter(pk=1).first()
    waiting = bool(state and state.families)
    published = KpiRun.objects.filter(status=RunStatus.PUBLISHED, is_full=True, as_of=as_of).exists()
    return published and not waiting
