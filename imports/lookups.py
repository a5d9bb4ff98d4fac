"""Lookups the importers share: accounts, users and contacts by their natural keys, loaded a
chunk's worth of references at a time (a few ``= ANY(%s)`` queries, whatever the rows) and cached
for the rest of the file. They apply the importing user's visibility: what the user cannot see
resolves as unknown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts.models import Account
from imports.engine import id_ref, in_chunks
from kam.sql import any_of

if TYPE_CHECKING:
    from imports.engine import BaseImporter


@dataclass(slots=True)
class AccountInfo:
    id: int
    external_id: str
    name: str
    parent_id: int | None
    group_root_id: int | None
    currency: str
    owner_id: int
    visible: bool
    values: dict[str, Any]


class AccountLookup:
    """Accounts by external id or name, loaded a chunk's worth of references at a time.

    ``visible`` is the importing user's view: a reference to an account they cannot see resolves
    as "unknown account", exactly as if it did not exist.
    """

    def __init__(self, importer: BaseImporter, fields: Iterable[str] = ()) -> None:
        self.importer = importer
        self.fields = ["id", "external_id", "name", "parent_id", "group_root_id", "currency", "owner_id", *fields]
        self.by_ext: dict[str, AccountInfo] = {}
        self.by_name: dict[str, list[AccountInfo]] = {}
        self.by_id: dict[int, AccountInfo] = {}
        self._loaded_ext: set[str] = set()
        self._loaded_names: set[str] = set()

    def load(self, refs: Iterable[str] = (), *, external_ids: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        """Load the accounts ``refs`` may name (by external id or name), plus ``external_ids`` and
        ``names`` that can only be one of the two (an account row's own keys)."""
        refs = {r for r in refs if r}
        ids = {i for r in refs if (i := id_ref(r)) is not None} - set(self.by_id)
        ext = ({r for r in external_ids if r} | refs) - self._loaded_ext
        named = ({r for r in names if r} | refs) - self._loaded_names
        if not ext and not named and not ids:
            return
        self._loaded_ext |= ext
        self._loaded_names |= named
        found = []
        fields = list(dict.fromkeys(self.fields))
        for part in in_chunks(ids):
            found.extend(Account.objects.filter(any_of("pk", part)).values(*fields))
        for part in in_chunks(ext):
            # "external_id <> ''" lets PostgreSQL use the partial unique index on external ids.
            found.extend(Account.objects.filter(any_of("external_id", part), ~Q(external_id="")).values(*fields))
        for part in in_chunks(named):
            found.extend(Account.objects.filter(any_of("name", part)).values(*fields))
        visible = self.importer.visible_account_ids(r["id"] for r in found if r["id"] not in self.by_id)
        for values in found:
            if values["id"] in self.by_id:
                continue
            info = AccountInfo(
                values["id"], values["external_id"], values["name"], values["parent_id"], values["group_root_id"],
                values["currency"], values["owner_id"], values["id"] in visible, values,
            )  # fmt: skip
            self.by_id[info.id] = info
            if info.external_id:
                self.by_ext[info.external_id] = info
            self.by_name.setdefault(info.name, []).append(info)

    def resolve(self, ref: str, *, also: Iterable[int] = ()) -> tuple[AccountInfo | None, str | None]:
        """The account ``ref`` names: an external id first, then a name. ``also``: ids the user may
        reference although they cannot see them (the current parent of an account they update)."""
        allowed = set(also)
        if (pk := id_ref(ref)) is not None:
            info = self.by_id.get(pk)
            if info is not None and (info.visible or info.id in allowed):
                return info, None
            return None, unknown_account(ref)
        info = self.by_ext.get(ref)
        if info is not None and (info.visible or info.id in allowed):
            return info, None
        candidates = [a for a in self.by_name.get(ref, []) if a.visible or a.id in allowed]
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, _("Several accounts are named “%(name)s”: use the external id.") % {"name": ref}
        return None, unknown_account(ref)


def unknown_account(ref: str) -> str:
    return _("Unknown account “%(ref)s”.") % {"ref": ref}


class UserLookup:
    """Users by username, or by email (case-insensitive) when no username matches."""

    def __init__(self) -> None:
        self.found: dict[str, int | None] = {}

    def load(self, refs: Iterable[str]) -> None:
        wanted = {r for r in refs if r and r not in self.found}
        if not wanted:
            return
        User = get_user_model()
        lowered = {r.lower() for r in wanted}
        by_username, by_email = {}, {}
        for pk, username, email in (
            User.objects.annotate(email_l=Lower("email"))
            .filter(Q(username__in=wanted) | Q(email_l__in=lowered), is_active=True)
            .values_list("pk", "username", "email")
        ):
            by_username[username] = pk
            by_email.setdefault(email.lower(), set()).add(pk)
        for ref in wanted:
            if ref in by_username:
                self.found[ref] = by_username[ref]
            else:
                matches = by_email.get(ref.lower(), set())
                self.found[ref] = next(iter(matches)) if len(matches) == 1 else None

    def resolve(self, ref: str) -> tuple[int | None, str | None]:
        pk = self.found.get(ref)
        if pk is None:
            return None, _("Unknown user “%(ref)s”: give a username or an email address.") % {"ref": ref}
        return pk, None


@dataclass(slots=True)
class ContactInfo:
    id: int
    account_id: int
    name: str
    email: str


class ContactLookup:
    """Contacts by email (case-insensitive), or by name within an account."""

    def __init__(self, importer: BaseImporter) -> None:
        self.importer = importer
        self.by_email: dict[str, ContactInfo] = {}
        self.by_id: dict[int, ContactInfo] = {}
        self.by_name: dict[tuple[int, str], list[ContactInfo]] = {}
        self.visible_accounts: set[int] = set()
        self._loaded: set[tuple[int | None, str]] = set()

    def load(self, refs: Iterable[tuple[int, str]]) -> None:
        """``refs``: (account id, reference) pairs."""
        from accounts.models import Contact

        wanted = {(a, r) for a, r in refs if r} - self._loaded
        if not wanted:
            return
        self._loaded |= wanted
        emails = {r.lower() for _a, r in wanted if "@" in r}
        names = {r for _a, r in wanted}
        accounts = {a for a, _r in wanted if a is not None}
        found = []
        ids = {i for _a, r in wanted if (i := id_ref(r)) is not None}
        for part in in_chunks(ids):
            found.extend(Contact.objects.filter(any_of("pk", part)).values_list("id", "account_id", "name", "email"))
        for part in in_chunks(emails or [None]):
            condition = Q(any_of("account_id", accounts)) & Q(any_of("name", names))
            if part != [None]:
                condition |= Q(any_of("email_l", part)) & ~Q(email="")
            found.extend(
                Contact.objects.annotate(email_l=Lower("email"))
                .filter(condition)
                .values_list("id", "account_id", "name", "email")
            )
        self.visible_accounts |= self.importer.visible_account_ids(a for _i, a, _n, _e in found)
        seen: set[int] = set()
        for pk, account_id, name, email in found:
            if pk in seen:
                continue
            seen.add(pk)
            info = ContactInfo(pk, account_id, name, email)
            self.by_id[pk] = info
            if email:
                self.by_email[email.lower()] = info
            names_list = self.by_name.setdefault((account_id, name), [])
            if all(c.id != pk for c in names_list):
                names_list.append(info)

    def resolve(self, account_id: int, ref: str) -> tuple[ContactInfo | None, str | None]:
        if (pk := id_ref(ref)) is not None:
            info = self.by_id.get(pk)
            if info is not None and info.account_id in self.visible_accounts:
                return info, None
            return None, _("Unknown contact “%(ref)s”.") % {"ref": ref}
        info = self.by_email.get(ref.lower())
        if info is not None and info.account_id in self.visible_accounts:
            return info, None
        candidates = self.by_name.get((account_id, ref), [])
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, _("Several contacts of this account are named “%(name)s”: use the email address.") % {"name": ref}
        return None, _("Unknown contact “%(ref)s”.") % {"ref": ref}
