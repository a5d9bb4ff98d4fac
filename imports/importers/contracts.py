"""Contracts (natural key: number) and invoices (natural key: number)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Account, Contract, Invoice
from imports.definitions import SPECS
from imports.engine import KEEP, MISSING, FileRef, Row, in_chunks
from imports.importers import AccountScopedImporter, duplicate_key
from imports.models import ImportKind
from kam.sql import any_of


def unknown_contract(ref: str) -> str:
    return _("Unknown contract “%(ref)s”.") % {"ref": ref}


def _fields(model: type, names: list[str]) -> list[str]:
    return [model._meta.get_field(n).attname for n in names]


class NumberedImporter(AccountScopedImporter):
    """Shared by contracts and invoices: rows keyed by a unique ``number``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: dict[str, int] = {}
        self.compare = _fields(self.model, [c.field for c in self.spec.columns if c.type not in {"refs", "choices"}])

    def existing_by_number(self, numbers: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for part in in_chunks(numbers):
            for values in self.model.objects.filter(any_of("number", part)).values("id", *self.compare):
                found[values["number"]] = values
        visible = self.visible_account_ids(v["account_id"] for v in found.values())
        for values in found.values():
            values["_visible"] = values["account_id"] in visible
        return found

    def check_number(self, row: Row, existing: dict[str, Any] | None) -> bool:
        number = row.get("number")
        if number in (MISSING, None, ""):
            return False
        if number in self.seen:
            self.error(row, "number", duplicate_key(number, self.seen[number]))
            return False
        self.seen[number] = row.number
        if existing is not None and not existing["_visible"]:
            # Numbers are unique across the company: say it is taken (the service's own message),
            # without saying where.
            message = self.model(pk=None).unique_error_message(self.model, ["number"]).messages[0]
            self.error(row, "number", message)
            return False
        return True


class ContractImporter(NumberedImporter):
    spec = SPECS[ImportKind.CONTRACTS]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # number → (row number, existing id or None, account id, group root) of every good file row
        self.in_file: dict[str, tuple[int, int | None, int, int | None]] = {}
        self.deferred: list[Row] = []
        self.renewed: dict[Any, int] = {}  # renewed contract (id or FileRef) → the row renewing it

    def check_chunk(self, rows: list[Row]) -> None:
        numbers = {r.get("number") for r in rows} - {MISSING, None, ""}
        renewal_refs = {r.get("renewal_of") for r in rows} - {MISSING, None, ""}
        self.accounts.load({r.get("account") for r in rows} - {MISSING, None})
        existing = self.existing_by_number(numbers)
        renewals: dict[str, dict[str, Any]] = {}
        holders: dict[int, int] = {}  # renewed contract id → id of the contract renewing it
        for part in in_chunks(renewal_refs):
            renewals.update(
                (v["number"], v)
                for v in Contract.objects.filter(any_of("number", part)).values(
                    "id", "number", "account_id", "account__group_root_id"
                )
            )
        visible = self.visible_account_ids(v["account_id"] for v in renewals.values())
        for part in in_chunks([v["id"] for v in renewals.values()]):
            holders.update(Contract.objects.filter(any_of("renewal_of_id", part)).values_list("renewal_of_id", "id"))
        for row in rows:
            current = existing.get(row.get("number"))
            number_ok = self.check_number(row, current)
            account = self.resolve_account(row)
            if account is None:
                continue
            # A row with errors still goes through the model's clean(), as full_clean would, so
            # that every problem of the row is reported at once; it is never staged.
            row.data.update(account=account, existing=current)
            if number_ok:
                # Registered before rows are completed, so renewals may point up or down the file.
                self.in_file[row.get("number")] = (
                    row.number,
                    current["id"] if current else None,
                    account.id,
                    account.group_root_id,
                )
            ref = row.get("renewal_of")
            if ref not in (MISSING, None, ""):
                target = renewals.get(ref)
                if target is not None:
                    if target["account_id"] not in visible:
                        self.error(row, "renewal_of", unknown_contract(ref))
                        continue
                    row.data["renewal"] = (target["id"], target["account__group_root_id"], holders.get(target["id"]))
                elif ref == row.get("number"):
                    row.data["renewal"] = (FileRef(row.number), account.group_root_id, None)  # itself: clean() refuses it
                else:
                    self.deferred.append(row)  # perhaps a contract further down the file
                    continue
            self.complete(row)

    def finish(self) -> None:
        for row in self.deferred:
            ref = row.get("renewal_of")
            found = self.in_file.get(ref)
            if found is None:
                self.error(row, "renewal_of", unknown_contract(ref))
                continue
            row_number, existing_id, _account_id, group_root = found
            row.data["renewal"] = (existing_id or FileRef(row_number), group_root, None)
            self.complete(row)

    def complete(self, row: Row) -> None:
        account = row.data["account"]
        existing = row.data["existing"]
        attrs = self.plain_attrs(row)
        attrs["account_id"] = account.id
        self.currency_for(row, attrs, account, existing)
        renewal = row.data.get("renewal")
        if "renewal_of" in self.mapped:
            attrs["renewal_of_id"] = renewal[0] if renewal else None

        def current(name: str) -> Any:
            value = attrs.get(name, KEEP)
            if value is KEEP:
                return existing[name] if existing else Contract._meta.get_field(name).get_default()
            return value

        # Contract.clean() with its related objects filled in: no query. The currency was checked
        # above (validate_currency_known, memoised), so it is left out here.
        instance = self.scratch(
            "contract",
            Contract,
            pk=existing["id"] if existing else None,
            start_date=current("start_date"),
            end_date=current("end_date"),
        )
        instance.account = self.scratch("account", Account, pk=account.id, group_root_id=account.group_root_id)
        instance.renewal_of = None
        if renewal:
            target, group_root, _holder = renewal
            if isinstance(target, FileRef) and target.row == row.number:
                instance.pk = target_pk = 0  # renewing itself: let clean() say so
            else:
                target_pk = target if isinstance(target, int) else -target.row
            renewed = self.scratch("renewed", Contract, pk=target_pk)
            renewed.account = self.scratch("renewed_account", Account, group_root_id=group_root)
            instance.renewal_of = renewed
        if not self.model_clean(row, instance, {}) or not row.ok:
            return
        if renewal:
            target, _group_root, holder = renewal
            own_id = existing["id"] if existing else None
            if target in self.renewed or (holder is not None and holder != own_id):
                message = instance.unique_error_message(Contract, ["renewal_of"]).messages[0]
                self.error(row, "renewal_of", message)
                return
            self.renewed[target] = row.number
        self.stage(row, attrs, existing)


class InvoiceImporter(NumberedImporter):
    spec = SPECS[ImportKind.INVOICES]

    def check_chunk(self, rows: list[Row]) -> None:
        numbers = {r.get("number") for r in rows} - {MISSING, None, ""}
        contract_refs = {r.get("contract") for r in rows} - {MISSING, None, ""}
        self.accounts.load({r.get("account") for r in rows} - {MISSING, None})
        existing = self.existing_by_number(numbers)
        contracts: dict[str, tuple[int, int]] = {}
        for part in in_chunks(contract_refs):
            contracts.update(
                (number, (pk, account_id))
                for pk, number, account_id in Contract.objects.filter(any_of("number", part)).values_list(
                    "id", "number", "account_id"
                )
            )
        visible = self.visible_account_ids(a for _pk, a in contracts.values())
        for row in rows:
            current = existing.get(row.get("number"))
            self.check_number(row, current)
            account = self.resolve_account(row)
            if account is None:
                continue
            attrs = self.plain_attrs(row)
            attrs["account_id"] = account.id
            self.currency_for(row, attrs, account, current)
            contract = None
            ref = row.get("contract")
            if ref not in (MISSING, None, ""):
                contract = contracts.get(ref)
                if contract is None or contract[1] not in visible:
                    self.error(row, "contract", unknown_contract(ref))
                    continue
            if "contract" in self.mapped:
                attrs["contract_id"] = contract[0] if contract else None

            def value(name: str, attrs: dict[str, Any] = attrs, current: dict[str, Any] | None = current) -> Any:
                v = attrs.get(name, KEEP)
                if v is KEEP:
                    return current[name] if current else Invoice._meta.get_field(name).get_default()
                return v

            instance = self.scratch(
                "invoice",
                Invoice,
                pk=current["id"] if current else None,
                account_id=account.id,
                issued_on=value("issued_on"),
                due_on=value("due_on"),
                paid_on=value("paid_on"),
                amount=value("amount"),
                written_off_amount=value("written_off_amount"),
                written_off_on=value("written_off_on"),
            )
            instance.contract = None
            contract_id = value("contract_id")
            if contract_id is not None:
                owner = contract[1] if contract else current["_contract_account_id"] if current else None
                instance.contract = self.scratch("contract", Contract, pk=contract_id, account_id=owner)
            if self.model_clean(row, instance, {}) and row.ok:
                self.stage(row, attrs, current)

    def existing_by_number(self, numbers: set[str]) -> dict[str, dict[str, Any]]:
        found = super().existing_by_number(numbers)
        contract_ids = {v["contract_id"] for v in found.values() if v["contract_id"]}
        owners = dict(Contract.objects.filter(pk__in=contract_ids).values_list("id", "account_id")) if contract_ids else {}
        for values in found.values():
            values["_contract_account_id"] = owners.get(values["contract_id"])
        return found
