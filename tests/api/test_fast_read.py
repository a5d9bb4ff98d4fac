"""The account list and detail are built by ``kam.api.rows`` (``.values()`` and a precompiled field
plan) instead of ``AccountSerializer``; the output must be the serializer's, field for field."""

from __future__ import annotations

import json
import urllib.parse
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.api import AccountSerializer, AccountViewSet, ContactSerializer
from accounts.models import Account
from kam.api.rows import RowPlan
from tests.api.conftest import token_client
from tests.factories import AccountFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def _serialized(queryset) -> list[dict]:
    return AccountSerializer(queryset, many=True, context={}).data


def _json(data) -> list | dict:
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def varied_accounts(account_manager):
    """One account with every field set (zh text, decimals, a parent and a group), one with nulls."""
    group = AccountFactory(
        owner=account_manager,
        name="华东重工集团",
        external_id="ERP-001",
        notes="重点客户：年度框架协议\n第二行",
        wallet_estimate_amount=Decimal("1234567.80"),
        credit_rating="A",
        region="华东",
    )
    full = AccountFactory(owner=account_manager, name="上海子公司 “Ω”", parent=group)
    Account.objects.filter(pk=full.pk).update(
        tier="T1", abc_class="A", value_score=Decimal("78.5"), health_score=Decimal("0.01"), health_band="yellow"
    )
    bare = AccountFactory(
        owner=account_manager,
        name="Bare",
        credit_rating="",
        region="",
        market_influence=None,
        integration_potential=None,
        relationship_stage=None,
    )
    return [group, full, bare]


def test_plan_output_is_the_serializers_for_every_field(varied_accounts):
    queryset = Account.objects.filter(pk__in=[a.pk for a in varied_accounts]).order_by("id")
    plan = AccountViewSet.row_plan()
    fast = plan.rows(queryset.values(*plan.columns))
    slow = _serialized(queryset)
    assert fast == [dict(row) for row in slow]
    # Same Python types too (a Decimal or a datetime slipping through would render differently).
    assert [[type(v) for v in row.values()] for row in fast] == [[type(v) for v in row.values()] for row in slow]
    assert list(fast[0]) == list(dict.fromkeys(AccountSerializer.Meta.fields))
    full, bare = fast[1], fast[2]
    assert (full["tier"], full["value_score"], full["health_score"], full["group"]) == ("T1", "78.50", "0.01", fast[0]["id"])
    assert (bare["tier"], bare["health_band"], bare["wallet_estimate_amount"], bare["market_influence"]) == (None,) * 4


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/St_Johns"])
def test_datetimes_follow_the_current_time_zone_like_drf(varied_accounts, zone):
    queryset = Account.objects.order_by("id")
    plan = AccountViewSet.row_plan()
    with timezone.override(zone):
        fast = plan.rows(queryset.values(*plan.columns))
        slow = _serialized(queryset)
    assert [(r["created_at"], r["updated_at"]) for r in fast] == [(r["created_at"], r["updated_at"]) for r in slow]
    if zone == "UTC":
        assert fast[0]["created_at"].endswith("Z")


def test_list_and_detail_responses_equal_the_serializer(manager_api, varied_accounts):
    body = manager_api.get("/api/v1/accounts/", {"page_size": 50}).json()
    assert body["results"] == _json(_serialized(Account.objects.order_by("id")))
    for account in varied_accounts:
        response = manager_api.get(f"/api/v1/accounts/{account.pk}/")
        account.refresh_from_db()
        assert response.json() == _json(AccountSerializer(account, context={}).data)
        assert response["ETag"] == f'"{account.version}"'


def test_etag_of_the_detail_is_accepted_by_if_match(manager_api, varied_accounts):
    url = f"/api/v1/accounts/{varied_accounts[2].pk}/"
    etag = manager_api.get(url)["ETag"]
    assert manager_api.patch(url, {"notes": "新备注"}, format="json", headers={"If-Match": etag}).status_code == 200
    assert manager_api.patch(url, {"notes": "过期"}, format="json", headers={"If-Match": etag}).status_code == 412
    assert manager_api.get(url).json()["notes"] == "新备注"


