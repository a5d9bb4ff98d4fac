from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kam.models import JobRun

admin.site.site_header = _("KAM administration")
admin.site.site_title = _("KAM")
admin.site.index_title = _("Key account management")


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request):  # jobs are requested from the app, the API or the CLI
        return False
