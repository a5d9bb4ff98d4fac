"""Fixtures of the API tests: clients per persona, with a session or a token."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from integrations.tokens import token_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def token_client(user, scope="write") -> APIClient:
    _, key = token_create(user=user, name=f"{user.username}-{scope}", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def manager_api(account_manager):
    return token_client(account_manager)


@pytest.fixture
def other_api(other_manager):
    return token_client(other_manager)


@pytest.fixture
def executive_api(executive):
    return token_client(executive)


@pytest.fixture
def admin_api(admin_user):
    return token_client(admin_user)


@pytest.fixture
def api_client_for():
    return token_client
