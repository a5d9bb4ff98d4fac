"""Set-based writes for imports, inside the caller's transaction.

- New rows: ids reserved from the table's sequence first (so rows of the same file can point at
  each other, in any order), then ``kam.bulk.bulk_insert`` (COPY on PostgreSQL).
- Changed rows: COPY into a temporary staging table, then one ``UPDATE ... FROM`` that also bumps
  ``version`` and ``updated_at``. SQLite (the embedded ``make run`` default) takes the same SQL,
  with the staging table filled by ``executemany`` instead of COPY: slower, same result.
- History: simple-history's signals do not fire for bulk writes, so the historical rows are
  written here, one per created or changed object (``+`` or ``~``), by ``INSERT ... SELECT`` from
  the written rows, with the importing user and "import #<id>" as the change reason. Many-to-many
  history (a contact's buying roles) is snapshotted the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection, models

from kam.bulk import bulk_insert, copy_rows
from kam.locks import lock_key

_counter = itertools.count()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def lock_writes() -> None:
    """One import writes at a time (the account hierarchy is rebuilt from the whole table).

    A transaction-level advisory lock on PostgreSQL: waits for another import's write phase and is
    released at commit or rollback. SQLite serialises writers by itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(4242, %s)", [lock_key("imports:write")])


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys, taken from the sequence so concurrent inserts never collide."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count])
            return [r[0] for r in cursor.fetchall()]
        # SQLite: the transaction holds the database's write lock, so max + 1 is ours.
        cursor.execute(f"SELECT COALESCE(MAX({_q(pk)}), 0) FROM {_q(table)}")
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]], *, now: datetime) -> None:
    if rows:
        bulk_insert(model, columns, rows)


def _db_values(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterable[list[Any]]:
    """Python values → what the database adapter takes (SQLite needs Decimals, dates… prepared)."""
    fields = [model._meta.get_field(c) for c in columns]
    for row in rows:
        yield [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]


def _stage(model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> str:
    """A temporary table shaped like ``model``'s ``columns``, filled with ``rows``."""
    table = f"kam_import_stage_{next(_counter)}"
    source = _q(model._meta.db_table)
    column_sql = ", ".join(_q(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE {_q(table)} ON COMMIT DROP AS SELECT {column_sql} FROM {source} WITH NO DATA")
            copy_rows(table, [model._meta.get_field(c).column for c in columns], rows)
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {_q(table)} AS SELECT {column_sql} FROM {source} WHERE 0")
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {_q(table)} ({column_sql}) VALUES ({marks})", list(_db_values(model, columns, rows)))
    return table


def _drop(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {_q(table)}")


def update_rows(model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]], *, now: datetime) -> None:
    """Set ``columns`` (attribute names) on the rows ``(pk, *values)``; bump version and updated_at."""
    if not rows:
        return
    meta = model._meta
    target = _q(meta.db_table)
    pk = meta.pk.column
    stage = _stage(model, [meta.pk.attname, *columns], rows)
    assignments = [f"{_q(meta.get_field(c).column)} = s.{_q(meta.get_field(c).column)}" for c in columns]
    params: list[Any] = []
    field_names = {f.name for f in meta.concrete_fields}
    if "version" in field_names:
        assignments.append(f"{_q('version')} = {target}.{_q('version')} + 1")
    if "updated_at" in field_names:
        assignments.append(f"{_q('updated_at')} = %s")
        params.append(connection.ops.adapt_datetimefield_value(now))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {target} SET {', '.join(assignments)} FROM {_q(stage)} AS s WHERE {target}.{_q(pk)} = s.{_q(pk)}",
            params,
        )
    _drop(stage)


def replace_links(model: type[models.Model], field_name: str, links: dict[int, list[Any]]) -> None:
    """Make each owner's many-to-many targets exactly ``links[owner]``."""
    if not links:
        return
    m2m = model._meta.get_field(field_name)
    through = m2m.remote_field.through
    owner_col = m2m.m2m_field_name()
    target_col = m2m.m2m_reverse_field_name()
    owners = list(links)
    for start in range(0, len(owners), 5_000):
        through.objects.filter(**{f"{owner_col}__in": owners[start : start + 5_000]}).delete()
    pairs = [(owner, target) for owner, targets in links.items() for target in targets]
    if pairs:
        bulk_insert(through, (f"{owner_col}_id", f"{target_col}_id"), pairs)


def _history_model(model: type[models.Model]) -> Any:
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, attribute).model if attribute else None


def write_history(
    model: type[models.Model], *, created: list[int], updated: list[int], now: datetime, user_id: int | None, reason: str
) -> None:
    """One historical row per created (``+``) and updated (``~``) object, as the services leave."""
    history = _history_model(model)
    if history is None or not (created or updated):
        return
    meta, hmeta = model._meta, history._meta
    bookkeeping = {"history_id", "history_date", "history_change_reason", "history_type", "history_user_id"}
    columns = [f.column for f in hmeta.concrete_fields if f.attname not in bookkeeping]
    ids_table = f"kam_import_ids_{next(_counter)}"
    rows = [(pk, "+") for pk in created] + [(pk, "~") for pk in updated]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE {_q(ids_table)} (id bigint PRIMARY KEY, kind char(1)) ON COMMIT DROP")
            copy_rows(ids_table, ["id", "kind"], rows)
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {_q(ids_table)} (id integer PRIMARY KEY, kind char(1))")
            cursor.executemany(f"INSERT INTO {_q(ids_table)} (id, kind) VALUES (%s, %s)", rows)
        target = _q(meta.db_table)
        select = ", ".join(f"t.{_q(c)}" for c in columns)
        cursor.execute(
            f"INSERT INTO {_q(hmeta.db_table)} ({', '.join(_q(c) for c in columns)}, history_date, history_type, "
            f"history_user_id, history_change_reason) "
            f"SELECT {select}, %s, i.kind, %s, %s FROM {target} AS t JOIN {_q(ids_table)} AS i ON i.id = t.{_q(meta.pk.column)}",
            [connection.ops.adapt_datetimefield_value(now), user_id, reason],
        )
        for m2m in getattr(history, "_history_m2m_fields", None) or []:
            _write_m2m_history(cursor, model, history, m2m.name, now=now, reason=reason)
    _drop(ids_table)


def _write_m2m_history(cursor: Any, model: type[models.Model], history: Any, name: str, *, now: datetime, reason: str) -> None:
    """Snapshot the links of every object just given a historical row, as simple-history does."""
    m2m = model._meta.get_field(name)
    through = m2m.remote_field.through
    history_m2m = apps.get_model(history._meta.app_label, f"{history.__name__}_{name}")
    owner_col = through._meta.get_field(m2m.m2m_field_name()).column
    target_col = through._meta.get_field(m2m.m2m_reverse_field_name()).column
    h_owner = history_m2m._meta.get_field(m2m.m2m_field_name()).column
    h_target = history_m2m._meta.get_field(m2m.m2m_reverse_field_name()).column
    cursor.execute(
        f"INSERT INTO {_q(history_m2m._meta.db_table)} (id, {_q(h_owner)}, {_q(h_target)}, history_id) "
        f"SELECT l.id, l.{_q(owner_col)}, l.{_q(target_col)}, h.history_id FROM {_q(through._meta.db_table)} AS l "
        f"JOIN {_q(history._meta.db_table)} AS h ON h.id = l.{_q(owner_col)} "
        f"WHERE h.history_change_reason = %s AND h.history_date = %s",
        [reason, connection.ops.adapt_datetimefield_value(now)],
    )
