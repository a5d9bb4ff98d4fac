"""Maintenance of the group hierarchy's closure table and ``group_root``.

Called by the account services inside their transaction, and by bulk loaders (seeding, imports)
through ``hierarchy_rebuild`` once per load.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.db import connection

from accounts.models import Account, AccountAncestry

_scopes = itertools.count()

# A hierarchy deeper than this is a data error (and would make the recursive rebuild loop on a cycle).
MAX_DEPTH = 30


def hierarchy_attach(account: Account) -> None:
    """Add the closure rows and group root of a newly created account (a leaf)."""
    rows = [AccountAncestry(ancestor_id=account.pk, descendant_id=account.pk, depth=0)]
    root_id = account.pk
    if account.parent_id is not None:
        for ancestor_id, depth in AccountAncestry.objects.filter(descendant_id=account.parent_id).values_list(
            "ancestor_id", "depth"
        ):
            rows.append(AccountAncestry(ancestor_id=ancestor_id, descendant_id=account.pk, depth=depth + 1))
        root_id = Account.objects.values_list("group_root_id", flat=True).get(pk=account.parent_id) or account.parent_id
    AccountAncestry.objects.bulk_create(rows)
    Account.objects.filter(pk=account.pk).update(group_root_id=root_id)
    account.group_root_id = root_id


def hierarchy_move(account: Account, new_parent_id: int | None) -> None:
    """Move ``account`` and its subtree under ``new_parent_id`` (the caller has checked for cycles)."""
    subtree = list(AccountAncestry.objects.filter(ancestor_id=account.pk).values_list("descendant_id", "depth"))
    subtree_ids = [descendant_id for descendant_id, _ in subtree]
    # Cut the subtree from its old ancestors; keep the links inside it.
    AccountAncestry.objects.filter(descendant_id__in=subtree_ids).exclude(ancestor_id__in=subtree_ids).delete()
    root_id = account.pk
    if new_parent_id is not None:
        ancestors = list(AccountAncestry.objects.filter(descendant_id=new_parent_id).values_list("ancestor_id", "depth"))
        AccountAncestry.objects.bulk_create(
            AccountAncestry(ancestor_id=a_id, descendant_id=d_id, depth=a_depth + d_depth + 1)
            for a_id, a_depth in ancestors
            for d_id, d_depth in subtree
        )
        root_id = Account.objects.values_list("group_root_id", flat=True).get(pk=new_parent_id) or new_parent_id
    Account.objects.filter(pk__in=subtree_ids).update(group_root_id=root_id)
    account.group_root_id = root_id


def hierarchy_rebuild() -> None:
    """Recompute the closure table and group roots from ``parent`` for the whole table.

    Set-based: one recursive query, one insert, one update, whatever the number of accounts.
    """
    ancestry = connection.ops.quote_name(AccountAncestry._meta.db_table)
    account = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ancestry}")
        cursor.execute(
            f"""
            INSERT INTO {ancestry} (ancestor_id, descendant_id, depth)
            WITH RECURSIVE chain (descendant_id, ancestor_id, depth) AS (
                SELECT id, id, 0 FROM {account}
                UNION ALL
                SELECT chain.descendant_id, a.parent_id, chain.depth + 1
                FROM chain JOIN {account} a ON a.id = chain.ancestor_id
                WHERE a.parent_id IS NOT NULL AND chain.depth < %s
            )
            SELECT ancestor_id, descendant_id, depth FROM chain
            """,
            [MAX_DEPTH],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {ancestry}")  # fresh rows: let the planner see them
        # The root of each account's group is its ancestor without a parent.
        cursor.execute(
            f"""
            UPDATE {account} SET group_root_id = roots.ancestor_id
            FROM (
                SELECT x.descendant_id, x.ancestor_id FROM {ancestry} x
                JOIN {account} r ON r.id = x.ancestor_id WHERE r.parent_id IS NULL
            ) AS roots
            WHERE roots.descendant_id = {account}.id
            """
        )


def hierarchy_refresh(account_ids: Iterable[int], moved_ids: Iterable[int] = ()) -> None:
    """Recompute the closure rows and group roots of ``account_ids`` (new accounts) and of the
    subtrees of ``moved_ids`` (accounts whose parent changed), from ``parent``.

    The same three statements as ``hierarchy_rebuild`` restricted to the accounts concerned, so a
    bulk load costs what it touches, not the size of the portfolio; rows whose group root did not
    change are not rewritten. Call after the accounts' ``parent`` values are final.
    """
    ancestry = connection.ops.quote_name(AccountAncestry._meta.db_table)
    account = connection.ops.quote_name(Account._meta.db_table)
    scope = connection.ops.quote_name(f"kam_hierarchy_scope_{next(_scopes)}")
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {scope} (id bigint PRIMARY KEY)")
        ids = sorted(set(account_ids))
        moved = sorted(set(moved_ids))
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            if postgres:
                cursor.execute(f"INSERT INTO {scope} (id) SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING", [part])
            else:
                cursor.executemany(f"INSERT OR IGNORE INTO {scope} (id) VALUES (%s)", [(i,) for i in part])
        for start in range(0, len(moved), 1_000):
            part = moved[start : start + 1_000]
            marks = ", ".join(["%s"] * len(part))
            # The subtree is read from the closure rows, which still describe it: moving an account
            # changes its ancestors, never its descendants.
            conflict = "ON CONFLICT DO NOTHING" if postgres else ""
            verb = "INSERT" if postgres else "INSERT OR IGNORE"
            cursor.execute(
                f"{verb} INTO {scope} (id) SELECT DISTINCT descendant_id FROM {ancestry} WHERE ancestor_id IN ({marks}) {conflict}",
                part,
            )
        cursor.execute(f"DELETE FROM {ancestry} WHERE descendant_id IN (SELECT id FROM {scope})")
        cursor.execute(
            f"""
            INSERT INTO {ancestry} (ancestor_id, descendant_id, depth)
            WITH RECURSIVE chain (descendant_id, ancestor_id, depth) AS (
                SELECT id, id, 0 FROM {account} WHERE id IN (SELECT id FROM {scope})
                UNION ALL
                SELECT chain.descendant_id, a.parent_id, chain.depth + 1
                FROM chain JOIN {account} a ON a.id = chain.ancestor_id
                WHERE a.parent_id IS NOT NULL AND chain.depth < %s
            )
            SELECT ancestor_id, descendant_id, depth FROM chain
            """,
            [MAX_DEPTH],
        )
        cursor.execute(
            f"""
            UPDATE {account} SET group_root_id = roots.ancestor_id
            FROM (
                SELECT x.descendant_id, x.ancestor_id FROM {ancestry} x
                JOIN {account} r ON r.id = x.ancestor_id
                WHERE r.parent_id IS NULL AND x.descendant_id IN (SELECT id FROM {scope})
            ) AS roots
            WHERE roots.descendant_id = {account}.id AND {account}.group_root_id IS DISTINCT FROM roots.ancestor_id
            """
        )
        cursor.execute(f"DROP TABLE {scope}")
