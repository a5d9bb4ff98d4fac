"""REST endpoints of the reports app: ``kpis/`` (the published snapshot, read-only) and ``kpi-targets/``.

``kpis/`` reads the ``KpiValue`` rows the last runs published and never recomputes (docs/api-contract.md:
``?code=&period=&scope=``). Visibility is ``reports.selectors``'s: executives and administrators see
every scope, an account manager the figures of their own book (``owner:<username>``) only, since
company, tier and region figures aggregate accounts they may not see.

Targets are the executives' (and administrators') to set, through ``reports.services``; everyone
reads them: a target says nothing about any account.

``alert-calibration/`` (DOMAIN.md §5.5) serves ``reports.calibration.alert_calibration`` for a fiscal
quarter (``?quarter=2026-Q3``, by default the last completed one) or ``?from=&to=`` dates: per rule,
the alerts fired, pending, judged and followed by churn or contraction, the precision and the lead
times. Executives and administrators only; account managers get 403.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from kam.api.fields import BlankAsNullChoiceField
from kam.api.permissions import SeesAllAccounts
from kam.api.serializers import ApiModelSerializer
from kam.api.viewsets import ApiViewMixin, CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from reports import services
from reports.calibration import HORIZON_DAYS, alert_calibration, calibration_window
from reports.filters import KpiValueFilterSet
from reports.formulas import MIN_SAMPLE
from reports.models import KpiTarget, KpiValue, TargetStatus
from reports.selectors import kpi_values
from service_plans.models import Alert


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


class AlertCalibrationRowSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The rule's code (R1…R10, L1, L2, E1).")
    name = serializers.CharField(help_text="The rule's name, in the request's language.")
    fired = serializers.IntegerField(help_text="Alerts of the rule opened in the window.")
    pending = serializers.IntegerField(help_text="Opened less than horizon_days before as_of: not judged yet.")
    judged = serializers.IntegerField(help_text="fired − pending: the precision's sample size.")
    followed = serializers.IntegerField(help_text="Judged alerts followed by churn or contraction within horizon_days.")
    precision = serializers.DecimalField(
        max_digits=5, decimal_places=4, coerce_to_string=False, allow_null=True,
        help_text="followed / judged, a fraction (0.5, not 50); null when nothing could be judged.",
    )  # fmt: skip
    median_lead_days = serializers.FloatField(allow_null=True, help_text="Days from the alert to the churn or contraction.")
    mean_lead_days = serializers.FloatField(allow_null=True, help_text="The same, averaged; null when none followed.")
    sample_size = serializers.IntegerField(source="judged", help_text="The same as judged.")
    low_sample = serializers.BooleanField(help_text="Fewer than min_sample judged alerts: read the precision with care.")


CALIBRATION_RESPONSE = inline_serializer(
    "AlertCalibration",
    {
        "quarter": serializers.CharField(allow_null=True, help_text="The fiscal quarter; null for from/to dates."),
        "from": serializers.DateField(help_text="First opening day counted."),
        "to": serializers.DateField(help_text="Last opening day counted (inclusive)."),
        "as_of": serializers.DateField(help_text="The day the alerts are judged on (today)."),
        "horizon_days": serializers.IntegerField(),
        "min_sample": serializers.IntegerField(),
        "results": AlertCalibrationRowSerializer(many=True),
    },
)


class AlertCalibrationViewSet(ApiViewMixin, viewsets.ViewSet):
    """DOMAIN.md §5.5 calibration, per signal: precision and lead time (executives and administrators)."""

    model = Alert  # the role must read alerts; SeesAllAccounts keeps account managers out (403)
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, SeesAllAccounts]
    list_is_object = True  # one object: the window and its rows (kam.api.schema.AutoSchema)

    @extend_schema(
        parameters=[
            OpenApiParameter("quarter", OpenApiTypes.STR, description="A fiscal quarter, 2026-Q3. Default: the last completed."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First opening day (with to, instead of quarter)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last opening day, inclusive (with from)."),
        ],
        responses={200: CALIBRATION_RESPONSE},
    )
    def list(self, request: Request) -> Response:
        """Per rule, the alerts opened in the window and how many were followed by churn or contraction
        within 180 days (judged from contracts), with the median and mean lead time in days."""
        today = timezone.localdate()
        params = request.query_params
        window = calibration_window(quarter=params.get("quarter"), start=params.get("from"), end=params.get("to"), today=today)
        rows = alert_calibration(user=request.user, start=window.start, end=window.end, as_of=today)
        return Response(
            {
                "quarter": window.quarter,
                "from": window.start,
                "to": window.end,
                "as_of": today,
                "horizon_days": HORIZON_DAYS,
                "min_sample": MIN_SAMPLE,
                "results": AlertCalibrationRowSerializer(rows, many=True).data,
            }
        )


ROUTES = [
    ("kpis", KpiViewSet, "kpi"),
    ("kpi-targets", KpiTargetViewSet, "kpi-target"),
    ("alert-calibration", AlertCalibrationViewSet, "alert-calibration"),
]
