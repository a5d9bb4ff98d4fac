"""Account-plan whitespace: buying centres × offerings and who owns each cell's spend (DOMAIN.md §7.2).

A cell says how far we penetrate one buying centre (a division, function or territory that buys on
its own) with one offering: owned, in the pipeline, a gap, or not eligible. Its money is what we earn
there a year and what the buying centre spends on the offering in all; the plan's headroom is
``Σ max(0, est_total_spend − our_annual_value)`` (``service_plans.selectors.whitespace_headroom``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.currency import validate_currency_code, validate_currency_known
from service_plans.models.plans import MONEY, AccountPlan, PlanChildQuerySet


class WhitespaceState(models.TextChoices):
    OWNED = "owned", _("Owned")
    PIPELINE = "pipeline", _("In pipeline")
    GAP = "gap", _("Gap")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")


class WhitespaceCell(models.Model):
    """One buying centre × offering of a plan's whitespace map."""

    plan = models.ForeignKey(AccountPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="whitespace_cells")
    buying_centre = models.CharField(
        _("buying centre"), max_length=120, help_text=_("A division, function or territory that buys on its own.")
    )
    offering = models.CharField(_("offering"), max_length=120, help_text=_("Roll sub-offerings into their parent."))
    state = models.CharField(_("state"), max_length=16, choices=WhitespaceState.choices, default=WhitespaceState.GAP)
    our_annual_value = models.DecimalField(
        _("our annual value"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    est_total_spend = models.DecimalField(
        _("estimated total spend"),
        **MONEY,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What the buying centre spends a year on the offering, with us and with competitors."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, validators=[validate_currency_code], help_text=_("Defaults to the account's.")
    )
    competitor = models.CharField(_("competitor"), max_length=120, blank=True, help_text=_("Who has the rest of the spend."))
    notes = models.TextField(_("notes"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PlanChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("whitespace cell")
        verbose_name_plural = _("whitespace cells")
        ordering = ["buying_centre", "offering", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "buying_centre", "offering"], name="whitespace_cell_unique"),
            models.CheckConstraint(condition=Q(state__in=WhitespaceState.values), name="whitespace_state_valid"),
            models.CheckConstraint(condition=Q(our_annual_value__gte=0), name="whitespace_our_value_non_negative"),
            models.CheckConstraint(condition=Q(est_total_spend__gte=0), name="whitespace_spend_non_negative"),
            models.CheckConstraint(condition=~Q(currency=""), name="whitespace_has_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.buying_centre} × {self.offering}"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        self.buying_centre = (self.buying_centre or "").strip()
        self.offering = (self.offering or "").strip()
        for name in ("buying_centre", "offering"):
            if not getattr(self, name):
                errors[name] = [self._meta.get_field(name).error_messages["blank"]]
        if not self.currency and self.plan_id:
            self.currency = self.plan.account.currency
        if self.currency:
            try:
                validate_currency_known(self.currency)
            except ValidationError as exc:
                errors["currency"] = list(exc.messages)
        if (
            self.plan_id
            and self.buying_centre
            and self.offering
            and WhitespaceCell.objects.filter(plan_id=self.plan_id, buying_centre=self.buying_centre, offering=self.offering)
            .exclude(pk=self.pk)
            .exists()
        ):
            # On the field, not the generic unique message: the user changes the offering (or edits the
            # existing cell instead). The "unique" code makes it a 409 in the API, as every duplicate is.
            errors["offering"] = [
                ValidationError(
                    _("This plan already has a cell for this buying centre and offering; edit that one."), code="unique"
                )
            ]
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude: Any = None) -> None:
        # ``clean`` reports a duplicate on ``offering``; skip the generic non-field message for it.
        exclude = set(exclude or ())
        if self.buying_centre and self.offering:
            exclude |= {"buying_centre"}
        super().validate_constraints(exclude=exclude)
