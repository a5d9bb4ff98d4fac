"""One FilterSet per listable model, shared by the REST API and the HTML lists (STYLE.md, NetBox).

Filter names follow the field names (API.md: ``?account=12&status=active``). The view passes the
already-visible queryset in, so filters never widen what a user sees.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import AccountStatus, BuyingRoleCode, ContractStatus, HealthBand, Industry, MeetingKind, Tier
from accounts.models import Account, Contact, Contract, InfluenceLink, Invoice, Meeting, TeamRelationship
from accounts.selectors import CLOSED_CONTRACT_STATUSES, not_renewed
from kam.roles import sees_all_accounts

# Read the accounts with a renewal due by id when there are at most this many due contracts.
RENEWAL_IDS_LIMIT = 5000


class AccountFilterSet(filters.FilterSet):
    # distinct=False: these are columns of the account row itself (no join can repeat a row), and a
    # DISTINCT over the whole row would make PostgreSQL sort every match before the first page.
    q = filters.CharFilter(method="filter_q", label=_("Search"))
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, label=_("Tier"), distinct=False)
    health_band = filters.MultipleChoiceFilter(choices=HealthBand.choices, label=_("Health band"), distinct=False)
    status = filters.MultipleChoiceFilter(choices=AccountStatus.choices, label=_("Status"), distinct=False)
    industry = filters.MultipleChoiceFilter(choices=Industry.choices, label=_("Industry"), distinct=False)
    region = filters.CharFilter(field_name="region", label=_("Region"))
    owner = filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), label=_("Owner"))
    parent = filters.NumberFilter(field_name="parent_id", label=_("Parent account"))
    group = filters.NumberFilter(field_name="group_root_id", label=_("Group"))
    renewal_due_within = filters.NumberFilter(
        method="filter_renewal_due_within", label=_("Renewal due within (days)"), min_value=0, max_value=3660
    )
    open_alerts = filters.BooleanFilter(method="filter_open_alerts", label=_("Has open alerts"))

    class Meta:
        model = Account
        fields = [
            "q",
            "tier",
            "health_band",
            "status",
            "industry",
            "region",
            "owner",
            "parent",
            "group",
            "renewal_due_within",
            "open_alerts",
        ]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(external_id__iexact=value))

    def filter_renewal_due_within(self, queryset: QuerySet, name: str, value: int | None) -> QuerySet:
        """Accounts with a contract ending within ``value`` days and not renewed yet.

        Few accounts have a renewal due soon (about 530 of 100,000 within 90 days), and telling a due
        contract from a renewed one costs a probe per contract of the period. As a semi-join under
        the whole portfolio's list order, PostgreSQL walked the accounts by name and probed each one
        (44,000 probes, ~140 ms). So for a user who sees every account the due accounts are read
        first, from the partial index ``contract_open_end`` (one query, stopping at
        ``RENEWAL_IDS_LIMIT`` rows), and the list takes them by id; when more are due than that,
        matches are dense and the semi-join finds a page quickly. (Not for a manager: their list is
        already filtered by an array of ids, and two arrays on one column make PostgreSQL 15 probe
        the index for every pair of values.)
        """
        if value is None:
            return queryset
        today = timezone.localdate()
        due = Contract.objects.filter(
            not_renewed(), end_date__gte=today, end_date__lte=today + dt.timedelta(days=int(value))
        ).exclude(status__in=CLOSED_CONTRACT_STATUSES)
        user = getattr(self.request, "user", None)
        if user is None or sees_all_accounts(user):
            account_ids = list(due.order_by().values_list("account_id", flat=True)[: RENEWAL_IDS_LIMIT + 1])
            if len(account_ids) <= RENEWAL_IDS_LIMIT:
                return queryset.filter(pk__in=sorted(set(account_ids)))
        # A manager's list starts from their book (a few thousand accounts at most): probe those.
        return queryset.filter(Exists(due.filter(account=OuterRef("pk"))))

    def filter_open_alerts(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        """Accounts with (``true``) or without (``false``) an open alert: a semi-join, never a count.

        The alert table's partial unique index on (account, rule, reason) for open alerts answers
        each probe, so the list keeps walking its sort index and stops after one page.
        """
        if value is None:
            return queryset
        from service_plans.models import OPEN_STATUSES, Alert  # service_plans builds on accounts

        has_open = Exists(Alert.objects.filter(account=OuterRef("pk"), status__in=OPEN_STATUSES))
        return queryset.filter(has_open if value else ~has_open)


class ContactFilterSet(filters.FilterSet):
    buying_role = filters.ChoiceFilter(
        field_name="buying_roles__code", choices=BuyingRoleCode.choices, label=_("Buying role"), distinct=True
    )

    class Meta:
        model = Contact
        fields = ["account", "is_active", "coverage", "political_status", "reports_to", "buying_role"]


class ContractFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=ContractStatus.choices, label=_("Status"))
    end_date_after = filters.DateFilter(field_name="end_date", lookup_expr="gte", label=_("Ends on or after"))
    end_date_before = filters.DateFilter(field_name="end_date", lookup_expr="lte", label=_("Ends on or before"))

    class Meta:
        model = Contract
        fields = [
            "account",
            "number",
            "status",
            "currency",
            "auto_renew",
            "is_customised_solution",
            "renewal_of",
            "superseded_by",
        ]


class InvoiceFilterSet(filters.FilterSet):
    issued_on_after = filters.DateFilter(field_name="issued_on", lookup_expr="gte", label=_("Issued on or after"))
    issued_on_before = filters.DateFilter(field_name="issued_on", lookup_expr="lte", label=_("Issued on or before"))
    is_paid = filters.BooleanFilter(field_name="paid_on", lookup_expr="isnull", exclude=True, label=_("Paid"))
    is_overdue = filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = Invoice
        fields = ["account", "contract", "number", "currency", "is_disputed"]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(paid_on__isnull=True, written_off_amount=0, due_on__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class MeetingFilterSet(filters.FilterSet):
    kind = filters.MultipleChoiceFilter(choices=MeetingKind.choices, label=_("Kind"))
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label=_("From"))
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = Meeting
        fields = ["account", "kind"]


class TeamRelationshipFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="contact__account_id", label=_("Account"))

    class Meta:
        model = TeamRelationship
        fields = ["account", "contact", "user", "level_current", "level_target"]


class InfluenceLinkFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="from_contact__account_id", label=_("Account"))
    contact = filters.NumberFilter(method="filter_contact", label=_("Contact (either end)"))

    class Meta:
        model = InfluenceLink
        fields = ["account", "contact", "from_contact", "to_contact", "kind"]

    def filter_contact(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(Q(from_contact_id=value) | Q(to_contact_id=value))
