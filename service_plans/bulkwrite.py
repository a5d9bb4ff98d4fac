"""Insert many model instances fast: ids taken from the sequence in one query, rows sent with COPY.

``bulk_create`` spends most of its time compiling a giant INSERT; for the tens of thousands of
alerts, tasks, events and notifications of a first evaluation over a large book, COPY (via
``kam.bulk.bulk_insert``) is several times faster. Ids come from ``nextval`` so concurrent writers
never collide. Elsewhere than PostgreSQL this is plain ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

from kam.bulk import bulk_insert


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count])
        return [row[0] for row in cursor.fetchall()]


def insert_objects[M: models.Model](model: type[M], objs: Sequence[M]) -> Sequence[M]:
    """Insert ``objs`` (unsaved instances) and set their primary keys. Two queries on PostgreSQL."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
        obj.pk = pk
    fields = list(model._meta.concrete_fields)
    now_fields = {f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    from django.utils import timezone

    now = timezone.now()
    columns = [f.attname for f in fields]

    def value(obj: M, name: str) -> object:
        raw = getattr(obj, name)
        if name in now_fields and raw is None:
            return now
        return raw  # JSON values go as Python objects: bulk_insert encodes them

    bulk_insert(model, columns, [tuple(value(obj, name) for name in columns) for obj in objs])
    for obj in objs:
        obj._state.adding = False
    return objs


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]) -> list[int]:
    """Insert plain rows (no model instances: the fastest path) and return their new ids in order.

    Columns not named get their model defaults; JSON values are passed as Python objects.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(model(**dict(zip(columns, row, strict=True))) for row in rows)
        return [obj.pk for obj in created]
    ids = reserve_ids(model, len(rows))
    bulk_insert(model, ["id", *columns], [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
    return ids
