"""API tokens are cached with their user and roles; any change to them takes effect at the next call."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from integrations.models import TokenScope
from integrations.tokens import token_cache_invalidate, token_create, token_revoke
from kam import roles
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url).status_code
    return status, len(ctx.captured_queries)


@pytest.fixture
def warm(account_manager):
    """A client whose token is in the cache (and whose last use is recorded), and an account URL."""
    token, key = token_create(user=account_manager, name="ERP", scope=TokenScope.WRITE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/accounts/{AccountFactory(owner=account_manager).pk}/"
    assert client.get(url).status_code == 200
    return token, client, url


def test_a_cached_token_costs_no_query_and_a_miss_costs_one(warm):
    _, client, url = warm
    assert _queries(client, url) == (200, 1)  # the account row only
    cache.clear()
    assert _queries(client, url) == (200, 2)  # + the token, its user and the user's groups in one query
    assert _queries(client, url) == (200, 1)


def test_without_the_cache_every_call_looks_the_token_up(warm, settings):
    settings.KAM_API_TOKEN_CACHE_SECONDS = 0
    _, client, url = warm
    assert [_queries(client, url) for _ in range(2)] == [(200, 2)] * 2


def test_revoking_a_cached_token_refuses_the_next_call(warm):
    token, client, url = warm
    token_revoke(token=token)
    response = client.get(url)
    assert (response.status_code, response.json()["detail"]) == (401, "This token has been revoked.")


def test_deactivating_the_user_refuses_the_next_call(warm, account_manager):
    _, client, url = warm
    account_manager.is_active = False
    account_manager.save()
    assert client.get(url).status_code == 401


def test_a_new_role_applies_at_the_next_call(warm, account_manager, other_manager):
    _, client, _ = warm
    theirs = f"/api/v1/accounts/{AccountFactory(owner=other_manager).pk}/"
    assert client.get(theirs).status_code == 404
    account_manager.groups.add(Group.objects.get(name=roles.EXECUTIVE))
    assert client.get(theirs).status_code == 200
    account_manager.groups.remove(Group.objects.get(name=roles.EXECUTIVE))
    assert client.get(theirs).status_code == 404


def test_a_scope_change_applies_at_the_next_call(warm):
    token, client, url = warm
    token.scope = TokenScope.READ
    token.save()
    response = client.patch(url, {"notes": "x"}, format="json")
    assert response.status_code == 403


def test_an_entry_from_an_older_generation_is_not_used(warm):
    _, client, url = warm
    token_cache_invalidate()
    assert _queries(client, url) == (200, 2)
