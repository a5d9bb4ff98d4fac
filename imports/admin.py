from django.contrib import admin

from imports.models import ImportRecord


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    """Read-only: imports are run from the import pages, the API or the command line. Deleting a
    record deletes its stored file and error report."""

    list_display = ["id", "kind", "file_name", "status", "is_dry_run", "user", "rows_total", "error_count", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["user"]
    search_fields = ["file_name", "user__username"]
    readonly_fields = [f.name for f in ImportRecord._meta.fields]
    exclude = ["errors"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("errors", "headers")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
