"""Token authentication for integrations, session authentication for the browser."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from integrations.tokens import token_lookup, token_touch


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token kam_…``. ``request.auth`` is the ``ApiToken`` (its scope limits writes)."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: send 'Authorization: Token <key>'."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = token_lookup(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token has been revoked."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token's user is inactive."))
        token_touch(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session, with Django's CSRF check on writes (DRF's own behaviour)."""
