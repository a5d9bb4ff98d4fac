from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_buying_roles(app_config: Any = None, **kwargs: Any) -> None:
    """The nine buying roles are reference data, not user data: recreate them after every migrate
    and every flush (a transactional test's teardown flushes tables, migration rows included)."""
    if app_config is not None and app_config.label != "accounts":
        return
    from accounts.choices import BuyingRoleCode
    from accounts.models import BuyingRole

    existing = set(BuyingRole.objects.values_list("code", flat=True))
    BuyingRole.objects.bulk_create([BuyingRole(code=code) for code in BuyingRoleCode.values if code not in existing])


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Key accounts")

    def ready(self) -> None:
        post_migrate.connect(ensure_buying_roles, dispatch_uid="accounts.ensure_buying_roles")
