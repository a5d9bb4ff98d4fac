"""The activity timeline's (account, date) indexes (PostgreSQL only).

``web.selectors.activity`` reads one SELECT per event type, each cut at the page's cursor and limited
to one page, ordered by its own date column: with an index on (account_id, that column, id) each is a
short backwards index range, so page 2,000 costs what page 1 costs. These are the sources that had no
such index (meetings, invoices issued, service requests opened, contracts ended and escalations closed
already do). Partial on the nullable columns: only the rows that are an event.
"""

from django.db import migrations

INDEXES = {
    "activity_invoice_paid": "accounts_invoice (account_id, paid_on, id) WHERE paid_on IS NOT NULL",
    "activity_contract_signed": "accounts_contract (account_id, signed_on, id) WHERE signed_on IS NOT NULL",
    "activity_contract_start": "accounts_contract (account_id, start_date, id)",
    "activity_sr_resolved": "service_plans_servicerequest (account_id, resolved_at, id) WHERE resolved_at IS NOT NULL",
    "activity_escalation_opened": "service_plans_escalation (account_id, opened_at, id)",
    "activity_alert_opened": "service_plans_alert (account_id, opened_at, id)",
    "activity_alert_closed": "service_plans_alert (account_id, closed_at, id) WHERE closed_at IS NOT NULL",
    "activity_survey_time": "service_plans_surveyresponse (account_id, responded_at, id)",
    "activity_review_held": "service_plans_planreview (plan_id, held_on, id) WHERE held_on IS NOT NULL",
    "activity_tier_from": "tiering_tierassignment (account_id, valid_from, id)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON {definition}')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("web", "0003_saved_views"),
        ("accounts", "0009_influence_link"),
        ("service_plans", "0010_expansion_signal_rule"),
        ("tiering", "0003_snapshot_fk_indexes_covered"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
