"""REST endpoints of the accounts app (paths and field names: docs/api-contract.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.choices import BuyingRoleCode, HealthBand, Tier
from accounts.filters import (
    AccountFilterSet,
    ContactFilterSet,
    ContractFilterSet,
    InfluenceLinkFilterSet,
    InvoiceFilterSet,
    MeetingFilterSet,
    TeamRelationshipFilterSet,
)
from accounts.models import Account, Contact, Contract, ExchangeRate, InfluenceLink, Invoice, Meeting, TeamRelationship
from kam.api.fields import BlankAsNullChoiceField, CodeListField
from kam.api.rows import FastReadMixin
from kam.api.serializers import ApiModelSerializer, FixedOnUpdateMixin
from kam.api.viewsets import CreateServiceMixin, DestroyServiceMixin, ServiceViewSet, UpdateServiceMixin
from kam.errors import Conflict
from kam.roles import is_administrator

User = get_user_model()
COMMON_READ_ONLY = ["id", "version", "created_at", "updated_at"]


# --- Accounts -------------------------------------------------------------------------------------


class AccountSerializer(ApiModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, help_text="User id; defaults to you."
    )
    tier = BlankAsNullChoiceField(choices=Tier.choices)
    health_band = BlankAsNullChoiceField(choices=HealthBand.choices)
    group = serializers.IntegerField(source="group_root_id", read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id", "name", "external_id", "parent", "group", "owner", "industry", "region", "currency", "status",
            "credit_rating", "payment_terms_days", "market_influence", "integration_potential", "relationship_stage",
            "wallet_estimate_amount", "notes", "tier", "abc_class", "value_score", "health_score", "health_band",
            *COMMON_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = ["abc_class", "value_score", "health_score", *COMMON_READ_ONLY]

    def validate_owner(self, owner: Any) -> Any:
        # Handing an account to someone else is an administrator's decision (it moves visibility).
        user = self.context["request"].user
        current = self.instance.owner_id if self.instance is not None else user.pk
        if owner.pk != current and not is_administrator(user):
            raise serializers.ValidationError(_("Only an administrator can give an account to another owner."))
        return owner


# The stakeholder map over time (DOMAIN.md §6.3 "Snapshots"); the data are web.selectors.stakeholder_history's.

EARLIEST_SINCE = dt.date(1900, 1, 1)


# The activity timeline's kinds (web.selectors.activity.KINDS, which the accounts app does not import).
ACTIVITY_KINDS = ["meeting", "service_request", "escalation", "alert", "survey", "contract", "invoice", "review", "tier"]


class ActivityQuery(serializers.Serializer):
    kind = serializers.MultipleChoiceField(
        choices=ACTIVITY_KINDS, required=False, help_text="Only these kinds (repeat the parameter); all kinds without it."
    )
    since = serializers.DateField(required=False, help_text="Events on or after this day (YYYY-MM-DD).")
    until = serializers.DateField(required=False, help_text="Events on or before this day (YYYY-MM-DD).")
    group = serializers.BooleanField(required=False, default=False, help_text="Include the subsidiaries' events.")
    cursor = serializers.CharField(required=False, help_text="The position from a `next` or `previous` link.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=settings.KAM_API_MAX_PAGE_SIZE, default=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": [_("The end of the range is before its start.")]})
        return attrs


class ActivityItemSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField(help_text="When it happened; events that only have a day are at 00:00 UTC.")
    is_date = serializers.BooleanField(help_text="True when only the day is known (invoices, contracts, reviews, tiers).")
    kind = serializers.ChoiceField(choices=ACTIVITY_KINDS)
    event = serializers.CharField(help_text="What happened, e.g. `invoice_paid`, `sr_opened`, `contract_renewed`.")
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    object_type = serializers.CharField(help_text="The model of the object, e.g. `meeting`, `invoice`, `alert`.")
    object_id = serializers.IntegerField()
    account = serializers.IntegerField(
        source="account_id", help_text="The account the event belongs to (a subsidiary with `group`)."
    )
    account_name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True, help_text="Invoices: the amount.")
    currency = serializers.CharField(allow_null=True, help_text="Invoices: the amount's currency.")
    days_late = serializers.IntegerField(allow_null=True, help_text="Paid invoices: days paid after the due date.")
    score = serializers.IntegerField(allow_null=True, help_text="Survey answers: the score.")


class ActivityPageSerializer(serializers.Serializer):
    results = ActivityItemSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class StakeholderChangesQuery(serializers.Serializer):
    since = serializers.DateField(
        required=False,
        help_text="The baseline date (YYYY-MM-DD). Without it: the day of the account's last held review, else 90 days ago.",
    )

    def validate_since(self, value: dt.date) -> dt.date:
        if value < EARLIEST_SINCE:
            raise serializers.ValidationError(_("Choose a date on or after 1900-01-01."))
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The date cannot be in the future."))
        return value


class StakeholderBaselineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["review", "default", "date"], help_text="review, default (90 days ago) or date (since)."
    )
    kind_label = serializers.CharField(help_text="The baseline in the request's language.")
    on = serializers.DateField()
    starts_at = serializers.DateTimeField(
        help_text="Changes from this moment on are listed; the map just before it is the baseline's."
    )
    review = serializers.IntegerField(allow_null=True, help_text="The plan review the baseline is, if any.")


class StakeholderFieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The contact's field, or buying_roles.")
    label = serializers.CharField()
    old = serializers.CharField(help_text="The old value as shown (choice labels in the request's language).")
    new = serializers.CharField()
    old_value = serializers.JSONField(allow_null=True, help_text="The stored value (code, number, id, date or list of codes).")
    new_value = serializers.JSONField(allow_null=True)


class StakeholderEventSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["added", "changed", "left", "returned", "removed"])
    kind_label = serializers.CharField()
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True, help_text="Who made the change (username); null for the system.")
    fields = StakeholderFieldChangeSerializer(many=True)


class SupportPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    support = serializers.IntegerField(min_value=-2, max_value=2)
    label = serializers.CharField()


class SupportTrendSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    points = SupportPointSerializer(many=True, help_text="The support at the start of the 12 months, then each change.")


class SupportIndexPairSerializer(serializers.Serializer):
    now = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=False, allow_null=True)
    at_baseline = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=False, allow_null=True)


class StakeholderChangesSerializer(serializers.Serializer):
    baseline = StakeholderBaselineSerializer()
    support_index = SupportIndexPairSerializer(help_text="−1…+1; null without key players (§6.3).")
    changes = StakeholderEventSerializer(many=True, help_text="Newest first.")
    trend_since = serializers.DateTimeField()
    trend = SupportTrendSerializer(many=True)


def _stakeholder_changes_data(history: Any) -> dict[str, Any]:
    baseline = history.baseline
    return {
        "baseline": {
            "kind": baseline.kind,
            "kind_label": str(baseline.kind_label),
            "on": baseline.on,
            "starts_at": baseline.starts_at,
            "review": baseline.review.pk if baseline.review else None,
        },
        "support_index": {"now": history.support_index_now, "at_baseline": history.support_index_at_baseline},
        "changes": [
            {
                "contact": contact.contact_id,
                "name": contact.name,
                "kind": event.kind,
                "kind_label": str(event.kind_label),
                "at": event.at,
                "user": event.user.username if event.user else None,
                "fields": [
                    {
                        "field": f.name,
                        "label": str(f.label),
                        "old": str(f.old),
                        "new": str(f.new),
                        "old_value": _plain(f.old_value),
                        "new_value": _plain(f.new_value),
                    }
                    for f in event.fields
                ],
            }
            for contact in history.changes
            for event in contact.events
        ],
        "trend_since": history.trend_since,
        "trend": [
            {
                "contact": t.contact_id,
                "name": t.name,
                "is_active": t.is_active,
                "points": [{"at": p.at, "support": p.support, "label": str(p.label)} for p in t.points],
            }
            for t in history.trends
        ],
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


class AccountViewSet(FastReadMixin, CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Key accounts. ``tier``, the scores and ``health_band`` are computed by tiering and read-only here."""

    # List and detail are read through kam.api.rows (the serializer's output, without its per-field cost).

    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    search_fields = ["name", "external_id"]
    ordering_fields = ["id", "name", "status", "tier", "health_band", "region", "industry", "created_at", "updated_at"]
    create_service = services.account_create
    update_service = services.account_update
    instance_kwarg = "account"
    action_permissions = {
        "stakeholder_changes": ["accounts.view_account", "accounts.view_contact"],
        "activity": ["accounts.view_account"],
    }

    def visible_rows(self, queryset: Any) -> Any:
        # A list: the same rows as visible_to, as an id array, so that a keyset page is a
        # primary-key scan that stops after the page instead of joining and sorting the manager's
        # whole book. Not for one account: the array is the whole book (9 ms at 100,000 accounts),
        # where visible_to checks that one row's ancestors (under 1 ms).
        if self.action == "list":
            return queryset.visible_to_by_id(self.request.user)
        return super().visible_rows(queryset)

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated_data)
        if self.action == "create":
            data.setdefault("owner", self.request.user)
        return data

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATE, required=False, description=StakeholderChangesQuery().fields["since"].help_text
            )
        ],
        responses={200: StakeholderChangesSerializer},
    )
    @action(detail=True, methods=["get"], url_path="stakeholder-changes", url_name="stakeholder-changes")
    def stakeholder_changes(self, request: Request, pk: str | None = None) -> Response:
        """What changed on the stakeholder map since the baseline (the last held review, else 90 days ago,
        or ``since``): field, old → new, who and when; each contact's support over the last 12 months; the
        support index at the baseline and now (DOMAIN.md §6.3)."""
        query = StakeholderChangesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = self.get_object()
        # Imported here: the selector is the account page's (web), which reads reviews (service_plans);
        # the accounts app itself does not depend on either.
        from web.selectors.stakeholder_history import stakeholder_history

        history = stakeholder_history(account=account, since=query.validated_data.get("since"))
        return Response(StakeholderChangesSerializer(_stakeholder_changes_data(history)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                many=True,
                enum=ACTIVITY_KINDS,
                explode=True,
                required=False,
                description=str(ActivityQuery().fields["kind"].help_text),
            ),
            OpenApiParameter(
                "since", OpenApiTypes.DATE, required=False, description=str(ActivityQuery().fields["since"].help_text)
            ),
            OpenApiParameter(
                "until", OpenApiTypes.DATE, required=False, description=str(ActivityQuery().fields["until"].help_text)
            ),
            OpenApiParameter(
                "group", OpenApiTypes.BOOL, required=False, description=str(ActivityQuery().fields["group"].help_text)
            ),
            OpenApiParameter(
                "cursor", OpenApiTypes.STR, required=False, description=str(ActivityQuery().fields["cursor"].help_text)
            ),
            OpenApiParameter("page_size", OpenApiTypes.INT, required=False, description="Events per page (50 unless given)."),
        ],
        responses={200: ActivityPageSerializer},
    )
    @action(detail=True, methods=["get"], url_path="activity", url_name="activity", pagination_class=None, filter_backends=[])
    def activity(self, request: Request, pk: str | None = None) -> Response:
        """The account's activity timeline, newest first: meetings, service requests opened and resolved,
        escalations and alerts opened and closed, survey answers, contracts signed, started, renewed and
        ended, invoices issued and paid, plan reviews held and tier changes. One query per page, cursor
        pagination (``next``/``previous``)."""
        query = ActivityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = self.get_object()
        # Imported here: the selector is the web page's, which reads service_plans and tiering.
        from web.pagination import BadCursor
        from web.selectors.activity import ActivityQuery as Query
        from web.selectors.activity import activity_page

        data = query.validated_data
        feed_query = Query(
            kinds=sorted(data.get("kind") or []), since=data.get("since"), until=data.get("until"), group=data["group"]
        )
        try:
            page = activity_page(account=account, query=feed_query, cursor=data.get("cursor"), page_size=data["page_size"])
        except BadCursor:
            raise serializers.ValidationError({"cursor": [_("Invalid cursor.")]}) from None

        def link(cursor: str | None) -> str | None:
            if cursor is None:
                return None
            params = request.query_params.copy()
            params["cursor"] = cursor
            return request.build_absolute_uri(request.path + "?" + params.urlencode())

        body = {"results": page.rows, "next": link(page.next_cursor), "previous": link(page.prev_cursor)}
        return Response(ActivityPageSerializer(body).data)


