"""The import engine: read a table in chunks, validate every row set-based, write all or nothing.

How a run goes (``BaseImporter.run``):

1. The file is read in chunks of ``CHUNK_ROWS`` rows. Each cell is parsed (``imports.parsing``) and
   then validated by **the model field's own** ``clean()`` — the same call ``full_clean`` makes — so
   lengths, choices, ranges and validators are the model's, with the model's messages. Results are
   memoised per distinct cell text (a column of dates or currencies has few distinct values).
2. Per chunk, the importer resolves every reference and natural key of the chunk with a few
   ``IN`` queries (accounts, users, existing rows, contacts, contracts): the number of queries per
   chunk does not depend on the number of rows in it.
3. Cross-field rules run through the model's own ``clean()`` on an unsaved instance whose related
   objects are pre-filled from those lookups, so ``clean()`` issues no query. The two parts of
   ``clean()`` that do query — "is this currency known" and "is the new parent a subsidiary" — are
   replaced by a memoised call of the same ``validate_currency_known`` (one query per distinct
   currency) and a set-based cycle check over the file. ``full_clean`` is never called per row:
   its unique and constraint checks are one query per row each.
4. Rows whose references point at rows later in the file (an account's parent, a contact's
   manager, a renewed contract) are finished once the whole file has been read.
5. A dry run stops here. A real run with any error stops here too: nothing is written. Otherwise
   one transaction writes everything (``imports.writer``): COPY into the table or a staging table,
   ``UPDATE ... FROM``, one history row per created or changed object, ``version`` bumped.

``tests/imports/test_parity.py`` checks that the importer refuses exactly what the services refuse.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.currency import validate_currency_known
from accounts.models import Account
from imports import parsing, writer
from imports.definitions import Column, KindSpec
from imports.readers import NO_DATA_ROWS, ImportFileError, Table
from kam.roles import sees_all_accounts
from kam.sql import any_of

CHUNK_ROWS = 2_000


class _Keep:
    """A blank cell in a column whose field has a default: the default on create, unchanged on update."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
MISSING: Any = object()


class FileRef:
    """A reference to a row this import creates; becomes the new row's id when it is written."""

    __slots__ = ("row",)

    def __init__(self, row: int) -> None:
        self.row = row

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileRef) and other.row == self.row

    def __hash__(self) -> int:
        return hash(("FileRef", self.row))


@dataclass(slots=True)
class RowError:
    row: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


class Row:
    """One data row while it is being checked. ``values`` holds parsed, field-validated values."""

    __slots__ = ("cells", "data", "number", "ok", "values")

    def __init__(self, number: int, cells: list[Any]) -> None:
        self.number = number
        self.cells: list[Any] | None = cells
        self.values: dict[str, Any] = {}
        self.ok = True
        self.data: dict[str, Any] = {}

    def get(self, name: str, default: Any = MISSING) -> Any:
        return self.values.get(name, default)


@dataclass
class Outcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    written: bool = False


def batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def in_chunks(values: Iterable[Any], size: int = 5_000) -> Iterator[list[Any]]:
    """Large IN lists in slices, so one statement never carries 100,000 parameters."""
    yield from batched(values, size)


_ID_REF = re.compile(r"^#(\d{1,18})$")


def id_ref(ref: Any) -> int | None:
    """ "#123" is a reference by KAM id: exports write it when a name would be ambiguous."""
    match = _ID_REF.match(ref) if isinstance(ref, str) else None
    return int(match.group(1)) if match else None


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


