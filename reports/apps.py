from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from kam.jobs import JOB_RUNNERS
        from kam.models import JobKind
        from reports import receivers

        JOB_RUNNERS[JobKind.RECOMPUTE_KPIS] = "reports.jobs.recompute_kpis"
        receivers.connect()
