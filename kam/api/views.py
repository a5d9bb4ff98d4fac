"""The schema and its two readers (Swagger UI and ReDoc), served offline under the strict CSP.

drf-spectacular's own templates put inline scripts and styles in the page and fetch fonts from a
CDN; ours (templates/api/) load the sidecar's files from our static files and mark the one inline
script and style with the request's CSP nonce.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from kam.api.authentication import SessionAuthentication


@method_decorator(login_required, name="dispatch")
class SwaggerView(SpectacularSwaggerView):
    template_name = "api/swagger_ui.html"
    authentication_classes = [SessionAuthentication]


@method_decorator(login_required, name="dispatch")
class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"
    authentication_classes = [SessionAuthentication]


def not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    """``handler404``: under /api/ a JSON answer, like every other API error; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception, **kwargs)
