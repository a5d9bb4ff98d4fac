"""Contacts. Natural key: the email address (case-insensitive), or the name within the account
for contacts without one. ``reports_to`` and ``replaced_by`` name another contact of the account,
perhaps one further down the file."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts.models import Contact
from imports.definitions import SPECS
from imports.engine import KEEP, MISSING, FileRef, Row, in_chunks
from imports.importers import AccountScopedImporter, duplicate_key
from imports.lookups import ContactLookup
from imports.models import ImportKind
from kam.sql import any_of

COMPARE = [
    "email", "account_id", "name", "phone", "title", "department", "influence", "support", "coverage", "political_status",
    "decision_orientation", "reports_to_id", "is_active", "left_on", "replaced_by_id",
]  # fmt: skip
# Columns that name another contact: by email, or by name within the account (Contact.clean()
# requires the same account and refuses the contact itself).
CONTACT_REFS = ("reports_to", "replaced_by")


class ContactImporter(AccountScopedImporter):
    spec = SPECS[ImportKind.CONTACTS]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contacts = ContactLookup(self)
        self.seen: dict[Any, int] = {}
        # Every file row that passed its key checks: email → entry, (account id, name) → entries.
        self.file_email: dict[str, tuple[int, int | None, int]] = {}
        self.file_name: dict[tuple[int, str], list[tuple[int, int | None, int]]] = {}
        self.deferred: list[Row] = []

    def check_chunk(self, rows: list[Row]) -> None:
        self.accounts.load({r.get("account") for r in rows} - {MISSING, None})
        for row in rows:
            row.data["account"] = self.resolve_account(row)
        emails = {r.get("email").lower() for r in rows if r.get("email") not in (MISSING, None, "")}
        name_keys = {(r.data["account"].id, r.get("name")) for r in rows if r.data["account"] and not self._email(r)}
        existing: dict[Any, list[dict[str, Any]]] = {}
        queries = [Q(any_of("email_l", part)) & ~Q(email="") for part in in_chunks(emails)]
        queries += [
            Q(any_of("account_id", {a for a, _n in part})) & Q(any_of("name", {n for _a, n in part})) & Q(email="")
            for part in in_chunks(name_keys)
        ]
        for condition in queries:
            for values in Contact.objects.annotate(email_l=Lower("email")).filter(condition).values("id", *COMPARE):
                key = values["email"].lower() if values["email"] else (values["account_id"], values["name"])
                if all(v["id"] != values["id"] for v in existing.get(key, [])):
                    existing.setdefault(key, []).append(values)
        visible = self.visible_account_ids(v["account_id"] for found in existing.values() for v in found)
        roles = self._current_roles([v["id"] for found in existing.values() for v in found])
        self.contacts.load(
            (r.data["account"].id, r.get(name))
            for r in rows
            for name in CONTACT_REFS
            if r.data["account"] and r.get(name) not in (MISSING, None)
        )
        for row in rows:
            account = row.data.pop("account")
            if account is None:
                row.ok = False
                continue
            email = self._email(row)
            key = email.lower() if email else (account.id, row.get("name"))
            if key in self.seen:
                self.error(row, "email" if email else "name", duplicate_key(email or row.get("name"), self.seen[key]))
                continue
            self.seen[key] = row.number
            matches = existing.get(key, [])
            if len(matches) > 1:
                self.error(row, "name", _("Several contacts of this account are named “%(name)s”: add their email addresses.")
                           % {"name": row.get("name")})  # fmt: skip
                continue
            current = matches[0] if matches else None
            if current is not None and current["account_id"] not in visible:
                self.error(row, "email", _("This email address belongs to a contact you cannot see."))
                continue
            entry = (row.number, current["id"] if current else None, account.id)
            if email:
                self.file_email[email.lower()] = entry
            self.file_name.setdefault((account.id, row.get("name")), []).append(entry)
            row.data.update(account_id=account.id, existing=current, roles=roles.get(current["id"], set()) if current else set())
            row.data["targets"] = targets = {}
            waiting = refused = False
            for name in CONTACT_REFS:
                ref = row.get(name)
                if ref in (MISSING, None, ""):
                    continue
                info, message = self.contacts.resolve(account.id, ref)
                if info is not None:
                    targets[name] = (info.id, info.account_id)
                elif len(self.contacts.by_name.get((account.id, ref), [])) > 1:
                    self.error(row, name, message)  # ambiguous in the database: the file cannot settle it
                    refused = True
                else:
                    waiting = True  # perhaps someone further down the file
            if waiting and not refused:
                self.deferred.append(row)
            elif not refused:
                self.complete(row)

    @staticmethod
    def _email(row: Row) -> str:
        value = row.get("email")
        return "" if value in (MISSING, None, KEEP) else value

    def _current_roles(self, ids: list[int]) -> dict[int, set[str]]:
        if "buying_roles" not in self.mapped or not ids:
            return {}
        through = Contact.buying_roles.through
        roles: dict[int, set[str]] = {}
        for part in in_chunks(ids):
            for contact_id, code in through.objects.filter(any_of("contact_id", part)).values_list("contact_id", "buyingrole_id"):
                roles.setdefault(contact_id, set()).add(code)
        return roles

    def finish(self) -> None:
        for row in self.deferred:
            account_id, targets = row.data["account_id"], row.data["targets"]
            refused = False
            for name in CONTACT_REFS:
                ref = row.get(name)
                if name in targets or ref in (MISSING, None, ""):
                    continue
                entry = self.file_email.get(ref.lower())
                if entry is None:
                    named = self.file_name.get((account_id, ref), [])
                    if len(named) > 1:
                        self.error(row, name, _("Several contacts of this account are named “%(name)s”: use the email address.")
                                   % {"name": ref})  # fmt: skip
                        refused = True
                        continue
                    entry = named[0] if named else None
                if entry is None:
                    self.error(row, name, _("Unknown contact “%(ref)s”.") % {"ref": ref})
                    refused = True
                    continue
                row_number, existing_id, target_account = entry
                targets[name] = (existing_id or FileRef(row_number), target_account)
            if not refused:
                self.complete(row)

    def complete(self, row: Row) -> None:
        existing = row.data["existing"]
        attrs = self.plain_attrs(row)
        attrs["account_id"] = row.data["account_id"]
        targets = row.data["targets"]
        for name in CONTACT_REFS:
            if name in self.mapped:
                attrs[f"{name}_id"] = targets[name][0] if name in targets else None

        def value(name: str) -> Any:
            v = attrs.get(name, KEEP)
            if v is KEEP:
                return existing[name] if existing else Contact._meta.get_field(name).get_default()
            return v

        instance = self.scratch("contact", Contact, pk=existing["id"] if existing else None, account_id=attrs["account_id"],
                                is_active=value("is_active"), left_on=value("left_on"))  # fmt: skip
        own = FileRef(row.number)
        if any(target == own for target, _account in targets.values()):
            instance.pk = 0  # a new contact naming themselves: let clean() say so
        for name in CONTACT_REFS:
            related = None
            if name in targets:
                target, target_account = targets[name]
                target_pk = target
                if target == own:
                    target_pk = 0
                elif isinstance(target, FileRef):
                    target_pk = -target.row  # a row of the file: an id no contact has
                related = self.scratch(name, Contact, pk=target_pk, account_id=target_account)
            setattr(instance, name, related)
        if not self.model_clean(row, instance, {}) or not row.ok:
            return
        links = {"buying_roles": row.values["buying_roles"]} if "buying_roles" in row.values else None
        self.stage(row, attrs, existing, links=links, existing_links={"buying_roles": row.data["roles"]})
