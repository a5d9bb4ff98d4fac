from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KamConfig(AppConfig):
    name = "kam"
    verbose_name = _("KAM core")

    def ready(self) -> None:
        from kam.roles import sync_role_groups

        # After the last app migrates, so that every model's permissions exist.
        post_migrate.connect(sync_role_groups, dispatch_uid="kam.sync_role_groups")
