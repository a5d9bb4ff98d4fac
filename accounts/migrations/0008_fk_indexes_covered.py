"""Drop the foreign keys' own single-column indexes where another index leads with the column.

Each look-up, join and cascade on these columns is served as well by the composite index the table
already has — ``account_owner`` (owner, name), ``ancestry_unique`` (ancestor, descendant),
``ancestry_descendant`` (descendant, depth), ``contact_account`` (account, is_active),
``contract_account_end`` (account, end_date), ``invoice_account_issued`` (account, issued_on),
``meeting_account_time`` (account, occurred_at DESC) — so the extra ones only cost every write: the
score run rewrites each account row (one index entry fewer of 24), and imports and the seed insert
millions of invoice, contract and contact rows. Only the indexes go: the constraints stay as they
are (``AlterField`` would drop the constraint and validate it again over every row).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "accounts_account_owner_id_7b1fcbd0": ("accounts_account", "owner_id"),
    "accounts_accountancestry_ancestor_id_54986d26": ("accounts_accountancestry", "ancestor_id"),
    "accounts_accountancestry_descendant_id_148449ef": ("accounts_accountancestry", "descendant_id"),
    "accounts_contact_account_id_2026f578": ("accounts_contact", "account_id"),
    "accounts_contract_account_id_24073b9d": ("accounts_contract", "account_id"),
    "accounts_invoice_account_id_32c8f656": ("accounts_invoice", "account_id"),
    "accounts_meeting_account_id_be165984": ("accounts_meeting", "account_id"),
}


def _fk(model: str, name: str, on_delete, related_name: str, to: str, verbose_name: str | None = None) -> migrations.AlterField:
    options = {"verbose_name": verbose_name} if verbose_name else {}
    return migrations.AlterField(
        model_name=model,
        name=name,
        field=models.ForeignKey(db_index=False, on_delete=on_delete, related_name=related_name, to=to, **options),
    )


CASCADE, PROTECT = django.db.models.deletion.CASCADE, django.db.models.deletion.PROTECT


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_contact_not_own_replacement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                _fk("account", "owner", PROTECT, "owned_accounts", settings.AUTH_USER_MODEL, "owner"),
                _fk("accountancestry", "ancestor", CASCADE, "descendant_links", "accounts.account"),
                _fk("accountancestry", "descendant", CASCADE, "ancestor_links", "accounts.account"),
                _fk("contact", "account", CASCADE, "contacts", "accounts.account", "account"),
                _fk("contract", "account", PROTECT, "contracts", "accounts.account", "account"),
                _fk("invoice", "account", PROTECT, "invoices", "accounts.account", "account"),
                _fk("meeting", "account", CASCADE, "meetings", "accounts.account", "account"),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
                )
                for name, (table, column) in INDEXES.items()
            ],
        )
    ]
