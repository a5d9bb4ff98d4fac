"""THE place that says which tier a group held on a date. Every tier scope, every key-account KPI
and the tier mix read tiers through ``tier_history_cte`` and ``tier_join`` only.

The source is the tiering app's history (``TierAssignment``: the tier of a group over
``[valid_from, valid_to)``), so a past period is reported with the tiers the groups had then and a
cohort keeps the tier it started the period with. Two conventions fill the gaps of that history:

- A group's first assignment also stands for the time before it: tiering had not judged the group
  yet, and its first tier is the best estimate (otherwise every period before KAM's first scoring
  run would have no tier scopes at all).
- A group without any assignment (tiers loaded before tiering ran) has its current ``Account.tier``
  for every date.
"""

from __future__ import annotations

from django.db import connection

TIERS = ("T1", "T2", "T3", "T4")
KEY_TIERS = ("T1", "T2")  # key accounts = T1 ∪ T2 (DOMAIN.md §4.12, §4.16)


def tier_history_cte(account_table: str, *, only_groups: bool = False) -> str:
    """``only_groups``: the history of the groups in the ``only_groups`` parameter only (a refresh)."""
    from tiering.models import TierAssignment

    history = connection.ops.quote_name(TierAssignment._meta.db_table)
    of_assignment = " WHERE ta.account_id = ANY(%(only_groups)s)" if only_groups else ""
    of_account = " AND a.id = ANY(%(only_groups)s)" if only_groups else ""
    return f"""tier_history (group_id, tier, valid_from, valid_until) AS (
        SELECT account_id, tier, CASE WHEN seq = 1 THEN NULL ELSE valid_from END, valid_to
        FROM (
            SELECT ta.account_id, NULLIF(ta.tier, '') AS tier, ta.valid_from, ta.valid_to,
                ROW_NUMBER() OVER (PARTITION BY ta.account_id ORDER BY ta.valid_from, ta.id) AS seq
            FROM {history} ta{of_assignment}
        ) assignments
        UNION ALL
        SELECT a.id, NULLIF(a.tier, ''), CAST(NULL AS DATE), CAST(NULL AS DATE)
        FROM {account_table} a
        WHERE a.parent_id IS NULL{of_account} AND NOT EXISTS (SELECT 1 FROM {history} t WHERE t.account_id = a.id))"""


def tier_valid_on(alias: str, day: str) -> str:
    """The condition that the ``alias`` row of ``tier_history`` holds on the SQL date ``day``."""
    return f"({alias}.valid_from IS NULL OR {alias}.valid_from <= {day}) AND ({alias}.valid_until IS NULL OR {alias}.valid_until > {day})"


def tier_join(alias: str, group: str, day: str) -> str:
    return f"LEFT JOIN tier_history {alias} ON {alias}.group_id = {group} AND {tier_valid_on(alias, day)}"


def key_tiers_sql(column: str) -> str:
    return f"{column} IN ({', '.join(repr(t) for t in KEY_TIERS)})"
