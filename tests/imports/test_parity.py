"""The importer refuses exactly what the services refuse, with the same message.

The importer does not call ``full_clean`` per row (its unique and constraint checks are a query
each); it runs each field's own ``clean()`` and each model's own ``clean()`` with related objects
pre-filled. These cases hold it to the services: for each bad input, the service raises a
``ValidationError`` on a field, and the importer reports the same message on that column.

Kinds without a service (survey responses) are held to ``full_clean``, which a service would run.
Deliberate differences, documented in README: the importer reads more date formats (so its date
message lists them), upper-cases currency codes, and treats natural keys as upserts.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Account
from service_plans.models import SurveyResponse
from tests.factories import AccountFactory, ContactFactory, ContractFactory
from tests.imports.conftest import csv_bytes, errors, run_import

pytestmark = pytest.mark.django_db

WHEN = timezone.make_aware(dt.datetime(2025, 3, 1, 9, 0))


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(sep=" ")
    if isinstance(value, (dt.date, Decimal, int)):
        return str(value)
    return "" if value is None else str(value)


class World:
    """The rows every case starts from: one of each kind that both paths accept."""

    def __init__(self, owner):
        self.owner = owner
        self.acme = AccountFactory(name="Parity Group", external_id="PAR", owner=owner)
        self.other = AccountFactory(name="Other Group", external_id="OTH", owner=owner)
        self.stranger = ContactFactory(account=self.other, email="stranger@example.com", name="Stranger")
        self.other_contract = ContractFactory(account=self.other, number="OTH-1")

    def base(self, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(service keyword arguments, file cells) for a valid new row of ``kind``."""
        if kind == "accounts":
            return {"name": "Parity Sub", "owner": self.owner, "currency": "CNY"}, {"name": "Parity Sub", "currency": "CNY"}
        if kind == "contracts":
            fields = {"account": self.acme, "number": "P-1", "start_date": dt.date(2025, 1, 1), "end_date": dt.date(2025, 12, 31),
                      "annual_value": Decimal("10"), "currency": "CNY"}  # fmt: skip
        elif kind == "invoices":
            fields = {"account": self.acme, "number": "PI-1", "issued_on": dt.date(2025, 3, 1), "due_on": dt.date(2025, 3, 31),
                      "amount": Decimal("10"), "currency": "CNY"}  # fmt: skip
        elif kind == "contacts":
            fields = {"account": self.acme, "name": "Pat", "email": "pat@example.com"}
        elif kind == "meetings":
            fields = {"account": self.acme, "kind": "call", "occurred_at": WHEN}
        else:
            fields = {"account": self.acme, "kind": "nps", "score": 9, "responded_at": WHEN}
        cells = {name: ("PAR" if name == "account" else _text(value)) for name, value in fields.items()}
        return fields, cells

    def service(self, kind: str, fields: dict[str, Any], extra: dict[str, Any]) -> None:
        create = {
            "accounts": services.account_create,
            "contracts": services.contract_create,
            "invoices": services.invoice_create,
            "contacts": services.contact_create,
            "meetings": services.meeting_create,
        }
        if kind == "survey_responses":
            SurveyResponse(**fields).full_clean()
        else:
            create[kind](**fields, **extra)


