"""Accounts. Natural key: the external id, or the name within its parent when there is none.

Parents may come anywhere in the file (before or after their subsidiaries), so accounts are
checked in two steps: per chunk, every key, parent reference and owner is looked up in a few
queries; once the file has been read, each row's identity (which existing account it is, if any)
and parent are settled in memory, and the new hierarchy is checked for cycles set-based.

Ownership: administrators (and the command line without ``--user``) may give any owner. An
account manager's new accounts are theirs (a blank owner means themselves) and they cannot change
an account's owner; updating, or placing an account under, an account they cannot see is
"unknown account", as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.hierarchy import MAX_DEPTH, hierarchy_refresh
from accounts.models import Account, AccountAncestry
from imports.definitions import SPECS
from imports.engine import KEEP, MISSING, BaseImporter, FileRef, Row, in_chunks
from imports.importers import duplicate_key
from imports.lookups import AccountLookup, UserLookup, unknown_account
from imports.models import ImportKind
from kam.sql import any_of

ERROR: Any = object()  # the row's identity or parent could not be settled (the error is recorded)
ROOT: Any = None
COMPARE = [
    "external_id", "name", "parent_id", "owner_id", "industry", "region", "currency", "status", "credit_rating",
    "payment_terms_days", "market_influence", "integration_potential", "relationship_stage", "wallet_estimate_amount", "notes",
]  # fmt: skip


def _cycle_message() -> str:
    """Account.clean()'s own message for a parent that is the account or one of its subsidiaries."""
    try:
        Account(pk=0, parent_id=0).clean()
    except ValidationError as exc:
        return exc.message_dict["parent"][0]
    raise AssertionError("Account.clean() no longer refuses an account as its own parent")  # pragma: no cover


