from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from integrations.models import ApiToken
        from integrations.tokens import token_cache_invalidate
        from integrations.webhooks import on_event_published
        from kam.events import event_published

        event_published.connect(on_event_published, dispatch_uid="integrations.webhooks")
        # A cached API token carries its user and the user's roles: any change to them retires it.
        User = get_user_model()
        for signal, sender in [
            (post_save, ApiToken), (post_delete, ApiToken), (post_save, User), (post_delete, User),
            (m2m_changed, User.groups.through), (post_delete, Group),
        ]:  # fmt: skip
            signal.connect(token_cache_invalidate, sender=sender, dispatch_uid=f"integrations.tokens.{signal}.{sender}")
