"""Fast bulk writes for seeding, imports and whole-portfolio jobs.

On PostgreSQL rows go in through ``COPY ... FROM STDIN`` (an order of magnitude faster than
multi-row INSERTs at a million rows); elsewhere through ``bulk_create``. Callers pass plain tuples
in the order of ``columns`` and may assign primary keys themselves (``next_ids``), so that related
rows can be generated together without a round trip per parent; ``reset_sequence`` then moves the
identity sequence past them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone


def _copy_value(value: Any) -> Any:
    if value is None:
        return None  # written unquoted and empty, which COPY's CSV format reads as NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _as_is(value: Any) -> Any:
    return value


# Converters by exact type: one dict look-up per value instead of a chain of isinstance tests
# (a snapshot table is millions of values). Other types (subclasses, say) take ``_copy_value``.
_CONVERTERS: dict[type, Any] = {
    str: _as_is,
    int: _as_is,
    float: _as_is,
    type(None): _as_is,
    bool: _copy_value,
    Decimal: _copy_value,
    date: _copy_value,
    datetime: _copy_value,
}


# Types the CSV writer already writes as PostgreSQL reads them (None: empty and unquoted, NULL).
_AS_IS = frozenset({str, int, float, type(None)})

JsonColumns = dict[int, Any]  # position in the row -> the JSONField's encoder class (or None)


# Rows per chunk of a streamed COPY: large enough that a chunk is one C-level write, small enough
# that PostgreSQL starts parsing while Python still converts the rest (a few MB at most in flight).
COPY_CHUNK_ROWS = 2000


def _csv_chunks(rows: Iterable[Sequence[Any]], json_columns: JsonColumns | None = None) -> Iterator[str]:
    """Rows as COPY's CSV, a chunk of ``COPY_CHUNK_ROWS`` rows at a time. Every value but NULL is
    quoted, so no string (not even "" or "\\N") can read as NULL; JSON columns take Python values,
    encoded with their field's encoder as Django would."""
    import json

    # One encoder per JSON column, made once: json.dumps(cls=…) builds a new one for every value.
    encoders = [(i, (cls or json.JSONEncoder)(separators=(",", ":")).encode) for i, cls in (json_columns or {}).items()]
    converters, as_is = _CONVERTERS, _AS_IS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NOTNULL)
    writerows = writer.writerows
    batch: list[list[Any]] = []
    for row in rows:
        # Most values (text, numbers, NULL) go to the writer as they are: no call at all for them.
        values = [v if v.__class__ in as_is else converters.get(v.__class__, _copy_value)(v) for v in row]
        for i, encode in encoders:
            if (value := row[i]) is not None:
                values[i] = encode(value)
        batch.append(values)
        if len(batch) >= COPY_CHUNK_ROWS:
            writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if batch:
        writerows(batch)
        yield buffer.getvalue()


def _csv_buffer(rows: Iterable[Sequence[Any]], json_columns: JsonColumns | None = None) -> io.StringIO:
    """Rows as COPY's CSV in one buffer (see ``_csv_chunks``)."""
    buffer = io.StringIO("".join(_csv_chunks(rows, json_columns)))
    return buffer


class _ChunkReader:
    """A file for ``copy_expert`` that reads from a generator of text chunks.

    psycopg2 sends each chunk as soon as it is read, so PostgreSQL parses and inserts the rows
    already sent while Python converts the next ones: the two processes work at the same time
    (on two cores) instead of one after the other, and the whole CSV is never held in memory.
    """

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> str:
        return next(self._chunks, "")

    def readline(self, size: int = -1) -> str:  # part of the file protocol psycopg2 checks for
        return self.read(size)


def _json_columns(model: type[models.Model], names: Sequence[str], offset: int = 0) -> JsonColumns:
    fields = (model._meta.get_field(name) for name in names)
    return {i + offset: f.encoder for i, f in enumerate(fields) if isinstance(f, models.JSONField)}


