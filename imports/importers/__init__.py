"""One importer per kind; ``imports.engine`` holds what they share."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from imports.engine import KEEP, MISSING, BaseImporter, Row
from imports.lookups import AccountInfo, AccountLookup


def duplicate_key(value: Any, first_row: int) -> str:
    return _("Duplicate key: “%(value)s” is also on row %(row)s.") % {"value": value, "row": first_row}


class AccountScopedImporter(BaseImporter):
    """Rows that belong to an account (the ``account`` column): the account must be one the user
    can see, and so must the account of a row being updated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accounts = AccountLookup(self)

    def plain_attrs(self, row: Row) -> dict[str, Any]:
        """Attribute → value for the mapped columns that are plain fields (not references)."""
        return {
            column.field: row.values[column.name] for column in self.columns if not column.is_ref and column.name in row.values
        }

    def resolve_account(self, row: Row, *, current: int | None = None) -> AccountInfo | None:
        ref = row.get("account")
        if ref is MISSING:
            return None
        if not ref:
            self.error(row, "account", self.model._meta.get_field("account").error_messages["null"])
            return None
        info, message = self.accounts.resolve(ref)
        if info is None:
            self.error(row, "account", message)
        return info

    def currency_for(self, row: Row, attrs: dict[str, Any], account: AccountInfo, existing: dict[str, Any] | None) -> None:
        """A blank or missing currency is the account's on create and unchanged on update."""
        value = attrs.get("currency", KEEP)
        if value is KEEP:
            if existing is None:
                attrs["currency"] = account.currency
        elif error := self.currency_error(value):
            self.error(row, "currency", error)
