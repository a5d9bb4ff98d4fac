"""API tokens: create (the key is returned once), revoke, and look a presented key up.

A key is ``kam_`` followed by 43 random URL-safe characters. The database keeps
``HMAC-SHA256(SECRET_KEY, key)`` only: the hash is keyed so that a stolen dump cannot be matched
against guesses without the server's secret, and a lookup is one indexed equality. Keys hashed under
a previous secret keep working while that secret is listed in ``SECRET_KEY_FALLBACKS``.

A looked-up token (with its user and the user's role names) is kept in the default cache for
``KAM_API_TOKEN_CACHE_SECONDS`` so that a burst of calls costs no authentication query. Every entry
carries the "token generation" it was read under; revoking a token, saving or deleting a token or
a user, and changing a user's groups start a new generation (``token_cache_invalidate``), which
retires every entry at once, in every process that shares the cache (set ``CACHE_URL``: with the
per-process default cache, another process can keep using an entry until it expires).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from integrations.models import ApiToken, TokenScope
from kam.roles import remember_group_names

KEY_PREFIX = "kam_"
DEFAULT_EXPIRY_DAYS = 90
# last_used_at is written at most this often per token, so a burst of calls costs no writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(key: str, *, secret: str | None = None) -> str:
    return salted_hmac("kam.api_token", key, secret=secret or settings.SECRET_KEY, algorithm="sha256").hexdigest()


@transaction.atomic
def token_create(
    *, user: Any, name: str, scope: str = TokenScope.READ, expires_days: int | None = DEFAULT_EXPIRY_DAYS
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key. The key is not stored and cannot be shown again."""
    errors: dict[str, list[str]] = {}
    if scope not in TokenScope.values:
        errors["scope"] = [_("Choose read or write.")]
    max_days = settings.KAM_API_TOKEN_MAX_DAYS
    if expires_days is None or not 1 <= expires_days <= max_days:
        errors["expires_days"] = [_("A token expires after 1 to %(max)s days.") % {"max": max_days}]
    if not name or not name.strip():
        errors["name"] = [_("Give the token a name, such as the system that will use it.")]
    if errors:
        raise ValidationError(errors)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip()[:100],
        prefix=key[:12],
        key_hash=token_hash(key),
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=expires_days),
    )
    token.full_clean()
    token.save()
    return token, key


def token_revoke(*, token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    transaction.on_commit(token_cache_invalidate)
    token_cache_invalidate()  # now too: a request in this transaction must not find the old entry
    token.refresh_from_db()
    return token


GENERATION_KEY = "kam-token-generation"


def _cache_key(key_hash: str) -> str:
    return f"kam-token-{key_hash}"


def token_cache_invalidate(**_: Any) -> None:
    """Retire every cached token (a signal receiver as well: it takes and ignores the signal's kwargs)."""
    cache.set(GENERATION_KEY, secrets.token_hex(8), None)


def token_lookup(key: str) -> ApiToken | None:
    """The token for a presented key (usable or not), with its user and role names: one cache read,
    or one query when the cache does not hold it (never cached: an unknown key)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    hashes = [token_hash(key)] + [token_hash(key, secret=old) for old in settings.SECRET_KEY_FALLBACKS]
    timeout = settings.KAM_API_TOKEN_CACHE_SECONDS
    cache_key = _cache_key(hashes[0])
    if timeout:
        # The generation is read before the database, so an invalidation racing this lookup leaves
        # an entry stamped with the old generation, which the next lookup ignores.
        found = cache.get_many([cache_key, GENERATION_KEY])
        generation = found.get(GENERATION_KEY)
        entry = found.get(cache_key)
        if entry is not None and entry[0] == generation:
            return entry[1]
    token = (
        ApiToken.objects.select_related("user")
        .annotate(user_group_names=ArraySubquery(Group.objects.filter(user=OuterRef("user_id")).values("name")))
        .filter(key_hash__in=hashes)
        .first()
    )
    if token is None:
        return None
    remember_group_names(token.user, token.user_group_names)
    if timeout:
        token._kam_cache = (cache_key, generation)
        cache.set(cache_key, (generation, token), timeout)
    return token


def token_touch(token: ApiToken) -> None:
    """Record that the token was used, at most once per ``LAST_USED_RESOLUTION``.

    The decision is made on the row already loaded, so most calls write nothing; the conditional
    UPDATE keeps concurrent requests from writing the same minute twice.
    """
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
    cached = getattr(token, "_kam_cache", None)
    if cached is not None:
        # The cached copy still holds the old time; store the new one under the generation it was
        # read in (an invalidation since then still retires it).
        cache_key, generation = cached
        cache.set(cache_key, (generation, token), settings.KAM_API_TOKEN_CACHE_SECONDS)
