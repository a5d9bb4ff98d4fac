"""Per-group sums ("facts") of the additive KPI statements, and the refresh of a few groups.

A value of an additive family for a scope is a formula of sums over the scope's groups (numerators,
denominators, counts). A run of the standard periods on PostgreSQL therefore also keeps

- the per-(group, period) rows of each additive statement, with the group's tier, owner and region,
  in an unlogged table per run (``kpi_facts_r<run>``, written by the statements themselves: see
  ``SqlContext.additive``), named by a ``KpiFactSet`` row per statement ("part");
- each scope's sums as published (``KpiMeasure``: per family and scope, per period label).

After a change to a few accounts' rows, the refresh reads the sources of their groups only (by
index), takes the groups' old rows out of the sums of the scopes they counted in, puts the new ones
in, recomputes the values of those scopes with the same formulas, and publishes them with the new
rows and sums in one transaction. The result is the same as a full recompute (tested), in a time
that does not depend on the number of accounts.

The rows are unlogged (a crash empties the table): each table holds a sentinel row, and a table
without it is not used (the refresh then recomputes whole and rebuilds the rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection

from reports.models import KpiFactSet, KpiMeasure, KpiRun, RunStatus

PREFIX = "kpi_facts_r"
SENTINEL = "~sentinel"
SCOPE_DIMENSIONS = ("tier", "owner", "region")

Sums = dict[str, Any]
Measures = dict[tuple[str, str], Sums]


def table_name(run_pk: int) -> str:
    return f"{PREFIX}{int(run_pk)}"


def create_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE UNLOGGED TABLE {name} (
                part TEXT NOT NULL, period TEXT NOT NULL, group_id BIGINT NOT NULL,
                tier TEXT, owner TEXT, region TEXT, sums NUMERIC[] NOT NULL);
            INSERT INTO {name} VALUES (%s, '', 0, NULL, NULL, NULL, '{{}}')""",
            [SENTINEL],
        )


def index_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {name}_group ON {name} (group_id, part)")


