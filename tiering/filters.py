"""One FilterSet per listable tiering model, for the REST API (and any HTML list that needs one).

Scores, tiers, health and overrides belong to a **group** (its root account): ``account`` is the
group's root id, as stored. Dates filter by ``as_of`` (snapshots), by the day an assignment was
valid (``valid_on``) or by the override's validity. The view passes an already-visible queryset
in, so a filter never widens what a user sees.
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.choices import HealthBand, Tier
from tiering.choices import OverrideStatus, ScoreStatus, TierChangeReason
from tiering.models import HealthOverride, HealthSnapshot, ScoreSnapshot, TierAssignment, TierOverride


class _SnapshotFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id", label=_("Group"))
    run = filters.NumberFilter(field_name="run_id", label=_("Run"))
    status = filters.ChoiceFilter(choices=ScoreStatus.choices, label=_("Status"))
    as_of = filters.DateFilter(field_name="as_of", label=_("As of"))
    as_of_after = filters.DateFilter(field_name="as_of", lookup_expr="gte", label=_("As of, from"))
    as_of_before = filters.DateFilter(field_name="as_of", lookup_expr="lte", label=_("As of, until"))


class ScoreSnapshotFilterSet(_SnapshotFilterSet):
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Tier"))
    computed_tier = filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Computed tier"))
    is_t1_candidate = filters.BooleanFilter(label=_("T1 candidate"))

    class Meta:
        model = ScoreSnapshot
        fields = ["account", "run", "status", "as_of", "as_of_after", "as_of_before", "tier", "computed_tier", "is_t1_candidate"]


class HealthSnapshotFilterSet(_SnapshotFilterSet):
    band = filters.MultipleChoiceFilter(field_name="effective_band", choices=HealthBand.choices, label=_("Health band"))
    computed_band = filters.MultipleChoiceFilter(field_name="band", choices=HealthBand.choices, label=_("Computed band"))

    class Meta:
        model = HealthSnapshot
        fields = ["account", "run", "status", "as_of", "as_of_after", "as_of_before", "band", "computed_band"]


class TierAssignmentFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id", label=_("Group"))
    run = filters.NumberFilter(field_name="run_id", label=_("Run"))
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Tier"))
    reason = filters.MultipleChoiceFilter(choices=TierChangeReason.choices, label=_("Reason"))
    is_current = filters.BooleanFilter(field_name="valid_to", lookup_expr="isnull", label=_("Current"))
    valid_on = filters.DateFilter(method="filter_valid_on", label=_("Valid on"))

    class Meta:
        model = TierAssignment
        fields = ["account", "run", "tier", "reason", "is_current", "valid_on"]

    def filter_valid_on(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        # [valid_from, valid_to): the assignment that held on that day.
        if value is None:
            return queryset
        return queryset.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=value), valid_from__lte=value)


class _OverrideFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id", label=_("Group"))
    status = filters.MultipleChoiceFilter(choices=OverrideStatus.choices, label=_("Status"))
    active_on = filters.DateFilter(method="filter_active_on", label=_("In force on"))

    def filter_active_on(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        # [starts_on, expires_on), and not ended before that day.
        if value is None:
            return queryset
        return queryset.filter(starts_on__lte=value, expires_on__gt=value).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=value)
        )


class TierOverrideFilterSet(_OverrideFilterSet):
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Tier"))

    class Meta:
        model = TierOverride
        fields = ["account", "status", "active_on", "tier"]


class HealthOverrideFilterSet(_OverrideFilterSet):
    band = filters.MultipleChoiceFilter(field_name="override_band", choices=HealthBand.choices, label=_("Health band"))

    class Meta:
        model = HealthOverride
        fields = ["account", "status", "active_on", "band"]
