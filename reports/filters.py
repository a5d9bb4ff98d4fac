"""FilterSets of the reports app: ``kpis/`` (the API contract's ``?code=&period=&scope=``)."""

from __future__ import annotations

import django_filters as filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from reports.catalogue import CODE_CHOICES
from reports.models import KpiValue, scope_is_well_formed
from reports.periods import PERIOD_RE

SCOPE_HELP = _("company, tier:T1…tier:T4, owner:<username> or region:<region>.")
PERIOD_HELP = _("A fiscal year (2025), a quarter (2025-Q1) or a month (2025-03).")


def _check_scope(value: str) -> None:
    if value and not scope_is_well_formed(value):
        raise ValidationError(_("Unknown scope: use %(help)s") % {"help": SCOPE_HELP})


def _check_period(value: str) -> None:
    if value and not PERIOD_RE.match(value):
        raise ValidationError(_("Unknown period: use %(help)s") % {"help": PERIOD_HELP})


class KpiValueFilterSet(filters.FilterSet):
    """The contract's ``?code=&period=&scope=`` (malformed values are a 400 naming the parameter)."""

    code = filters.ChoiceFilter(choices=CODE_CHOICES, label=_("KPI"))
    period = filters.CharFilter(validators=[_check_period], label=_("Period"), help_text=PERIOD_HELP)
    scope = filters.CharFilter(validators=[_check_scope], label=_("Scope"), help_text=SCOPE_HELP)
    period_kind = filters.ChoiceFilter(
        choices=[("year", _("Year")), ("quarter", _("Quarter")), ("month", _("Month"))], label=_("Period kind")
    )
    is_partial = filters.BooleanFilter(label=_("Partial period"))
    target_status = filters.CharFilter(label=_("Target status"))

    class Meta:
        model = KpiValue
        fields = ["code", "period", "scope", "period_kind", "is_partial", "target_status"]
