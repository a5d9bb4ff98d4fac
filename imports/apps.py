from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from kam.jobs import JOB_RUNNERS
        from kam.models import JobKind

        JOB_RUNNERS[JobKind.IMPORT_DATA] = "imports.services.import_job_runner"
