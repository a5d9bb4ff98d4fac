"""REST endpoints of the tiering app: scoring models, score and health snapshots, tier assignments,
overrides, and the account verbs ``tier-override``, ``health-override`` and ``why``.

- ``scoring-models/``: everyone reads; administrators write (``kam.roles``), through
  ``tiering.services``. A version that a score run has used is immutable, so that its snapshots stay
  reproducible: PUT/PATCH on it is a 409 that says how to change it (``copy/``, edit the copy,
  ``activate/``). ``version`` here is the scoring model's version number, not an edit counter, so
  the ETag is a hash of the representation.
- Snapshots, assignments and overrides are read-only facts of the runs; they belong to a group (its
  root account) and follow the visibility rule through that account.
- The account verbs live here, on their own viewset under ``accounts/{id}/``, so that the accounts
  app's ``AccountViewSet`` stays the accounts app's. Overrides need the approval permission (as on
  the account page): administrators and executives.
- ``portfolio-matrix/`` (read-only, computed on request by ``tiering.matrix_selectors``): the KAM
  portfolio matrix of the visible groups, filterable by ``quadrant``; ``portfolio-matrix/{id}/``
  one group by its root account's id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.choices import Tier
from accounts.models import Account
from kam.api.exceptions import PreconditionFailed
from kam.api.fields import BlankAsNullChoiceField, BoundedDateField
from kam.api.serializers import ApiModelSerializer, StrictInputSerializer
from kam.api.viewsets import ApiViewMixin, CreateServiceMixin, ServiceViewSet, UpdateServiceMixin, parse_if_match
from kam.errors import Conflict
from tiering import services
from tiering.choices import ABCClass, OverrideStatus, RunStatus, TierChangeReason, Trend
from tiering.filters import (
    HealthOverrideFilterSet,
    HealthSnapshotFilterSet,
    ScoreSnapshotFilterSet,
    TierAssignmentFilterSet,
    TierOverrideFilterSet,
)
from tiering.matrix import QUADRANTS
from tiering.matrix_selectors import MatrixRow, portfolio_matrix
from tiering.models import (
    BANDS,
    HealthOverride,
    HealthSnapshot,
    ScoreSnapshot,
    ScoringFactor,
    ScoringModel,
    ScoringRun,
    TierAssignment,
    TierOverride,
)
from tiering.selectors import health_explanation_of, tier_explanation_of

User = get_user_model()

# The configuration fields of a scoring model, in the model's order (name and notes come first).
CONFIG_FIELDS = [
    f.name for f in ScoringModel._meta.concrete_fields if f.name in services.SCORING_MODEL_FIELDS - {"name", "notes"}
]


# --- Scoring models -------------------------------------------------------------------------------


class ScoringFactorSerializer(ApiModelSerializer):
    class Meta:
        model = ScoringFactor
        fields = list(services.FACTOR_FIELDS)
        extra_kwargs = {"position": {"required": False}}


class ScoringModelSerializer(ApiModelSerializer):
    factors = ScoringFactorSerializer(
        many=True, required=False, help_text="Every factor of both purposes; replaces them all. Required on creation."
    )
    is_used = serializers.SerializerMethodField(help_text="A score run used this version: it can no longer change.")

    class Meta:
        model = ScoringModel
        fields = [
            "id", "name", "version", "is_active", "based_on", "notes", *CONFIG_FIELDS, "factors", "is_used", "created_by",
            "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "version", "is_active", "based_on", "created_by", "created_at"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_used(self, model: ScoringModel) -> bool:
        used = getattr(model, "used", None)  # annotated on lists and details (one EXISTS per row, no extra query)
        return model.is_used if used is None else used


def _representation_etag(data: Any) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()
    return f'"{digest[:32]}"'


class ScoringModelViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Scoring model versions: read by everyone, written by administrators.

    POST creates an inactive version (factors required). PUT/PATCH change a version no run has used;
    a used version answers 409 (copy it, edit the copy, activate it). ``activate`` makes a version the
    one the next run uses; ``copy`` makes an inactive, editable copy.
    """

    queryset = ScoringModel.objects.all()
    serializer_class = ScoringModelSerializer
    filterset_fields = ["is_active"]
    search_fields = ["name"]
    ordering_fields = ["id", "version", "created_at"]
    ordering = ("-id",)
    list_prefetch_related = ("factors",)
    create_service = services.scoring_model_save
    action_permissions = {"activate": ["tiering.change_scoringmodel"], "copy": ["tiering.add_scoringmodel"]}

    def base_queryset(self) -> models.QuerySet:
        return ScoringModel.objects.annotate(used=Exists(ScoringRun.objects.filter(model=OuterRef("pk"))))

    def etag(self, instance: models.Model, data: Any = None) -> str:
        # ``version`` numbers the scoring model's versions; it does not change when an unused one is edited.
        return _representation_etag(self.get_serializer(instance).data if data is None else data)

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated_data)
        factors = data.pop("factors", None)
        return {"fields": data, "factors": None if factors is None else [dict(f) for f in factors]}

    def perform_update(self, serializer: Any, *, expected_version: int | None) -> ScoringModel:
        # Locked before the check: a run that starts now inserts a row referencing this one, which
        # waits for this lock, so "unused" stays true until the change commits.
        model = ScoringModel.objects.select_for_update().get(pk=serializer.instance.pk)
        if model.is_used:
            raise Conflict(
                _(
                    "Version %(version)s has been used by score runs and cannot change: copy it "
                    "(POST scoring-models/%(id)s/copy/), change the copy and activate it."
                )
                % {"version": model.version, "id": model.pk}
            )
        return services.scoring_model_save(model=model, actor=self.request.user, **self.service_kwargs(serializer.validated_data))

    @extend_schema(request=None, responses={200: ScoringModelSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Make this version the active one: the next score run uses it. Activating the active one changes nothing."""
        with transaction.atomic():
            model, _version = self.checked_object(request)
            activated = services.scoring_model_activate(model=model, actor=request.user)
        return self.object_response(self.get_queryset().get(pk=activated.pk))

    @extend_schema(request=None, responses={201: ScoringModelSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        """A new, inactive version with this one's settings and factors, to change and then activate."""
        with transaction.atomic():
            model, _version = self.checked_object(request)
            created = services.scoring_model_copy(model=model, actor=request.user)
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{created.pk}/")
        return self.object_response(self.get_queryset().get(pk=created.pk), status.HTTP_201_CREATED, Location=location)


# --- Snapshots and assignments (read-only) --------------------------------------------------------


class ScoreSnapshotSerializer(serializers.ModelSerializer):
    scoring_model = serializers.IntegerField(source="run.model_id", read_only=True)
    target_tier = BlankAsNullChoiceField(choices=Tier.choices)
    computed_tier = BlankAsNullChoiceField(choices=Tier.choices)
    tier = BlankAsNullChoiceField(choices=Tier.choices)
    factors = serializers.JSONField(
        read_only=True, help_text="The factor breakdown the run computed (raw value, score, weight, points)."
    )
    abc_class = BlankAsNullChoiceField(choices=ABCClass.choices, help_text="Null: inactive (no revenue in 12 months).")
    change_reason = BlankAsNullChoiceField(choices=TierChangeReason.choices)

    class Meta:
        model = ScoreSnapshot
        fields = [
            "id", "run", "scoring_model", "account", "as_of", "period_start", "score", "status", "coverage_pct", "factors",
            "abc_class", "value_metric", "value_percentile", "gate", "gate_detail", "target_tier", "computed_tier", "tier",
            "is_t1_candidate", "change_reason", "up_streak", "down_streak", "residence", "is_frozen",
        ]  # fmt: skip
        read_only_fields = fields


class HealthSnapshotSerializer(serializers.ModelSerializer):
    factors = serializers.JSONField(read_only=True, help_text="The factor breakdown the run computed.")
    trend = BlankAsNullChoiceField(choices=Trend.choices)

    class Meta:
        model = HealthSnapshot
        fields = [
            "id", "run", "account", "as_of", "score", "status", "coverage_pct", "is_partial", "factors", "raw_band", "band",
            "band_streak", "effective_score", "effective_band", "override", "score_before", "delta", "trend",
        ]  # fmt: skip
        read_only_fields = fields


class TierAssignmentSerializer(serializers.ModelSerializer):
    tier = BlankAsNullChoiceField(choices=Tier.choices)

    class Meta:
        model = TierAssignment
        fields = ["id", "account", "tier", "valid_from", "valid_to", "reason", "evidence", "override", "run", "created_at"]
        read_only_fields = fields


class TierOverrideSerializer(serializers.ModelSerializer):
    class Meta:
        model = TierOverride
        fields = [
            "id", "account", "tier", "reason", "approved_by", "created_by", "starts_on", "expires_on", "status", "ended_on",
            "ended_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class HealthOverrideSerializer(serializers.ModelSerializer):
    score = serializers.DecimalField(source="override_score", max_digits=5, decimal_places=2, read_only=True, allow_null=True)
    band = BlankAsNullChoiceField(source="override_band", choices=BANDS)

    class Meta:
        model = HealthOverride
        fields = [
            "id", "account", "score", "band", "reason", "approved_by", "created_by", "starts_on", "expires_on", "status",
            "ended_on", "ended_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReadOnlyTieringViewSet(ServiceViewSet):
    """Lists and details, newest first; the visibility rule applies through the group's account."""

    ordering = ("-id",)

    def etag(self, instance: models.Model, data: Any = None) -> str:
        return _representation_etag(self.get_serializer(instance).data if data is None else data)


class ScoreSnapshotViewSet(ReadOnlyTieringViewSet):
    """Account value scores with their factor breakdown, ABC class, gate rule and tier, per run and group."""

    queryset = ScoreSnapshot.objects.all()
    serializer_class = ScoreSnapshotSerializer
    filterset_class = ScoreSnapshotFilterSet
    ordering_fields = ["id", "as_of"]
    list_select_related = ("run",)

    def base_queryset(self) -> models.QuerySet:
        # Only finished runs: a running one may still be writing its snapshots.
        return super().base_queryset().filter(run__status=RunStatus.DONE)


class HealthSnapshotViewSet(ReadOnlyTieringViewSet):
    """Health scores and bands (computed and shown), trend and factor breakdown, per run and group."""

    queryset = HealthSnapshot.objects.all()
    serializer_class = HealthSnapshotSerializer
    filterset_class = HealthSnapshotFilterSet
    ordering_fields = ["id", "as_of"]

    def base_queryset(self) -> models.QuerySet:
        return super().base_queryset().filter(run__status=RunStatus.DONE)


class TierAssignmentViewSet(ReadOnlyTieringViewSet):
    """The tier each group held over ``[valid_from, valid_to)``, why, and the evidence (a score snapshot)."""

    queryset = TierAssignment.objects.all()
    serializer_class = TierAssignmentSerializer
    filterset_class = TierAssignmentFilterSet
    ordering_fields = ["id", "valid_from"]


class TierOverrideViewSet(ReadOnlyTieringViewSet):
    """Manual tiers (set and ended with ``accounts/{id}/tier-override/``), active and past."""

    queryset = TierOverride.objects.all()
    serializer_class = TierOverrideSerializer
    filterset_class = TierOverrideFilterSet
    ordering_fields = ["id", "starts_on", "expires_on", "created_at"]


class HealthOverrideViewSet(ReadOnlyTieringViewSet):
    """Manual health scores or bands (set and ended with ``accounts/{id}/health-override/``)."""

    queryset = HealthOverride.objects.all()
    serializer_class = HealthOverrideSerializer
    filterset_class = HealthOverrideFilterSet
    ordering_fields = ["id", "starts_on", "expires_on", "created_at"]


# --- Account verbs --------------------------------------------------------------------------------


class _OverrideInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000)
    starts_on = BoundedDateField(required=False, help_text="Empty: today. Never in the past.")
    approved_by = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="User id of the approver (an administrator or executive); defaults to you.",
    )


class TierOverrideInput(_OverrideInput):
    tier = serializers.ChoiceField(choices=Tier.choices)
    expires_on = BoundedDateField(help_text="The first day the override no longer applies (at most the model's maximum).")


class HealthOverrideInput(_OverrideInput):
    score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True,
        help_text="A health score 0–100, or give a band instead.",
    )  # fmt: skip
    band = serializers.ChoiceField(choices=BANDS, required=False, allow_blank=True, help_text="red, yellow or green.")
    expires_on = BoundedDateField(required=False, help_text="Empty: the model's default (30 days).")


class ExplanationPartSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    group_id = serializers.IntegerField()
    override = serializers.JSONField(allow_null=True, help_text="The active override, if any.")
    snapshot = serializers.JSONField(
        allow_null=True,
        help_text="The latest snapshot: score, status, factors (breakdown), holding_down (top three), missing.",
    )


class TierExplanationSerializer(ExplanationPartSerializer):
    tier = serializers.CharField(allow_null=True)


class ExplanationSerializer(serializers.Serializer):
    tier = TierExplanationSerializer()
    health = ExplanationPartSerializer()


# The services name some errors after the override's columns; the API's fields are ``score``/``band``.
HEALTH_ALIASES = {"override_score": "score", "override_band": "band"}


class AccountTieringViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """``accounts/{id}/tier-override/``, ``accounts/{id}/health-override/`` and ``accounts/{id}/why/``.

    The account must be visible (else 404); an override applies to the account's whole group.
    ``If-Match`` with the account's ETag is honoured on the verbs.
    """

    queryset = Account.objects.all()
    serializer_class = TierOverrideSerializer
    filter_backends: list[Any] = []
    pagination_class = None
    action_permissions = {
        "tier_override": ["tiering.approve_tieroverride"],
        "tier_override_end": ["tiering.approve_tieroverride"],
        "health_override": ["tiering.approve_healthoverride"],
        "health_override_end": ["tiering.approve_healthoverride"],
        "why": ["tiering.view_scoresnapshot", "tiering.view_healthsnapshot"],
    }

    def get_queryset(self) -> models.QuerySet:
        return Account.objects.visible_to(self.request.user)

    def _account(self, request: Request) -> Account:
        account = self.get_object()
        tags = parse_if_match(request.headers.get("If-Match"))
        if tags is not None and "*" not in tags and f'"{account.version}"' not in tags:
            raise PreconditionFailed(account.version)
        return account

    @staticmethod
    def _active(model: type[TierOverride] | type[HealthOverride], account: Account) -> Any:
        override = model.objects.filter(account_id=account.group_root_id or account.pk, status=OverrideStatus.ACTIVE).first()
        if override is None:
            raise exceptions.NotFound(_("This account's group has no active override."))
        return override

    @staticmethod
    @contextmanager
    def _ended_meanwhile_is_404() -> Iterator[None]:
        """Two clients ending the same override at once: the second one, having waited for the first one's
        row lock, finds it ended; that is the same answer as arriving a moment later (404), not a 400."""
        try:
            yield
        except ValidationError as error:
            if getattr(error, "error_dict", {}).keys() == {"status"}:
                raise exceptions.NotFound(_("This account's group has no active override.")) from error
            raise

    @staticmethod
    def _created(request: Request, data: Any, resource: str, pk: int) -> Response:
        location = request.build_absolute_uri(f"/api/v1/{resource}/{pk}/")
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location, "ETag": _representation_etag(data)})

    @extend_schema(request=TierOverrideInput, responses={201: TierOverrideSerializer})
    @action(detail=True, methods=["post"], url_path="tier-override", url_name="tier-override")
    def tier_override(self, request: Request, pk: str | None = None) -> Response:
        """Set the tier of the account's group by hand until ``expires_on``, with a reason and an approver.

        Replaces the group's active override. Administrators and executives (the approvers) only.
        """
        serializer = TierOverrideInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            account = self._account(request)
            override = services.tier_override_set(
                account=account, tier=data["tier"], reason=data["reason"], expires_on=data["expires_on"],
                starts_on=data.get("starts_on"), approved_by=data.get("approved_by", request.user), actor=request.user,
            )  # fmt: skip
        return self._created(request, TierOverrideSerializer(override).data, "tier-overrides", override.pk)

    @extend_schema(request=None, responses={200: TierOverrideSerializer})
    @tier_override.mapping.delete
    def tier_override_end(self, request: Request, pk: str | None = None) -> Response:
        """End the group's active tier override now: the computed tier applies again (404 if there is none)."""
        with transaction.atomic(), self._ended_meanwhile_is_404():
            account = self._account(request)
            ended = services.tier_override_end(override=self._active(TierOverride, account), actor=request.user)
        return Response(TierOverrideSerializer(ended).data)

    @extend_schema(request=HealthOverrideInput, responses={201: HealthOverrideSerializer})
    @action(detail=True, methods=["post"], url_path="health-override", url_name="health-override")
    def health_override(self, request: Request, pk: str | None = None) -> Response:
        """Set the health score or band of the account's group by hand (30 days by default, 90 at most).

        The computed score is kept beside it. Administrators and executives (the approvers) only.
        """
        serializer = HealthOverrideInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with transaction.atomic():
                account = self._account(request)
                override = services.health_override_set(
                    account=account, reason=data["reason"], score=data.get("score"), band=data.get("band") or "",
                    expires_on=data.get("expires_on"), starts_on=data.get("starts_on"),
                    approved_by=data.get("approved_by", request.user), actor=request.user,
                )  # fmt: skip
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise
            raise ValidationError({HEALTH_ALIASES.get(k, k): v for k, v in error.error_dict.items()}) from error
        return self._created(request, HealthOverrideSerializer(override).data, "health-overrides", override.pk)

    @extend_schema(request=None, responses={200: HealthOverrideSerializer})
    @health_override.mapping.delete
    def health_override_end(self, request: Request, pk: str | None = None) -> Response:
        """End the group's active health override now: the computed score and band apply again."""
        with transaction.atomic(), self._ended_meanwhile_is_404():
            account = self._account(request)
            ended = services.health_override_end(override=self._active(HealthOverride, account), actor=request.user)
        return Response(HealthOverrideSerializer(ended).data)

    @extend_schema(responses={200: ExplanationSerializer})
    @action(detail=True, methods=["get"])
    def why(self, request: Request, pk: str | None = None) -> Response:
        """Why the account has its tier and health: the latest snapshots' factor breakdowns, the three
        factors holding each score down, the factors without data, the gate rule and active overrides."""
        account = self.get_object()
        data = {"tier": tier_explanation_of(account), "health": health_explanation_of(account)}
        return Response(ExplanationSerializer(data).data)


