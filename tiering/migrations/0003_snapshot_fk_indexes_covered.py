"""Snapshots: drop the foreign keys' own indexes on ``run_id`` and ``account_id``.

Each is the leading column of an index the table already has — ``(run_id, account_id)`` (the
unique constraint) and ``(account_id, as_of DESC)`` — which serves the same look-ups and the
cascades, so the two extra indexes only cost every run's COPY (four index entries per row instead
of two, about 160,000 entries a run at 100,000 accounts). Only the indexes go: the constraints stay
as they are (``AlterField`` would drop and re-validate them over the whole history).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "tiering_healthsnapshot_account_id_0410223d": ("tiering_healthsnapshot", "account_id"),
    "tiering_healthsnapshot_run_id_855ebc25": ("tiering_healthsnapshot", "run_id"),
    "tiering_scoresnapshot_account_id_90a8df29": ("tiering_scoresnapshot", "account_id"),
    "tiering_scoresnapshot_run_id_613129d7": ("tiering_scoresnapshot", "run_id"),
}


def _fk(model: str, name: str, related_name: str, to: str, verbose_name: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name=model,
        name=name,
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name=related_name,
            to=to,
            verbose_name=verbose_name,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_contract_superseded_by"),
        ("tiering", "0002_default_scoring_model"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                _fk("healthsnapshot", "account", "health_snapshots", "accounts.account", "group"),
                _fk("healthsnapshot", "run", "health_snapshots", "tiering.scoringrun", "run"),
                _fk("scoresnapshot", "account", "score_snapshots", "accounts.account", "group"),
                _fk("scoresnapshot", "run", "score_snapshots", "tiering.scoringrun", "run"),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
                )
                for name, (table, column) in INDEXES.items()
            ],
        )
    ]
