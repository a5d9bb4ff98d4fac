"""Request rates per token and per user (429 with ``Retry-After`` beyond them).

Rates come from ``settings.KAM_API_THROTTLE_RATES`` at each request rather than DRF's import-time
copy, so an operator's setting (and a test's override) takes effect.

DRF's ``SimpleRateThrottle`` keeps a list of every request's timestamp in the cache and reads and
writes the whole list on each request: at 1,200 requests a minute that is a 10 KB value per request
per throttle (and at the benchmark's lifted rate, hundreds of KB). Here each throttle keeps two
counters instead, this minute's and the previous one's, and estimates the sliding window as
``⌈previous × share of the window not yet elapsed⌉ + current`` (the usual sliding-window counter):
one ``get_many`` and one increment per request, whatever the rate (on Redis: two round trips per
throttle, see ``increment``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from integrations.models import ApiToken

logger = logging.getLogger(__name__)


def increment(cache: Any, key: str, timeout: int) -> None:
    """Add one to the counter ``key``, created with a lifetime of ``timeout`` seconds.

    On Redis one pipelined round trip (``INCR`` creates the counter, ``EXPIRE`` bounds it), where
    Django's cache API takes three (``add`` fails once the counter exists, then ``incr`` checks that
    the key exists before incrementing it). Django stores an int as a plain Redis integer, so the
    counter reads back through ``get_many`` as before. Redis unreachable: the count is dropped, as
    every cache write is then (``kam.cache``).
    """
    if isinstance(cache, ConnectionProxy):  # django.core.cache.cache: the default cache, resolved per thread
        cache = caches[cache._alias]
    if isinstance(cache, RedisCache):
        name = cache.make_and_validate_key(key)
        try:
            client = cache._cache.get_client(name, write=True)
            with client.pipeline(transaction=False) as pipe:
                pipe.incr(name)
                pipe.expire(name, timeout)
                pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("throttle count skipped: Redis unavailable (%s)", exc)
        return
    if not cache.add(key, 1, timeout):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout)


class _SettingsRateThrottle(SimpleRateThrottle):
    wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        return settings.KAM_API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current_key, previous_key = f"{self.key}-{window}", f"{self.key}-{window - 1}"
        counts = self.cache.get_many([current_key, previous_key])
        remaining_share = 1 - (now - window * self.duration) / self.duration
        current = counts.get(current_key, 0)
        # Rounded up: just after a full minute the estimate must not let a whole extra call through.
        if math.ceil(counts.get(previous_key, 0) * remaining_share) + current >= self.num_requests:
            # Retry when this window ends (an upper bound: the previous window's weight fades sooner).
            self.wait_seconds = max(1, math.ceil(remaining_share * self.duration))
            return False
        # Kept two windows: the next window still reads this one as its previous.
        increment(self.cache, current_key, self.duration * 2)
        return True

    def wait(self) -> float | None:
        return self.wait_seconds


class TokenRateThrottle(_SettingsRateThrottle):
    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return f"kam-throttle-token-{request.auth.pk}"
        return None


class UserRateThrottle(_SettingsRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return f"kam-throttle-user-{request.user.pk}"
        return None
