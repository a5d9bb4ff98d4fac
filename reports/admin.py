from __future__ import annotations

from typing import Any

from django.contrib import admin

from kam.admin_mixins import ServiceSaveAdminMixin
from reports import services
from reports.models import KpiRun, KpiTarget, KpiValue
from reports.selectors import kpi_values


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by KPI runs only."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(KpiRun)
class KpiRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "trigger", "as_of", "is_full", "value_count", "started_at", "finished_at", "job"]
    list_filter = ["status", "trigger", "is_full"]
    list_select_related = ["job"]


@admin.register(KpiValue)
class KpiValueAdmin(ReadOnlyAdmin):
    list_display = [
        "code", "period", "scope", "value", "numerator", "denominator", "n", "is_partial", "low_confidence",
        "reason", "target_status", "computed_at",
    ]  # fmt: skip
    list_filter = ["code", "period_kind", "is_partial", "low_confidence", "target_status"]
    search_fields = ["scope", "period"]
    raw_id_fields = ["run"]
    show_full_result_count = False

    def get_queryset(self, request: Any) -> Any:
        # The same rule as the pages and the API: a manager sees their own book's KPIs only.
        return kpi_values(user=request.user)


@admin.register(KpiTarget)
class KpiTargetAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    create_service = services.kpi_target_create
    update_service = services.kpi_target_update
    instance_kwarg = "target"
    service_fields = services.TARGET_FIELDS

    list_display = ["code", "scope", "period", "target_value", "direction", "tolerance", "created_by", "updated_at"]
    list_filter = ["code", "direction"]
    search_fields = ["scope", "period", "note"]
    readonly_fields = ["created_by", "version", "created_at", "updated_at"]

    def delete_model(self, request: Any, obj: KpiTarget) -> None:
        services.kpi_target_delete(target=obj, actor=request.user)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for target in queryset:
            services.kpi_target_delete(target=target, actor=request.user)