# --- The KAM portfolio matrix (DOMAIN.md §1.2) ----------------------------------------------------

INSUFFICIENT = "insufficient"


class MatrixRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="account_id", help_text="The group's root account (the key of portfolio-matrix/{id}/).")
    account = serializers.IntegerField(source="account_id", help_text="The group's root account.")
    name = serializers.CharField()
    owner = serializers.CharField(help_text="The root account's owner (username).")
    tier = serializers.CharField(allow_blank=True)
    attractiveness = serializers.FloatField(allow_null=True, help_text="0–100; null without a value score.")
    strength = serializers.FloatField(allow_null=True, help_text="0–100; null with fewer than two strength inputs.")
    quadrant = serializers.CharField(allow_null=True, help_text=f"One of {', '.join(QUADRANTS)}; null: insufficient data.")
    quadrant_label = serializers.CharField(help_text="The quadrant's label, in the request's language.")
    relationship_stage = serializers.IntegerField(allow_null=True)
    share_of_wallet = serializers.FloatField(
        allow_null=True, help_text="Percent: T12M revenue ÷ (3-year wallet ÷ 3), capped at 100."
    )
    nps = serializers.FloatField(allow_null=True, help_text="The group's NPS over the last twelve months, −100…100.")
    nps_responses = serializers.IntegerField()
    current_sales = serializers.DecimalField(
        max_digits=18, decimal_places=2, coerce_to_string=False, allow_null=True,
        help_text="T12M revenue in the base currency; null when an exchange rate is missing.",
    )  # fmt: skip
    wallet_3y = serializers.DecimalField(
        max_digits=18, decimal_places=2, coerce_to_string=False, allow_null=True,
        help_text="The three-year wallet estimate of the group's accounts, base currency.",
    )  # fmt: skip
    snapshot_as_of = serializers.DateField(allow_null=True, help_text="The value snapshot attractiveness comes from.")


