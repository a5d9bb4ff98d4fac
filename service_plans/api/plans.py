"""Account plans, objectives, actions and reviews (with decisions and commitments)."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.currency import validate_currency_code
from accounts.models import Contact, Meeting
from kam.api.fields import BoundedDateField
from kam.api.serializers import ApiModelSerializer, FixedOnUpdateMixin, VisiblePrimaryKeyRelatedField
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from service_plans.api.common import VERSIONED_READ_ONLY, EmptySerializer, InputSerializer, VerbMixin, active_users
from service_plans.filters import (
    AccountPlanFilterSet,
    PlanActionFilterSet,
    PlanObjectiveFilterSet,
    PlanReviewFilterSet,
    WhitespaceCellFilterSet,
)
from service_plans.models import AccountPlan, Commitment, PlanAction, PlanObjective, PlanReview, WhitespaceCell
from service_plans.services import plans, whitespace

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

    @extend_schema(request=EmptySerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Make the plan the account's active plan for its year, approved by you (another active plan is a 400)."""
        return self.object_response(self.run_verb(request, EmptySerializer, plans.plan_activate, "plan"))


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
        objectives = PlanObjective.objects.visible_to(self.request.user)
        # FOR UPDATE (If-Match) cannot lock a GROUP BY: the locked read skips the progress counts,
        # which ``object_response`` reads afterwards.
        return objectives if getattr(self, "_lock_for_update", False) else objectives.with_progress()

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
    # The attendance is kept on the review's meeting (§7.4); a review without one (internal) has none.
    attendees = serializers.SerializerMethodField(help_text="Our colleagues who attended (user ids), from the meeting.")
    contacts = serializers.SerializerMethodField(help_text="The customer's contacts who attended (ids), from the meeting.")

    class Meta:
        model = PlanReview
        fields = [
            "id", "plan", "kind", "scheduled_on", "held_on", "status", "meeting", "notes", "decisions", "recap_sent_at",
            "attendees", "contacts", "commitments", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        # Held, notes, decisions and the meeting are recorded by ``record``; the status follows the verbs.
        read_only_fields = ["held_on", "status", "meeting", "notes", "decisions", "recap_sent_at", *VERSIONED_READ_ONLY]

    # ``.all()`` reads the list's prefetch (ReviewViewSet.list_prefetch_related).
    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_attendees(self, review: PlanReview) -> list[int]:
        return sorted(user.pk for user in review.meeting.attendees.all()) if review.meeting_id else []

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_contacts(self, review: PlanReview) -> list[int]:
        return sorted(contact.pk for contact in review.meeting.contacts.all()) if review.meeting_id else []


class ReviewRecordSerializer(InputSerializer):
    held_on = BoundedDateField()
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    decisions = serializers.CharField(required=False, allow_blank=True, default="", help_text="What was decided.")
    meeting = VisiblePrimaryKeyRelatedField(queryset=Meeting.objects.all(), required=False, allow_null=True)
    attendees = serializers.PrimaryKeyRelatedField(
        queryset=active_users(),
        many=True,
        required=False,
        help_text="Our colleagues who attended (active user ids); added to the review's meeting.",
    )
    contacts = VisiblePrimaryKeyRelatedField(
        queryset=Contact.objects.all(),
        many=True,
        required=False,
        help_text="The customer's contacts who attended (active contacts of the review's account); added to the "
        "review's meeting.",
    )
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
    list_select_related = ("meeting",)
    list_prefetch_related = ("commitments", "meeting__attendees", "meeting__contacts")
    create_service = plans.review_schedule
    instance_kwarg = "review"
    action_permissions = {verb: ["service_plans.change_planreview"] for verb in ("record", "recap_sent", "complete")}

    @extend_schema(request=ReviewRecordSerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str | None = None) -> Response:
        """Record the review as held, with notes, decisions, who attended on both sides (``attendees``, our
        colleagues; ``contacts``, the customer's) and commitments; each of our commitments becomes a plan action."""
        return self.object_response(self.run_verb(request, ReviewRecordSerializer, plans.review_record, "review"))

    @extend_schema(request=EmptySerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"], url_path="recap-sent", url_name="recap")
    def recap_sent(self, request: Request, pk: str | None = None) -> Response:
        """The recap of a held review was sent to the customer (now)."""
        return self.object_response(self.run_verb(request, EmptySerializer, _recap_sent, "review"))

    @extend_schema(request=EmptySerializer, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Complete the review: it was held, its recap sent and the next one of its kind is scheduled."""
        return self.object_response(self.run_verb(request, EmptySerializer, _review_complete, "review"))


# These two services take no ``expected_version``: the verb checked ``If-Match`` under the row lock,
# which the service's transaction still holds.
def _recap_sent(*, review: PlanReview, actor: Any, expected_version: int | None = None) -> PlanReview:
    return plans.review_recap_sent(review=review, actor=actor)


def _review_complete(*, review: PlanReview, actor: Any, expected_version: int | None = None) -> PlanReview:
    return plans.review_complete(review=review, actor=actor)


# --- Whitespace (DOMAIN.md §7.2) ----------------------------------------------------------------------


class WhitespaceCellSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("plan",)
    currency = serializers.CharField(
        max_length=3,
        required=False,
        allow_blank=True,
        validators=[validate_currency_code],
        help_text="Of both amounts; defaults to the account's currency.",
    )
    headroom = serializers.SerializerMethodField(help_text="max(0, est_total_spend − our_annual_value), as a string.")

    class Meta:
        model = WhitespaceCell
        fields = [
            "id", "plan", "buying_centre", "offering", "state", "our_annual_value", "est_total_spend", "currency",
            "competitor", "notes", "headroom", *VERSIONED_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = VERSIONED_READ_ONLY
        extra_kwargs = {"our_annual_value": {"min_value": 0}, "est_total_spend": {"min_value": 0}}

    @extend_schema_field(serializers.DecimalField(max_digits=18, decimal_places=2))
    def get_headroom(self, cell: WhitespaceCell) -> str:
        return f"{max(cell.est_total_spend - cell.our_annual_value, 0):.2f}"


class WhitespaceCellViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """A plan's whitespace map: one cell per buying centre × offering, with its state (owned, in
    pipeline, gap, not eligible), our annual value and the estimated total spend (DOMAIN.md §7.2)."""

    queryset = WhitespaceCell.objects.all()
    serializer_class = WhitespaceCellSerializer
    filterset_class = WhitespaceCellFilterSet
    search_fields = ["buying_centre", "offering", "competitor"]
    ordering_fields = ["id", "buying_centre", "offering", "state", "est_total_spend", "created_at", "updated_at"]
    create_service = whitespace.whitespace_cell_create
    update_service = whitespace.whitespace_cell_update
    delete_service = whitespace.whitespace_cell_delete
    instance_kwarg = "cell"
