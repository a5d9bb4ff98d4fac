"""REST endpoints of the service plans app: team, surveys, service requests, projects, escalations,
alerts and their tasks, account plans (objectives, actions, reviews), needs, cases, playbooks,
service standards and the user's notifications.

Writes call the app's services (``service_plans.services``; team changes live in
``accounts.services``). A record stays on the account (or plan) it was created for: ``account`` and
``plan`` are read-only on updates, as in the services. Alerts are created by the rules engine, never
by POST; people act on them through verbs (``alerts/{id}/snooze/``…).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts import services as account_services
from accounts.currency import validate_currency_code
from accounts.models import Meeting
from accounts.visibility import visible_account_ids
from kam.api.fields import BoundedDateField
from kam.api.serializers import ApiModelSerializer, FixedOnUpdateMixin, VisiblePrimaryKeyRelatedField
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from kam.roles import is_administrator
from service_plans import notifications
from service_plans.alerts.engine import alert_label
from service_plans.filters import (
    AccountPlanFilterSet,
    AccountTeamMemberFilterSet,
    AlertFilterSet,
    AlertTaskFilterSet,
    BenchmarkCaseFilterSet,
    EscalationFilterSet,
    NeedFilterSet,
    NotificationFilterSet,
    PlanActionFilterSet,
    PlanObjectiveFilterSet,
    PlanReviewFilterSet,
    PlaybookFilterSet,
    ProjectFilterSet,
    ServiceRequestFilterSet,
    ServiceStandardFilterSet,
    SurveyResponseFilterSet,
)
from service_plans.models import (
    CLOSED_STATUSES,
    AccountPlan,
    AccountTeamMember,
    Alert,
    AlertOutcome,
    AlertStatus,
    AlertTask,
    BenchmarkCase,
    BusinessCalendar,
    Commitment,
    Escalation,
    Need,
    Notification,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlaybookTaskTemplate,
    PlaybookTemplate,
    Project,
    ServiceRequest,
    ServiceStandard,
    SlaTarget,
    SurveyResponse,
)
from service_plans.services import alerts, delivery, plans, sla, standards

User = get_user_model()

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


# --- Shared pieces -------------------------------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """The body of a verb: like ``ApiModelSerializer``, a key that is not a field is a 400."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)


def active_users() -> models.QuerySet:
    return User.objects.filter(is_active=True)


class AdministratorsWrite(permissions.BasePermission):
    """Configuration (playbooks, service standards) is read by everyone and written by administrators."""

    message = _("Only administrators change this configuration.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or is_administrator(request.user)


ADMIN_WRITE_PERMISSIONS = [*api_settings.DEFAULT_PERMISSION_CLASSES, AdministratorsWrite]


class VerbMixin:
    """``POST {id}/<verb>/``: validate the body, lock and check ``If-Match``, call the service."""

    def run_verb(
        self, request: Request, input_class: type[serializers.Serializer], service: Callable[..., Any], instance_kwarg: str
    ) -> Any:
        serializer = input_class(data=request.data, context=self.get_serializer_context())  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            instance, expected_version = self.checked_object(request)  # type: ignore[attr-defined]
            version = {"expected_version": expected_version} if expected_version is not None else {}
            return service(**{instance_kwarg: instance}, actor=request.user, **version, **serializer.validated_data)


# --- Alerts and their tasks ----------------------------------------------------------------------


class AlertTaskSerializer(ApiModelSerializer):
    class Meta:
        model = AlertTask
        fields = [
            "id", "alert", "order", "title", "description", "owner", "owner_role", "due_on", "status", "required",
            "evidence_required", "evidence", "completed_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertSerializer(ApiModelSerializer):
    detail = serializers.SerializerMethodField(help_text="The rule and reason in words, in the request's language.")
    tasks = AlertTaskSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "account", "rule", "reason", "detail", "priority", "status", "owner", "owner_role", "due_on", "opened_at",
            "evidence", "playbook", "is_manual", "snoozed_until", "snooze_reason", "escalated_at", "sponsor_notified_at",
            "closed_at", "closed_by", "closure_note", "outcome", "saved_value_amount", "currency", "tasks", "version",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_detail(self, alert: Alert) -> str:
        return alert_label(alert.rule, alert.reason)


CLOSED_ALERT_STATUS_CHOICES = [(value, label) for value, label in AlertStatus.choices if value in CLOSED_STATUSES]


class AlertSnoozeSerializer(InputSerializer):
    until = BoundedDateField(help_text="The day the alert comes back; at most 30 days ahead.")
    reason = serializers.CharField(max_length=200, help_text="Why the alert is snoozed.")


class AlertCloseSerializer(InputSerializer):
    note = serializers.CharField(help_text="What was done; required.")
    outcome = serializers.ChoiceField(choices=AlertOutcome.choices)
    status = serializers.ChoiceField(choices=CLOSED_ALERT_STATUS_CHOICES, default=AlertStatus.CLOSED_RESOLVED)
    saved_value_amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Revenue kept."
    )
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, validators=[validate_currency_code])


