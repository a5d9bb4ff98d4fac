"""Everything the account page ("account 360") shows, in a fixed number of queries.

Each section has its own function so a section can be re-rendered alone (htmx) and so the sections
that land later (tier breakdown, plan, needs, alerts) add a function here and a template include.
``account_page`` assembles them; its query count does not depend on how many contacts, contracts,
invoices or subsidiaries the account has (tests pin it at N and 5N rows).

Two rarely read cards are not part of it: "History of changes" (``account_history``) and "Stakeholder
changes" (``account_stakeholder_changes``) load on demand from their own URLs, which saves the page
their 12 queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, BooleanField, Count, ExpressionWrapper, F, Func, IntegerField, Prefetch, Q, Sum, Value
from django.db.models.functions import ExtractMonth, ExtractYear, Greatest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts import stakeholders
from accounts.choices import ContractStatus
from accounts.models import Account, AccountAncestry, Contact, Contract, InfluenceLink, Invoice, Meeting, TeamRelationship
from service_plans.models import (
    POSITIVE_RULES,
    AccountTeamMember,
    Project,
    ReviewKind,
    ReviewStatus,
    ServiceRequest,
    SurveyResponse,
    TeamRole,
)
from service_plans.selectors import team_missing_roles
from web.money import RateTable, fiscal_year_of, fiscal_year_of_month
from web.selectors.account_insights import (
    PlanSection,
    ScoresSection,
    account_alerts,
    account_needs,
    account_plan,
    account_scores,
)
from web.selectors.history import Change, recent_changes
from web.selectors.stakeholder_history import StakeholderHistory, stakeholder_history

MAX_TREE_NODES = 200
MAX_CONTACTS = 300
MAX_CONTRACTS = 100
CHART_YEARS = 5


class DaysBetween(Func):
    """``later - earlier`` in whole days for two date columns (PostgreSQL and SQLite)."""

    output_field = IntegerField()

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        later, later_params = compiler.compile(self.source_expressions[0])
        earlier, earlier_params = compiler.compile(self.source_expressions[1])
        return f"({later} - {earlier})", [*later_params, *earlier_params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        later, later_params = compiler.compile(self.source_expressions[0])
        earlier, earlier_params = compiler.compile(self.source_expressions[1])
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)", [*later_params, *earlier_params]


def account_for_page(*, user: Any, pk: int) -> Account:
    """The account if ``user`` may see it, else 404 (never 403: an outsider learns nothing)."""
    return get_object_or_404(Account.objects.visible_to(user).select_related("owner", "parent"), pk=pk)


# --- Group hierarchy ------------------------------------------------------------------------------


@dataclass
class HierarchyNode:
    account: Account
    depth: int
    arr: Decimal | None = None
    revenue_t12m: Decimal | None = None
    children_count: int = 0

    @property
    def indent(self) -> int:
        return min(self.depth, 6)


@dataclass
class Hierarchy:
    ancestors: list[Account]
    nodes: list[HierarchyNode]
    truncated: bool
    base_currency: str


def _rollups(
    node_ids: list[int], *, today: dt.date, rates: RateTable
) -> tuple[dict[int, Decimal | None], dict[int, Decimal | None]]:
    """ARR today and revenue of the trailing 12 months of each node's subtree, in the base currency.

    Two GROUP BY queries through the closure table: a contract or invoice counts for every ancestor
    of its account. ARR follows DOMAIN.md §0.1a (active on the day, not draft); each amount converts at
    the rate of its fiscal year.
    """
    fy_now = fiscal_year_of(today)
    arr_rows = (
        Contract.objects.filter(
            account__ancestor_links__ancestor_id__in=node_ids,
            start_date__lte=today,
            end_date__gte=today,
        )
        .exclude(status=ContractStatus.DRAFT)
        .values("account__ancestor_links__ancestor_id", "currency")
        .annotate(total=Sum("annual_value"))
    )
    arr: dict[int, list[tuple[Decimal, str, int]]] = defaultdict(list)
    for row in arr_rows:
        arr[row["account__ancestor_links__ancestor_id"]].append((row["total"], row["currency"], fy_now))
    since = today - dt.timedelta(days=365)
    revenue_rows = (
        Invoice.objects.filter(account__ancestor_links__ancestor_id__in=node_ids, issued_on__gt=since, issued_on__lte=today)
        .annotate(y=ExtractYear("issued_on"), m=ExtractMonth("issued_on"))
        .values("account__ancestor_links__ancestor_id", "currency", "y", "m")
        .annotate(total=Sum("amount"))
    )
    revenue: dict[int, list[tuple[Decimal, str, int]]] = defaultdict(list)
    for row in revenue_rows:
        revenue[row["account__ancestor_links__ancestor_id"]].append(
            (row["total"], row["currency"], fiscal_year_of_month(row["y"], row["m"]))
        )
    return (
        {pk: rates.total(arr.get(pk, [])) for pk in node_ids},
        {pk: rates.total(revenue.get(pk, [])) for pk in node_ids},
    )


def account_hierarchy(*, user: Any, account: Account, today: dt.date, rates: RateTable) -> Hierarchy:
    ancestors = list(
        Account.objects.visible_to(user)
        .filter(descendant_links__descendant_id=account.pk, descendant_links__depth__gt=0)
        .order_by("-descendant_links__depth")
        .only("id", "name", "tier", "health_band", "owner")
    )
    # Everything below a visible account is visible (the visibility rule), so the subtree needs no filter.
    links = list(
        AccountAncestry.objects.filter(ancestor_id=account.pk)
        .select_related("descendant")
        .only(
            "depth", "descendant__id", "descendant__name", "descendant__parent_id", "descendant__tier",
            "descendant__health_band", "descendant__status",
        )
        .order_by("depth", "descendant__name", "descendant_id")[: MAX_TREE_NODES + 1]
    )  # fmt: skip
    truncated = len(links) > MAX_TREE_NODES
    links = links[:MAX_TREE_NODES]
    by_parent: dict[int | None, list[AccountAncestry]] = defaultdict(list)
    for link in links:
        by_parent[link.descendant.parent_id].append(link)
    nodes: list[HierarchyNode] = []

    def walk(link: AccountAncestry) -> None:
        kids = by_parent.get(link.descendant_id, [])
        nodes.append(HierarchyNode(account=link.descendant, depth=link.depth, children_count=len(kids)))
        for kid in kids:
            walk(kid)

    if links:
        walk(links[0])  # depth 0: the account itself
    arr, revenue = _rollups([n.account.pk for n in nodes], today=today, rates=rates)
    for node in nodes:
        node.arr, node.revenue_t12m = arr[node.account.pk], revenue[node.account.pk]
    return Hierarchy(ancestors=ancestors, nodes=nodes, truncated=truncated, base_currency=rates.base)


# --- Stakeholder map ------------------------------------------------------------------------------


@dataclass
class StakeholderMap:
    contacts: list[Contact]
    chart: list[stakeholders.OrgNode]
    red_flags: list[stakeholders.RedFlag]
    support_index: Decimal | None
    role_coverage: Decimal
    uncovered_roles: list[str]
    relationship_gap: int
    truncated: bool


def account_stakeholders(*, account: Account, today: dt.date) -> StakeholderMap:
    contacts = list(
        Contact.objects.filter(account=account)
        .prefetch_related(
            "buying_roles",
            # with the colleague, in the same query: the map lists each colleague's level
            Prefetch("team_relationships", queryset=TeamRelationship.objects.select_related("user").order_by("user__username")),
            # each contact's influence and conflict lines, with the contact at the other end (one query)
            Prefetch(
                "influence_links_out",
                queryset=InfluenceLink.objects.select_related("to_contact").order_by(
                    "-kind", "to_contact__name", "id"
                ),  # influences first,
            ),
        )
        .order_by("-is_active", "-influence", "name", "id")[: MAX_CONTACTS + 1]
    )
    truncated = len(contacts) > MAX_CONTACTS
    contacts = contacts[:MAX_CONTACTS]
    coverage, uncovered = stakeholders.role_coverage(contacts)
    return StakeholderMap(
        contacts=contacts,
        chart=stakeholders.org_chart([c for c in contacts if c.is_active]),
        red_flags=stakeholders.red_flags(contacts, today=today),
        support_index=stakeholders.support_index(contacts),
        role_coverage=coverage,
        uncovered_roles=uncovered,
        relationship_gap=stakeholders.relationship_gap(contacts),
        truncated=truncated,
    )


# --- Contracts and the renewal timeline -----------------------------------------------------------


@dataclass
class ContractsSection:
    contracts: list[Contract]
    timeline: dict[str, Any]
    next_renewal: Contract | None
    arr: Decimal | None


def account_contracts(*, account: Account, today: dt.date, rates: RateTable) -> ContractsSection:
    contracts = list(
        Contract.objects.filter(account=account)
        .select_related("renewal", "renewal_of")
        .order_by("-end_date", "-id")[:MAX_CONTRACTS]
    )
    fy_now = fiscal_year_of(today)
    open_statuses = {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
    upcoming = [c for c in contracts if c.end_date >= today and c.status in open_statuses and getattr(c, "renewal", None) is None]
    active = [c for c in contracts if c.start_date <= today <= c.end_date and c.status != ContractStatus.DRAFT]
    # The timeline shows what matters for renewals: contracts that ended in the last three years or later.
    horizon = today - dt.timedelta(days=3 * 365)
    shown = sorted((c for c in contracts if c.end_date >= horizon), key=lambda c: (c.start_date, c.pk))
    timeline = {
        "today": today.isoformat(),
        "items": [
            {
                "label": c.number,
                "start": c.start_date.isoformat(),
                "end": c.end_date.isoformat(),
                "status": c.status,
                "statusLabel": str(c.get_status_display()),
                "value": float(c.annual_value),
                "currency": c.currency,
            }
            for c in shown
        ],
    }
    return ContractsSection(
        contracts=contracts,
        timeline=timeline,
        next_renewal=min(upcoming, key=lambda c: (c.end_date, c.pk)) if upcoming else None,
        arr=rates.total((c.annual_value, c.currency, fy_now) for c in active),
    )


# --- Revenue and payment behaviour (charts) -------------------------------------------------------


@dataclass
class FinanceSection:
    revenue_chart: dict[str, Any]
    payment_chart: dict[str, Any]
    aging_chart: dict[str, Any]
    overdue_total: Decimal | None
    includes_subsidiaries: bool
    invoices: list[Invoice]


AGING_BUCKETS = (("current", None, 0), ("1_30", 1, 30), ("31_60", 31, 60), ("61_90", 61, 90), ("over_90", 91, None))


def account_finance(*, account: Account, today: dt.date, rates: RateTable, has_subsidiaries: bool) -> FinanceSection:
    """Revenue by fiscal year, payment behaviour by fiscal year and today's overdue ageing.

    Computed over the account and its subsidiaries (DOMAIN.md §0.1: the group is the unit), three
    GROUP BY queries on the invoice table.
    """
    subtree = Q(account__ancestor_links__ancestor_id=account.pk)
    fy_now = fiscal_year_of(today)
    years = list(range(fy_now - CHART_YEARS + 1, fy_now + 1))
    first_day = dt.date(years[0] - 1, 1, 1)  # a little early: fiscal years may start mid-year

    revenue: dict[int, list[tuple[Decimal, str, int]]] = defaultdict(list)
    for row in (
        Invoice.objects.filter(subtree, issued_on__gte=first_day, issued_on__lte=today)
        .annotate(y=ExtractYear("issued_on"), m=ExtractMonth("issued_on"))
        .values("currency", "y", "m")
        .annotate(total=Sum("amount"))
    ):
        fy = fiscal_year_of_month(row["y"], row["m"])
        revenue[fy].append((row["total"], row["currency"], fy))

    # Payment behaviour (DOMAIN.md §4.10): amount-weighted days to pay and days beyond terms of the
    # invoices paid in each fiscal year; weights are converted so currencies mix fairly.
    paid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        Invoice.objects.filter(subtree, paid_on__gte=first_day, paid_on__lte=today)
        .annotate(y=ExtractYear("paid_on"), m=ExtractMonth("paid_on"))
        .values("currency", "y", "m")
        .annotate(
            paid_amount=Sum("amount"),
            w_pay=Sum(F("amount") * DaysBetween(F("paid_on"), F("issued_on"))),
            w_late=Sum(F("amount") * Greatest(DaysBetween(F("paid_on"), F("due_on")), Value(0))),
        )
    ):
        paid[fiscal_year_of_month(row["y"], row["m"])].append(row)

    days_to_pay, days_late = [], []
    for year in years:
        weight = w_pay = w_late = Decimal("0")
        complete = True
        for row in paid.get(year, []):
            rate = rates.convert(Decimal("1"), row["currency"], year)
            if rate is None:
                complete = False
                continue
            weight += row["paid_amount"] * rate
            w_pay += row["w_pay"] * rate
            w_late += row["w_late"] * rate
        ok = complete and weight > 0
        days_to_pay.append(float(round(w_pay / weight, 1)) if ok else None)
        days_late.append(float(round(w_late / weight, 1)) if ok else None)

    open_invoices = Invoice.objects.filter(subtree, paid_on__isnull=True, issued_on__lte=today).filter(
        written_off_amount__lt=F("amount")
    )
    aging_filters = {}
    for code, low, high in AGING_BUCKETS:
        condition = Q()
        if low is None:
            condition &= Q(due_on__gte=today)
        else:
            condition &= Q(due_on__lte=today - dt.timedelta(days=low))
            if high is not None:
                condition &= Q(due_on__gte=today - dt.timedelta(days=high))
        aging_filters[code] = Sum(F("amount") - F("written_off_amount"), filter=condition)
    aging_rows = list(open_invoices.values("currency").annotate(**aging_filters))
    aging = {}
    for code, _low, _high in AGING_BUCKETS:
        aging[code] = rates.total((row[code], row["currency"], fy_now) for row in aging_rows if row[code] is not None)
    overdue_parts = [aging[code] for code, low, _ in AGING_BUCKETS if low is not None]
    overdue_total = None if any(p is None for p in overdue_parts) else sum(overdue_parts, Decimal("0"))

    def as_float(value: Decimal | None) -> float | None:
        return None if value is None else float(round(value, 2))

    return FinanceSection(
        revenue_chart={
            "years": [str(y) for y in years],
            "revenue": [as_float(rates.total(revenue.get(y, []))) for y in years],
            "currency": rates.base,
        },
        payment_chart={"years": [str(y) for y in years], "daysToPay": days_to_pay, "daysLate": days_late},
        aging_chart={
            "buckets": [code for code, *_ in AGING_BUCKETS],
            "amounts": [as_float(aging[c]) for c, *_ in AGING_BUCKETS],
            "currency": rates.base,
        },
        overdue_total=overdue_total,
        includes_subsidiaries=has_subsidiaries,
        invoices=list(Invoice.objects.filter(account=account).select_related("contract").order_by("-issued_on", "-id")[:10]),
    )


# --- Service delivery: team, surveys, service requests, projects, meetings -------------------------


@dataclass
class SurveySummary:
    nps_mean: Decimal | None
    nps_count: int
    csat_share: Decimal | None
    csat_count: int
    ces_mean: Decimal | None
    ces_count: int


def account_surveys(*, account: Account, now: dt.datetime) -> tuple[list[SurveyResponse], SurveySummary]:
    recent = list(SurveyResponse.objects.filter(account=account).select_related("contact").order_by("-responded_at", "-id")[:10])
    window = Q(responded_at__gt=now - dt.timedelta(days=365), responded_at__lte=now)
    stats = SurveyResponse.objects.filter(window, account=account).aggregate(
        nps_mean=Avg("score", filter=Q(kind="nps")),
        nps_count=Count("id", filter=Q(kind="nps")),
        csat_ok=Count("id", filter=Q(kind="csat", score__gte=4)),
        csat_count=Count("id", filter=Q(kind="csat")),
        ces_mean=Avg("score", filter=Q(kind="ces")),
        ces_count=Count("id", filter=Q(kind="ces")),
    )

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))

    return recent, SurveySummary(
        nps_mean=dec(stats["nps_mean"]),
        nps_count=stats["nps_count"],
        # §4.8: CSAT is the share of 4s and 5s; no responses → no value, never 0%.
        csat_share=(Decimal(stats["csat_ok"]) / stats["csat_count"]) if stats["csat_count"] else None,
        csat_count=stats["csat_count"],
        ces_mean=dec(stats["ces_mean"]),
        ces_count=stats["ces_count"],
    )


SLA_MET, SLA_BREACHED, SLA_PENDING, SLA_NONE = "met", "breached", "pending", "none"


def sla_state(done_at: dt.datetime | None, due_at: dt.datetime | None, now: dt.datetime) -> str:
    """One SLA metric instance (DOMAIN.md §4.11): met, breached (late, or open past target), pending."""
    if due_at is None:
        return SLA_NONE
    if done_at is not None:
        return SLA_MET if done_at <= due_at else SLA_BREACHED
    return SLA_BREACHED if now > due_at else SLA_PENDING


@dataclass
class SlaSummary:
    eligible: int
    attained: int

    @property
    def attainment(self) -> Decimal | None:
        return Decimal(self.attained) / self.eligible if self.eligible else None


def account_service_requests(*, account: Account, now: dt.datetime) -> tuple[list[ServiceRequest], SlaSummary]:
    requests = list(
        ServiceRequest.objects.filter(account=account)
        .annotate(is_open=ExpressionWrapper(Q(resolved_at__isnull=True), output_field=BooleanField()))
        .order_by("-is_open", "-opened_at", "-id")[:15]
    )
    for request in requests:
        request.response_sla = sla_state(request.first_response_at, request.first_response_due_at, now)
        request.resolution_sla = sla_state(request.resolved_at, request.resolution_due_at, now)
    # §4.11 over the trailing 90 days, both metrics: instances due in the window, fulfilled in it, or
    # open past target count; open instances not yet due are pending and excluded.
    start = now - dt.timedelta(days=90)
    stats = ServiceRequest.objects.filter(account=account).aggregate(
        response_eligible=Count(
            "id",
            filter=Q(first_response_due_at__isnull=False)
            & (
                Q(first_response_due_at__gt=start, first_response_due_at__lte=now)
                | Q(first_response_at__gt=start, first_response_at__lte=now)
            ),
        ),
        response_met=Count(
            "id",
            filter=Q(first_response_at__gt=start, first_response_at__lte=now)
            & Q(first_response_at__lte=F("first_response_due_at")),
        ),
        resolution_eligible=Count(
            "id",
            filter=Q(resolution_due_at__isnull=False)
            & (Q(resolution_due_at__gt=start, resolution_due_at__lte=now) | Q(resolved_at__gt=start, resolved_at__lte=now)),
        ),
        resolution_met=Count(
            "id", filter=Q(resolved_at__gt=start, resolved_at__lte=now) & Q(resolved_at__lte=F("resolution_due_at"))
        ),
    )
    summary = SlaSummary(
        eligible=stats["response_eligible"] + stats["resolution_eligible"],
        attained=stats["response_met"] + stats["resolution_met"],
    )
    return requests, summary


# --- Loaded on demand: the history of changes, the stakeholder map over time ----------------------


def account_history(*, account: Account) -> list[Change]:
    """The latest changes to the account and its contacts, contracts and invoices (4 × 2 queries)."""
    return recent_changes(account_filter=lambda lookup: Q(**{lookup: account.pk}))


def account_stakeholder_changes(*, account: Account, now: dt.datetime | None = None) -> StakeholderHistory:
    """The "Stakeholder changes" card: the contacts the stakeholder map lists (same order and cap, so
    the trends read in the same order), then ``stakeholder_history`` (4 queries): 5 in all."""
    contacts = list(Contact.objects.filter(account=account).order_by("-is_active", "-influence", "name", "id")[:MAX_CONTACTS])
    return stakeholder_history(account=account, now=now, contacts=contacts)


# --- The page ------------------------------------------------------------------------------------


@dataclass
class AccountPage:
    account: Account
    hierarchy: Hierarchy
    stakeholders: StakeholderMap
    contracts: ContractsSection
    finance: FinanceSection
    team: list[AccountTeamMember]
    surveys: list[SurveyResponse]
    survey_summary: SurveySummary
    service_requests: list[ServiceRequest]
    sla: SlaSummary
    projects: list[Project]
    meetings: list[Meeting]
    last_meeting_at: dt.datetime | None
    scores: ScoresSection
    plan: PlanSection
    needs: list[Any]
    alerts: list[Any]
    missing_rates: list[str] = field(default_factory=list)
    team_missing_roles: list[str] = field(default_factory=list)

    @property
    def team_missing_role_labels(self) -> list[Any]:
        return [TeamRole(role).label for role in self.team_missing_roles if role in TeamRole.values]

    @property
    def open_alerts(self) -> list[Any]:
        return [a for a in self.alerts if a.is_open]

    @property
    def open_risk_alerts(self) -> list[Any]:
        """The open alerts that warn of a risk (the red count); E1's opportunities are counted apart."""
        return [a for a in self.open_alerts if a.rule not in POSITIVE_RULES]

    @property
    def open_opportunities(self) -> list[Any]:
        return [a for a in self.open_alerts if a.rule in POSITIVE_RULES]


