"""Request rates per token and per user (429 with ``Retry-After`` beyond them).

Rates come from ``settings.KAM_API_THROTTLE_RATES`` at each request rather than DRF's import-time
copy, so an operator's setting (and a test's override) takes effect.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from integrations.models import ApiToken


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return settings.KAM_API_THROTTLE_RATES.get(self.scope)


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