class AlertReassignSerializer(InputSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=active_users(), help_text="User id of the new owner.")
    move_tasks = serializers.BooleanField(default=True, help_text="Move the previous owner's open tasks too.")


class AlertEmptySerializer(InputSerializer):
    """No body (``{}``)."""


class AlertViewSet(VerbMixin, ServiceViewSet):
    """Risk alerts (CTAs) raised by the rules engine. Read, then act through the verbs; there is no POST.

    Every verb honours ``If-Match`` (the alert's ETag) and answers the changed alert.
    """

    queryset = Alert.objects.all()
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    search_fields = ["reason", "account__name"]
    ordering_fields = ["id", "opened_at", "due_on", "priority", "status", "updated_at"]
    list_prefetch_related = ("tasks",)
    action_permissions = {verb: ["service_plans.change_alert"] for verb in ("snooze", "close", "acknowledge", "reassign")}

    def _verb(self, request: Request, input_class: type[serializers.Serializer], service: Callable[..., Any]) -> Response:
        return self.object_response(self.run_verb(request, input_class, service, "alert"))

    @extend_schema(request=AlertSnoozeSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Hide an open alert until a later day (at most 30 days ahead); the nightly run re-opens it then."""
        return self._verb(request, AlertSnoozeSerializer, alerts.alert_snooze)

    @extend_schema(request=AlertCloseSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close an open alert with a note and an outcome; its open tasks are cancelled and ``alert.closed`` is published."""
        return self._verb(request, AlertCloseSerializer, alerts.alert_close)

    @extend_schema(request=AlertEmptySerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """The owner works on it: the alert becomes ``in_progress`` (a snooze ends)."""
        return self._verb(request, AlertEmptySerializer, alerts.alert_acknowledge)

    @extend_schema(request=AlertReassignSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        """Give the alert to another user who can see the account (and, by default, the previous owner's open tasks)."""
        return self._verb(request, AlertReassignSerializer, alerts.alert_reassign)


class AlertTaskCompleteSerializer(InputSerializer):
    evidence = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required for some tasks.")


class AlertTaskViewSet(VerbMixin, ServiceViewSet):
    """The playbook tasks of alerts; they are created with the alert and completed with ``complete``."""

    queryset = AlertTask.objects.all()
    serializer_class = AlertTaskSerializer
    filterset_class = AlertTaskFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "due_on", "order", "status"]
    action_permissions = {"complete": ["service_plans.change_alerttask"]}

    @extend_schema(request=AlertTaskCompleteSerializer, responses={200: AlertTaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Mark an open task done, with evidence when the task asks for it."""
        return self.object_response(self.run_verb(request, AlertTaskCompleteSerializer, alerts.alert_task_complete, "task"))


# --- Account plans, objectives, actions, reviews ----------------------------------------------------


class PlanSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("account", "fiscal_year")
    owner = serializers.PrimaryKeyRelatedField(
        queryset=active_users(), required=False, help_text="User id; defaults to the account's owner."
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, validators=[validate_currency_code], help_text="Of the targets."
    )

    class Meta:
        model = AccountPlan
        fields = [
            "id", "account", "fiscal_year", "status", "owner", "standard", "approved_by", "approved_on", "customer_vision",
            "customer_priorities", "customer_kpis", "challenges", "competitors", "industry_trends", "swot_strengths",
            "swot_weaknesses", "swot_opportunities", "swot_threats", "revenue_target_amount", "margin_target_amount",
            "currency", "share_of_wallet_target", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        # The standard is the tier's, set when the plan is created; approval is recorded by ``activate``.
        read_only_fields = ["standard", "approved_by", "approved_on", *VERSIONED_READ_ONLY]


class PlanViewSet(VerbMixin, CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Account plans, one per account and fiscal year (at most one ``active``)."""

    queryset = AccountPlan.objects.all()
    serializer_class = PlanSerializer
    filterset_class = AccountPlanFilterSet
    search_fields = ["account__name"]
    ordering_fields = ["id", "fiscal_year", "status", "created_at", "updated_at"]
    create_service = plans.plan_create
    update_service = plans.plan_update
    instance_kwarg = "plan"
    action_permissions = {"activate": ["service_plans.change_accountplan"]}

    @extend_schema(request=AlertEmptySerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Make the plan the account's active plan for its year, approved by you (another active plan is a 400)."""
        return self.object_response(self.run_verb(request, AlertEmptySerializer, plans.plan_activate, "plan"))


class ObjectiveSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("plan",)
    owner = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)
    progress = serializers.SerializerMethodField(help_text="% of the actions (not cancelled) done; null without actions.")

    class Meta:
        model = PlanObjective
        fields = [
            "id", "plan", "title", "description", "kpi_code", "baseline", "target", "owner", "start_on", "due_on", "status",
            "progress", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = VERSIONED_READ_ONLY

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_progress(self, objective: PlanObjective) -> float | None:
        return plans.objective_progress(objective)


class ObjectiveViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Measurable objectives of a plan; ``progress`` is derived from their actions."""

    queryset = PlanObjective.objects.all()
    serializer_class = ObjectiveSerializer
    filterset_class = PlanObjectiveFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "due_on", "status", "created_at", "updated_at"]
    create_service = plans.objective_create
    update_service = plans.objective_update
    instance_kwarg = "objective"

    def base_queryset(self) -> models.QuerySet:
        return PlanObjective.objects.visible_to(self.request.user).with_progress()

    def object_response(self, instance: models.Model, status_code: int = status.HTTP_200_OK, **headers: str) -> Response:
        # After a write the progress counts are not annotated: read them once more.
        if not hasattr(instance, "actions_total"):
            instance = self.base_queryset().get(pk=instance.pk)
        return super().object_response(instance, status_code, **headers)


class ActionSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("plan",)
    owner_user = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)

    class Meta:
        model = PlanAction
        fields = [
            "id", "plan", "objective", "title", "owner_user", "owner_contact", "due_on", "status", "completed_at", "alert",
            "source", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = ["completed_at", "source", *VERSIONED_READ_ONLY]


class ActionViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Steps of a plan, owned by a colleague or a customer contact; ``status: done`` records the time."""

    queryset = PlanAction.objects.all()
    serializer_class = ActionSerializer
    filterset_class = PlanActionFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "due_on", "status", "created_at", "updated_at"]
    create_service = plans.action_create
    update_service = plans.action_update
    instance_kwarg = "action"


class CommitmentSerializer(ApiModelSerializer):
    owner_user = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)

    class Meta:
        model = Commitment
        fields = ["id", "side", "text", "owner_user", "owner_contact", "due_on", "action"]
        read_only_fields = ["id", "action"]
        extra_kwargs = {"owner_contact": {"required": False}}


class ReviewSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("plan",)
    commitments = CommitmentSerializer(many=True, read_only=True)

    class Meta:
        model = PlanReview
        fields = [
            "id", "plan", "kind", "scheduled_on", "held_on", "status", "meeting", "notes", "decisions", "recap_sent_at",
            "commitments", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        # Held, notes, decisions and the meeting are recorded by ``record``; the status follows the verbs.
        read_only_fields = ["held_on", "status", "meeting", "notes", "decisions", "recap_sent_at", *VERSIONED_READ_ONLY]


class ReviewRecordSerializer(InputSerializer):
    held_on = BoundedDateField()
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    decisions = serializers.CharField(required=False, allow_blank=True, default="", help_text="What was decided.")
    meeting = VisiblePrimaryKeyRelatedField(queryset=Meeting.objects.all(), required=False, allow_null=True)
    commitments = CommitmentSerializer(
        many=True, required=False, default=list, help_text="Ours become plan actions (owned by the plan's owner by default)."
    )


class ReviewViewSet(VerbMixin, CreateServiceMixin, ServiceViewSet):
    """Reviews of a plan (monthly, QBR, EBR, annual). POST schedules one; ``record`` records it as held,
    with decisions and commitments; ``recap-sent`` and ``complete`` close the loop (DOMAIN.md §7.4)."""

    queryset = PlanReview.objects.all()
    serializer_class = ReviewSerializer
    filterset_class = PlanReviewFilterSet
    search_fields = ["notes", "decisions"]
    ordering_fields = ["id", "scheduled_on", "status", "created_at", "updated_at"]
    list_prefetch_related = ("commitments",)
    create_service = plans.review_schedule
    instance_kwarg = "review"
    action_permissions = {verb: ["service_plans.change_planreview"] for verb in ("record", "recap_sent", "complete")}

    @extend_schema(request=ReviewRecordSerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str | None = None) -> Response:
        """Record the review as held, with notes, decisions and commitments; each of ours becomes a plan action."""
        return self.object_response(self.run_verb(request, ReviewRecordSerializer, plans.review_record, "review"))

    @extend_schema(request=AlertEmptySerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"], url_path="recap-sent", url_name="recap")
    def recap_sent(self, request: Request, pk: str | None = None) -> Response:
        """The recap of a held review was sent to the customer (now)."""
        return self.object_response(self.run_verb(request, AlertEmptySerializer, _recap_sent, "review"))

    @extend_schema(request=AlertEmptySerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Complete the review: it was held, its recap sent and the next one of its kind is scheduled."""
        return self.object_response(self.run_verb(request, AlertEmptySerializer, _review_complete, "review"))


# These two services take no ``expected_version``: the verb checked ``If-Match`` under the row lock,
# which the service's transaction still holds.
def _recap_sent(*, review: PlanReview, actor: Any, expected_version: int | None = None) -> PlanReview:
    return plans.review_recap_sent(review=review, actor=actor)


def _review_complete(*, review: PlanReview, actor: Any, expected_version: int | None = None) -> PlanReview:
    return plans.review_complete(review=review, actor=actor)


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


# --- Configuration: playbooks and service standards ---------------------------------------------------


class PlaybookTaskSerializer(ApiModelSerializer):
    class Meta:
        model = PlaybookTaskTemplate
        fields = ["id", "order", "title", "description", "owner_role", "due_offset_days", "required", "evidence_required"]
        read_only_fields = ["id"]
        extra_kwargs = {"order": {"required": False}}


class PlaybookSerializer(ApiModelSerializer):
    tasks = PlaybookTaskSerializer(many=True, required=False)

    class Meta:
        model = PlaybookTemplate
        fields = ["id", "code", "name", "rule", "reason", "version", "is_active", "tasks", "created_at"]
        read_only_fields = ["id", "version", "is_active", "created_at"]


class PlaybookViewSet(VerbMixin, CreateServiceMixin, ServiceViewSet):
    """Playbooks: the tasks an alert of a rule gets. Read by everyone; administrators create them and make
    new versions (``new-version`` copies the active version; alerts keep the version they used)."""

    queryset = PlaybookTemplate.objects.all()
    serializer_class = PlaybookSerializer
    filterset_class = PlaybookFilterSet
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "rule", "version", "created_at"]
    list_prefetch_related = ("tasks",)
    permission_classes = ADMIN_WRITE_PERMISSIONS
    create_service = standards.playbook_create

    def base_queryset(self) -> models.QuerySet:
        return PlaybookTemplate.objects.all()

    def etag(self, instance: models.Model, data: Any = None) -> str:
        # ``version`` here numbers the playbook's versions; it is not a change counter.
        return super().etag(_Unversioned(), data if data is not None else self.get_serializer(instance).data)

    def checked_object(self, request: Request) -> tuple[models.Model, int | None]:
        return super().checked_object(request)[0], None

    @extend_schema(request=AlertEmptySerializer, responses={201: PlaybookSerializer})
    @action(detail=True, methods=["post"], url_path="new-version", url_name="version")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        """Copy the active version of a playbook, with its tasks, into the next version (which becomes active)."""
        new = self.run_verb(request, AlertEmptySerializer, _playbook_new_version, "playbook")
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{new.pk}/")
        return self.object_response(new, status.HTTP_201_CREATED, Location=location)


class _Unversioned:
    version = None


def _playbook_new_version(*, playbook: PlaybookTemplate, actor: Any) -> PlaybookTemplate:
    return standards.playbook_new_version(playbook=playbook, actor=actor)


class SlaTargetSerializer(ApiModelSerializer):
    class Meta:
        model = SlaTarget
        fields = ["priority", "first_response_minutes", "resolution_minutes"]


class ServiceStandardSerializer(ApiModelSerializer):
    sla_targets = SlaTargetSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceStandard
        fields = [
            "id", "tier", "version", "is_active", "calendar", "review_cadence", "required_roles", "included_services",
            "sla_targets", "created_at", "created_by",
        ]  # fmt: skip
        read_only_fields = fields


class ServiceStandardReviseSerializer(InputSerializer):
    calendar = serializers.PrimaryKeyRelatedField(queryset=BusinessCalendar.objects.all(), required=False)
    review_cadence = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=24), required=False)
    required_roles = serializers.ListField(child=serializers.CharField(max_length=24), required=False)
    included_services = serializers.CharField(required=False, allow_blank=True)
    sla_targets = SlaTargetSerializer(many=True, required=False, help_text="Priorities not listed keep their targets.")

    def validate_sla_targets(self, value: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        targets = {}
        for item in value:
            if item["priority"] in targets:
                raise serializers.ValidationError(_("Each priority once."))
            targets[item["priority"]] = (item["first_response_minutes"], item["resolution_minutes"])
        return targets


class ServiceStandardViewSet(VerbMixin, ServiceViewSet):
    """How each tier is served (review cadence, required roles, SLA targets). Read by everyone; an
    administrator's ``revise`` makes the next version, which becomes the active one."""

    queryset = ServiceStandard.objects.all()
    serializer_class = ServiceStandardSerializer
    filterset_class = ServiceStandardFilterSet
    ordering_fields = ["id", "tier", "version", "created_at"]
    list_prefetch_related = ("sla_targets",)
    permission_classes = ADMIN_WRITE_PERMISSIONS

    def base_queryset(self) -> models.QuerySet:
        return ServiceStandard.objects.all()

    def etag(self, instance: models.Model, data: Any = None) -> str:
        return super().etag(_Unversioned(), data if data is not None else self.get_serializer(instance).data)

    def checked_object(self, request: Request) -> tuple[models.Model, int | None]:
        return super().checked_object(request)[0], None

    @extend_schema(request=ServiceStandardReviseSerializer, responses={201: ServiceStandardSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, pk: str | None = None) -> Response:
        """Create the next version of this tier's standard with the changes; plans and requests keep theirs."""
        new = self.run_verb(request, ServiceStandardReviseSerializer, _standard_revise, "standard")
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{new.pk}/")
        return self.object_response(new, status.HTTP_201_CREATED, Location=location)


def _standard_revise(*, standard: ServiceStandard, actor: Any, **changes: Any) -> ServiceStandard:
    return standards.service_standard_revise(standard=standard, actor=actor, **changes)


# --- Notifications --------------------------------------------------------------------------------


class NotificationSerializer(ApiModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "link", "alert", "read_at", "created_at"]
        read_only_fields = fields


class NotificationViewSet(VerbMixin, ServiceViewSet):
    """Your own in-app notifications (everyone, administrators too, sees only their own); ``read`` marks one read."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    ordering_fields = ["id", "created_at"]
    ordering = ("-id",)
    service_takes_actor = False
    action_permissions = {"read": []}  # one's own notifications: no model permission needed

    def base_queryset(self) -> models.QuerySet:
        return notifications.notification_list(user=self.request.user)

    @extend_schema(request=AlertEmptySerializer, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark the notification read (reading it again changes nothing)."""
        note = self.run_verb(request, AlertEmptySerializer, _notification_read, "notification")
        return self.object_response(note)


def _notification_read(*, notification: Notification, actor: Any) -> Notification:
    notifications.notification_mark_read(user=actor, ids=[notification.pk])
    notification.refresh_from_db()
    return notification


ROUTES = [
    ("team-members", TeamMemberViewSet, "team-member"),
    ("survey-responses", SurveyResponseViewSet, "survey-response"),
    ("service-requests", ServiceRequestViewSet, "service-request"),
    ("projects", ProjectViewSet, "project"),
    ("escalations", EscalationViewSet, "escalation"),
    ("alerts", AlertViewSet, "alert"),
    ("alert-tasks", AlertTaskViewSet, "alert-task"),
    ("plans", PlanViewSet, "plan"),
    ("objectives", ObjectiveViewSet, "objective"),
    ("actions", ActionViewSet, "action"),
    ("reviews", ReviewViewSet, "review"),
    ("needs", NeedViewSet, "need"),
    ("cases", CaseViewSet, "case"),
    ("playbooks", PlaybookViewSet, "playbook"),
    ("service-standards", ServiceStandardViewSet, "service-standard"),
    ("notifications", NotificationViewSet, "notification"),
]
