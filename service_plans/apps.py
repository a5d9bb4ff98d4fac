from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicePlansConfig(AppConfig):
    name = "service_plans"
    verbose_name = _("Service plans")
