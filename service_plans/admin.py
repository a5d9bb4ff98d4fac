from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kam.admin_mixins import ServiceSaveAdminMixin, VisibleToUserAdminMixin
from kam.roles import is_administrator
from service_plans.models import (
    AccountPlan,
    AccountTeamMember,
    Alert,
    AlertEvent,
    AlertTask,
    BenchmarkCase,
    BusinessCalendar,
    Commitment,
    Escalation,
    Holiday,
    Need,
    Notification,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlaybookTaskTemplate,
    PlaybookTemplate,
    Project,
    ReportingLine,
    RuleConfig,
    ServiceRequest,
    ServiceRequestPause,
    ServiceStandard,
    SlaTarget,
    Survey,
    SurveyResponse,
    WhitespaceCell,
)
from service_plans.services import alerts as alert_services
from service_plans.services import plans as plan_services
from service_plans.services import standards as standard_services
from service_plans.services import whitespace as whitespace_services


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
    raw_id_fields = ["account", "contact", "survey"]
    date_hierarchy = "responded_at"
    show_full_result_count = False


class PauseInline(admin.TabularInline):
    model = ServiceRequestPause
    extra = 0
    readonly_fields = ["started_at", "ended_at", "reason"]
    can_delete = False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__", "account", "priority", "status", "opened_at", "first_response_due_at", "first_response_breached",
        "resolution_due_at", "resolution_breached",
    ]  # fmt: skip
    list_filter = ["priority", "status", "first_response_breached", "resolution_breached"]
    search_fields = ["title", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "sla_standard"]
    readonly_fields = [
        "first_response_due_at", "resolution_due_at", "first_response_breached", "resolution_breached", "paused_minutes",
        "sla_standard", "version",
    ]  # fmt: skip
    date_hierarchy = "opened_at"
    show_full_result_count = False
    inlines = [PauseInline]

    def save_model(self, request, obj, form, change):
        from service_plans.services import sla

        fields = {n: form.cleaned_data[n] for n in form.changed_data if n in sla.SERVICE_REQUEST_FIELDS}
        if change:
            saved = sla.service_request_update(service_request=obj, actor=request.user, **fields)
        else:
            fields.pop("priority", None)
            fields.pop("opened_at", None)
            saved = sla.service_request_create(
                account=obj.account, priority=obj.priority, opened_at=obj.opened_at, actor=request.user, **fields
            )
        obj.pk = saved.pk
        obj._state.adding = False


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


