from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import account_home_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", account_home_summary(user=request.user))


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
