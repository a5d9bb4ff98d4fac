"""``webhooks/``: webhook subscriptions and their delivery log.

Subscriptions are integration configuration, so administrators manage them (the role grants in
``kam.roles``); an administrator sees every subscription, anyone else only their own. Events are
not filtered by account visibility, which is why subscribing is not open to account managers.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookSubscription
from kam.api.serializers import ApiModelSerializer
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, OrderingFilter, ServiceViewSet, UpdateServiceMixin
from kam.events import EVENT_TYPES
from kam.roles import is_administrator


class WebhookSubscriptionSerializer(ApiModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), allow_empty=False)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        min_length=16,
        max_length=128,
        help_text="Signing secret (16+ characters). Left out on creation, one is generated and returned once.",
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id", "owner", "name", "url", "secret", "event_types", "is_active", "consecutive_failures", "disabled_at",
            "disabled_reason", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id",
            "owner",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "version",
            "created_at",
            "updated_at",
        ]


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The creation answer: the only time the signing secret is shown."""

    secret = serializers.CharField(read_only=True)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event_id", "event_type", "status", "attempts", "next_attempt_at", "last_status_code", "last_error",
            "created_at", "delivered_at", "body",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliveryPageSerializer(serializers.Serializer):
    results = WebhookDeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class WebhookSubscriptionViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """Webhook subscriptions (administrators). Events are POSTed signed; see docs/api.md for verifying them."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filterset_fields = ["is_active"]
    search_fields = ["name", "url"]
    ordering_fields = ["id", "name", "created_at"]
    service_takes_actor = False
    create_service = webhooks.subscription_create
    update_service = webhooks.subscription_update
    delete_service = webhooks.subscription_delete
    instance_kwarg = "subscription"
    action_permissions = {"deliveries": ["integrations.view_webhooksubscription"]}

    def base_queryset(self) -> Any:
        user = self.request.user
        subscriptions = WebhookSubscription.objects.all()
        return subscriptions if is_administrator(user) else subscriptions.filter(owner=user)

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated_data)
        if self.action == "create":
            data["owner"] = self.request.user
        return data

    @extend_schema(responses={201: WebhookSubscriptionCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        subscription = WebhookSubscription.objects.get(pk=response.data["id"])
        response.data["secret"] = subscription.secret
        return response

    @extend_schema(responses={200: WebhookDeliveryPageSerializer}, filters=False)
    @action(
        detail=True, methods=["get"], filter_backends=[OrderingFilter], ordering=("-id",), ordering_fields=["id", "created_at"]
    )
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log of this subscription, newest first."""
        subscription = self.get_object()
        page = self.paginate_queryset(WebhookDelivery.objects.filter(subscription=subscription))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


ROUTES = [("webhooks", WebhookSubscriptionViewSet, "webhook")]
