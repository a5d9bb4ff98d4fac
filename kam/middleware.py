"""Turn a lost database connection into a clean 503 instead of a 500.

When PostgreSQL drops the connection mid-request (restart, failover, an administrator terminating
the backend), the request cannot finish, but it is not the user's fault nor a bug: answer 503 with
Retry-After and a readable page (JSON for the API). Django discards the broken connection at the
end of the request (CONN_HEALTH_CHECKS), so the next request reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable during %s %s: %s", request.method, request.path, exception)
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"detail": _("The database is temporarily unavailable. Try again in a moment.")}, status=503
            )
        else:
            response = HttpResponse(render_to_string("503.html", request=None), status=503)
        response["Retry-After"] = "5"
        return response
