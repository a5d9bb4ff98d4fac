"""The base viewset: visibility, services, ETag/If-Match, Idempotency-Key, role permissions.

A resource is a subclass that names its model, serializer, FilterSet, services and the relations
its list needs (``list_select_related``/``list_prefetch_related``, so a page costs a constant number
of queries). Writes never call ``save()`` here: ``create_service``/``update_service``/
``delete_service`` are the app's service functions, which validate, lock, version and audit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.exceptions import PreconditionFailed
from kam.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from kam.api.idempotency import run_idempotent
from kam.api.permissions import METHOD_ACTIONS, model_permissions


def parse_if_match(value: str | None) -> list[str] | None:
    """The entity tags of an ``If-Match`` header (``*`` kept as is); weak tags never match (RFC 9110)."""
    if value is None:
        return None
    tags = []
    for part in value.split(","):
        part = part.strip()
        if part == "*" or (part.startswith('"') and part.endswith('"') and len(part) >= 2):
            tags.append(part)
    return tags


class OrderingFilter(filters.OrderingFilter):
    """Always ends the ordering with ``id`` so that cursor pages are stable when values tie."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or ["id"])
        if not any(term.lstrip("-") in {"id", "pk"} for term in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


class ApiViewMixin:
    """Idempotency-Key on every POST, and role permissions, for any API view."""

    # Extra model permissions per action ({"renew": ["accounts.add_contract"]}); None = by HTTP method.
    action_permissions: ClassVar[dict[str, list[str]]] = {}
    model: ClassVar[type[models.Model] | None] = None

    def get_required_permissions(self, request: Request) -> list[str]:
        action = getattr(self, "action", None)
        if action in self.action_permissions:
            return list(self.action_permissions[action])
        model = self.model or getattr(getattr(self, "queryset", None), "model", None)
        if model is None:
            return []
        return model_permissions(model, METHOD_ACTIONS.get(request.method, ()))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # DRF's dispatch, with the POST handler wrapped in the idempotency transaction when the
        # client sends a key; authentication, permissions and throttles run first, as usual.
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = (
                getattr(self, method, self.http_method_not_allowed)
                if method in self.http_method_names
                else self.http_method_not_allowed
            )
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if request.method == "POST" and key is not None:
                response = run_idempotent(request, key, lambda: handler(request, *args, **kwargs))
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class ServiceViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read what the user may see; the write mixins below add POST, PUT/PATCH and DELETE."""

    create_service: ClassVar[Callable[..., Any] | None] = None
    update_service: ClassVar[Callable[..., Any] | None] = None
    delete_service: ClassVar[Callable[..., Any] | None] = None
    instance_kwarg: ClassVar[str] = ""
    list_select_related: ClassVar[tuple[str, ...]] = ()
    list_prefetch_related: ClassVar[tuple[Any, ...]] = ()
    # Services that take who acted (simple-history's audit trail records it).
    service_takes_actor: ClassVar[bool] = True
    ordering: ClassVar[tuple[str, ...]] = ("id",)
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, OrderingFilter]

    # --- reads ---------------------------------------------------------------------------------

    def base_queryset(self) -> models.QuerySet:
        """Everything this user may see (the visibility rule); override for models without accounts."""
        return self.queryset.model.objects.visible_to(self.request.user)

    def get_queryset(self) -> models.QuerySet:
        queryset = self.base_queryset()
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        if getattr(self, "_lock_for_update", False):
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def filter_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        # Filters, search and ordering shape lists; an object is found by its id alone (and building
        # the FilterSet's form for every detail request would cost a few milliseconds for nothing).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def etag(self, instance: models.Model, data: Any = None) -> str:
        """A strong ETag: the row's version when it has one, else a hash of its representation."""
        version = getattr(instance, "version", None)
        if isinstance(version, int):
            return f'"{version}"'
        if data is None:
            data = self.get_serializer(instance).data
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()
        return f'"{digest[:32]}"'

    def object_response(self, instance: models.Model, status_code: int = status.HTTP_200_OK, **headers: str) -> Response:
        data = self.get_serializer(instance).data
        return Response(data, status=status_code, headers={"ETag": self.etag(instance, data), **headers})

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.object_response(self.get_object())

    def checked_object(self, request: Request) -> tuple[models.Model, int | None]:
        """The object, locked and checked against ``If-Match`` when the client sent one.

        Returns the object and the version the service must still find (so that a change made
        between this check and the service's own lock is caught there too). Call inside a
        transaction.
        """
        tags = parse_if_match(request.headers.get("If-Match"))
        if tags is None:
            return self.get_object(), None
        self._lock_for_update = True
        try:
            instance = self.get_object()
        finally:
            self._lock_for_update = False
        if "*" not in tags and self.etag(instance) not in tags:
            raise PreconditionFailed(getattr(instance, "version", None))
        version = getattr(instance, "version", None)
        return instance, version if isinstance(version, int) else None

    # --- calling the services ------------------------------------------------------------------

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        """Validated data as the service's keyword arguments (override to rename or add)."""
        return dict(validated_data)

    def actor_kwargs(self) -> dict[str, Any]:
        return {"actor": self.request.user} if self.service_takes_actor else {}


class CreateServiceMixin:
    """POST on the list: validate, call ``create_service``, answer 201 with ``ETag`` and ``Location``."""

    def perform_create(self, serializer: Any) -> models.Model:
        return type(self).create_service(**self.actor_kwargs(), **self.service_kwargs(serializer.validated_data))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_create(serializer)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{instance.pk}/")
        return self.object_response(instance, status.HTTP_201_CREATED, Location=location)


class UpdateServiceMixin:
    """PUT/PATCH: ``If-Match`` checked under the row lock (412 when stale), then ``update_service``."""

    def perform_update(self, serializer: Any, *, expected_version: int | None) -> models.Model:
        version = {"expected_version": expected_version} if expected_version is not None else {}
        return type(self).update_service(
            **{self.instance_kwarg: serializer.instance},
            **self.actor_kwargs(),
            **version,
            **self.service_kwargs(serializer.validated_data),
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance, expected_version = self.checked_object(request)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            updated = self.perform_update(serializer, expected_version=expected_version)
        return self.object_response(updated)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


class DestroyServiceMixin:
    """DELETE through ``delete_service``; ``If-Match`` honoured; still-referenced rows answer 409."""

    def perform_destroy(self, instance: models.Model) -> None:
        type(self).delete_service(**{self.instance_kwarg: instance}, **self.actor_kwargs())

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            instance, _ = self.checked_object(request)
            self.perform_destroy(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)
