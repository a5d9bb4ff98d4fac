from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The server-rendered workspace: pages, forms and exports built on the other apps' data."""

    name = "web"
    verbose_name = _("Web workspace")
