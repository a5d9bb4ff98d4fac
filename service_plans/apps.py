from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicePlansConfig(AppConfig):
    name = "service_plans"
    verbose_name = _("Service plans")

    def ready(self) -> None:
        from kam.events import event_published
        from kam.jobs import JOB_RUNNERS
        from kam.models import JobKind

        JOB_RUNNERS[JobKind.EVALUATE_ALERTS] = "service_plans.tasks.evaluate_alerts_runner"
        event_published.connect(on_event, dispatch_uid="service_plans.on_event")


def on_event(sender, name: str, payloads: list, **kwargs) -> None:
    """Domain events this app reacts to; the work runs in a task (receivers must stay quick)."""
    from service_plans import tasks

    if name == "account.tier_changed":
        tasks.tier_changed.delay(payloads=payloads)
    elif name == "account.health_band_changed":
        tasks.health_changed.delay(payloads=payloads)
