"""Helpers for the import tests: build files, run imports, read their errors."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from imports.models import ImportRecord, ImportStatus
from imports.services import import_record_create, import_run
from tests.factories import AccountFactory, ExchangeRateFactory


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_import(
    kind: str,
    content: bytes,
    *,
    user: Any = None,
    dry_run: bool = False,
    mapping: dict[str, Any] | None = None,
    day_first: bool = False,
    file_name: str = "data.csv",
) -> ImportRecord:
    record = import_record_create(
        user=user, kind=kind, file_name=file_name, content=content, mapping=mapping, day_first=day_first
    )
    if record.status == ImportStatus.INVALID:
        return record
    return import_run(record=record, dry_run=dry_run)


def errors(record: ImportRecord) -> list[tuple[int, str, str]]:
    """(row, column header, message) of every error shown on the record."""
    return [(e["row"], e["column"], e["message"]) for e in record.errors]


@pytest.fixture
def usd(db):
    return ExchangeRateFactory(currency="USD", year=2025)


@pytest.fixture
def acme(account_manager):
    """An account of ``account_manager`` with an external id."""
    return AccountFactory(name="Acme Group", external_id="ACME", owner=account_manager)


@pytest.fixture
def hidden(other_manager):
    """An account ``account_manager`` cannot see."""
    return AccountFactory(name="Hidden Corp", external_id="HID", owner=other_manager)
