"""FilterSets of the service plans app, shared by the REST API and the HTML lists."""

from __future__ import annotations

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier
from service_plans.models import (
    OPEN_STATUSES,
    AccountPlan,
    AccountTeamMember,
    Alert,
    AlertTask,
    BenchmarkCase,
    Escalation,
    Need,
    Notification,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlaybookTemplate,
    Project,
    ServiceRequest,
    ServiceStandard,
    SurveyResponse,
    WhitespaceCell,
)


class AccountTeamMemberFilterSet(filters.FilterSet):
    class Meta:
        model = AccountTeamMember
        fields = ["account", "user", "role"]


class SurveyResponseFilterSet(filters.FilterSet):
    responded_after = filters.IsoDateTimeFilter(field_name="responded_at", lookup_expr="gte", label=_("From"))
    responded_before = filters.IsoDateTimeFilter(field_name="responded_at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = SurveyResponse
        fields = ["account", "contact", "kind"]


class ServiceRequestFilterSet(filters.FilterSet):
    is_open = filters.BooleanFilter(field_name="resolved_at", lookup_expr="isnull", label=_("Open"))

    class Meta:
        model = ServiceRequest
        fields = ["account", "priority", "status"]


class ProjectFilterSet(filters.FilterSet):
    class Meta:
        model = Project
        fields = ["account", "kind", "status"]


class EscalationFilterSet(filters.FilterSet):
    is_open = filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", label=_("Open"))

    class Meta:
        model = Escalation
        fields = ["account", "severity", "owner"]


class AlertFilterSet(filters.FilterSet):
    is_open = filters.BooleanFilter(method="filter_open", label=_("Open"))
    tier = filters.MultipleChoiceFilter(field_name="account__tier", choices=Tier.choices, label=_("Tier"))
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lt", label=_("Due before"))

    class Meta:
        model = Alert
        fields = ["account", "rule", "priority", "status", "owner"]

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset.exclude(status__in=OPEN_STATUSES)


class AccountPlanFilterSet(filters.FilterSet):
    class Meta:
        model = AccountPlan
        fields = ["account", "fiscal_year", "status", "owner"]


class NeedFilterSet(filters.FilterSet):
    class Meta:
        model = Need
        fields = ["account", "priority", "status"]


class BenchmarkCaseFilterSet(filters.FilterSet):
    class Meta:
        model = BenchmarkCase
        fields = ["account", "approval_status"]


class AlertTaskFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="alert__account", label=_("Account"))

    class Meta:
        model = AlertTask
        fields = ["alert", "owner", "status"]


class PlanObjectiveFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="plan__account", label=_("Account"))

    class Meta:
        model = PlanObjective
        fields = ["plan", "status", "owner"]


class PlanActionFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="plan__account", label=_("Account"))
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lt", label=_("Due before"))

    class Meta:
        model = PlanAction
        fields = ["plan", "objective", "status", "source", "owner_user", "alert"]


class WhitespaceCellFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="plan__account", label=_("Account"))

    class Meta:
        model = WhitespaceCell
        fields = ["plan", "state", "buying_centre", "offering"]


class PlanReviewFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="plan__account", label=_("Account"))
    scheduled_after = filters.DateFilter(field_name="scheduled_on", lookup_expr="gte", label=_("From"))
    scheduled_before = filters.DateFilter(field_name="scheduled_on", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = PlanReview
        fields = ["plan", "kind", "status"]


class PlaybookFilterSet(filters.FilterSet):
    class Meta:
        model = PlaybookTemplate
        fields = ["code", "rule", "is_active"]


class ServiceStandardFilterSet(filters.FilterSet):
    class Meta:
        model = ServiceStandard
        fields = ["tier", "is_active"]


class NotificationFilterSet(filters.FilterSet):
    is_read = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", exclude=True, label=_("Read"))

    class Meta:
        model = Notification
        fields = ["kind", "alert"]
