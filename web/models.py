"""What the workspace stores of its own: people's saved list views. Everything else it reads and writes
through the other apps.

(The module also makes Django treat ``web`` as an app with models: ``post_migrate`` skips apps without
a models module, and ``kam.roles.sync_role_groups`` runs on the last app's signal.)
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SavedList(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")


class SavedView(models.Model):
    """A named set of filters and a sort order on a list, to come back to in one click.

    ``query`` is the list's query string, reduced to the list's own filter and sort parameters when it
    is saved; opening the view runs the filters again, so the visibility rule still decides the rows.
    A shared view is offered to every user; only its author can delete it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="saved_views"
    )
    list_name = models.CharField(_("list"), max_length=32, choices=SavedList.choices, default=SavedList.ACCOUNTS)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    is_shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name", "name"], name="saved_view_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="saved_view_has_name"),
        ]
        indexes = [models.Index(fields=["list_name"], condition=Q(is_shared=True), name="saved_view_shared")]

    def __str__(self) -> str:
        return self.name
