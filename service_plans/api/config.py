"""Configuration read by everyone and written by administrators: playbooks and service standards."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.serializers import ApiModelSerializer
from kam.api.viewsets import CreateServiceMixin, ServiceViewSet
from service_plans.api.common import ADMIN_WRITE_PERMISSIONS, EmptySerializer, HashETagMixin, InputSerializer, VerbMixin
from service_plans.filters import PlaybookFilterSet, ServiceStandardFilterSet
from service_plans.models import BusinessCalendar, PlaybookTaskTemplate, PlaybookTemplate, ServiceStandard, SlaTarget
from service_plans.services import standards

# --- Configuration: playbooks and service standards ---------------------------------------------------


class PlaybookTaskSerializer(ApiModelSerializer):
    class Meta:
        model = PlaybookTaskTemplate
        fields = ["id", "order", "title", "description", "owner_role", "due_offset_days", "required", "evidence_required"]
        read_only_fields = ["id"]
        extra_kwargs = {"order": {"required": False}}


class PlaybookSerializer(ApiModelSerializer):
    tasks = PlaybookTaskSerializer(many=True, required=False)

    class Meta:
        model = PlaybookTemplate
        fields = ["id", "code", "name", "rule", "reason", "version", "is_active", "tasks", "created_at"]
        read_only_fields = ["id", "version", "is_active", "created_at"]


class PlaybookViewSet(HashETagMixin, VerbMixin, CreateServiceMixin, ServiceViewSet):
    """Playbooks: the tasks an alert of a rule gets. Read by everyone; administrators create them and make
    new versions (``new-version`` copies the active version; alerts keep the version they used)."""

    queryset = PlaybookTemplate.objects.all()
    serializer_class = PlaybookSerializer
    filterset_class = PlaybookFilterSet
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "rule", "version", "created_at"]
    list_prefetch_related = ("tasks",)
    permission_classes = ADMIN_WRITE_PERMISSIONS
    create_service = standards.playbook_create

    def base_queryset(self) -> models.QuerySet:
        return PlaybookTemplate.objects.all()

    @extend_schema(request=EmptySerializer, responses={201: PlaybookSerializer})
    @action(detail=True, methods=["post"], url_path="new-version", url_name="version")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        """Copy the active version of a playbook, with its tasks, into the next version (which becomes active)."""
        new = self.run_verb(request, EmptySerializer, _playbook_new_version, "playbook")
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{new.pk}/")
        return self.object_response(new, status.HTTP_201_CREATED, Location=location)


def _playbook_new_version(*, playbook: PlaybookTemplate, actor: Any) -> PlaybookTemplate:
    return standards.playbook_new_version(playbook=playbook, actor=actor)


class SlaTargetSerializer(ApiModelSerializer):
    class Meta:
        model = SlaTarget
        fields = ["priority", "first_response_minutes", "resolution_minutes"]


class ServiceStandardSerializer(ApiModelSerializer):
    sla_targets = SlaTargetSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceStandard
        fields = [
            "id", "tier", "version", "is_active", "calendar", "review_cadence", "required_roles", "included_services",
            "sla_targets", "created_at", "created_by",
        ]  # fmt: skip
        read_only_fields = fields


class ServiceStandardReviseSerializer(InputSerializer):
    calendar = serializers.PrimaryKeyRelatedField(queryset=BusinessCalendar.objects.all(), required=False)
    review_cadence = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=24), required=False)
    required_roles = serializers.ListField(child=serializers.CharField(max_length=24), required=False)
    included_services = serializers.CharField(required=False, allow_blank=True)
    sla_targets = SlaTargetSerializer(many=True, required=False, help_text="Priorities not listed keep their targets.")

    def validate_sla_targets(self, value: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        targets = {}
        for item in value:
            if item["priority"] in targets:
                raise serializers.ValidationError(_("Each priority once."))
            targets[item["priority"]] = (item["first_response_minutes"], item["resolution_minutes"])
        return targets


class ServiceStandardViewSet(HashETagMixin, VerbMixin, ServiceViewSet):
    """How each tier is served (review cadence, required roles, SLA targets). Read by everyone; an
    administrator's ``revise`` makes the next version, which becomes the active one."""

    queryset = ServiceStandard.objects.all()
    serializer_class = ServiceStandardSerializer
    filterset_class = ServiceStandardFilterSet
    ordering_fields = ["id", "tier", "version", "created_at"]
    list_prefetch_related = ("sla_targets",)
    permission_classes = ADMIN_WRITE_PERMISSIONS

    def base_queryset(self) -> models.QuerySet:
        return ServiceStandard.objects.all()

    @extend_schema(request=ServiceStandardReviseSerializer, responses={201: ServiceStandardSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, pk: str | None = None) -> Response:
        """Create the next version of this tier's standard with the changes; plans and requests keep theirs."""
        new = self.run_verb(request, ServiceStandardReviseSerializer, _standard_revise, "standard")
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{new.pk}/")
        return self.object_response(new, status.HTTP_201_CREATED, Location=location)


def _standard_revise(*, standard: ServiceStandard, actor: Any, **changes: Any) -> ServiceStandard:
    return standards.service_standard_revise(standard=standard, actor=actor, **changes)
