"""Service standards per tier (DOMAIN.md §7.4–7.5, §4.11) and the business-hours calendar of SLAs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier
from service_plans.models.delivery import Priority, TeamRole


class ReviewKind(models.TextChoices):
    # DOMAIN.md §7.3 PlanReview types, plus the T2 semi-annual business review of §7.4.
    INTERNAL_MONTHLY = "internal_monthly", _("Internal plan review")
    QBR = "qbr", _("QBR")
    EBR = "ebr", _("EBR")
    BUSINESS_REVIEW = "business_review", _("Business review")
    ANNUAL_JBP = "annual_jbp", _("Annual joint business plan")


class BusinessCalendar(models.Model):
    """Working days and hours in a time zone, with holidays: the clock SLA targets run on."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # ISO weekdays (1 = Monday … 7 = Sunday).
    working_days = models.JSONField(_("working days"), default=list, help_text=_("ISO weekdays, 1 = Monday … 7 = Sunday."))
    day_starts_at = models.TimeField(_("working day starts at"), default=dt.time(9, 0))
    day_ends_at = models.TimeField(_("working day ends at"), default=dt.time(18, 0))
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="calendar_one_default"),
            models.CheckConstraint(condition=Q(day_ends_at__gt=models.F("day_starts_at")), name="calendar_day_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        import zoneinfo

        errors: dict[str, list[Any]] = {}
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [_("Unknown time zone.")]
        days = self.working_days
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
            errors["working_days"] = [_("Give at least one weekday as a number from 1 (Monday) to 7 (Sunday).")]
        if self.day_starts_at and self.day_ends_at and self.day_ends_at <= self.day_starts_at:
            errors["day_ends_at"] = [_("The working day must end after it starts.")]
        if errors:
            raise ValidationError(errors)


class Holiday(models.Model):
    """A day without business hours (public holiday, company shutdown)."""

    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ServiceStandardQuerySet(models.QuerySet):
    def current(self) -> ServiceStandardQuerySet:
        return self.filter(is_active=True)


class ServiceStandard(models.Model):
    """How a tier is served: review cadence, required team roles, SLA targets, included services.

    Versioned like playbooks: a version that has been used (by a plan or a service request) is never
    edited; ``service_standard_revise`` creates the next version and makes it the active one.
    """

    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("business calendar"), on_delete=models.PROTECT)
    # {review kind: months between reviews}; a kind not listed is held on demand only.
    review_cadence = models.JSONField(
        _("review cadence"), default=dict, blank=True, help_text=_('Months between reviews per kind, e.g. {"qbr": 3, "ebr": 12}.')
    )
    required_roles = models.JSONField(_("required team roles"), default=list, blank=True)
    included_services = models.TextField(_("included value-added services"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ServiceStandardQuerySet.as_manager()

    class Meta:
        verbose_name = _("service standard")
        verbose_name_plural = _("service standards")
        ordering = ["tier", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "version"], name="standard_tier_version_unique"),
            models.UniqueConstraint(fields=["tier"], condition=Q(is_active=True), name="standard_one_active_per_tier"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="standard_tier_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} v{self.version}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        cadence = self.review_cadence
        if not isinstance(cadence, dict) or any(
            k not in ReviewKind.values or not isinstance(v, int) or not 1 <= v <= 24 for k, v in cadence.items()
        ):
            errors["review_cadence"] = [
                _("Map review kinds (%(kinds)s) to a number of months from 1 to 24.") % {"kinds": ", ".join(ReviewKind.values)}
            ]
        roles = self.required_roles
        if not isinstance(roles, list) or any(r not in TeamRole.values for r in roles):
            errors["required_roles"] = [_("Give a list of team roles (%(roles)s).") % {"roles": ", ".join(TeamRole.values)}]
        if errors:
            raise ValidationError(errors)


class SlaTarget(models.Model):
    """First-response and resolution targets for one priority, in business minutes of the calendar."""

    standard = models.ForeignKey(
        ServiceStandard, verbose_name=_("service standard"), on_delete=models.CASCADE, related_name="sla_targets"
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 60)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 365)]
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["priority"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "priority"], name="sla_target_unique"),
            models.CheckConstraint(
                condition=Q(resolution_minutes__gte=models.F("first_response_minutes")), name="sla_resolution_after_response"
            ),
            models.CheckConstraint(condition=Q(first_response_minutes__gte=1), name="sla_response_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.standard} {self.priority}: {self.first_response_minutes}/{self.resolution_minutes} min"

    def clean(self) -> None:
        if (
            self.first_response_minutes is not None
            and self.resolution_minutes is not None
            and self.resolution_minutes < self.first_response_minutes
        ):
            raise ValidationError(
                {"resolution_minutes": [_("The resolution target cannot be shorter than the first-response target.")]}
            )


class ReportingLine(models.Model):
    """Who a colleague reports to: overdue alerts escalate to the owner's manager (DOMAIN.md §5.3)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="reporting_line"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.CASCADE, related_name="direct_reports"
    )

    class Meta:
        verbose_name = _("reporting line")
        verbose_name_plural = _("reporting lines")
        constraints = [models.CheckConstraint(condition=~Q(user=models.F("manager")), name="reporting_not_self")]

    def __str__(self) -> str:
        return f"{self.user} → {self.manager}"

    def clean(self) -> None:
        if self.user_id and self.user_id == self.manager_id:
            raise ValidationError({"manager": [_("A person cannot be their own manager.")]})