class AccountImporter(BaseImporter):
    spec = SPECS[ImportKind.ACCOUNTS]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accounts = AccountLookup(self, fields=COMPARE)
        self.users = UserLookup()
        self.rows: list[Row] = []
        self.seen_ext: dict[str, int] = {}
        self.new_parent: dict[Any, Any] = {}  # node → parent node (None: a root) after the import
        self.moved: set[int] = set()  # existing accounts whose parent changes

    def required_columns(self) -> list[str]:
        required = super().required_columns()
        return required if self.user is not None else [*required, "owner"]

    @staticmethod
    def _text(row: Row, name: str) -> str:
        value = row.get(name)
        return "" if value in (MISSING, None, KEEP) else value

    def check_chunk(self, rows: list[Row]) -> None:
        self.accounts.load(
            {self._text(row, "parent") for row in rows},
            external_ids={self._text(row, "external_id") for row in rows},
            names={self._text(row, "name") for row in rows},
        )
        self.users.load({self._text(row, "owner") for row in rows} - {""})
        for row in rows:
            ext = self._text(row, "external_id")
            if ext:
                if ext in self.seen_ext:
                    self.error(row, "external_id", duplicate_key(ext, self.seen_ext[ext]))
                else:
                    self.seen_ext[ext] = row.number
            owner = self._text(row, "owner")
            if owner:
                owner_id, message = self.users.resolve(owner)
                if message:
                    self.error(row, "owner", message)
                row.data["owner_id"] = owner_id
            if self._text(row, "name"):
                self.rows.append(row)  # kept even with errors: subsidiaries may name it as parent

    # --- identities ------------------------------------------------------------------------

    def finish(self) -> None:
        self.file_ext = {self._text(r, "external_id"): r for r in self.rows if self._text(r, "external_id")}
        self.file_ext = {ext: r for ext, r in self.file_ext.items() if self.seen_ext.get(ext) == r.number}
        self.file_names: dict[str, list[Row]] = {}
        for row in self.rows:
            self.file_names.setdefault(self._text(row, "name"), []).append(row)
        self.cycle_message = _cycle_message()
        for row in self.rows:
            self.identity(row)
            self.parent_of(row)
        self.check_duplicates()
        self.check_cycles()
        for row in self.rows:
            if row.ok:
                self.complete(row)

    def identity(self, row: Row, depth: int = 0) -> Any:
        """("db", id) for an existing account, ("new", row number) for one to create, or ERROR."""
        if "node" in row.data:
            return row.data["node"]
        if row.data.get("visiting"):
            # Asked again while settling its own parent: a loop in the file. Call it new for now;
            # check_cycles() then reports every row of the loop.
            return ("new", row.number)
        if depth > MAX_DEPTH:
            self.error(row, "parent", self.cycle_message)
            row.data["node"] = ERROR
            return ERROR
        row.data["visiting"] = True
        node: Any = None
        ext = self._text(row, "external_id")
        if ext:
            info = self.accounts.by_ext.get(ext)
            if info is not None:
                if not info.visible:
                    self.error(row, "external_id", unknown_account(ext))
                    node = ERROR
                else:
                    node = ("db", info.id)
        if node is None:
            node = self._identity_by_name(row, adopting=bool(ext), depth=depth)
        row.data.pop("visiting", None)
        row.data["node"] = node
        return node

    def _identity_by_name(self, row: Row, *, adopting: bool, depth: int) -> Any:
        """The existing account with this name under this parent (among the user's accounts; when
        the row has an external id, among accounts without one: the id is being added)."""
        name = self._text(row, "name")
        parent = self.parent_of(row, depth)
        if parent is ERROR:
            return ("new", row.number) if adopting else ERROR
        if parent is not KEEP and parent is not ROOT and parent[0] == "new":
            return ("new", row.number)  # a new parent has no existing subsidiaries
        candidates = [a for a in self.accounts.by_name.get(name, []) if a.visible and not (adopting and a.external_id)]
        if parent is not KEEP:
            parent_id = None if parent is ROOT else parent[1]
            candidates = [a for a in candidates if a.parent_id == parent_id]
        if len(candidates) > 1:
            self.error(row, "name", _("Several of your accounts match “%(name)s”: add their external ids.") % {"name": name})
            return ERROR
        return ("db", candidates[0].id) if candidates else ("new", row.number)

    def parent_of(self, row: Row, depth: int = 0) -> Any:
        """The parent the row asks for: KEEP (no parent column), ROOT, a node, or ERROR."""
        if "parent" in row.data:
            return row.data["parent"]
        ref = row.get("parent")
        if ref is MISSING:
            return KEEP
        if not ref:
            row.data["parent"] = ROOT
            return ROOT
        current_parent = None
        ext_info = self.accounts.by_ext.get(self._text(row, "external_id"))
        if ext_info is not None and ext_info.visible:
            current_parent = ext_info.parent_id  # referencing it is no leak: the user sees it today
        result: Any
        if (target := self.file_ext.get(ref)) is not None:
            result = self._file_parent(row, target, depth)
        elif (info := self.accounts.by_ext.get(ref)) is not None and (info.visible or info.id == current_parent):
            result = ("db", info.id)
        elif len(named := self.file_names.get(ref, [])) == 1:
            result = self._file_parent(row, named[0], depth)
        elif len(named) > 1:
            self.error(row, "parent", _("Several rows of the file are named “%(name)s”: use the external id.") % {"name": ref})
            result = ERROR
        else:
            info, message = self.accounts.resolve(ref, also=[current_parent] if current_parent else [])
            if info is None:
                self.error(row, "parent", message)
                result = ERROR
            else:
                result = ("db", info.id)
        row.data["parent"] = result
        return result

    def _file_parent(self, row: Row, target: Row, depth: int) -> Any:
        if target is row:
            self.error(row, "parent", self.cycle_message)
            return ERROR
        node = self.identity(target, depth + 1)
        if node is ERROR:
            self.error(row, "parent", _("The parent account's row (%(row)s) has errors.") % {"row": target.number})
        return node

    def check_duplicates(self) -> None:
        first: dict[Any, int] = {}
        for row in self.rows:
            node = row.data.get("node")
            if node is ERROR or node is None:
                continue
            key = node if node[0] == "db" else ("new", self._text(row, "name"), str(row.data.get("parent")))
            if self._text(row, "external_id") and node[0] == "new":
                continue  # new rows with an external id: duplicates were caught by the id
            if key in first:
                self.error(row, "name", _("Duplicate: this account is also on row %(row)s.") % {"row": first[key]})
            else:
                first[key] = row.number

    def check_cycles(self) -> None:
        """Refuse a parent that is the account itself or one of its subsidiaries, and hierarchies
        deeper than the closure table allows, for the hierarchy as it would be after the import."""
        new_parent: dict[Any, Any] = {}
        for row in self.rows:
            node, parent = row.data.get("node"), row.data.get("parent", KEEP)
            if node in (None, ERROR) or parent is ERROR:
                continue
            if parent is KEEP:
                if node[0] == "new":
                    new_parent[node] = None
                continue
            target = None if parent is ROOT else parent
            if node[0] == "db":
                current = self.accounts.by_id[node[1]].parent_id
                if target == (("db", current) if current else None):
                    continue  # unchanged parent
            new_parent[node] = target
        moved = {node[1] for node in new_parent if node[0] == "db"}
        # For existing accounts the walk reaches, the nearest ancestor that this file moves: the
        # only way the old hierarchy can lead back into the new edges.
        nearest: dict[int, int] = {}
        if moved:
            reached = {t[1] for t in new_parent.values() if t is not None and t[0] == "db"}
            for part in in_chunks(reached):
                links = AccountAncestry.objects.filter(any_of("descendant_id", part), any_of("ancestor_id", moved), depth__gt=0)
                for descendant, ancestor, _depth in links.order_by("-depth").values_list("descendant_id", "ancestor_id", "depth"):
                    nearest[descendant] = ancestor  # ordered by depth descending: the nearest wins

        def step(node: Any) -> Any:
            if node in new_parent:
                return new_parent[node]
            if node[0] == "db" and node[1] in nearest:
                return ("db", nearest[node[1]])
            return None

        rows_by_node = {row.data.get("node"): row for row in self.rows}
        state: dict[Any, int] = {}  # 1: on the current path, 2: known to end at a root
        for start in new_parent:
            path, node = [], start
            while node is not None and state.get(node) != 2:
                if state.get(node) == 1 or len(path) > MAX_DEPTH:
                    for member in path[path.index(node) :] if node in path else path:
                        if (bad := rows_by_node.get(member)) is not None and bad.ok:
                            self.error(bad, "parent", self.cycle_message)
                    break
                state[node] = 1
                path.append(node)
                node = step(node)
            for member in path:
                state[member] = 2
        self.new_parent = new_parent
        self.moved = moved

    # --- rows --------------------------------------------------------------------------------

    def complete(self, row: Row) -> None:
        node = row.data["node"]
        info = self.accounts.by_id[node[1]] if node[0] == "db" else None
        existing = info.values if info else None
        attrs = {c.field: row.values[c.name] for c in self.columns if not c.is_ref and c.name in row.values}
        parent = row.data.get("parent", KEEP)
        if parent is ERROR:
            return  # the parent's own row has the error; this import will not be written
        if parent is not KEEP:
            attrs["parent_id"] = None if parent is ROOT else (parent[1] if parent[0] == "db" else FileRef(parent[1]))
        owner_id = row.data.get("owner_id")
        if owner_id is None:
            if existing is None:
                if self.user_id is None:
                    self.error(row, "owner", Account._meta.get_field("owner").error_messages["null"])
                    return
                owner_id = self.user_id
            else:
                owner_id = existing["owner_id"]
        if not self.sees_all and owner_id != (existing["owner_id"] if existing else self.user_id):
            # An account manager's new accounts are theirs; only administrators reassign accounts.
            if existing:
                self.error(row, "owner", _("Only an administrator can change an account's owner."))
            else:
                self.error(row, "owner", _("Your new accounts are yours: leave the owner blank or give your own username."))
            return
        attrs["owner_id"] = owner_id
        currency = attrs.get("currency", KEEP)
        if currency is KEEP:
            if existing is None:
                attrs["currency"] = settings.KAM_BASE_CURRENCY
        elif message := self.currency_error(currency):
            self.error(row, "currency", message)
            return
        self.stage(row, attrs, existing)

    def group_root(self, node: Any, depth: int = 0) -> Any:
        """The group root a node will have: an id, or a FileRef to a new root account."""
        if node in self.new_parent:
            parent = self.new_parent[node]
            if parent is None:
                return node[1] if node[0] == "db" else FileRef(node[1])
            return self.group_root(parent, depth + 1) if depth <= MAX_DEPTH else None
        info = self.accounts.by_id[node[1]]
        return info.group_root_id or info.id

    def write(self) -> tuple[list[int], list[int]]:
        # New accounts are written with their group root, so the hierarchy refresh below only
        # rewrites accounts whose group actually changes (subtrees that move).
        for row, attrs in self.creates:
            attrs["group_root_id"] = self.group_root(row.data["node"])
        return super().write()

    def after_write(self, created_ids: list[int], updated_ids: list[int]) -> None:
        """The closure table and group roots of the new accounts and of every moved subtree: the
        same result as ``hierarchy_rebuild()``, at the cost of what this import touched."""
        if created_ids or self.moved:
            hierarchy_refresh(created_ids, self.moved)
