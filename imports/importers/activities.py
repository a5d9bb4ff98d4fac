"""Meetings and survey responses: rows without a business number.

Natural keys: a meeting is (account, kind, time); a survey response is (account, kind, time,
contact). Times are kept to the microsecond by the export, so a round trip finds each row again.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Contact, Meeting
from imports.definitions import SPECS
from imports.engine import KEEP, MISSING, Row, in_chunks
from imports.importers import AccountScopedImporter
from imports.lookups import ContactLookup, UserLookup
from imports.models import ImportKind
from kam.sql import any_of
from service_plans.models import SurveyResponse


def duplicate_row(first_row: int) -> str:
    return _("Duplicate: the same row is also on row %(row)s.") % {"row": first_row}


class ActivityImporter(AccountScopedImporter):
    time_field: str
    compare: list[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contacts = ContactLookup(self)
        self.seen: dict[Any, int] = {}

    def kind_of(self, row: Row) -> Any:
        value = row.get("kind", KEEP)
        return self.model._meta.get_field("kind").get_default() if value in (KEEP, MISSING) else value

    def existing_rows(self, rows: list[Row]) -> dict[Any, dict[str, Any]]:
        pairs = {(r.data["account"].id, r.get(self.time_field)) for r in rows if r.data.get("account") and r.ok}
        found: dict[Any, dict[str, Any]] = {}
        for part in in_chunks(pairs):
            queryset = self.model.objects.filter(
                any_of("account_id", {a for a, _t in part}), any_of(self.time_field, {t for _a, t in part})
            )
            for values in queryset.values("id", *self.compare):
                found.setdefault(self.key_of(values), values)
        return found

    def key_of(self, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def check_chunk(self, rows: list[Row]) -> None:
        self.accounts.load({r.get("account") for r in rows} - {MISSING, None})
        for row in rows:
            row.data["account"] = self.resolve_account(row)
        self.load_refs(rows)
        existing = self.existing_rows(rows)
        self.before_rows(existing)
        for row in rows:
            account = row.data.pop("account")
            if account is None:
                continue
            attrs = self.plain_attrs(row)
            attrs["account_id"] = account.id
            self.resolve_refs(row, attrs)
            if attrs.get(self.time_field) is None or ("kind" not in attrs and "kind" in self.mapped):
                continue  # the key itself is wrong; its error is reported
            key = self.key_of({**attrs, "kind": self.kind_of(row)})
            if key in self.seen:
                self.error(row, self.time_field, duplicate_row(self.seen[key]))
                continue
            self.seen[key] = row.number
            self.complete(row, attrs, existing.get(key))

    def load_refs(self, rows: list[Row]) -> None:
        """Per-chunk lookups of the references the rows name."""

    def before_rows(self, existing: dict[Any, dict[str, Any]]) -> None:
        """Per-chunk lookups that need the existing rows."""

    def resolve_refs(self, row: Row, attrs: dict[str, Any]) -> bool:
        return True

    def complete(self, row: Row, attrs: dict[str, Any], existing: dict[str, Any] | None) -> None:
        raise NotImplementedError


class MeetingImporter(ActivityImporter):
    spec = SPECS[ImportKind.MEETINGS]
    time_field = "occurred_at"
    compare = ["account_id", "kind", "occurred_at", "title", "summary", "decisions"]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.users = UserLookup()
        self.current_links: dict[str, dict[int, set[Any]]] = {}

    def key_of(self, values: dict[str, Any]) -> Any:
        return (values["account_id"], values["kind"], values["occurred_at"])

    def load_refs(self, rows: list[Row]) -> None:
        if "contacts" in self.mapped:
            self.contacts.load(
                (r.data["account"].id, ref) for r in rows if r.data.get("account") for ref in r.get("contacts", [])
            )
        if "attendees" in self.mapped:
            self.users.load(ref for r in rows for ref in r.get("attendees", []))

    def before_rows(self, existing: dict[Any, dict[str, Any]]) -> None:
        ids = [v["id"] for v in existing.values()]
        self.current_links = {}
        for name, target in (("contacts", "contact_id"), ("attendees", "user_id")):
            if name not in self.mapped:
                continue
            through = Meeting._meta.get_field(name).remote_field.through
            links: dict[int, set[Any]] = {}
            for part in in_chunks(ids):
                for meeting_id, target_id in through.objects.filter(any_of("meeting_id", part)).values_list("meeting_id", target):
                    links.setdefault(meeting_id, set()).add(target_id)
            self.current_links[name] = links

    def resolve_refs(self, row: Row, attrs: dict[str, Any]) -> bool:
        links: dict[str, list[Any]] = {}
        if "contacts" in row.values:
            found, strangers = [], []
            for ref in row.values["contacts"]:
                info, message = self.contacts.resolve(attrs["account_id"], ref)
                if info is None:
                    self.error(row, "contacts", message)
                elif info.account_id != attrs["account_id"]:
                    strangers.append(info.name)
                else:
                    found.append(info.id)
            if strangers:
                # meeting_create's own message, word for word.
                self.error(row, "contacts", _("Not contacts of this account: %(names)s.") % {"names": ", ".join(strangers)})
            links["contacts"] = list(dict.fromkeys(found))
        if "attendees" in row.values:
            users = []
            for ref in row.values["attendees"]:
                pk, message = self.users.resolve(ref)
                if pk is None:
                    self.error(row, "attendees", message)
                else:
                    users.append(pk)
            links["attendees"] = list(dict.fromkeys(users))
        row.data["links"] = links
        return row.ok

    def complete(self, row: Row, attrs: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not row.ok:
            return
        if existing is None:
            attrs["created_by_id"] = self.user_id
        current = {name: links.get(existing["id"], set()) for name, links in self.current_links.items()} if existing else {}
        self.stage(row, attrs, existing, links=row.data.pop("links"), existing_links=current)


class SurveyResponseImporter(ActivityImporter):
    spec = SPECS[ImportKind.SURVEY_RESPONSES]
    time_field = "responded_at"
    compare = ["account_id", "contact_id", "kind", "score", "respondent_role", "responded_at", "comment"]

    def key_of(self, values: dict[str, Any]) -> Any:
        return (values["account_id"], values["kind"], values["responded_at"], values.get("contact_id"))

    def load_refs(self, rows: list[Row]) -> None:
        self.contacts.load(
            (r.data["account"].id, r.get("contact"))
            for r in rows
            if r.data.get("account") and r.get("contact") not in (MISSING, None, "")
        )

    def resolve_refs(self, row: Row, attrs: dict[str, Any]) -> bool:
        ref = row.get("contact")
        attrs["contact_id"] = None
        row.data["contact_account"] = None
        if ref not in (MISSING, None, ""):
            info, message = self.contacts.resolve(attrs["account_id"], ref)
            if info is None:
                self.error(row, "contact", message)
                return False
            attrs["contact_id"] = info.id
            row.data["contact_account"] = info.account_id
        return True

    def complete(self, row: Row, attrs: dict[str, Any], existing: dict[str, Any] | None) -> None:
        instance = self.scratch(
            "response",
            SurveyResponse,
            pk=existing["id"] if existing else None,
            account_id=attrs["account_id"],
            kind=self.kind_of(row),
            score=attrs.get("score"),
        )
        instance.contact = None
        if attrs["contact_id"] is not None:
            instance.contact = self.scratch("contact", Contact, pk=attrs["contact_id"], account_id=row.data["contact_account"])
        if self.model_clean(row, instance, {}) and row.ok:
            self.stage(row, attrs, existing)