# (kind, service field overrides, file cell overrides, the field/column both must name)
CASES = [
    ("accounts", {"name": ""}, {"name": ""}, "name"),
    ("accounts", {"payment_terms_days": 400}, {"payment_terms_days": "400"}, "payment_terms_days"),
    ("accounts", {"market_influence": 0}, {"market_influence": "0"}, "market_influence"),
    ("accounts", {"credit_rating": "Z"}, {"credit_rating": "Z"}, "credit_rating"),
    ("accounts", {"industry": "space"}, {"industry": "space"}, "industry"),
    ("accounts", {"wallet_estimate_amount": Decimal("-1")}, {"wallet_estimate_amount": "-1"}, "wallet_estimate_amount"),
    ("accounts", {"wallet_estimate_amount": "lots"}, {"wallet_estimate_amount": "lots"}, "wallet_estimate_amount"),
    ("accounts", {"currency": "GBP"}, {"currency": "GBP"}, "currency"),
    ("accounts", {"currency": "EURO"}, {"currency": "EURO"}, "currency"),
    ("accounts", {"name": "x" * 201}, {"name": "x" * 201}, "name"),
    ("contracts", {"annual_value": Decimal("-1")}, {"annual_value": "-1"}, "annual_value"),
    ("contracts", {"annual_value": "abc"}, {"annual_value": "abc"}, "annual_value"),
    ("contracts", {"annual_value": Decimal("1.234")}, {"annual_value": "1.234"}, "annual_value"),
    ("contracts", {"end_date": dt.date(2024, 1, 1)}, {"end_date": "2024-01-01"}, "end_date"),
    ("contracts", {"start_date": None}, {"start_date": ""}, "start_date"),
    ("contracts", {"escalator_pct": Decimal("-1")}, {"escalator_pct": "-1"}, "escalator_pct"),
    ("contracts", {"status": "lapsed"}, {"status": "lapsed"}, "status"),
    ("contracts", {"currency": "XYZ"}, {"currency": "XYZ"}, "currency"),
    ("contracts", {"renewal_of": "other_contract"}, {"renewal_of": "OTH-1"}, "renewal_of"),
    ("contracts", {"number": ""}, {"number": ""}, "number"),
    ("invoices", {"amount": Decimal("-5")}, {"amount": "-5"}, "amount"),
    ("invoices", {"due_on": dt.date(2025, 2, 1)}, {"due_on": "2025-02-01"}, "due_on"),
    ("invoices", {"paid_on": dt.date(2025, 2, 1)}, {"paid_on": "2025-02-01"}, "paid_on"),
    ("invoices", {"written_off_amount": Decimal("20"), "written_off_on": dt.date(2025, 4, 1)},
     {"written_off_amount": "20", "written_off_on": "2025-04-01"}, "written_off_amount"),
    ("invoices", {"written_off_amount": Decimal("5")}, {"written_off_amount": "5"}, "written_off_on"),
    ("invoices", {"contract": "other_contract"}, {"contract": "OTH-1"}, "contract"),
    ("invoices", {"margin_amount": "n/a"}, {"margin_amount": "n/a"}, "margin_amount"),
    ("contacts", {"influence": 9}, {"influence": "9"}, "influence"),
    ("contacts", {"email": "not-an-email"}, {"email": "not-an-email"}, "email"),
    ("contacts", {"left_on": dt.date(2025, 1, 1)}, {"left_on": "2025-01-01"}, "left_on"),
    ("contacts", {"reports_to": "stranger"}, {"reports_to": "stranger@example.com"}, "reports_to"),
    ("contacts", {"replaced_by": "stranger"}, {"replaced_by": "stranger@example.com"}, "replaced_by"),
    ("contacts", {"buying_roles": ["kingmaker"]}, {"buying_roles": "kingmaker"}, "buying_roles"),
    ("contacts", {"support": 5}, {"support": "5"}, "support"),
    ("meetings", {"kind": "party"}, {"kind": "party"}, "kind"),
    ("meetings", {"contacts": ["stranger"]}, {"contacts": "stranger@example.com"}, "contacts"),
    ("meetings", {"title": "t" * 201}, {"title": "t" * 201}, "title"),
    ("survey_responses", {"score": 11}, {"score": "11"}, "score"),
    ("survey_responses", {"kind": "csat", "score": 0}, {"kind": "csat", "score": "0"}, "score"),
    ("survey_responses", {"contact": "stranger"}, {"contact": "stranger@example.com"}, "contact"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "overrides", "cells", "field"), CASES, ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_importer_refuses_what_the_service_refuses(account_manager, kind, overrides, cells, field):
    world = World(account_manager)
    fields, row = world.base(kind)
    named = {"other_contract": world.other_contract, "stranger": world.stranger}
    overrides = {k: ([named.get(x, x) for x in v] if isinstance(v, list) else named.get(v, v)) for k, v in overrides.items()}
    fields.update(overrides)
    extra = {k: fields.pop(k) for k in ("buying_roles", "contacts") if k in fields}
    with pytest.raises(ValidationError) as refused:
        world.service(kind, fields, extra)
    service_message = " ".join(refused.value.message_dict.get(field, refused.value.messages))
    assert field in refused.value.message_dict or kind == "meetings" or field == "buying_roles", refused.value.message_dict

    row.update(cells)
    record = run_import(kind, csv_bytes([list(row), list(row.values())]), user=account_manager, dry_run=True)
    assert errors(record) == [(2, field, service_message)]


def test_a_parent_loop_is_refused_like_the_service_refuses_it(account_manager):
    holding = AccountFactory(name="Holding", external_id="H", owner=account_manager)
    AccountFactory(name="Sub", external_id="S", parent=holding, owner=account_manager)
    with pytest.raises(ValidationError) as refused:
        services.account_update(account=holding, parent=Account.objects.get(external_id="S"))
    record = run_import(
        "accounts", csv_bytes([["external_id", "name", "parent"], ["H", "Holding", "S"]]), user=account_manager, dry_run=True
    )
    assert errors(record) == [(2, "parent", refused.value.message_dict["parent"][0])]


def test_a_self_renewal_is_refused_like_the_service_refuses_it(account_manager):
    contract = ContractFactory(account=AccountFactory(external_id="A1", owner=account_manager), number="SELF-1")
    with pytest.raises(ValidationError) as refused:
        services.contract_update(contract=contract, renewal_of=contract)
    rows = [["number", "account", "start_date", "end_date", "annual_value", "renewal_of"],
            ["SELF-1", "A1", "2025-01-01", "2025-12-31", "1", "SELF-1"]]  # fmt: skip
    record = run_import("contracts", csv_bytes(rows), user=account_manager, dry_run=True)
    assert errors(record) == [(2, "renewal_of", refused.value.message_dict["renewal_of"][0])]
