"""``/api/v1/`` (every app's ``ROUTES``), the OpenAPI schema and its readers."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.urls import include, path
from django.utils.module_loading import module_has_submodule
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from kam.api.jobs import JobViewSet
from kam.api.views import RedocView, SwaggerView

app_name = "api"

CORE_ROUTES = [("jobs", JobViewSet, "job")]


def api_routes() -> list[tuple[str, type, str]]:
    """The core routes and each installed app's ``<app>.api.ROUTES``, in app order."""
    routes = list(CORE_ROUTES)
    for app_config in apps.get_app_configs():
        if app_config.name != "kam" and module_has_submodule(app_config.module, "api"):
            routes.extend(getattr(import_module(f"{app_config.name}.api"), "ROUTES", ()))
    return routes


router = SimpleRouter()
for prefix, viewset, basename in api_routes():
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
]
