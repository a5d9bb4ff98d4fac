from django.contrib import admin

from kam.admin_mixins import VisibleToUserAdminMixin
from service_plans.models import AccountTeamMember


@admin.register(AccountTeamMember)
class AccountTeamMemberAdmin(VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["account", "user", "role", "since"]
    list_filter = ["role"]
    search_fields = ["account__name", "user__username"]
    list_select_related = ["account", "user"]
    raw_id_fields = ["account", "user"]
