from django.contrib import admin

from web.models import SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    """Administrators tidy up shared views (a view's filters are edited by saving it again in the list)."""

    list_display = ("name", "user", "list_name", "is_shared", "created_at")
    list_filter = ("list_name", "is_shared")
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("user", "list_name", "query", "created_at")
