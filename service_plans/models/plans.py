"""Account plans, objectives, actions, reviews and commitments (DOMAIN.md §7.3–7.4)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, F, Q
from django.utils.translation import gettext_lazy as _

from accounts.visibility import AccountScopedQuerySet
from service_plans.models.standards import ReviewKind

MONEY = {"max_digits": 18, "decimal_places": 2}


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class AccountPlan(models.Model):
    """The plan for one account and fiscal year. At most one ACTIVE plan per account and year."""

    account = models.ForeignKey("accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="plans")
    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"), validators=[MinValueValidator(2000), MaxValueValidator(2200)]
    )
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="plans_owned"
    )
    standard = models.ForeignKey(
        "service_plans.ServiceStandard",
        verbose_name=_("service standard"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plans",
        help_text=_("The standard version the scheduled reviews and tasks follow."),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    customer_vision = models.TextField(_("customer vision"), blank=True)
    customer_priorities = models.TextField(_("customer strategic priorities"), blank=True)
    customer_kpis = models.TextField(_("customer KPIs"), blank=True)
    challenges = models.TextField(_("challenges"), blank=True)
    competitors = models.TextField(_("competitors"), blank=True)
    industry_trends = models.TextField(_("industry trends"), blank=True)
    swot_strengths = models.TextField(_("strengths"), blank=True)
    swot_weaknesses = models.TextField(_("weaknesses"), blank=True)
    swot_opportunities = models.TextField(_("opportunities"), blank=True)
    swot_threats = models.TextField(_("threats"), blank=True)
    revenue_target_amount = models.DecimalField(_("revenue target"), **MONEY, null=True, blank=True)
    margin_target_amount = models.DecimalField(_("gross margin target"), **MONEY, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    share_of_wallet_target = models.DecimalField(
        _("share of wallet target"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("A fraction, 0.35 for 35%."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("account plan")
        verbose_name_plural = _("account plans")
        indexes = [models.Index(fields=["account", "fiscal_year"], name="plan_account_year")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "fiscal_year"], condition=Q(status="active"), name="plan_one_active_per_account_year"
            ),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_valid"),
            models.CheckConstraint(
                condition=Q(revenue_target_amount__isnull=True, margin_target_amount__isnull=True) | ~Q(currency=""),
                name="plan_targets_have_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} FY{self.fiscal_year}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if (self.revenue_target_amount is not None or self.margin_target_amount is not None) and not self.currency:
            errors["currency"] = [_("Give the currency of the revenue and margin targets.")]
        if (
            self.status == PlanStatus.ACTIVE
            and self.account_id
            and self.fiscal_year
            and AccountPlan.objects.filter(account_id=self.account_id, fiscal_year=self.fiscal_year, status=PlanStatus.ACTIVE)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["status"] = [_("This account already has an active plan for that fiscal year.")]
        if errors:
            raise ValidationError(errors)


class PlanChildQuerySet(AccountScopedQuerySet):
    account_lookup = "plan__account_id"


class ObjectiveStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    ACHIEVED = "achieved", _("Achieved")
    MISSED = "missed", _("Missed")


class ObjectiveQuerySet(PlanChildQuerySet):
    def with_progress(self) -> ObjectiveQuerySet:
        """Annotate ``actions_total``, ``actions_done`` (cancelled actions do not count)."""
        return self.annotate(
            actions_total=Count("actions", filter=~Q(actions__status="cancelled")),
            actions_done=Count("actions", filter=Q(actions__status="done")),
        )


class PlanObjective(models.Model):
    """A measurable objective of a plan; its % complete is derived from its actions."""

    plan = models.ForeignKey(AccountPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kpi_code = models.CharField(_("KPI code"), max_length=40, blank=True, help_text=_("Optional: a KPI code such as nps or grr."))
    baseline = models.DecimalField(_("baseline"), max_digits=18, decimal_places=4, null=True, blank=True)
    target = models.DecimalField(_("target"), max_digits=18, decimal_places=4, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    start_on = models.DateField(_("start"), null=True, blank=True)
    due_on = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ObjectiveStatus.choices, default=ObjectiveStatus.NOT_STARTED)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ObjectiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan objective")
        verbose_name_plural = _("plan objectives")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ObjectiveStatus.values), name="objective_status_valid"),
            models.CheckConstraint(
                condition=Q(due_on__isnull=True) | Q(start_on__isnull=True) | Q(due_on__gte=F("start_on")),
                name="objective_due_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.start_on and self.due_on and self.due_on < self.start_on:
            raise ValidationError({"due_on": [_("The due date cannot be before the start date.")]})
        if self.kpi_code and (self.target is None):
            raise ValidationError({"target": [_("An objective tied to a KPI needs a target value.")]})


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ActionSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    COMMITMENT = "commitment", _("Our commitment in a review")
    STANDARD = "standard", _("Service standard")


class PlanAction(models.Model):
    """A step of a plan, owned by a colleague or by a customer contact (exactly one of them).

    Actions generated from the service standard carry a ``generation_key``: regeneration after a tier
    change recognises them by it and never touches one that is done.
    """

    plan = models.ForeignKey(AccountPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="actions")
    objective = models.ForeignKey(
        PlanObjective, verbose_name=_("objective"), null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    title = models.CharField(_("title"), max_length=200)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (colleague)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner_contact = models.ForeignKey(
        "accounts.Contact", verbose_name=_("owner (customer)"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    alert = models.ForeignKey(
        "service_plans.Alert",
        verbose_name=_("alert"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_actions",
    )
    source = models.CharField(_("source"), max_length=16, choices=ActionSource.choices, default=ActionSource.MANUAL)
    generation_key = models.CharField(_("generation key"), max_length=80, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PlanChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan action")
        verbose_name_plural = _("plan actions")
        indexes = [models.Index(fields=["plan", "status", "due_on"], name="action_plan_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="action_status_valid"),
            models.CheckConstraint(
                condition=Q(owner_user__isnull=True) | Q(owner_contact__isnull=True), name="action_one_owner_kind"
            ),
            models.CheckConstraint(condition=~Q(status="done") | Q(completed_at__isnull=False), name="action_done_has_time"),
            models.UniqueConstraint(
                fields=["plan", "generation_key"], condition=~Q(generation_key=""), name="action_generation_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.owner_user_id and self.owner_contact_id:
            errors["owner_contact"] = [_("An action has one owner: a colleague or a customer contact, not both.")]
        if self.owner_contact_id and self.plan_id and self.owner_contact.account_id != self.plan.account_id:
            errors["owner_contact"] = [_("The contact belongs to another account.")]
        if self.objective_id and self.plan_id and self.objective.plan_id != self.plan_id:
            errors["objective"] = [_("The objective belongs to another plan.")]
        if self.alert_id and self.plan_id and self.alert.account_id != self.plan.account_id:
            errors["alert"] = [_("The alert belongs to another account.")]
        if errors:
            raise ValidationError(errors)


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    HELD = "held", _("Held")
    COMPLETE = "complete", _("Complete")
    CANCELLED = "cancelled", _("Cancelled")


class PlanReview(models.Model):
    """A monthly review, QBR, EBR or annual plan review of a plan (DOMAIN.md §7.4).

    A review is COMPLETE only once it was held, its recap was sent and the next review of the same
    kind is scheduled (``plan_review_complete``).
    """

    plan = models.ForeignKey(AccountPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(_("kind"), max_length=20, choices=ReviewKind.choices)
    scheduled_on = models.DateField(_("scheduled on"))
    held_on = models.DateField(_("held on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.SCHEDULED)
    meeting = models.ForeignKey(
        "accounts.Meeting", verbose_name=_("meeting"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    recap_sent_at = models.DateTimeField(_("recap sent at"), null=True, blank=True)
    generation_key = models.CharField(_("generation key"), max_length=80, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PlanChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan review")
        verbose_name_plural = _("plan reviews")
        ordering = ["scheduled_on", "id"]
        indexes = [models.Index(fields=["plan", "kind", "scheduled_on"], name="review_plan_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReviewKind.values), name="review_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="review_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=["held", "complete"]) | Q(held_on__isnull=False), name="review_held_has_date"
            ),
            models.CheckConstraint(
                condition=~Q(status="complete") | Q(recap_sent_at__isnull=False), name="review_complete_has_recap"
            ),
            models.UniqueConstraint(
                fields=["plan", "generation_key"], condition=~Q(generation_key=""), name="review_generation_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.scheduled_on}"


class CommitmentSide(models.TextChoices):
    OURS = "ours", _("Ours")
    THEIRS = "theirs", _("Theirs")


class CommitmentQuerySet(AccountScopedQuerySet):
    account_lookup = "review__plan__account_id"


class Commitment(models.Model):
    """A commitment made in a review by us or by the customer; each of ours becomes a plan action."""

    review = models.ForeignKey(PlanReview, verbose_name=_("review"), on_delete=models.CASCADE, related_name="commitments")
    side = models.CharField(_("side"), max_length=8, choices=CommitmentSide.choices)
    text = models.CharField(_("commitment"), max_length=500)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (colleague)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner_contact = models.ForeignKey(
        "accounts.Contact", verbose_name=_("owner (customer)"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    action = models.OneToOneField(
        PlanAction, verbose_name=_("action"), null=True, blank=True, on_delete=models.SET_NULL, related_name="commitment"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CommitmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        constraints = [
            models.CheckConstraint(condition=Q(side__in=CommitmentSide.values), name="commitment_side_valid"),
            models.CheckConstraint(
                condition=Q(owner_user__isnull=True) | Q(owner_contact__isnull=True), name="commitment_one_owner_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    def clean(self) -> None:
        if self.owner_user_id and self.owner_contact_id:
            raise ValidationError(
                {"owner_contact": [_("A commitment has one owner: a colleague or a customer contact, not both.")]}
            )
        if self.side == CommitmentSide.THEIRS and self.owner_user_id:
            raise ValidationError({"owner_user": [_("The customer's commitments are owned by a customer contact.")]})
        if self.side == CommitmentSide.OURS and self.owner_contact_id:
            # Ours become plan actions owned by one of us (§7.4).
            raise ValidationError({"owner_contact": [_("Our commitments are owned by a colleague.")]})
