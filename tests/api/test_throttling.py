"""Requests per token and per user are limited (429 with Retry-After)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_a_token_is_limited_on_its_own(account_manager, settings):
    settings.KAM_API_THROTTLE_RATES = {"token": "3/min", "user": "100/min"}
    first, second = token_client(account_manager), token_client(account_manager)
    assert [first.get("/api/v1/accounts/").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/accounts/")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert second.get("/api/v1/accounts/").status_code == 200  # another token of the same user has its own budget


def test_a_user_is_limited_across_tokens_and_the_session(account_manager, settings):
    settings.KAM_API_THROTTLE_RATES = {"token": "100/min", "user": "4/min"}
    first, second = token_client(account_manager), token_client(account_manager)
    browser = APIClient()
    browser.force_login(account_manager)
    assert [c.get("/api/v1/accounts/").status_code for c in (first, second, browser, first)] == [200] * 4
    assert second.get("/api/v1/accounts/").status_code == 429
    assert browser.get("/api/v1/accounts/").status_code == 429


def test_users_do_not_share_a_budget(account_manager, other_manager, settings):
    settings.KAM_API_THROTTLE_RATES = {"token": "100/min", "user": "1/min"}
    mine, theirs = token_client(account_manager), token_client(other_manager)
    assert mine.get("/api/v1/accounts/").status_code == 200
    assert mine.get("/api/v1/accounts/").status_code == 429
    assert theirs.get("/api/v1/accounts/").status_code == 200
