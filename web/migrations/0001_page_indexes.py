"""Indexes that keep the workspace's pages fast at 100,000 accounts (PostgreSQL only).

They serve page queries rather than model invariants, so they live with the pages: created with raw
SQL (no model state changes, so the models' ``Meta.indexes`` stay as their apps declare them), built
``CONCURRENTLY`` so that adding them to a live database does not lock the tables. The embedded SQLite
default is for small demos and skips them.

- ``contract_open_end``: contracts that can still come up for renewal (the predicate repeats
  ``accounts.selectors.CLOSED_CONTRACT_STATUSES`` in order, so the planner can prove it), by end date
  then id: the home page's and the pipeline's "due within N days" ranges in date order, and their
  counts and per-currency sums from the index alone.
- ``account_status_tier_band``: the home page's counts as one GROUP BY read from the index alone.
- ``account_*_sort`` and ``*_desc``: the accounts list sorted on a column that may be empty (value
  and health scores, tier, region), empty values last in both directions (``web.pagination``), so
  a page is an index range whatever its depth.
- ``meeting_time``: the latest and next meetings across a whole portfolio (executives).
- ``alert_open_inbox``, ``alert_owner_open``: the alerts inbox and "my open alerts", open alerts by
  priority (the stored codes sort critical, high, medium) then due date.
- ``plan_action_owner_due``, ``alert_task_owner_due``: "my plan actions and tasks due" on the home
  page, in due-date order without sorting a whole day's tasks.
"""

from django.db import DatabaseError, migrations

INDEXES = {
    "contract_open_end": (
        "accounts_contract (end_date, id) INCLUDE (account_id, annual_value, currency) "
        "WHERE NOT (status IN ('draft', 'terminated', 'renewed'))"
    ),
    "account_status_tier_band": "accounts_account (status, tier, health_band)",
    # The accounts list's sorts on columns that may be empty: empty last in both directions.
    # Ascending orders use the (column, id) indexes of accounts 0003 (NULLs sort last there).
    "account_value_score_desc": "accounts_account (value_score DESC NULLS LAST, id DESC)",
    "account_health_score_desc": "accounts_account (health_score DESC NULLS LAST, id DESC)",
    "account_tier_sort": "accounts_account (NULLIF(tier, ''), id)",
    "account_tier_sort_desc": "accounts_account (NULLIF(tier, '') DESC NULLS LAST, id DESC)",
    "account_region_sort": "accounts_account (NULLIF(region, ''), id)",
    "account_region_sort_desc": "accounts_account (NULLIF(region, '') DESC NULLS LAST, id DESC)",
    "meeting_time": "accounts_meeting (occurred_at, id)",
    "alert_open_inbox": (
        "service_plans_alert (priority, due_on, id) WHERE status IN ('open', 'in_progress', 'snoozed')"
    ),
    "plan_action_owner_due": "service_plans_planaction (owner_user_id, due_on, id) WHERE status = 'open'",
    "alert_task_owner_due": "service_plans_alerttask (owner_id, due_on, id) WHERE status = 'open'",
    "alert_owner_open": (
        "service_plans_alert (owner_id, priority, due_on, id) WHERE status IN ('open', 'in_progress', 'snoozed')"
    ),
}


# The accounts list's search (``AccountFilterSet.filter_q``: name contains, or external id equals,
# ignoring case, which Django writes as UPPER(…) LIKE UPPER(…) and UPPER(…) = UPPER(…)): trigram and
# upper-case indexes on those expressions let a rare term find its few rows without reading every
# account. pg_trgm is a trusted extension (any database owner may create it); where it cannot
# be created the search still works, by reading the table.
SEARCH_INDEXES = {
    "account_name_trgm": "accounts_account USING gin (UPPER(name) gin_trgm_ops)",
    "account_external_id_upper": "accounts_account (UPPER(external_id))",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON {definition}')
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        SEARCH_INDEXES.pop("account_name_trgm")
    for name, definition in SEARCH_INDEXES.items():
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON {definition}')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*INDEXES, *SEARCH_INDEXES]:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("accounts", "0003_list_sort_indexes"),
        ("service_plans", "0004_default_standards_rules_playbooks"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