def account_page(*, user: Any, pk: int, now: dt.datetime | None = None) -> AccountPage:
    now = now or timezone.now()
    today = timezone.localdate(now)
    account = account_for_page(user=user, pk=pk)
    rates = RateTable.load()
    hierarchy = account_hierarchy(user=user, account=account, today=today, rates=rates)
    surveys, survey_summary = account_surveys(account=account, now=now)
    requests, sla = account_service_requests(account=account, now=now)
    meetings = list(Meeting.objects.filter(account=account).prefetch_related("contacts").order_by("-occurred_at", "-id")[:10])
    page = AccountPage(
        account=account,
        hierarchy=hierarchy,
        stakeholders=account_stakeholders(account=account, today=today),
        contracts=account_contracts(account=account, today=today, rates=rates),
        finance=account_finance(
            account=account,
            today=today,
            rates=rates,
            has_subsidiaries=bool(hierarchy.nodes and hierarchy.nodes[0].children_count),
        ),
        team=list(AccountTeamMember.objects.filter(account=account).select_related("user").order_by("role", "user__username")),
        surveys=surveys,
        survey_summary=survey_summary,
        service_requests=requests,
        sla=sla,
        projects=list(Project.objects.filter(account=account).order_by("-started_on", "-id")[:20]),
        meetings=meetings,
        last_meeting_at=max((m.occurred_at for m in meetings if m.occurred_at <= now), default=None),
        scores=account_scores(
            account=account,
            # The group's rows are listed on the root's page, if the user may see the root.
            group_visible=account.group_root_id in (None, account.pk)
            or any(a.pk == account.group_root_id for a in hierarchy.ancestors),
            today=today,
        ),
        plan=account_plan(account=account, today=today),
        needs=account_needs(account=account),
        alerts=account_alerts(account=account),
    )
    page.missing_rates = rates.missing_labels
    page.team_missing_roles = team_missing_roles(account=account, roles=[member.role for member in page.team])
    _mark_sponsor_attendance(page)
    return page


def _mark_sponsor_attendance(page: AccountPage) -> None:
    """§7.4: an EBR (or annual joint business plan) is held with the executive sponsor. Each held one
    gets ``sponsor_attended``: whether an executive sponsor of the account team is among the internal
    attendees of its meeting (None without a sponsor on the team: the team card warns about that).
    No query: ``account_plan`` prefetched the attendees of the reviews' meetings."""
    held = [
        r
        for r in page.plan.reviews
        if r.kind in (ReviewKind.EBR, ReviewKind.ANNUAL_JBP) and r.status in (ReviewStatus.HELD, ReviewStatus.COMPLETE)
    ]
    sponsors = {m.user_id for m in page.team if m.role == TeamRole.EXECUTIVE_SPONSOR}
    if not held or not sponsors:
        return
    for review in held:
        attendees = review.meeting.attendees.all() if review.meeting_id else ()
        review.sponsor_attended = any(user.pk in sponsors for user in attendees)
