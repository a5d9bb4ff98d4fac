from django.contrib import admin

from kam.admin_mixins import VisibleToUserAdminMixin
from service_plans.models import AccountTeamMember, Escalation, Project, ServiceRequest, SurveyResponse


@admin.register(AccountTeamMember)
class AccountTeamMemberAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["account", "user", "role", "since"]
    list_filter = ["role"]
    search_fields = ["account__name", "user__username"]
    list_select_related = ["account", "user"]
    raw_id_fields = ["account", "user"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["account", "kind", "score", "respondent_role", "responded_at"]
    list_filter = ["kind", "respondent_role"]
    search_fields = ["account__name", "contact__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "contact"]
    date_hierarchy = "responded_at"
    show_full_result_count = False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "account", "priority", "status", "opened_at", "first_response_at", "resolved_at"]
    list_filter = ["priority", "status"]
    search_fields = ["title", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    date_hierarchy = "opened_at"
    show_full_result_count = False


@admin.register(Project)
class ProjectAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["name", "account", "kind", "status", "started_on", "ended_on"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    show_full_result_count = False


@admin.register(Escalation)
class EscalationAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["title", "account", "severity", "owner", "opened_at", "closed_at"]
    list_filter = ["severity"]
    search_fields = ["title", "account__name"]
    list_select_related = ["account", "owner"]
    raw_id_fields = ["account", "service_request", "owner"]
    show_full_result_count = False
