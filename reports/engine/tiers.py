"""THE place that says which tier a group held on a date. Every tier scope, every key-account KPI
and the tier mix read tiers through ``tier_history_cte`` and ``tier_join`` only.

Today it reads ``Account.tier`` of the group's root account: the current tier, written by the
tiering app, with no history, so it applies to every date (``valid_from``/``valid_until`` are
empty). When tiering's tier-assignment history lands, this CTE selects
``(group_id, tier, valid_from, valid_until)`` from it instead and past periods get the tier they had
then; nothing else in the engine changes.
"""

from __future__ import annotations

TIERS = ("T1", "T2", "T3", "T4")
KEY_TIERS = ("T1", "T2")  # key accounts = T1 ∪ T2 (DOMAIN.md §4.12, §4.16)


def tier_history_cte(account_table: str) -> str:
    return f"""tier_history (group_id, tier, valid_from, valid_until) AS (
        SELECT a.id, NULLIF(a.tier, ''), CAST(NULL AS DATE), CAST(NULL AS DATE)
        FROM {account_table} a WHERE a.parent_id IS NULL)"""


def tier_valid_on(alias: str, day: str) -> str:
    """The condition that the ``alias`` row of ``tier_history`` holds on the SQL date ``day``."""
    return f"({alias}.valid_from IS NULL OR {alias}.valid_from <= {day}) AND ({alias}.valid_until IS NULL OR {alias}.valid_until > {day})"


def tier_join(alias: str, group: str, day: str) -> str:
    return f"LEFT JOIN tier_history {alias} ON {alias}.group_id = {group} AND {tier_valid_on(alias, day)}"


def key_tiers_sql(column: str) -> str:
    return f"{column} IN ({', '.join(repr(t) for t in KEY_TIERS)})"