# --- Contacts -------------------------------------------------------------------------------------


class ContactSerializer(ApiModelSerializer):
    buying_roles = CodeListField(choices=BuyingRoleCode.choices, required=False)

    class Meta:
        model = Contact
        fields = [
            "id", "account", "name", "email", "phone", "title", "department", "buying_roles", "influence", "support",
            "coverage", "political_status", "decision_orientation", "reports_to", "is_active", "left_on", "replaced_by",
            *COMMON_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = COMMON_READ_ONLY


class ContactViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """People at the customer, with their buying roles (a list of codes)."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    search_fields = ["name", "email", "title"]
    ordering_fields = ["id", "name", "influence", "support", "created_at", "updated_at"]
    list_prefetch_related = ("buying_roles",)
    create_service = services.contact_create
    update_service = services.contact_update
    delete_service = services.contact_delete
    instance_kwarg = "contact"


# --- Team relationships ---------------------------------------------------------------------------


class TeamRelationshipSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("contact", "user")
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="User id of the colleague; defaults to you. Only the account's owner records a colleague's.",
    )
    account = serializers.IntegerField(source="contact.account_id", read_only=True, help_text="The contact's account.")

    class Meta:
        model = TeamRelationship
        fields = [
            "id", "contact", "account", "user", "level_current", "level_target", "last_interaction_on", *COMMON_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = COMMON_READ_ONLY


class TeamRelationshipViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """How each of our people stands with a customer contact (``level_current``) and where we aim to be
    (``level_target``): 1 vendor, 2 credible source, 3 problem solver, 4 trusted advisor (DOMAIN.md §6.2).
    One per contact and colleague. Managers write their own; the account's owner writes anyone's."""

    queryset = TeamRelationship.objects.all()
    serializer_class = TeamRelationshipSerializer
    filterset_class = TeamRelationshipFilterSet
    search_fields = ["contact__name", "user__username"]
    ordering_fields = ["id", "level_current", "level_target", "created_at", "updated_at"]
    list_select_related = ("contact",)
    create_service = services.team_relationship_create
    update_service = services.team_relationship_update
    delete_service = services.team_relationship_remove
    instance_kwarg = "relationship"

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated_data)
        if self.action == "create":
            data.setdefault("user", self.request.user)
        return data


# --- Influence and conflict lines ----------------------------------------------------------------


class InfluenceLinkSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    fixed_on_update = ("from_contact", "to_contact")
    account = serializers.IntegerField(source="from_contact.account_id", read_only=True, help_text="The contacts' account.")

    class Meta:
        model = InfluenceLink
        fields = ["id", "account", "from_contact", "to_contact", "kind", "note", "created_by", *COMMON_READ_ONLY]
        read_only_fields = ["created_by", *COMMON_READ_ONLY]


class InfluenceLinkViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """Influence lines and conflict lines between two contacts of the same account (DOMAIN.md §6.1–6.2):
    ``from_contact`` influences, or conflicts with, ``to_contact``. One line per pair and kind (a second
    is a 409); the contacts are fixed once drawn, ``kind`` and ``note`` can change. Whoever may edit the
    account's contacts draws and removes its lines. ``?contact=`` finds the lines at either end."""

    queryset = InfluenceLink.objects.all()
    serializer_class = InfluenceLinkSerializer
    filterset_class = InfluenceLinkFilterSet
    search_fields = ["from_contact__name", "to_contact__name", "note"]
    ordering_fields = ["id", "kind", "created_at", "updated_at"]
    list_select_related = ("from_contact",)
    create_service = services.influence_link_create
    update_service = services.influence_link_update
    delete_service = services.influence_link_delete
    instance_kwarg = "link"


# --- Contracts ------------------------------------------------------------------------------------


class ContractSerializer(ApiModelSerializer):
    class Meta:
        model = Contract
        fields = [
            "id", "account", "number", "title", "start_date", "end_date", "annual_value", "currency", "status",
            "renewal_of", "superseded_by", "signed_on", "notice_on", "auto_renew", "is_customised_solution",
            "escalator_pct", *COMMON_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = COMMON_READ_ONLY


class ContractRenewSerializer(ApiModelSerializer):
    """The renewal's terms; anything left out is carried over from the contract being renewed."""

    class Meta:
        model = Contract
        fields = [
            "number", "title", "start_date", "end_date", "annual_value", "currency", "signed_on", "auto_renew",
            "is_customised_solution", "escalator_pct",
        ]  # fmt: skip
        extra_kwargs = {name: {"required": False} for name in fields if name != "number"}


class ContractViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Contracts; ``renew`` creates the renewal and marks the contract renewed."""

    queryset = Contract.objects.all()
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet
    search_fields = ["number", "title"]
    ordering_fields = ["id", "number", "start_date", "end_date", "annual_value", "created_at", "updated_at"]
    create_service = services.contract_create
    update_service = services.contract_update
    instance_kwarg = "contract"
    action_permissions = {"renew": ["accounts.add_contract", "accounts.change_contract"]}

    @extend_schema(request=ContractRenewSerializer, responses={201: ContractSerializer})
    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Renew the contract: creates the renewal (``renewal_of`` = this contract) and marks this one renewed.

        A contract is renewed once (409 the second time). ``If-Match`` with this contract's ETag is honoured.
        """
        serializer = ContractRenewSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            original, expected_version = self.checked_object(request)
            renewal = services.contract_renew(
                contract=original, actor=request.user, expected_version=expected_version, **serializer.validated_data
            )
        location = request.build_absolute_uri(f"{request.path.rsplit('/', 3)[0]}/{renewal.pk}/")
        return self.object_response(renewal, status.HTTP_201_CREATED, Location=location)


# --- Invoices -------------------------------------------------------------------------------------


class InvoiceSerializer(ApiModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id", "account", "contract", "number", "issued_on", "due_on", "amount", "currency", "margin_amount", "quantity", "paid_on",
            "written_off_amount", "written_off_on", "is_disputed", *COMMON_READ_ONLY,
        ]  # fmt: skip
        read_only_fields = COMMON_READ_ONLY


class InvoiceViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Invoices and how they were paid or written off."""

    queryset = Invoice.objects.all()
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilterSet
    search_fields = ["number"]
    ordering_fields = ["id", "number", "issued_on", "due_on", "amount", "created_at", "updated_at"]
    create_service = services.invoice_create
    update_service = services.invoice_update
    instance_kwarg = "invoice"


# --- Meetings -------------------------------------------------------------------------------------


class MeetingSerializer(FixedOnUpdateMixin, ApiModelSerializer):
    class Meta:
        model = Meeting
        fields = [
            "id", "account", "kind", "occurred_at", "title", "summary", "decisions", "contacts", "attendees", "created_by",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]
        extra_kwargs = {"contacts": {"required": False}, "attendees": {"required": False}}


class MeetingViewSet(CreateServiceMixin, UpdateServiceMixin, DestroyServiceMixin, ServiceViewSet):
    """Meetings, calls and visits; ``contacts`` are the customer attendees (contacts of the same account)."""

    queryset = Meeting.objects.all()
    serializer_class = MeetingSerializer
    filterset_class = MeetingFilterSet
    search_fields = ["title", "summary"]
    ordering_fields = ["id", "occurred_at", "created_at", "updated_at"]
    list_prefetch_related = ("contacts", "attendees")
    create_service = services.meeting_create
    update_service = services.meeting_update
    delete_service = services.meeting_delete
    instance_kwarg = "meeting"

    def service_kwargs(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated_data)
        if self.action == "create":
            data["created_by"] = self.request.user
        return data


# --- Exchange rates -------------------------------------------------------------------------------


class ExchangeRateSerializer(ApiModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "year", "rate_to_base"]
        read_only_fields = ["id"]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            # A rate is identified by its currency and year; only the rate changes.
            fields["currency"].read_only = True
            fields["year"].read_only = True
        return fields


class ExchangeRateViewSet(CreateServiceMixin, UpdateServiceMixin, ServiceViewSet):
    """Reference data: everyone reads, administrators write. POST adds a year's rate; PUT/PATCH change it."""

    queryset = ExchangeRate.objects.all()
    serializer_class = ExchangeRateSerializer
    filterset_fields = ["currency", "year"]
    ordering_fields = ["id", "currency", "year"]
    service_takes_actor = False

    def base_queryset(self) -> Any:
        return ExchangeRate.objects.all()

    def perform_create(self, serializer: Any) -> ExchangeRate:
        data = serializer.validated_data
        if ExchangeRate.objects.filter(currency=data["currency"], year=data["year"]).exists():
            raise Conflict(_("A rate for this currency and year exists already; change it with PUT or PATCH."), field="year")
        return services.exchange_rate_set(**data)

    def perform_update(self, serializer: Any, *, expected_version: int | None) -> ExchangeRate:
        rate = serializer.instance
        new_rate = serializer.validated_data.get("rate_to_base", rate.rate_to_base)
        return services.exchange_rate_set(currency=rate.currency, year=rate.year, rate_to_base=new_rate)


ROUTES = [
    ("accounts", AccountViewSet, "account"),
    ("contacts", ContactViewSet, "contact"),
    ("contracts", ContractViewSet, "contract"),
    ("invoices", InvoiceViewSet, "invoice"),
    ("meetings", MeetingViewSet, "meeting"),
    ("team-relationships", TeamRelationshipViewSet, "team-relationship"),
    ("influence-links", InfluenceLinkViewSet, "influence-link"),
    ("exchange-rates", ExchangeRateViewSet, "exchange-rate"),
]