class BaseImporter:
    """Checks and writes one kind of row. Subclasses resolve references (``check_chunk``), finish
    rows that point forward in the file (``finish``) and may add work after the write."""

    spec: KindSpec
    # The model fields an update may change, beyond the mapped columns (e.g. a defaulted currency).
    extra_update_fields: tuple[str, ...] = ()

    def __init__(
        self, *, user: Any, mapping: dict[str, str], headers: list[str], day_first: bool = False, file_format: str = "csv"
    ) -> None:
        self.model = self.spec.model
        self.user = user
        self.user_id = getattr(user, "pk", None)
        self.sees_all = user is None or sees_all_accounts(user)
        self.mapping = {name: header for name, header in mapping.items() if header}
        self.columns = [c for c in self.spec.columns if c.name in self.mapping]
        self.mapped = {c.name for c in self.columns}
        self.day_first = day_first
        self.excel = file_format == "xlsx"
        self.headers = headers
        self.outcome = Outcome()
        self.now = timezone.now()
        self.creates: list[tuple[Row, dict[str, Any]]] = []
        self.updates: list[tuple[int, dict[str, Any]]] = []
        self.links: dict[str, dict[Any, list[Any]]] = {}  # m2m field -> owner (id or FileRef) -> targets
        self._parse_cache: dict[str, dict[Any, tuple[bool, Any]]] = {c.name: {} for c in self.columns}
        self._currency_errors: dict[str, str | None] = {}
        self._index: dict[str, int] = {}
        self._scratch: dict[str, models.Model] = {}
        self.record_id: int | None = None

    # --- set-up ------------------------------------------------------------------------------

    def required_columns(self) -> list[str]:
        return [c.name for c in self.spec.columns if c.required]

    def check_columns(self) -> None:
        """File-level problems: missing required columns, a header mapped twice, unknown headers."""
        missing = [name for name in self.required_columns() if name not in self.mapping]
        if missing:
            labels = ", ".join(f"{name} ({self.spec.label(self.spec.column(name))})" for name in missing)
            raise ImportFileError(
                ngettext("A required column is missing: %(columns)s.", "Required columns are missing: %(columns)s.", len(missing))
                % {"columns": labels}
            )
        seen: dict[str, str] = {}
        for name, header in self.mapping.items():
            if header not in self.headers:
                raise ImportFileError(
                    _("The file has no column “%(header)s” (mapped to %(column)s).") % {"header": header, "column": name}
                )
            if self.headers.count(header) > 1:
                raise ImportFileError(
                    _("The header “%(header)s” appears more than once; rename one of the columns.") % {"header": header}
                )
            if header in seen:
                raise ImportFileError(
                    _("The column “%(header)s” is mapped to both %(first)s and %(second)s.")
                    % {"header": header, "first": seen[header], "second": name}
                )
            seen[header] = name
            self._index[name] = self.headers.index(header)

    # --- errors ------------------------------------------------------------------------------

    def error(self, row: Row, column: str | None, message: Any, value: Any = MISSING) -> None:
        """Record an error on ``row``; ``column`` is a column name (reported as the file's header)."""
        row.ok = False
        header = self.mapping.get(column, column or "") if column else ""
        if value is MISSING:
            value = self.raw(row, column) if column else ""
        self.outcome.errors.append(RowError(row.number, header, parsing.cell_text(value), str(message)))

    def raw(self, row: Row, column: str | None) -> Any:
        if column is None or column not in self._index:
            return ""
        if row.cells is None:
            value = row.values.get(column, "")
            return "" if value in (KEEP, MISSING, None) else value
        index = self._index[column]
        return row.cells[index] if index < len(row.cells) else None

    # --- parsing -----------------------------------------------------------------------------

    def parse_row(self, number: int, cells: list[Any]) -> Row:
        row = Row(number, cells)
        for column in self.columns:
            index = self._index[column.name]
            raw = cells[index] if index < len(cells) else None
            if isinstance(raw, str):
                raw = raw.strip()
            cache = self._parse_cache[column.name] if column.cached else None
            key = raw if not isinstance(raw, (list, dict)) else None
            hit = cache.get(key) if cache is not None and key is not None else None
            if hit is None:
                try:
                    hit = (True, self.parse_cell(column, raw))
                except ValidationError as exc:
                    hit = (False, _messages(exc))
                if cache is not None and key is not None and len(cache) < 50_000:
                    cache[key] = hit
            ok, value = hit
            if ok:
                row.values[column.name] = value
            else:
                if column.name == "currency" and raw:
                    # full_clean also runs the model's clean(), which checks the code is known
                    # even when the field refused it; say both, as the services do.
                    value = " ".join(filter(None, [value, self.currency_error(parsing.cell_text(raw).upper())]))
                self.error(row, column.name, value, raw)
        return row

    def parse_cell(self, column: Column, raw: Any) -> Any:
        """The cell's value, validated by the model field (``field.clean``, as ``full_clean`` does)."""
        kind = column.type
        if kind == "ref":
            return parsing.cell_text(raw) or None
        if kind == "refs":
            return parsing.split_list(raw)
        if kind == "choices":
            return self.parse_choices(column, raw)
        model_field = self.model._meta.get_field(column.field)
        if kind == "text":
            value: Any = parsing.cell_text(raw)
            if column.upper:
                value = value.upper()
        elif kind == "int":
            value = parsing.parse_integer(raw)
        elif kind == "decimal":
            value = parsing.parse_decimal(raw)
        elif kind == "date":
            value = parsing.parse_date(raw, day_first=self.day_first, excel_serials=self.excel)
        elif kind == "datetime":
            value = parsing.parse_datetime(raw, day_first=self.day_first, excel_serials=self.excel)
        elif kind == "bool":
            value = parsing.parse_boolean(raw)
        elif kind == "choice":
            value = self.choice_code(model_field, raw)
        else:  # pragma: no cover - a definition error
            raise ValueError(kind)
        if value is None or value == "":
            if column.name == "currency" or (model_field.has_default() and not model_field.null):
                return KEEP
            # What a blank form field gives: NULL where allowed, else "" for text, else NULL
            # (which the field then refuses as it would in full_clean).
            value = None if model_field.null or not model_field.empty_strings_allowed else ""
        return model_field.clean(value, None)

    def choice_code(self, model_field: models.Field, raw: Any) -> Any:
        """A code, or its label in English or Chinese; anything else goes to the field, whose own
        message ("… is not a valid choice") then names the problem."""
        lookup = _choice_lookup(model_field)
        text = parsing.cell_text(raw)
        if not text:
            return None
        return lookup.get(text.lower(), text)

    def parse_choices(self, column: Column, raw: Any) -> list[str]:
        model_field = self.model._meta.get_field(column.field)
        target = model_field.related_model
        lookup = _choice_lookup(target._meta.pk)
        codes, unknown = [], []
        for part in parsing.split_list(raw):
            code = lookup.get(part.lower())
            (codes if code is not None else unknown).append(code if code is not None else part)
        if unknown:
            # The message of accounts.services._set_buying_roles, word for word.
            raise ValidationError(_("Unknown buying role: %(codes)s.") % {"codes": ", ".join(unknown)})
        return list(dict.fromkeys(codes))

    # --- shared checks -----------------------------------------------------------------------

    def scratch(self, name: str, model: type[models.Model], **values: Any) -> Any:
        """An unsaved instance reused for every row, with ``values`` set: building a model instance
        costs more than checking a row, and ``clean()`` reads only the attributes set before it runs.
        Related objects are assigned by the caller after their own scratch instance is filled."""
        instance = self._scratch.get(name)
        if instance is None:
            instance = self._scratch[name] = model()
        for attribute, value in values.items():
            setattr(instance, attribute, value)
        return instance

    def currency_error(self, code: str) -> str | None:
        """``validate_currency_known`` itself, once per distinct code (it queries)."""
        if code not in self._currency_errors:
            try:
                validate_currency_known(code)
            except ValidationError as exc:
                self._currency_errors[code] = _messages(exc)
            else:
                self._currency_errors[code] = None
        return self._currency_errors[code]

    def model_clean(self, row: Row, instance: models.Model, columns: dict[str, str]) -> bool:
        """Run the model's ``clean()`` (its related objects pre-filled, so it does not query) and
        report its errors on the file's columns. ``columns`` maps model field → column name."""
        try:
            instance.clean()
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                # Reported under the file's header, or the column's name when the file lacks it.
                column = columns.get(field_name, field_name)
                self.error(row, column, " ".join(messages), row.values.get(column, ""))
            return False
        return True

    def visible_account_ids(self, ids: Iterable[int]) -> set[int]:
        ids = {i for i in ids if i is not None}
        if self.sees_all or not ids:
            return ids
        found: set[int] = set()
        for part in in_chunks(ids):
            found.update(Account.objects.visible_to(self.user).filter(any_of("pk", part)).values_list("pk", flat=True))
        return found

    def check_permission(self) -> None:
        if self.user is None:
            return
        meta = self.model._meta
        needed = [f"{meta.app_label}.add_{meta.model_name}", f"{meta.app_label}.change_{meta.model_name}"]
        if not all(self.user.has_perm(p) for p in needed):
            raise ImportFileError(_("You do not have permission to import %(kind)s.") % {"kind": str(meta.verbose_name_plural)})

    # --- staging -----------------------------------------------------------------------------

    def stage(
        self,
        row: Row,
        attrs: dict[str, Any],
        existing: dict[str, Any] | None,
        *,
        links: dict[str, list[Any]] | None = None,
        existing_links: dict[str, set[Any]] | None = None,
    ) -> None:
        """Queue ``row`` as a create (``existing`` is None) or an update, or count it unchanged.

        ``attrs`` maps attribute names (``account_id``) to new values; ``KEEP`` means the default on
        create and the current value on update. ``links`` are the row's many-to-many targets.
        """
        if existing is None:
            self.creates.append((row, attrs))
            row.values = {}  # attrs holds what is needed from here on
            for name, targets in (links or {}).items():
                self.links.setdefault(name, {})[FileRef(row.number)] = targets
            self.outcome.created += 1
            return
        new = {name: (existing[name] if value is KEEP else value) for name, value in attrs.items()}
        changed_links = {
            name: targets for name, targets in (links or {}).items() if set(targets) != (existing_links or {}).get(name, set())
        }
        if all(new[name] == existing[name] for name in new) and not changed_links:
            self.outcome.unchanged += 1
            row.values = {}
            return
        self.updates.append((existing["id"], new))
        for name, targets in changed_links.items():
            self.links.setdefault(name, {})[existing["id"]] = targets
        self.outcome.updated += 1
        row.values = {}

    def undo_stage(self) -> None:
        """Forget queued writes (the run found errors and will write nothing)."""
        self.creates.clear()
        self.updates.clear()
        self.links.clear()

    # --- the run -----------------------------------------------------------------------------

    def check_chunk(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Rows that wait for the whole file (forward references)."""

    def after_write(self, created_ids: list[int], updated_ids: list[int]) -> None:
        """Work that depends on the written rows (the account hierarchy)."""

    def run(
        self,
        table: Table,
        *,
        dry_run: bool,
        progress: Callable[[float], None] | None = None,
        before_commit: Callable[[Outcome], None] | None = None,
    ) -> Outcome:
        """Check every row; unless ``dry_run`` or an error was found, write everything in one
        transaction. ``before_commit`` runs inside it, after the writes (to record the result)."""
        lang = translation.get_language()
        started = time.monotonic()
        self.check_permission()
        self.check_columns()
        estimated = max(table.estimated_rows, 1)
        for chunk in batched(table.rows(), CHUNK_ROWS):
            rows = [self.parse_row(number, cells) for number, cells in chunk]
            self.outcome.rows += len(rows)
            self.check_chunk(rows)
            for row in rows:
                row.cells = None  # the raw cells are no longer needed; the values are
            if progress is not None:
                progress(min(self.outcome.rows / estimated, 1.0) * 0.8)
        if not self.outcome.rows:
            raise ImportFileError(NO_DATA_ROWS)
        self.finish()
        self.outcome.timings["check"] = round(time.monotonic() - started, 3)
        order = {header: index for index, header in reversed(list(enumerate(self.headers)))}
        self.outcome.errors.sort(key=lambda e: (e.row, order.get(e.column, len(order))))  # as the file reads
        if self.outcome.errors or dry_run:
            if self.outcome.errors:
                self.undo_stage()
            return self.outcome
        write_started = time.monotonic()
        with translation.override(lang), transaction.atomic():
            writer.lock_writes()
            created_ids, updated_ids = self.write()
            self.after_write(created_ids, updated_ids)
            self.outcome.written = True
            self.outcome.timings["write"] = round(time.monotonic() - write_started, 3)
            if before_commit is not None:
                before_commit(self.outcome)
        if progress is not None:
            progress(1.0)
        return self.outcome

    def create_defaults(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn KEEP into the field's default for a new row."""
        result = {}
        for name, value in attrs.items():
            if value is KEEP:
                value = self.model._meta.get_field(name).get_default()
            result[name] = value
        return result

    def write(self) -> tuple[list[int], list[int]]:
        model = self.model
        self.creates.sort(key=lambda item: item[0].number)  # ids in file order, whatever was deferred
        new_ids = writer.reserve_ids(model, len(self.creates))
        ids_by_row = {row.number: new_id for (row, _attrs), new_id in zip(self.creates, new_ids, strict=True)}

        def resolve(value: Any) -> Any:
            return ids_by_row[value.row] if isinstance(value, FileRef) else value

        create_rows = []
        columns: list[str] = []
        if self.creates:
            columns = sorted({name for _row, attrs in self.creates for name in attrs})
            for (_row, attrs), new_id in zip(self.creates, new_ids, strict=True):
                full = self.create_defaults({name: attrs.get(name, KEEP) for name in columns})
                create_rows.append((new_id, *(resolve(full[name]) for name in columns)))
        writer.insert_rows(model, ["id", *columns], create_rows, now=self.now)
        update_columns = sorted({name for _pk, attrs in self.updates for name in attrs})
        update_rows = [(pk, *(resolve(attrs[name]) for name in update_columns)) for pk, attrs in self.updates]
        writer.update_rows(model, update_columns, update_rows, now=self.now)
        updated_ids = [pk for pk, _attrs in self.updates]
        for name, owners in self.links.items():
            writer.replace_links(model, name, {resolve(owner): targets for owner, targets in owners.items()})
        writer.write_history(
            model, created=new_ids, updated=updated_ids, now=self.now, user_id=self.user_id, reason=self.history_reason
        )
        return list(new_ids), updated_ids

    @property
    def history_reason(self) -> str:
        return f"import #{self.record_id}" if self.record_id else "import"


def _choice_lookup(model_field: Any) -> dict[str, Any]:
    """Codes and labels (English and Chinese, lower-cased) → code, built once per field."""
    cache = _CHOICE_LOOKUPS.get(model_field)
    if cache is None:
        cache = {}
        choices = list(model_field.choices or [])
        for language in ("zh-hans", "en"):
            with translation.override(language):
                for code, label in choices:
                    cache[str(label).lower()] = code
        for code, _label in choices:
            cache[str(code).lower()] = code
        _CHOICE_LOOKUPS[model_field] = cache
    return cache


_CHOICE_LOOKUPS: dict[Any, dict[str, Any]] = {}