def test_cursor_pages_with_ordering_and_filters_walk_every_row_once(manager_api, account_manager):
    for i in range(7):
        AccountFactory(owner=account_manager, name=f"名{i % 3} {i}", status="active" if i % 2 else "prospect")
    expected = list(Account.objects.filter(status="active").order_by("-name", "-id").values_list("id", flat=True))
    seen, url = [], "/api/v1/accounts/?page_size=2&ordering=-name&status=active"
    while url:
        body = manager_api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"] and urllib.parse.urlsplit(body["next"])._replace(scheme="", netloc="").geturl()
    assert seen == expected and len(seen) == 3


def test_visibility_applies_to_the_fast_list_and_detail(account_manager, other_manager, executive, admin_user):
    mine = AccountFactory(owner=account_manager)
    served = AccountFactory(owner=other_manager)
    TeamMemberFactory(account=served, user=account_manager)
    theirs = AccountFactory(owner=other_manager)
    manager = token_client(account_manager)
    assert {row["id"] for row in manager.get("/api/v1/accounts/").json()["results"]} == {mine.pk, served.pk}
    assert manager.get(f"/api/v1/accounts/{served.pk}/").status_code == 200
    assert manager.get(f"/api/v1/accounts/{theirs.pk}/").status_code == 404
    assert manager.get("/api/v1/accounts/not-a-number/").status_code == 404
    for user in (executive, admin_user):
        client = token_client(user)
        assert len(client.get("/api/v1/accounts/").json()["results"]) == 3
        assert client.get(f"/api/v1/accounts/{theirs.pk}/").status_code == 200


def test_a_bad_filter_is_still_a_400_naming_the_field(manager_api):
    response = manager_api.get("/api/v1/accounts/", {"status": "exploded", "ordering": "name"})
    assert response.status_code == 400 and set(response.json()) == {"status"}


def test_detail_queries_are_constant(manager_api, account_manager, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    manager_api.get(f"/api/v1/accounts/{account.pk}/")  # records the token's use (a write, once a minute)
    with django_assert_num_queries(1):  # the row; the token, its user and roles are cached
        assert manager_api.get(f"/api/v1/accounts/{account.pk}/").status_code == 200


def test_a_serializer_with_more_than_columns_cannot_be_planned():
    with pytest.raises(TypeError, match="buying_roles"):
        RowPlan(ContactSerializer(context={}))


def test_a_query_string_without_filters_skips_the_filterset_with_the_same_rows(manager_api, account_manager):
    for name, status in [("Alpha", "active"), ("Beta", "prospect")]:
        AccountFactory(owner=account_manager, name=name, status=status)
    plain = manager_api.get("/api/v1/accounts/", {"ordering": "-name", "page_size": 5}).json()["results"]
    assert [row["name"] for row in plain] == ["Beta", "Alpha"]
    filtered = manager_api.get("/api/v1/accounts/", {"ordering": "-name", "status": "active"}).json()["results"]
    assert [row["name"] for row in filtered] == ["Alpha"]
    # A parameter that is no filter is ignored, as django-filter ignores it.
    unknown = manager_api.get("/api/v1/accounts/", {"ordering": "-name", "nonsense": "1"}).json()["results"]
    assert unknown == plain


def test_the_prepared_query_never_serves_stale_rows(executive_api, account_manager):
    """The plan's ``.values()`` query is set up once and cloned per request (an executive's
    visibility adds no filter): a row written between two requests is in the second."""
    first = AccountFactory(owner=account_manager, name="One")
    assert [row["name"] for row in executive_api.get("/api/v1/accounts/").json()["results"]] == ["One"]
    assert executive_api.get(f"/api/v1/accounts/{first.pk}/").json()["name"] == "One"
    AccountFactory(owner=account_manager, name="Two")
    Account.objects.filter(pk=first.pk).update(name="Uno")
    assert [row["name"] for row in executive_api.get("/api/v1/accounts/").json()["results"]] == ["Uno", "Two"]
    assert executive_api.get(f"/api/v1/accounts/{first.pk}/").json()["name"] == "Uno"
    assert AccountViewSet.row_plan().template._result_cache is None
