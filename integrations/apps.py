from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from integrations.webhooks import on_event_published
        from kam.events import event_published

        event_published.connect(on_event_published, dispatch_uid="integrations.webhooks")
