"""REST endpoints of the service plans app: team, surveys, service requests, projects, escalations.

Writes call the app's services (``service_plans.services``; team changes live in
``accounts.services``). A record stays on the account it was created for: ``account`` is read-only
on updates, as in the services.
"""

from __future__ import annotations

from accounts import services as account_services
from kam.api.serializers import ApiModelSerializer, FixedOnUpdateMixin
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from service_plans.filters import (
    AccountTeamMemberFilterSet,
    EscalationFilterSet,
    ProjectFilterSet,
    ServiceRequestFilterSet,
    SurveyResponseFilterSet,
)
from service_plans.models import AccountTeamMember, Escalation, Project, ServiceRequest, SurveyResponse
from service_plans.services import delivery, sla

VERSIONED_READ_ONLY = ["id", "version", "created_at", "updated_at"]


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


ROUTES = [
    ("team-members", TeamMemberViewSet, "team-member"),
    ("survey-responses", SurveyResponseViewSet, "survey-response"),
    ("service-requests", ServiceRequestViewSet, "service-request"),
    ("projects", ProjectViewSet, "project"),
    ("escalations", EscalationViewSet, "escalation"),
]
