"""Export → import changes nothing, for every kind, in CSV and XLSX; exports stream visible rows."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.models import Account, Contact, Contract, Invoice, Meeting
from imports.definitions import SPECS
from imports.exports import export_file, export_headers, export_rows
from imports.models import ImportStatus
from service_plans.models import SurveyResponse
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    ExchangeRateFactory,
    InvoiceFactory,
    MeetingFactory,
    UserFactory,
)
from tests.imports.conftest import csv_bytes, run_import

pytestmark = pytest.mark.django_db
KINDS = list(SPECS)


@pytest.fixture
def world(account_manager, other_manager):
    """Rows of every kind, with the awkward cases: accounts without external ids (known by name,
    under a parent), contacts without email (one the replacement of another), renewals, write-offs, meetings at odd microseconds."""
    from accounts import services

    ExchangeRateFactory(currency="USD")
    holding = AccountFactory(name="Round Holding", external_id="RH", owner=account_manager, currency="USD", region="-East-")
    branch = AccountFactory(
        name="Round Branch", external_id="", parent=holding, owner=account_manager, notes='line 1\nline 2, quoted "x"'
    )
    AccountFactory(name="Round Branch", external_id="", owner=account_manager, wallet_estimate_amount=Decimal("1234567.89"))
    AccountFactory(name="Someone else's", external_id="SE", owner=other_manager)
    boss = ContactFactory(account=holding, email="boss@round.example", name="Boss", title="=SUM(A1)")  # never run as a formula
    clerk = ContactFactory(account=branch, email="", name="Clerk 职员", title="")
    services.contact_update(contact=clerk, reports_to=None)
    helper = ContactFactory(account=holding, email="Helper@Round.example", name="Helper")
    services.contact_update(contact=helper, reports_to=boss, buying_roles=["coach_champion", "user_buyer"], support=-1)
    former = ContactFactory(account=holding, email="former@round.example", name="Former")
    services.contact_update(contact=former, is_active=False, left_on=dt.date(2025, 5, 31), replaced_by=helper)
    leaver = ContactFactory(account=branch, email="", name="Leaver")
    services.contact_update(contact=leaver, is_active=False, replaced_by=clerk)  # known by name only
    first = ContractFactory(account=holding, number="RC-1", currency="USD", escalator_pct=Decimal("3.50"))
    ContractFactory(account=branch, number="RC-2", renewal_of=first, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
                    signed_on=dt.date(2025, 12, 1), auto_renew=True)  # fmt: skip
    InvoiceFactory(account=holding, contract=first, number="RI-1", currency="USD", paid_on=dt.date(2025, 3, 20),
                   written_off_amount=Decimal("10.00"), written_off_on=dt.date(2025, 6, 1), margin_amount=Decimal("-3.25"))  # fmt: skip
    moment = timezone.make_aware(dt.datetime(2025, 3, 1, 10, 15, 30, 123456))
    meeting = MeetingFactory(account=holding, kind="qbr", occurred_at=moment, title="QBR", summary="多行\n纪要")
    meeting.contacts.set([boss, helper])
    meeting.attendees.set([account_manager, UserFactory(username="colleague")])
    MeetingFactory(account=branch, kind="call", occurred_at=moment, contacts=[clerk])
    SurveyResponse.objects.create(
        account=holding, contact=boss, kind="nps", score=9, responded_at=moment, respondent_role="economic_buyer"
    )
    SurveyResponse.objects.create(account=branch, contact=clerk, kind="csat", score=4, responded_at=moment, comment="好")
    SurveyResponse.objects.create(account=branch, kind="ces", score=2, responded_at=moment)


def state():
    return {
        "accounts": list(Account.objects.order_by("pk").values()),
        "contacts": list(Contact.objects.order_by("pk").values()),
        "roles": list(Contact.buying_roles.through.objects.order_by("pk").values_list("contact_id", "buyingrole_id")),
        "contracts": list(Contract.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values()),
        "meetings": list(Meeting.objects.order_by("pk").values()),
        "meeting_links": sorted(Meeting.contacts.through.objects.values_list("meeting_id", "contact_id")),
        "attendees": sorted(Meeting.attendees.through.objects.values_list("meeting_id", "user_id")),
        "surveys": list(SurveyResponse.objects.order_by("pk").values()),
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", KINDS)
def test_export_then_import_changes_nothing(world, admin_user, kind, fmt):
    before = state()
    content = export_file(kind, fmt=fmt)
    record = run_import(kind, content, user=admin_user, file_name=f"{kind}.{fmt}")
    assert record.status == ImportStatus.DONE, (record.message, record.errors)
    assert (record.created_count, record.updated_count) == (0, 0)
    assert record.unchanged_count == record.rows_total > 0
    assert state() == before


@pytest.mark.parametrize("kind", KINDS)
def test_export_with_chinese_labels_imports_back_unchanged(world, admin_user, kind):
    before = state()
    content = export_file(kind, labels=True, language="zh-hans")
    with translation.override("zh-hans"):
        labels = export_headers(kind, labels=True)
    assert content.decode("utf-8-sig").splitlines()[0] == ",".join(labels)
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels), labels
    record = run_import(kind, content, user=admin_user)
    assert (record.status, record.created_count, record.updated_count) == (ImportStatus.DONE, 0, 0), record.errors
    assert state() == before


def test_an_edited_export_updates_only_the_edited_row(world, admin_user):
    rows = list(csv.reader(io.StringIO(export_file("contracts").decode("utf-8-sig"))))
    rows[1][rows[0].index("annual_value")] = "999.00"
    record = run_import("contracts", csv_bytes(rows), user=admin_user)
    assert (record.updated_count, record.unchanged_count) == (1, 1)


def test_a_managers_export_holds_only_what_they_see_and_reimports_unchanged(world, account_manager):
    names = [row[1] for row in export_rows("accounts", user=account_manager)]
    assert "Someone else's" not in names and len(names) == 3
    record = run_import("accounts", export_file("accounts", user=account_manager), user=account_manager)
    assert (record.status, record.unchanged_count) == (ImportStatus.DONE, 3), record.errors


def test_exported_text_never_runs_as_a_formula(world):
    assert "'=SUM(A1)" in export_file("contacts").decode("utf-8-sig")