MATRIX_RESPONSE = inline_serializer(
    "PortfolioMatrix",
    {
        "as_of": serializers.DateField(),
        "base_currency": serializers.CharField(),
        "cut_attractiveness": serializers.FloatField(),
        "cut_strength": serializers.FloatField(),
        "counts": serializers.DictField(child=serializers.IntegerField(), help_text="Groups per quadrant and insufficient."),
        "missing_rates": serializers.ListField(child=serializers.CharField()),
        "results": MatrixRowSerializer(many=True),
    },
)


class PortfolioMatrixViewSet(ApiViewMixin, viewsets.ViewSet):
    """The KAM portfolio matrix of the visible groups, computed on request (read-only)."""

    model = ScoreSnapshot  # reading it needs the tiering read permission, as the snapshots do
    list_is_object = True  # one object: the cuts, the counts and the rows (kam.api.schema.AutoSchema)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "quadrant", OpenApiTypes.STR, enum=[*QUADRANTS, INSUFFICIENT], description="Only the groups of this quadrant."
            )
        ],
        responses={200: MATRIX_RESPONSE},
    )
    def list(self, request: Request) -> Response:
        """Every visible group's attractiveness, strength and quadrant, largest current sales first."""
        wanted = request.query_params.get("quadrant")
        if wanted is not None and wanted not in (*QUADRANTS, INSUFFICIENT):
            raise ValidationError(
                {"quadrant": _("Unknown quadrant %(value)s: use one of %(codes)s.") % {
                    "value": wanted, "codes": ", ".join([*QUADRANTS, INSUFFICIENT])}}
            )  # fmt: skip
        result = portfolio_matrix(user=request.user)
        rows: list[MatrixRow] = result.rows
        if wanted is not None:
            rows = [row for row in rows if (row.quadrant or INSUFFICIENT) == wanted]
        counts = {code or INSUFFICIENT: n for code, n in result.counts().items()}
        return Response(
            {
                "as_of": result.as_of,
                "base_currency": result.base_currency,
                "cut_attractiveness": result.config.cut_attractiveness,
                "cut_strength": result.config.cut_strength,
                "counts": counts,
                "missing_rates": result.missing_rates,
                "results": MatrixRowSerializer(rows, many=True).data,
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The group's root account.")],
        responses={200: MatrixRowSerializer},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """One group's position: ``pk`` is the group's root account (404 when it is not visible or not a root)."""
        try:
            group_id = int(pk or "")
        except ValueError:
            raise exceptions.NotFound() from None
        rows = portfolio_matrix(user=request.user, group_id=group_id).rows
        if not rows:
            raise exceptions.NotFound()
        return Response(MatrixRowSerializer(rows[0]).data)


ROUTES = [
    ("scoring-models", ScoringModelViewSet, "scoring-model"),
    ("tier-snapshots", ScoreSnapshotViewSet, "tier-snapshot"),
    ("health-snapshots", HealthSnapshotViewSet, "health-snapshot"),
    ("tier-assignments", TierAssignmentViewSet, "tier-assignment"),
    ("tier-overrides", TierOverrideViewSet, "tier-override"),
    ("health-overrides", HealthOverrideViewSet, "health-override"),
    ("accounts", AccountTieringViewSet, "account-tiering"),
    ("portfolio-matrix", PortfolioMatrixViewSet, "portfolio-matrix"),
]
