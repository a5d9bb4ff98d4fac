"""A Redis cache that degrades to "no cache" when Redis is unreachable.

KAM keeps serving pages and the API when Redis is down (issue: fault tests): cached values are
optimisations (throttle counters, computed fragments), so a connection error reads as a miss and a
write is dropped, with a warning in the log, instead of a 500.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

_FALLBACKS: dict[str, Any] = {
    "get": lambda args, kwargs: kwargs.get("default", args[1] if len(args) > 1 else None),
    "get_many": lambda args, kwargs: {},
    "has_key": lambda args, kwargs: False,
    "add": lambda args, kwargs: False,
    "set": lambda args, kwargs: None,
    "set_many": lambda args, kwargs: list(args[0]) if args else [],
    "touch": lambda args, kwargs: False,
    "delete": lambda args, kwargs: False,
    "delete_many": lambda args, kwargs: None,
    "clear": lambda args, kwargs: False,
    # With Redis down there is nothing to count on: every counter reads as its first hit.
    "incr": lambda args, kwargs: 1,
}


def _tolerant(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("cache %s skipped: Redis unavailable (%s)", name, exc)
            return _FALLBACKS[name](args, kwargs)

    return wrapper


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        # Fail fast: a page must not wait on a dead Redis.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, params)


for _name in _FALLBACKS:
    setattr(ResilientRedisCache, _name, _tolerant(_name, getattr(RedisCache, _name)))
