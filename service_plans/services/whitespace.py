"""Whitespace cells of an account plan (DOMAIN.md §7.2): add, edit and remove them.

Like the other plan services: keyword-only, atomic, ``full_clean`` before saving, ``version`` bumped
on update and ``expected_version`` checked. A cell stays on the plan it was created for.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kam.errors import StaleVersion
from service_plans.models import AccountPlan, WhitespaceCell
from service_plans.services.plans import _check, _update

CELL_FIELDS = frozenset(
    {"buying_centre", "offering", "state", "our_annual_value", "est_total_spend", "currency", "competitor", "notes"}
)


@transaction.atomic
def whitespace_cell_create(*, plan: AccountPlan, actor: Any = None, **fields: Any) -> WhitespaceCell:
    """Add a cell to the plan's map; the currency defaults to the account's."""
    _check(fields, CELL_FIELDS)
    if not fields.get("currency"):
        fields["currency"] = plan.account.currency
    cell = WhitespaceCell(plan=plan, **fields)
    cell.full_clean()
    cell.save()
    return cell


@transaction.atomic
def whitespace_cell_update(
    *, cell: WhitespaceCell, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> WhitespaceCell:
    _check(fields, CELL_FIELDS)
    if "currency" in fields and not fields["currency"]:
        fields["currency"] = cell.plan.account.currency
    return _update(WhitespaceCell, cell.pk, fields, expected_version)[1]


@transaction.atomic
def whitespace_cell_delete(*, cell: WhitespaceCell, actor: Any = None, expected_version: int | None = None) -> None:
    locked = WhitespaceCell.objects.select_for_update().get(pk=cell.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    locked.delete()
