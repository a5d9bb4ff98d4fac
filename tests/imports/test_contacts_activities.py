"""Contacts, meetings and survey responses."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Contact, Meeting
from imports.exports import export_file
from imports.models import ImportStatus
from service_plans.models import SurveyResponse
from tests.factories import AccountFactory, ContactFactory, MeetingFactory, UserFactory
from tests.imports.conftest import csv_bytes, errors, run_import

pytestmark = pytest.mark.django_db


def test_contacts_upsert_by_email_with_managers_further_down_and_buying_roles(account_manager, acme):
    rows = [
        ["邮箱", "客户", "姓名", "职位", "采购角色", "上级", "支持度", "在职"],
        ["Ann@Acme.example", "ACME", "Ann", "CIO", "technical_buyer, 影响者", "ceo@acme.example", "支持者", "是"],
        ["ceo@acme.example", "ACME", "Carl", "CEO", "economic_buyer", "", "2", "yes"],
        ["", "ACME", "Nobody Noemail", "Clerk", "", "Ann", "0", "true"],
    ]
    record = run_import("contacts", csv_bytes(rows), user=account_manager)
    assert (record.status, record.created_count) == (ImportStatus.DONE, 3), (record.message, record.errors)
    ann, carl = Contact.objects.get(email="Ann@Acme.example"), Contact.objects.get(email="ceo@acme.example")
    assert (ann.reports_to, ann.support, set(ann.buying_roles.values_list("code", flat=True))) == (
        carl, 1, {"technical_buyer", "influencer"},
    )  # fmt: skip
    assert Contact.objects.get(name="Nobody Noemail").reports_to == ann
    # The history of a bulk import snapshots the buying roles too, as simple-history does.
    assert {r.buyingrole_id for r in ann.history.get().buying_roles.all()} == {"technical_buyer", "influencer"}

    rows[1][0] = "ann@acme.EXAMPLE"  # emails match whatever their case
    rows[1][4] = "technical_buyer"
    again = run_import("contacts", csv_bytes(rows), user=account_manager)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 1, 2), again.errors
    ann.refresh_from_db()
    assert (ann.version, list(ann.buying_roles.values_list("code", flat=True))) == (2, ["technical_buyer"])


def test_bad_contact_rows(account_manager, acme):
    ContactFactory(account=AccountFactory(owner=account_manager), email="elsewhere@example.com")
    rows = [
        ["email", "account", "name", "influence", "buying_roles", "reports_to", "is_active", "left_on"],
        ["a@x.example", "ACME", "A", "9", "", "", "true", ""],
        ["b@x.example", "ACME", "B", "3", "kingmaker", "", "true", ""],
        ["c@x.example", "ACME", "C", "3", "", "elsewhere@example.com", "true", ""],
        ["d@x.example", "ACME", "D", "3", "", "", "true", "2025-01-01"],
        ["not-an-email", "ACME", "E", "3", "", "", "true", ""],
        ["a@x.example", "ACME", "A twin", "3", "", "", "true", ""],
        ["f@x.example", "ACME", "F", "3", "", "nobody@x.example", "true", ""],
    ]
    record = run_import("contacts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (2, "influence", "Ensure this value is less than or equal to 5."),
        (3, "buying_roles", "Unknown buying role: kingmaker."),
        (4, "reports_to", "The manager must be a contact of the same account."),
        (5, "left_on", "Only a contact who has left can have a leaving date."),
        (6, "email", "Enter a valid email address."),
        (7, "email", "Duplicate key: “a@x.example” is also on row 2."),
        (8, "reports_to", "Unknown contact “nobody@x.example”."),
    ]


def test_contacts_replaced_by_a_colleague_named_by_email_or_name_even_further_down(account_manager, acme):
    dana = ContactFactory(account=acme, email="", name="Dana")
    rows = [
        ["邮箱", "客户", "姓名", "在职", "离职日期", "接任者"],
        ["olga@acme.example", "ACME", "Olga", "否", "2025-06-30", "NINA@acme.example"],  # further down, by email
        ["nina@acme.example", "ACME", "Nina", "是", "", ""],
        ["gus@acme.example", "ACME", "Gus", "否", "2025-01-31", "Nina"],  # in the file, by name
        ["lee@acme.example", "ACME", "Lee", "否", "", "Dana"],  # in the database, by name
    ]
    record = run_import("contacts", csv_bytes(rows), user=account_manager)
    assert (record.status, record.created_count) == (ImportStatus.DONE, 4), (record.message, record.errors)
    nina = Contact.objects.get(name="Nina")
    replaced = dict(Contact.objects.filter(account=acme).values_list("name", "replaced_by"))
    assert replaced == {"Olga": nina.pk, "Nina": None, "Gus": nina.pk, "Lee": dana.pk, "Dana": None}
    assert Contact.objects.get(name="Olga").left_on == dt.date(2025, 6, 30)

    assert run_import("contacts", csv_bytes(rows), user=account_manager).unchanged_count == 4
    rows[4][5] = ""  # a blank cell clears the replacement
    again = run_import("contacts", csv_bytes(rows), user=account_manager)
    assert (again.updated_count, again.unchanged_count) == (1, 3), again.errors
    assert Contact.objects.get(name="Lee").replaced_by is None


def test_bad_replacements_are_refused_by_row_and_nothing_is_written(account_manager, acme):
    ContactFactory(account=acme, email="li1@acme.example", name="Li Wei")
    ContactFactory(account=acme, email="li2@acme.example", name="Li Wei")
    ContactFactory(account=acme, email="me@acme.example", name="Me")
    ContactFactory(account=AccountFactory(owner=account_manager), email="elsewhere@example.com")
    rows = [
        ["email", "account", "name", "is_active", "reports_to", "replaced_by"],
        ["a@acme.example", "ACME", "A", "false", "", "nobody@acme.example"],
        ["b@acme.example", "ACME", "B", "false", "", "Li Wei"],  # two of them in the database
        ["c@acme.example", "ACME", "C", "false", "", "Sam"],  # two of them in the file
        ["sam1@acme.example", "ACME", "Sam", "true", "", ""],
        ["sam2@acme.example", "ACME", "Sam", "true", "", ""],
        ["d@acme.example", "ACME", "D", "false", "", "D@acme.example"],  # a new contact, themselves
        ["me@acme.example", "ACME", "Me", "false", "", "Me"],  # an existing contact, themselves
        ["e@acme.example", "ACME", "E", "false", "", "elsewhere@example.com"],
        ["f@acme.example", "ACME", "F", "false", "Nobody", "Nobody else"],
    ]
    before = list(Contact.objects.order_by("pk").values())
    record = run_import("contacts", csv_bytes(rows), user=account_manager)
    assert record.status == ImportStatus.INVALID
    assert errors(record) == [
        (2, "replaced_by", "Unknown contact “nobody@acme.example”."),
        (3, "replaced_by", "Several contacts of this account are named “Li Wei”: use the email address."),
        (4, "replaced_by", "Several contacts of this account are named “Sam”: use the email address."),
        (7, "replaced_by", "A contact cannot be replaced by themselves."),
        (8, "replaced_by", "A contact cannot be replaced by themselves."),
        (9, "replaced_by", "The replacement must be a contact of the same account."),
        (10, "reports_to", "Unknown contact “Nobody”."),
        (10, "replaced_by", "Unknown contact “Nobody else”."),
    ]
    assert list(Contact.objects.order_by("pk").values()) == before


def test_exported_replacements_import_back_into_an_empty_account(account_manager, acme):
    leaver = ContactFactory(account=acme, email="leaver@acme.example", name="Leaver")
    quiet = ContactFactory(account=acme, email="", name="Quiet 安静")
    successor = ContactFactory(account=acme, email="", name="Successor")  # exported after those it replaced
    services.contact_update(contact=leaver, is_active=False, left_on=dt.date(2025, 3, 31), replaced_by=successor)
    services.contact_update(contact=quiet, is_active=False, replaced_by=leaver)
    content = export_file("contacts", user=account_manager)
    header, *lines = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert [line[header.index("replaced_by")] for line in lines] == ["Successor", "leaver@acme.example", ""]

    Contact.objects.all().delete()
    record = run_import("contacts", content, user=account_manager)
    assert (record.status, record.created_count) == (ImportStatus.DONE, 3), record.errors
    assert dict(Contact.objects.values_list("name", "replaced_by__name")) == {
        "Leaver": "Successor", "Quiet 安静": "Leaver", "Successor": None,
    }  # fmt: skip
    assert run_import("contacts", content, user=account_manager).unchanged_count == 3


def test_meetings_upsert_by_account_kind_and_time_with_attendees(account_manager, acme):
    ann = ContactFactory(account=acme, email="ann@acme.example")
    colleague = UserFactory(username="colleague")
    rows = [
        ["客户", "类型", "会议时间", "主题", "客户参会人", "内部参会人"],
        ["ACME", "QBR", "2025-03-01 10:00", "Q1 review", "ann@acme.example", "colleague; am_owner"],
    ]
    record = run_import("meetings", csv_bytes(rows), user=account_manager)
    assert record.status == ImportStatus.DONE, record.errors
    meeting = Meeting.objects.get()
    assert (meeting.kind, timezone.localtime(meeting.occurred_at).hour, meeting.created_by) == ("qbr", 10, account_manager)
    assert (list(meeting.contacts.all()), set(meeting.attendees.all())) == ([ann], {colleague, account_manager})
    rows[1][3] = "Q1 business review"
    again = run_import("meetings", csv_bytes(rows), user=account_manager)
    assert (again.created_count, again.updated_count, Meeting.objects.count()) == (0, 1, 1)


def test_meeting_with_another_accounts_contact_is_refused(account_manager, acme):
    ContactFactory(account=AccountFactory(owner=account_manager), email="stranger@example.com", name="Stranger")
    MeetingFactory(account=acme)
    rows = [["account", "kind", "occurred_at", "contacts"], ["ACME", "call", "2025-03-01 10:00", "stranger@example.com"]]
    record = run_import("meetings", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [(2, "contacts", "Not contacts of this account: Stranger.")]


def test_survey_responses(account_manager, acme):
    ContactFactory(account=acme, email="ann@acme.example")
    ContactFactory(account=AccountFactory(owner=account_manager), email="other@example.com")
    rows = [
        ["account", "contact", "kind", "score", "responded_at"],
        ["ACME", "ann@acme.example", "nps", "9", "2025-03-01 09:00"],
        ["ACME", "", "csat", "6", "2025-03-01 09:00"],
        ["ACME", "other@example.com", "nps", "9", "2025-03-02 09:00"],
        ["ACME", "ann@acme.example", "nps", "9", "2025-03-01 09:00"],
    ]
    record = run_import("survey_responses", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [
        (3, "score", "A CSAT score is between 1 and 5."),
        (4, "contact", "The contact belongs to another account."),
        (5, "responded_at", "Duplicate: the same row is also on row 2."),
    ]
    record = run_import("survey_responses", csv_bytes(rows[:2]), user=account_manager)
    assert record.created_count == 1
    response = SurveyResponse.objects.get()
    assert response.responded_at == timezone.make_aware(dt.datetime(2025, 3, 1, 9, 0))
    assert run_import("survey_responses", csv_bytes(rows[:2]), user=account_manager).unchanged_count == 1
