"""``kam.api.renderers.JSONRenderer`` (orjson) writes the bytes DRF's own ``JSONRenderer`` writes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from accounts.models import Account
from kam.api.renderers import JSONRenderer
from tests.factories import AccountFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

SAMPLES = [
    {"next": "http://testserver/api/v1/accounts/?cursor=cD01MA%3D%3D&page_size=50", "previous": None, "results": []},
    {"name": "华东重工集团 “Ω”", "notes": '第一行\n第二行\t"quoted" \\ back', "emoji": "🚀", "control": "\x00\x1f"},
    {"ints": [0, -1, 2**63 - 1, -(2**63)], "floats": [0.1, 1.5, -2.25, 78.125, 1234567.8], "bools": [True, False], "none": None},
    {"decimal": Decimal("1234567.80"), "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {
        "utc": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "utc_micro": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        "shanghai": dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=SHANGHAI),
        "naive": dt.datetime(2026, 1, 2, 3, 4, 5),
        "date": dt.date(2026, 2, 28),
        "time": dt.time(8, 30, 15),
        "duration": dt.timedelta(hours=1, seconds=1),
    },
    {"lazy": gettext_lazy("Your role does not allow this."), "nested": {"list": [gettext_lazy("Invalid token.")]}},
    {1: "int key", "tuple": (1, "a"), "set_like": frozenset()},
    {"separators": "a\u2028b\u2029c"},
    [{"id": i, "name": f"Account {i}"} for i in range(3)],
]


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_floats_written_with_an_exponent_are_the_same_numbers():
    # Python writes 1e-07 and 1e+16, orjson 1e-7 and 1e16: the only difference, and the same value.
    data = {"small": 1e-7, "large": 1e16, "nan_free": [0.5]}
    assert json.loads(JSONRenderer().render(data)) == json.loads(renderers.JSONRenderer().render(data)) == data


def test_requested_indent_is_honoured():
    data = {"a": [1, 2]}
    assert JSONRenderer().render(data, "application/json; indent=2") == renderers.JSONRenderer().render(
        data, "application/json; indent=2"
    )


def test_nothing_renders_as_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_what_neither_can_encode_fails_as_before():
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


def test_integers_beyond_64_bits_fall_back_to_drf():
    assert JSONRenderer().render({"big": 2**70}) == b'{"big":1180591620717411303424}'


@pytest.mark.django_db
def test_the_account_list_is_byte_for_byte_drfs(executive_api, account_manager):
    AccountFactory.create_batch(3, owner=account_manager, notes="重点客户\n“引号”")
    Account.objects.update(value_score=Decimal("78.5"), health_score=Decimal("0.01"))
    response = executive_api.get("/api/v1/accounts/?page_size=2")
    assert response.status_code == 200
    assert response.content == renderers.JSONRenderer().render(response.data)
