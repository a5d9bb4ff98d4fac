from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and docker-compose: 200 when the database answers."""
    status: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # any database failure means "not healthy", whatever its type
        status["database"] = f"unavailable: {type(exc).__name__}"
        return JsonResponse(status, status=503)
    return JsonResponse(status)
