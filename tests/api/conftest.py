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
def api_client_for():
    return token_client
