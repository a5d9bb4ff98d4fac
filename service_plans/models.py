"""How KAM serves each key account: its team (and, as they land, standards, plans, alerts…)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.visibility import AccountScopedQuerySet


class TeamRole(models.TextChoices):
    # DOMAIN.md §5.3 and §7.5: rules resolve owners by role, not by named user.
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    SOLUTION_LEAD = "solution_lead", _("Solution lead")
    SERVICE_LEAD = "service_lead", _("Service lead")
    FINANCE = "finance", _("Finance")
    DELIVERY = "delivery", _("Delivery")


class AccountTeamMember(models.Model):
    """A colleague on an account's cross-department team. Serving on a team makes the account visible."""

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="team_members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="account_teams"
    )
    role = models.CharField(_("role"), max_length=24, choices=TeamRole.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="team_one_role_per_user"),
            models.CheckConstraint(condition=Q(role__in=TeamRole.values), name="team_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "account"], name="team_user")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} ({self.account})"
