from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TieringConfig(AppConfig):
    name = "tiering"
    verbose_name = _("Tiering")

    def ready(self) -> None:
        from kam.jobs import JOB_RUNNERS
        from kam.models import JobKind

        JOB_RUNNERS[JobKind.RECOMPUTE_SCORES] = "tiering.tasks.recompute_scores_runner"