@admin.register(Need)
class NeedAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "account", "department", "priority", "status", "last_reviewed_on"]
    list_filter = ["priority", "status"]
    search_fields = ["description", "department", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    show_full_result_count = False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "sent_on"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(BenchmarkCase)
class BenchmarkCaseAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["title", "account", "approval_status", "published_on"]
    list_filter = ["approval_status"]
    search_fields = ["title", "problem", "solution", "offerings", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    show_full_result_count = False


# --- standards and configuration ---------------------------------------------------------------------


class AdministratorsOnlyMixin:
    """Configuration is the administrators' (kam.roles): account managers may look, not change.

    The managers' role grants every service_plans model; these models narrow it here.
    """

    def has_add_permission(self, request, *args):
        return is_administrator(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_administrator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_administrator(request.user) and super().has_delete_permission(request, obj)


class HolidayInline(AdministratorsOnlyMixin, admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "time_zone", "day_starts_at", "day_ends_at", "is_default"]
    inlines = [HolidayInline]


class SlaTargetInline(AdministratorsOnlyMixin, admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(ServiceStandard)
class ServiceStandardAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    """A used version is read-only; "Create the next version" copies it for editing (DOMAIN.md §9)."""

    list_display = ["tier", "version", "is_active", "calendar", "created_at"]
    list_filter = ["tier", "is_active"]
    list_select_related = ["calendar"]
    raw_id_fields = ["created_by"]
    inlines = [SlaTargetInline]
    actions = ["new_version"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and standard_services.standard_is_used(obj):
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description=_("Create the next version"))
    def new_version(self, request, queryset):
        for standard in queryset.filter(is_active=True):
            new = standard_services.service_standard_revise(standard=standard, actor=request.user)
            self.message_user(request, _("Created %(standard)s.") % {"standard": new})


@admin.register(ReportingLine)
class ReportingLineAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "manager"]
    list_select_related = ["user", "manager"]
    raw_id_fields = ["user", "manager"]
    search_fields = ["user__username", "manager__username"]


@admin.register(RuleConfig)
class RuleConfigAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    list_display = ["rule", "tier", "is_enabled", "params", "updated_at"]
    list_filter = ["rule", "tier", "is_enabled"]


class PlaybookTaskInline(AdministratorsOnlyMixin, admin.TabularInline):
    model = PlaybookTaskTemplate
    extra = 0


@admin.register(PlaybookTemplate)
class PlaybookTemplateAdmin(AdministratorsOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "code", "rule", "reason", "version", "is_active"]
    list_filter = ["rule", "is_active"]
    search_fields = ["name", "code"]
    inlines = [PlaybookTaskInline]
    actions = ["new_version"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_used:
            return False  # frozen once alerts used it: copy it into a new version instead
        return super().has_change_permission(request, obj)

    @admin.action(description=_("Create the next version"))
    def new_version(self, request, queryset):
        for playbook in queryset.filter(is_active=True):
            new = standard_services.playbook_new_version(playbook=playbook, actor=request.user)
            self.message_user(request, _("Created %(playbook)s.") % {"playbook": new})


# --- alerts ------------------------------------------------------------------------------------------


class AlertTaskInline(admin.TabularInline):
    model = AlertTask
    extra = 0
    fields = ["order", "title", "owner", "owner_role", "due_on", "status", "evidence_required", "completed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    fields = ["at", "kind", "actor", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    """Alerts are raised by the evaluation and changed through the alert services (pages, API)."""

    list_display = ["__str__", "account", "reason", "priority", "status", "owner", "due_on", "opened_at"]
    list_filter = ["rule", "priority", "status"]
    search_fields = ["account__name", "reason"]
    list_select_related = ["account", "owner"]
    raw_id_fields = ["account", "owner", "closed_by", "playbook"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    inlines = [AlertTaskInline, AlertEventInline]
    actions = ["acknowledge"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Acknowledge (in progress)"))
    def acknowledge(self, request, queryset):
        for alert in queryset.open():
            try:
                alert_services.alert_acknowledge(alert=alert, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)


@admin.register(AlertTask)
class AlertTaskAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["title", "alert", "owner", "due_on", "status"]
    list_filter = ["status", "owner_role"]
    search_fields = ["title", "alert__account__name"]
    list_select_related = ["alert", "owner"]
    raw_id_fields = ["alert", "owner", "template"]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "text", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "alert"]
    show_full_result_count = False

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if is_administrator(request.user) else qs.filter(user=request.user)


# --- plans -------------------------------------------------------------------------------------------


class ObjectiveInline(admin.TabularInline):
    model = PlanObjective
    extra = 0
    fields = ["title", "kpi_code", "baseline", "target", "status", "due_on"]
    show_change_link = True


class ReviewInline(admin.TabularInline):
    model = PlanReview
    extra = 0
    fields = ["kind", "scheduled_on", "held_on", "status", "recap_sent_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccountPlan)
class AccountPlanAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, admin.ModelAdmin):
    create_service = plan_services.plan_create
    update_service = plan_services.plan_update
    instance_kwarg = "plan"
    service_fields = plan_services.PLAN_FIELDS | {"account", "fiscal_year"}

    list_display = ["__str__", "account", "fiscal_year", "status", "owner", "standard"]
    list_filter = ["status", "fiscal_year"]
    search_fields = ["account__name"]
    list_select_related = ["account", "owner", "standard"]
    raw_id_fields = ["account", "owner", "approved_by", "standard"]
    readonly_fields = ["standard", "version"]
    inlines = [ObjectiveInline, ReviewInline]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account", "fiscal_year"] if obj else self.readonly_fields


@admin.register(PlanObjective)
class PlanObjectiveAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["title", "plan", "kpi_code", "status", "due_on"]
    list_filter = ["status"]
    search_fields = ["title", "plan__account__name"]
    list_select_related = ["plan__account"]
    raw_id_fields = ["plan", "owner"]


@admin.register(PlanAction)
class PlanActionAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["title", "plan", "owner_user", "owner_contact", "due_on", "status", "source"]
    list_filter = ["status", "source"]
    search_fields = ["title", "plan__account__name"]
    list_select_related = ["plan__account", "owner_user", "owner_contact"]
    raw_id_fields = ["plan", "objective", "owner_user", "owner_contact", "alert"]
    show_full_result_count = False


class CommitmentInline(admin.TabularInline):
    model = Commitment
    extra = 0
    raw_id_fields = ["owner_user", "owner_contact", "action"]


@admin.register(PlanReview)
class PlanReviewAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "plan", "kind", "scheduled_on", "held_on", "status", "recap_sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["plan__account__name"]
    list_select_related = ["plan__account"]
    raw_id_fields = ["plan", "meeting"]
    inlines = [CommitmentInline]
    show_full_result_count = False


@admin.register(WhitespaceCell)
class WhitespaceCellAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, admin.ModelAdmin):
    """Whitespace cells (DOMAIN.md §7.2); saved and deleted through ``service_plans.services.whitespace``."""

    create_service = whitespace_services.whitespace_cell_create
    update_service = whitespace_services.whitespace_cell_update
    instance_kwarg = "cell"
    service_fields = whitespace_services.CELL_FIELDS | {"plan"}

    list_display = ["buying_centre", "offering", "plan", "state", "our_annual_value", "est_total_spend", "currency"]
    list_filter = ["state"]
    search_fields = ["buying_centre", "offering", "plan__account__name"]
    list_select_related = ["plan__account"]
    raw_id_fields = ["plan"]
    readonly_fields = ["version"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "plan"] if obj else self.readonly_fields

    def delete_model(self, request, obj):
        whitespace_services.whitespace_cell_delete(cell=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for cell in queryset:
            whitespace_services.whitespace_cell_delete(cell=cell, actor=request.user)
