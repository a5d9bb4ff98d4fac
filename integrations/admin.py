from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integrations.models import ApiToken, WebhookDelivery, WebhookSubscription
from integrations.tokens import token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created on the API tokens page or with ``create_api_token`` (the key is shown once there)."""

    list_display = ["name", "prefix", "user", "scope", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "scope", "created_at", "expires_at", "revoked_at", "last_used_at"]

    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "is_active", "consecutive_failures", "disabled_at"]
    list_filter = ["is_active"]
    list_select_related = ["owner"]
    readonly_fields = ["owner", "url", "event_types", "consecutive_failures", "disabled_at", "disabled_reason", "version"]
    exclude = ["secret"]

    def has_add_permission(self, request):  # managed through the API, whose services validate the URL
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "subscription", "status", "attempts", "last_status_code", "created_at", "delivered_at"]
    list_filter = ["status", "event_type"]
    list_select_related = ["subscription"]
    raw_id_fields = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
