"""REST endpoints of the reports app: ``kpis/`` (the published snapshot, read-only) and ``kpi-targets/``.

``kpis/`` reads the ``KpiValue`` rows the last runs published and never recomputes (docs/api-contract.md:
``?code=&period=&scope=``). Visibility is ``reports.selectors``'s: executives and administrators see
every scope, an account manager the figures of their own book (``owner:<username>``) only, since
company, tier and region figures aggregate accounts they may not see.

Targets are the executives' (and administrators') to set, through ``reports.services``; everyone
reads them: a target says nothing about any account.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from kam.api.fields import BlankAsNullChoiceField
from kam.api.serializers import ApiModelSerializer
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from reports import services
from reports.filters import KpiValueFilterSet
from reports.models import KpiTarget, KpiValue, TargetStatus
from reports.selectors import kpi_values


class KpiValueSerializer(serializers.ModelSerializer):
    # Numbers, not strings (docs/api-contract.md: "value (number or null)"); ratios are fractions.
    value = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=False, read_only=True, allow_null=True)
    numerator = serializers.DecimalField(
        max_digits=34, decimal_places=12, coerce_to_string=False, read_only=True, allow_null=True
    )
    denominator = serializers.DecimalField(
        max_digits=34, decimal_places=12, coerce_to_string=False, read_only=True, allow_null=True
    )
    target_value = serializers.DecimalField(
        max_digits=30, decimal_places=12, coerce_to_string=False, read_only=True, allow_null=True
    )
    sample_size = serializers.IntegerField(source="n", read_only=True, allow_null=True)
    target_status = BlankAsNullChoiceField(choices=TargetStatus.choices, help_text="Null: no target applies.")

    class Meta:
        model = KpiValue
        fields = [
            "id", "code", "period", "scope", "value", "numerator", "denominator", "reason", "computed_at", "sample_size",
            "is_partial", "low_confidence", "period_kind", "period_start", "period_end", "as_of", "target_value",
            "target_status",
        ]  # fmt: skip
        read_only_fields = fields


class KpiViewSet(ServiceViewSet):
    """Published KPI values. An empty ``value`` has its ``reason``; ``low_confidence`` flags small samples."""

    queryset = KpiValue.objects.all()
    serializer_class = KpiValueSerializer
    filterset_class = KpiValueFilterSet
    ordering_fields = ["id", "code", "period", "scope", "period_start", "computed_at"]

    def base_queryset(self) -> models.QuerySet:
        return kpi_values(user=self.request.user)


class KpiTargetSerializer(ApiModelSerializer):
    target_value = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=False)
    tolerance = serializers.DecimalField(
        max_digits=30, decimal_places=12, coerce_to_string=False, min_value=0, required=False, allow_null=True,
        help_text="In the KPI's unit; empty: 5% of the target.",
    )  # fmt: skip

    class Meta:
        model = KpiTarget
        fields = [
            "id", "code", "scope", "period", "target_value", "direction", "tolerance", "note", "created_by", "version",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_by", "version", "created_at", "updated_at"]
        extra_kwargs = {"direction": {"required": False, "help_text": "Empty on creation: the KPI's own direction."}}


class KpiTargetViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """KPI targets: executives and administrators write, everyone reads. The most specific target
    (scope and period, scope, period, general) applies; published values get their status at once."""

    queryset = KpiTarget.objects.all()
    serializer_class = KpiTargetSerializer
    filterset_fields = ["code", "scope", "period"]
    ordering_fields = ["id", "code", "created_at", "updated_at"]
    create_service = services.kpi_target_create
    update_service = services.kpi_target_update
    delete_service = services.kpi_target_delete
    instance_kwarg = "target"

    def base_queryset(self) -> Any:
        return KpiTarget.objects.all()


ROUTES = [
    ("kpis", KpiViewSet, "kpi"),
    ("kpi-targets", KpiTargetViewSet, "kpi-target"),
]
