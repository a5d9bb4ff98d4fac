"""Requests per token and per user are limited (429 with Retry-After)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
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


def test_the_budget_slides_back_over_the_following_minute(account_manager, settings):
    """Two counters per throttle (this minute, the last) weighted like a sliding window, not a list
    of every request's time."""
    settings.KAM_API_THROTTLE_RATES = {"token": "2/min", "user": "100/min"}
    client = token_client(account_manager)
    start = dt.datetime(2026, 1, 5, 9, 0, 30, tzinfo=dt.UTC)

    def statuses(at: dt.datetime, n: int) -> list[int]:
        with time_machine.travel(at, tick=False):
            return [client.get("/api/v1/accounts/").status_code for _ in range(n)]

    assert statuses(start, 3) == [200, 200, 429]
    # 09:01:10: the full last minute still weighs ⌈5/6 × 2⌉ = 2: nothing fits.
    assert statuses(start + dt.timedelta(seconds=40), 1) == [429]
    # 09:01:40: it weighs ⌈1/3 × 2⌉ = 1: one call fits.
    assert statuses(start + dt.timedelta(seconds=70), 2) == [200, 429]
    # 09:03:05: the last minute (09:02) was quiet: the whole budget is back.
    assert statuses(start + dt.timedelta(seconds=155), 3) == [200, 200, 429]
    counters = [v for k, v in cache._cache.items() if "kam-throttle-token" in k]
    assert counters and all(len(v) < 100 for v in counters)  # small counters, whatever the traffic


def test_retry_after_is_the_rest_of_the_minute(account_manager, settings):
    settings.KAM_API_THROTTLE_RATES = {"token": "1/min", "user": "100/min"}
    client = token_client(account_manager)
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 0, 45, tzinfo=dt.UTC), tick=False):
        assert client.get("/api/v1/accounts/").status_code == 200
        limited = client.get("/api/v1/accounts/")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "15")


@pytest.fixture
def redis_cache(settings):
    """The default cache on Redis, as in production (the test's own Redis database)."""
    import os

    import redis

    url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis")
    settings.CACHES = {"default": {"BACKEND": "kam.cache.ResilientRedisCache", "LOCATION": url, "KEY_PREFIX": "throttle-test"}}
    from django.core.cache import caches

    yield caches["default"]
    caches["default"].clear()


def test_on_redis_the_counter_is_a_redis_integer_with_a_lifetime(account_manager, settings, redis_cache):
    """On Redis the count is a pipelined INCR + EXPIRE (one round trip instead of add, exists and
    incr): the counter is a plain Redis integer with a lifetime of two windows, read back by the
    next request through the cache, and the limit holds as on any cache."""
    from kam.api.throttling import TokenRateThrottle

    settings.KAM_API_THROTTLE_RATES = {"token": "3/min", "user": "100/min"}
    client = token_client(account_manager)
    assert [client.get("/api/v1/accounts/").status_code for _ in range(4)] == [200, 200, 200, 429]
    raw = redis_cache._cache.get_client(write=True)
    (key,) = raw.keys("throttle-test:*kam-throttle-token-*")
    assert raw.get(key) == b"3"  # the refused request counted nothing
    assert 0 < raw.ttl(key) <= 2 * TokenRateThrottle().duration
    (user_key,) = raw.keys("throttle-test:*kam-throttle-user-*")
    assert raw.get(user_key) == b"4"  # DRF asks every throttle: the user's budget allowed the fourth
