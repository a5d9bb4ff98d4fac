from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.models import (
    Account,
    BuyingRole,
    Contact,
    Contract,
    ExchangeRate,
    InfluenceLink,
    Invoice,
    Meeting,
    TeamRelationship,
)
from kam.admin_mixins import ServiceSaveAdminMixin, VisibleToUserAdminMixin
from service_plans.models import AccountTeamMember


class TeamMemberInline(admin.TabularInline):
    model = AccountTeamMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, SimpleHistoryAdmin):
    create_service = services.account_create
    update_service = services.account_update
    instance_kwarg = "account"
    service_fields = services.ACCOUNT_FIELDS

    list_display = ["name", "tier", "health_band", "status", "owner", "region", "industry", "currency", "group_root"]
    list_filter = ["status", "tier", "health_band", "industry", "credit_rating"]
    search_fields = ["name", "external_id"]
    list_select_related = ["owner", "group_root"]
    raw_id_fields = ["parent", "owner"]
    readonly_fields = [
        "group_root",
        "tier",
        "abc_class",
        "value_score",
        "health_score",
        "health_band",
        "version",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False
    ordering = ["name", "id"]
    inlines = [TeamMemberInline]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not AccountTeamMember:
            return super().save_formset(request, form, formset, change)
        # Team changes go through the services, so the role's open alerts and tasks follow it (§5.3).
        account = form.instance
        formset.save(commit=False)
        for member in formset.deleted_objects:
            services.team_member_remove(member=member, actor=request.user)
        for member, changed in formset.changed_objects:
            if "user" in changed:  # another person: they leave the team and the new one joins it
                services.team_member_remove(member=AccountTeamMember.objects.get(pk=member.pk), actor=request.user)
                services.team_member_add(
                    account=account, user=member.user, role=member.role, since=member.since, actor=request.user
                )
            else:
                services.team_member_update(member=member, actor=request.user, role=member.role, since=member.since)
        for member in formset.new_objects:
            services.team_member_add(account=account, user=member.user, role=member.role, since=member.since, actor=request.user)
        return None

    fieldsets = [
        (None, {"fields": ["name", "external_id", "parent", "group_root", "owner", "status"]}),
        (_("Profile"), {"fields": ["industry", "region", "currency", "payment_terms_days", "credit_rating"]}),
        (
            _("Committee ratings"),
            {"fields": ["market_influence", "integration_potential", "relationship_stage", "wallet_estimate_amount"]},
        ),
        (_("Computed by tiering"), {"fields": ["tier", "abc_class", "value_score", "health_score", "health_band"]}),
        (_("Notes"), {"fields": ["notes", "version", "created_at", "updated_at"]}),
    ]


@admin.register(Contact)
class ContactAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, SimpleHistoryAdmin):
    create_service = services.contact_create
    update_service = services.contact_update
    instance_kwarg = "contact"
    service_fields = services.CONTACT_FIELDS

    list_display = ["name", "account", "title", "influence", "support", "coverage", "is_active"]
    list_filter = ["is_active", "coverage", "political_status", "buying_roles"]
    search_fields = ["name", "email", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "reports_to", "replaced_by"]
    filter_horizontal = ["buying_roles"]
    show_full_result_count = False


@admin.register(Contract)
class ContractAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, SimpleHistoryAdmin):
    create_service = services.contract_create
    update_service = services.contract_update
    instance_kwarg = "contract"
    service_fields = services.CONTRACT_FIELDS

    list_display = ["number", "account", "start_date", "end_date", "annual_value", "currency", "status", "auto_renew"]
    list_filter = ["status", "auto_renew", "is_customised_solution", "currency"]
    search_fields = ["number", "title", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "renewal_of", "superseded_by"]
    date_hierarchy = "end_date"
    show_full_result_count = False


@admin.register(Invoice)
class InvoiceAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, SimpleHistoryAdmin):
    create_service = services.invoice_create
    update_service = services.invoice_update
    instance_kwarg = "invoice"
    service_fields = services.INVOICE_FIELDS

    list_display = ["number", "account", "issued_on", "due_on", "amount", "currency", "paid_on", "written_off_amount"]
    list_filter = ["currency", "is_disputed"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "contract"]
    date_hierarchy = "issued_on"
    show_full_result_count = False


@admin.register(Meeting)
class MeetingAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "account", "kind", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["title", "summary", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "contacts", "attendees", "created_by"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "year", "rate_to_base"]
    list_filter = ["currency"]
    search_fields = ["currency"]


@admin.register(BuyingRole)
class BuyingRoleAdmin(admin.ModelAdmin):
    list_display = ["code", "__str__"]

    def has_add_permission(self, request):  # the nine roles of DOMAIN.md §6 are fixed
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TeamRelationship)
class TeamRelationshipAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, admin.ModelAdmin):
    """Relationship levels per colleague and contact (DOMAIN.md §6.2); the account page sums the gap."""

    create_service = services.team_relationship_create
    update_service = services.team_relationship_update
    instance_kwarg = "relationship"
    service_fields = services.TEAM_RELATIONSHIP_FIELDS | {"contact", "user"}

    list_display = ["contact", "user", "level_current", "level_target", "last_interaction_on"]
    list_filter = ["level_current", "level_target"]
    search_fields = ["contact__name", "contact__account__name", "user__username"]
    list_select_related = ["contact", "user"]
    raw_id_fields = ["contact", "user"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        return ["contact", "user"] if obj is not None else []

    def delete_model(self, request: Any, obj: Any) -> None:
        services.team_relationship_remove(relationship=obj, actor=request.user)


@admin.register(InfluenceLink)
class InfluenceLinkAdmin(VisibleToUserAdminMixin, ServiceSaveAdminMixin, SimpleHistoryAdmin):
    """Influence and conflict lines between an account's contacts (DOMAIN.md §6.1–6.2)."""

    create_service = services.influence_link_create
    update_service = services.influence_link_update
    instance_kwarg = "link"
    service_fields = services.INFLUENCE_LINK_FIELDS | {"from_contact", "to_contact"}

    list_display = ["from_contact", "kind", "to_contact", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["from_contact__name", "to_contact__name", "from_contact__account__name"]
    list_select_related = ["from_contact", "to_contact", "created_by"]
    raw_id_fields = ["from_contact", "to_contact"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        return ["from_contact", "to_contact"] if obj is not None else []

    def delete_model(self, request: Any, obj: Any) -> None:
        services.influence_link_delete(link=obj, actor=request.user)