def drop_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def drop_unused() -> None:
    """Drop the fact tables no part refers to, except those of runs still computing (one statement)."""
    sets = connection.ops.quote_name(KpiFactSet._meta.db_table)
    runs = connection.ops.quote_name(KpiRun._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DO $$
            DECLARE name TEXT;
            BEGIN
                FOR name IN
                    SELECT t.tablename FROM pg_tables t
                    WHERE t.schemaname = current_schema() AND t.tablename ~ '^{PREFIX}[0-9]+$'
                      AND t.tablename NOT IN (SELECT s."table" FROM {sets} s)
                      AND NOT EXISTS (SELECT 1 FROM {runs} r WHERE r.status = '{RunStatus.RUNNING}'
                                      AND r.id = CAST(substr(t.tablename, {len(PREFIX) + 1}) AS BIGINT))
                LOOP
                    EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(name);
                END LOOP;
            END $$"""
        )


def usable(parts: Sequence[str], *, as_of: dt.date, periods: list[str]) -> bool:
    """The rows of every part exist, for these periods as of this day, and survived any crash."""
    sets = {fs.part: fs for fs in KpiFactSet.objects.filter(part__in=parts)}
    if set(sets) != set(parts) or any(fs.as_of != as_of or fs.periods != periods for fs in sets.values()):
        return False
    with connection.cursor() as cursor:
        for table in {fs.table for fs in sets.values()}:
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                return False
            cursor.execute(f"SELECT 1 FROM {table} WHERE group_id = 0 AND part = %s", [SENTINEL])
            if cursor.fetchone() is None:
                return False
    return True


def same_layout(names: dict[str, list[str]]) -> bool:
    """The kept rows of these parts hold the sums ``names`` (per part), in this order: a statement
    that gained or lost sums since the rows were written cannot move the scopes' sums by them."""
    stored = dict(KpiFactSet.objects.filter(part__in=list(names)).values_list("part", "names"))
    return all(stored.get(part) == list(part_names) for part, part_names in names.items())


# --- sums of scopes ----------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode(value: Any) -> Any:
    return Decimal(value) if isinstance(value, str) else value


def save_measures(families: dict[str, Measures], *, as_of: dt.date) -> None:
    """Replace the published sums of these families (their scopes × period labels)."""
    KpiMeasure.objects.filter(family__in=list(families))._raw_delete(KpiMeasure.objects.db)
    rows = []
    for family, measures in families.items():
        by_scope: dict[str, dict[str, Sums]] = {}
        for (scope, label), sums in measures.items():
            by_scope.setdefault(scope, {})[label] = {name: _encode(v) for name, v in sums.items()}
        rows += [KpiMeasure(family=family, scope=scope, as_of=as_of, sums=sums) for scope, sums in by_scope.items()]
    KpiMeasure.objects.bulk_create(rows, batch_size=1000)


def scopes_of(row: dict[str, Any]) -> list[str]:
    """The scopes a group's row counts in (as the roll-up's grouping sets do)."""
    return ["company", *(f"{dim}:{row[dim]}" for dim in SCOPE_DIMENSIONS if row.get(dim) is not None)]


def apply(
    family: str,
    parts: dict[str, list[str]],
    old: dict[str, list[dict[str, Any]]],
    new: dict[str, list[dict[str, Any]]],
    *,
    as_of: dt.date,
) -> Measures:
    """Move the published sums of ``family`` from the groups' ``old`` rows to their ``new`` ones
    (per part: dicts with period, tier, owner, region and the part's sums); save and return the
    sums of the scopes that moved, per (scope, period label)."""
    touched = {scope for rows in (*old.values(), *new.values()) for row in rows for scope in scopes_of(row)}
    stored = {m.scope: m for m in KpiMeasure.objects.select_for_update().filter(family=family, scope__in=touched)}
    sums: dict[str, dict[str, Sums]] = {
        scope: {
            label: {k: _decode(v) for k, v in values.items()}
            for label, values in (stored[scope].sums if scope in stored else {}).items()
        }
        for scope in touched
    }
    for part, names in parts.items():
        count = f"rows_{part}"
        for sign, rows in ((-1, old.get(part, [])), (1, new.get(part, []))):
            for row in rows:
                for scope in scopes_of(row):
                    target = sums[scope].setdefault(row["period"], {})
                    target[count] = (target.get(count) or 0) + sign
                    for name in names:
                        value = row[name]
                        if value is not None:
                            target[name] = (target.get(name) or 0) + sign * Decimal(value)
        # A scope left without rows of the part has no sums for it (as the roll-up gives none).
        for periods in sums.values():
            for label in [label for label, values in periods.items() if count in values and not values[count]]:
                values = periods[label]
                for name in (count, *names):
                    values.pop(name, None)
                if not values:
                    del periods[label]
    changed, created = [], []
    for scope, periods in sums.items():
        encoded = {label: {k: _encode(v) for k, v in values.items()} for label, values in periods.items()}
        if scope in stored:
            stored[scope].sums = encoded
            changed.append(stored[scope])
        else:
            created.append(KpiMeasure(family=family, scope=scope, as_of=as_of, sums=encoded))
    KpiMeasure.objects.bulk_update(changed, ["sums"], batch_size=500)
    KpiMeasure.objects.bulk_create(created)
    return {(scope, label): values for scope, periods in sums.items() for label, values in periods.items()}


# --- the rows of a few groups --------------------------------------------------------------------------


def replace_rows(part: str, names: list[str], groups: list[int], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Swap the part's rows of ``groups`` for ``rows``; returns the old ones (as dicts)."""
    table = KpiFactSet.objects.get(part=part).table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE group_id = ANY(%s) AND part = %s RETURNING period, group_id, tier, owner, region, sums",
            [groups, part],
        )
        old = [
            {
                "period": period,
                "group_id": group,
                "tier": tier,
                "owner": owner,
                "region": region,
                **dict(zip(names, values, strict=True)),
            }
            for period, group, tier, owner, region, values in cursor.fetchall()
        ]
        if rows:
            cursor.executemany(
                f"INSERT INTO {table} (part, period, group_id, tier, owner, region, sums) VALUES (%s, %s, %s, %s, %s, %s, %s::numeric[])",
                [
                    (
                        part,
                        r["period"],
                        r["group_id"],
                        r["tier"],
                        r["owner"],
                        r["region"],
                        [None if r[n] is None else Decimal(r[n]) for n in names],
                    )
                    for r in rows
                ],
            )
    return old
