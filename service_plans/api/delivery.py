"""Team, surveys, service requests, projects, escalations, needs and the case library."""

from __future__ import annotations

from django.db import models
from rest_framework import permissions, serializers

from accounts import services as account_services
from accounts.visibility import visible_account_ids
from kam.api.serializers import ApiModelSerializer, FixedOnUpdateMixin
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from service_plans.api.common import VERSIONED_READ_ONLY
from service_plans.filters import (
    AccountTeamMemberFilterSet,
    BenchmarkCaseFilterSet,
    EscalationFilterSet,
    NeedFilterSet,
    ProjectFilterSet,
    ServiceRequestFilterSet,
    SurveyResponseFilterSet,
)
from service_plans.models import AccountTeamMember, BenchmarkCase, Escalation, Need, Project, ServiceRequest, SurveyResponse
from service_plans.services import delivery, sla


class TeamMemberSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("account", "user")

    class Meta:
        model = AccountTeamMember
        fields = ["id", "account", "user", "role", "since", "created_at"]
        read_only_fields = ["id", "created_at"]


class TeamMemberViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """Who serves each account, in which role. Serving on a team makes the account visible to that user."""

    queryset = AccountTeamMember.objects.all()
    serializer_class = TeamMemberSerializer
    filterset_class = AccountTeamMemberFilterSet
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    ordering_fields = ["id", "role", "created_at"]
    create_service = account_services.team_member_add
    update_service = account_services.team_member_update
    delete_service = account_services.team_member_remove
    instance_kwarg = "member"


class SurveyResponseSerializer(ApiModelSerializer):
    class Meta:
        model = SurveyResponse
        fields = ["id", "account", "contact", "kind", "score", "respondent_role", "responded_at", "comment", "created_at"]
        # The respondent's role is recorded from the contact's buying roles at the time of the answer.
        read_only_fields = ["id", "respondent_role", "created_at"]


class SurveyResponseViewSet(CreateServiceMixin, ServiceViewSet):
    """Survey answers are facts: created and read, not edited."""

    queryset = SurveyResponse.objects.all()
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilterSet
    search_fields = ["comment"]
    ordering_fields = ["id", "responded_at", "score", "created_at"]
    create_service = delivery.survey_response_create


class ServiceRequestSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    class Meta:
        model = ServiceRequest
        fields = [
            "id", "account", "title", "priority", "status", "opened_at", "first_response_at", "resolved_at",
            "first_response_due_at", "resolution_due_at", "first_response_breached", "resolution_breached",
            *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        # The due dates and breach flags are the SLA clock's results (service_plans.services.sla), not input.
        read_only_fields = [
            "first_response_due_at", "resolution_due_at", "first_response_breached", "resolution_breached",
            *VERSIONED_READ_ONLY,
        ]  # fmt: skip


class ServiceRequestViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Customer requests and incidents; the SLA due dates and breaches are computed, not sent."""

    queryset = ServiceRequest.objects.all()
    serializer_class = ServiceRequestSerializer
    filterset_class = ServiceRequestFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "opened_at", "priority", "created_at", "updated_at"]
    create_service = sla.service_request_create
    update_service = sla.service_request_update
    instance_kwarg = "service_request"


class ProjectSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "account", "name", "kind", "status", "started_on", "ended_on", "description", *VERSIONED_READ_ONLY]
        read_only_fields = VERSIONED_READ_ONLY


class ProjectViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Projects with the customer: customised solutions, joint innovation, standard work."""

    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    search_fields = ["name"]
    ordering_fields = ["id", "name", "started_on", "created_at", "updated_at"]
    create_service = delivery.project_create
    update_service = delivery.project_update
    instance_kwarg = "project"


class EscalationSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    class Meta:
        model = Escalation
        fields = [
            "id",
            "account",
            "service_request",
            "title",
            "severity",
            "owner",
            "opened_at",
            "closed_at",
            *VERSIONED_READ_ONLY,
        ]
        read_only_fields = VERSIONED_READ_ONLY


class EscalationViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Escalations of customer issues to management."""

    queryset = Escalation.objects.all()
    serializer_class = EscalationSerializer
    filterset_class = EscalationFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "opened_at", "severity", "created_at", "updated_at"]
    create_service = delivery.escalation_create
    update_service = delivery.escalation_update
    instance_kwarg = "escalation"


# --- Needs and the case library ---------------------------------------------------------------------


class NeedSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    class Meta:
        model = Need
        fields = ["id", "account", "department", "description", "priority", "status", "last_reviewed_on", *VERSIONED_READ_ONLY]
        read_only_fields = VERSIONED_READ_ONLY


class NeedViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """The customer's needs by department, with priority and status."""

    queryset = Need.objects.all()
    serializer_class = NeedSerializer
    filterset_class = NeedFilterSet
    search_fields = ["description", "department"]
    ordering_fields = ["id", "priority", "status", "created_at", "updated_at"]
    create_service = delivery.need_create
    update_service = delivery.need_update
    instance_kwarg = "need"


class CaseSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    outcome_metrics = serializers.JSONField(required=False, help_text='A list of {"kpi_code", "before", "after"}.')
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)

    class Meta:
        model = BenchmarkCase
        fields = [
            "id", "account", "title", "problem", "solution", "offerings", "outcome_metrics", "approval_status", "tags",
            "published_on", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = VERSIONED_READ_ONLY


class CaseViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """The benchmark case library: cases of your accounts, plus every case approved for reference or public.

    Only cases of accounts you can see can be changed (another manager's case is a 404 on writes).
    """

    queryset = BenchmarkCase.objects.all()
    serializer_class = CaseSerializer
    filterset_class = BenchmarkCaseFilterSet
    search_fields = ["title", "problem", "solution"]
    ordering_fields = ["id", "published_on", "created_at", "updated_at"]
    create_service = delivery.benchmark_case_create
    update_service = delivery.benchmark_case_update
    instance_kwarg = "case"

    def base_queryset(self) -> models.QuerySet:
        if self.request.method in permissions.SAFE_METHODS:
            # The library's rule (service_plans.selectors.benchmark_case_search): reusable cases are shared.
            ids = visible_account_ids(self.request.user)
            if ids is None:
                return BenchmarkCase.objects.all()
            return BenchmarkCase.objects.filter(
                models.Q(account_id__in=ids) | models.Q(approval_status__in=["approved_for_reference", "public"])
            )
        return BenchmarkCase.objects.visible_to(self.request.user)