def _implicit_columns(model: type[models.Model], columns: Sequence[str]) -> tuple[list[str], list[Any]]:
    """Fields the caller left out that need a value: their model default, or now() for timestamps."""
    given = set(columns)
    names, values = [], []
    now = timezone.now()
    for f in model._meta.concrete_fields:
        if f.primary_key or f.attname in given or f.name in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            names.append(f.attname)
            values.append(now)
        elif f.has_default() or not f.null:
            names.append(f.attname)
            values.append(f.get_default())
    return names, values


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples matching ``columns``, by attribute name such as ``account_id``).

    Fields not named get their model default (``""`` for text, ``now()`` for timestamps), as
    ``Model.objects.create`` would give them. JSON fields take Python values (not JSON text).
    """
    extra_names, extra_values = _implicit_columns(model, columns)
    rows = [(*row, *extra_values) for row in rows] if extra_names else list(rows)
    columns = [*columns, *extra_names]
    if not rows:
        return 0
    table = model._meta.db_table
    db_columns = [model._meta.get_field(name).column for name in columns]  # get_field knows attnames too
    if connection.vendor == "postgresql":
        copy_rows(table, db_columns, rows, json_columns=_json_columns(model, columns))
        return len(rows)
    objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=500)
    return len(rows)


class PreparedCopy:
    """Rows of ``model`` already converted to COPY's CSV (``prepare_insert``), to insert later.

    Converting is pure Python and touches no connection, so a job can prepare its rows in a
    thread while its connection runs another statement (psycopg2 releases the GIL while it waits
    for the server): the conversion then costs no wall time.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        extra_names, extra_values = _implicit_columns(model, columns)
        self.model = model
        self.columns = [*columns, *extra_names]
        if extra_names:
            rows = ((*row, *extra_values) for row in rows)
        self.chunks = list(_csv_chunks(rows, _json_columns(model, self.columns)))

    def insert(self) -> None:
        """COPY the prepared rows in (PostgreSQL only); nothing to do without rows."""
        if not self.chunks:
            return
        meta = self.model._meta
        column_sql = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in self.columns)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {connection.ops.quote_name(meta.db_table)} ({column_sql}) FROM STDIN WITH (FORMAT csv)",
                _ChunkReader(iter(self.chunks)),
            )


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (``'{1,"T1",NULL}'``) of ints, decimals, strings and None, to pass as
    one parameter cast to an array type (``%s::text[]``): PostgreSQL reads it with one ``array_in``,
    where the ``ARRAY[…]`` that psycopg2 makes of a list is parsed into an expression per element."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, str):
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(value, Decimal):
            items.append(format(value, "f"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            items.append(repr(value))
        else:
            raise TypeError(f"array_literal: unsupported value {value!r}")
    return "{" + ",".join(items) + "}"


def next_ids(model: type[models.Model], count: int, start: int | None = None) -> range:
    """Reserve ``count`` primary keys above the current maximum (call under the seeding lock)."""
    if start is None:
        start = (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1
    return range(start, start + count)


def reset_sequence(model: type[models.Model]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's rowid continues from the maximum by itself.
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE((SELECT MAX({connection.ops.quote_name(pk)}) FROM "
            f"{connection.ops.quote_name(table)}), 0) + 1, false)",
            [table, pk],
        )


def bulk_upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unique: Sequence[str],
) -> int:
    """Insert ``rows``, updating the existing rows that collide on ``unique`` (a unique constraint).

    For snapshot tables that must hold one row per key however often a job runs. On PostgreSQL the
    rows go through ``COPY`` into a temporary table and one ``INSERT … ON CONFLICT … DO UPDATE``;
    elsewhere through ``bulk_create(update_conflicts=True)``. JSON fields take Python values.
    """
    from django.db import transaction

    rows = list(rows)
    if not rows:
        return 0
    update = [name for name in columns if name not in unique]
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        unique_fields = [model._meta.get_field(name).name for name in unique]
        update_fields = [model._meta.get_field(name).name for name in update]
        model.objects.bulk_create(
            objs, batch_size=500, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields
        )
        return len(rows)
    extra_names, extra_values = _implicit_columns(model, columns)
    names = [*columns, *extra_names]
    qn = connection.ops.quote_name
    table = model._meta.db_table
    temp = qn(f"upsert_{table}")
    db_columns = ", ".join(qn(model._meta.get_field(name).column) for name in names)
    conflict = ", ".join(qn(model._meta.get_field(name).column) for name in unique)
    updates = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in (model._meta.get_field(name).column for name in update))
    buffer = _csv_buffer(((*row, *extra_values) for row in rows), _json_columns(model, names))
    with transaction.atomic(), connection.cursor() as cursor:
        # ON COMMIT DROP only inside a transaction; the explicit DROP lets one transaction upsert twice.
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {db_columns} FROM {qn(table)} WITH NO DATA")
        cursor.cursor.copy_expert(f"COPY {temp} ({db_columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        cursor.execute(
            f"INSERT INTO {qn(table)} ({db_columns}) SELECT {db_columns} FROM {temp} "
            f"ON CONFLICT ({conflict}) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}"
        )
        cursor.execute(f"DROP TABLE {temp}")
    return len(rows)


def copy_rows(
    table: str,
    db_columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    json_columns: JsonColumns | None = None,
) -> None:
    """COPY ``rows`` into any table (a staging table, say) on PostgreSQL; the caller checks the vendor."""
    column_sql = ", ".join(connection.ops.quote_name(c) for c in db_columns)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {connection.ops.quote_name(table)} ({column_sql}) FROM STDIN WITH (FORMAT csv)",
            _ChunkReader(_csv_chunks(rows, json_columns)),
        )


def bulk_update(model: type[models.Model], objs: Iterable[models.Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of many existing instances in one statement.

    Django's ``bulk_update`` sends one ``UPDATE … SET f = CASE WHEN id = 1 THEN … END`` with a
    branch per row, which PostgreSQL evaluates in quadratic time and without checking for
    interrupts: 100,000 rows never finished and blocked the cluster. Here the values go through
    ``COPY`` into a temporary table and one ``UPDATE … FROM`` joins on the primary key. Elsewhere
    ``bulk_update`` in batches of 500.
    """
    from django.db import transaction

    objs = list(objs)
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=500)
        return len(objs)
    qn = connection.ops.quote_name
    table = model._meta.db_table
    temp = qn(f"update_{table}")
    targets = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    columns = [pk.column, *(f.column for f in targets)]
    json_columns = _json_columns(model, fields, offset=1)
    rows = ((obj.pk, *(getattr(obj, f.attname) for f in targets)) for obj in objs)
    assignments = ", ".join(f"{qn(f.column)} = s.{qn(f.column)}" for f in targets)
    column_sql = ", ".join(qn(c) for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {column_sql} FROM {qn(table)} WITH NO DATA")
        cursor.cursor.copy_expert(f"COPY {temp} ({column_sql}) FROM STDIN WITH (FORMAT csv)", _csv_buffer(rows, json_columns))
        cursor.execute(f"UPDATE {qn(table)} AS t SET {assignments} FROM {temp} AS s WHERE t.{qn(pk.column)} = s.{qn(pk.column)}")
        cursor.execute(f"DROP TABLE {temp}")
    return len(objs)
