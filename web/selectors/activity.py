"""The account's activity timeline: one reverse-chronological feed of what happened with a customer.

One SQL query per page: a UNION ALL of one small SELECT per event (a meeting, a service request opened,
one resolved, …), each filtered on its own source's (account, date) columns and already narrowed to
the rows after the cursor, then one ORDER BY … LIMIT over the union. The sort key is
(occurred_at, event, id): ``event`` is constant within a SELECT, so the cursor condition of each SELECT
reduces to a range on that source's date column and the id (see ``_after``), and page 2,000 costs what
page 1 costs. The cursor is ``web.pagination``'s opaque string (value, id, then = event).

Events that only have a date (invoices, contracts, reviews, tiers) sort at midnight UTC of that day
and are shown as a date. It runs on PostgreSQL and on the embedded SQLite (which does not allow
ORDER BY/LIMIT inside the union's branches, so there the branches are not pre-limited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
)
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import ContractStatus, MeetingKind
from accounts.models import Account, AccountAncestry, Contract, Invoice, Meeting
from service_plans.models import Alert, Escalation, PlanReview, ServiceRequest, SurveyResponse
from service_plans.models.alerts import AlertOutcome, Rule
from service_plans.models.delivery import SurveyKind
from tiering.models import TierAssignment
from web.pagination import BadCursor, Page, _decode, _encode

PAGE_SIZE = 50

# Filter values (``?kind=``), in the order the page offers them.
KINDS: dict[str, Any] = {
    "meeting": _("Meetings"),
    "service_request": _("Service requests"),
    "escalation": _("Escalations"),
    "alert": _("Alerts"),
    "survey": _("Survey answers"),
    "contract": _("Contracts"),
    "invoice": _("Invoices"),
    "review": _("Plan reviews"),
    "tier": _("Tier changes"),
}


@dataclass(frozen=True)
class Source:
    """One SELECT of the union: an event of one kind, dated by one column of one model."""

    event: str  # the stored code, part of the sort key: unique per SELECT
    kind: str  # the filter it belongs to (KINDS)
    model: Any
    date_field: str
    is_date: bool  # a DateField: sorts at midnight UTC, shown as a date
    account_field: str = "account_id"
    where: Q = field(default_factory=Q)
    columns: dict[str, Any] = field(default_factory=dict)  # t1, t2, t3, n1, d1


def _meeting_contacts() -> Subquery:
    through = Meeting.contacts.through
    order = "contact__name" if connection.features.supports_aggregate_order_by_clause else None
    names = (
        through.objects.filter(meeting_id=OuterRef("pk"))
        .order_by()
        .values("meeting_id")
        # An older SQLite cannot order inside an aggregate: there the names come in stored order.
        .annotate(names=StringAgg("contact__name", Value(", "), order_by=order))
        .values("names")
    )
    return Subquery(names, output_field=CharField())


def _sources() -> list[Source]:
    closed = Q(status__in=[ContractStatus.EXPIRED, ContractStatus.TERMINATED])
    return [
        Source(
            "meeting", "meeting", Meeting, "occurred_at", False, columns={"t1": "kind", "t2": "title", "t3": _meeting_contacts()}
        ),
        Source("sr_opened", "service_request", ServiceRequest, "opened_at", False, columns={"t1": "priority", "t2": "title"}),
        Source("sr_resolved", "service_request", ServiceRequest, "resolved_at", False, columns={"t1": "priority", "t2": "title"}),
        Source("escalation_opened", "escalation", Escalation, "opened_at", False, columns={"t1": "severity", "t2": "title"}),
        Source("escalation_closed", "escalation", Escalation, "closed_at", False, columns={"t1": "severity", "t2": "title"}),
        Source("alert_opened", "alert", Alert, "opened_at", False, columns={"t1": "rule", "t2": "reason"}),
        Source("alert_closed", "alert", Alert, "closed_at", False, columns={"t1": "rule", "t2": "reason", "t3": "outcome"}),
        Source("survey", "survey", SurveyResponse, "responded_at", False, columns={"t1": "kind", "n1": "score"}),
        Source("contract_signed", "contract", Contract, "signed_on", True, columns={"t1": "number", "t2": "title"}),
        Source("contract_started", "contract", Contract, "start_date", True, columns={"t1": "number", "t2": "title"}),
        Source(
            "contract_renewed",
            "contract",
            Contract,
            "end_date",
            True,
            where=Q(status=ContractStatus.RENEWED),
            columns={"t1": "number", "t2": "title"},
        ),
        Source("contract_ended", "contract", Contract, "end_date", True, where=closed, columns={"t1": "number", "t2": "title"}),
        Source(
            "invoice_issued",
            "invoice",
            Invoice,
            "issued_on",
            True,
            columns={"t1": "number", "t2": "currency", "n1": "amount", "d1": "due_on"},
        ),
        Source(
            "invoice_paid",
            "invoice",
            Invoice,
            "paid_on",
            True,
            columns={"t1": "number", "t2": "currency", "n1": "amount", "d1": "due_on"},
        ),
        Source("review_held", "review", PlanReview, "held_on", True, account_field="plan__account_id", columns={"t1": "kind"}),
        Source("tier_changed", "tier", TierAssignment, "valid_from", True, columns={"t1": "tier", "t2": "reason"}),
    ]


COLUMN_TYPES = {
    "t1": CharField(),
    "t2": CharField(),
    "t3": CharField(),
    "n1": DecimalField(max_digits=18, decimal_places=2),
    "d1": DateField(),
}


@dataclass
class ActivityQuery:
    kinds: list[str]
    since: dt.date | None = None
    until: dt.date | None = None
    group: bool = False


@dataclass
class ActivityItem:
    occurred_at: dt.datetime
    is_date: bool
    kind: str
    event: str
    object_type: str
    object_id: int
    account_id: int
    account_name: str
    title: str
    detail: str
    url: str | None
    amount: Decimal | None = None
    currency: str | None = None
    days_late: int | None = None
    score: int | None = None

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def occurred_on(self) -> dt.date:
        return self.occurred_at.date() if self.is_date else timezone.localdate(self.occurred_at)


def _after(source: Source, forward: bool, at: dt.datetime, event: str, pk: int) -> Q:
    """Rows of ``source`` strictly beyond the cursor (at, event, pk) in feed order (descending), or
    before it when walking back (``forward`` False), on the source's own date column."""
    f = source.date_field
    lt, le = ("lt", "lte") if forward else ("gt", "gte")
    id_beyond = Q(**{f"id__{lt}": pk})
    if not source.is_date:
        if source.event == event:
            return Q(**{f"{f}__{le}": at}) & (Q(**{f"{f}__{lt}": at}) | (Q(**{f: at}) & id_beyond))
        # The whole instant `at` is on the far side when this event sorts beyond the cursor's.
        event_beyond = (source.event < event) if forward else (source.event > event)
        return Q(**{f"{f}__{le if event_beyond else lt}": at})
    # A date d sorts at midnight UTC of d: compare dates, minding a cursor that is not at midnight.
    at = at.astimezone(dt.UTC)
    day, midnight = at.date(), at.timetz().replace(tzinfo=None) == dt.time(0)
    if forward:
        strictly = Q(**{f"{f}__lt": day}) if midnight else Q(**{f"{f}__lte": day})
        at_or = Q(**{f"{f}__lte": day})
    else:
        strictly = Q(**{f"{f}__gt": day})
        at_or = Q(**{f"{f}__gte": day}) if midnight else Q(**{f"{f}__gt": day})
    if not midnight:
        return strictly
    if source.event == event:
        return strictly | (Q(**{f: day}) & id_beyond)
    event_beyond = (source.event < event) if forward else (source.event > event)
    return at_or if event_beyond else strictly


def _day_start(day: dt.date | None) -> dt.datetime | None:
    """The local midnight starting ``day``; None at the ends of the calendar (no bound there)."""
    if day is None or day.year < 2 or day.year > 9998:
        return None
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _branch(
    source: Source, *, accounts: Q, query: ActivityQuery, today: dt.date, cursor: tuple | None, limit: int | None
) -> QuerySet:
    f = source.date_field
    qs = source.model.objects.filter(accounts, source.where, **{f"{f}__isnull": False})
    if source.is_date:
        qs = qs.filter(**{f"{f}__lte": today})  # what happened, not what is planned
        if query.since:
            qs = qs.filter(**{f"{f}__gte": query.since})
        if query.until:
            qs = qs.filter(**{f"{f}__lte": query.until})
        at: Any = Cast(f, DateTimeField())
    else:
        if (start := _day_start(query.since)) is not None:
            qs = qs.filter(**{f"{f}__gte": start})
        if query.until and (end := _day_start(query.until + dt.timedelta(days=1) if query.until < dt.date.max else None)):
            qs = qs.filter(**{f"{f}__lt": end})
        at = F(f)
    forward = True
    if cursor:
        direction, c_at, c_event, c_pk = cursor
        forward = direction == "n"
        qs = qs.filter(_after(source, forward, c_at, c_event, c_pk))
    annotations: dict[str, Any] = {
        "a_at": at,
        "a_event": Value(source.event, output_field=CharField()),
        "a_id": F("pk"),
        "a_account": F(source.account_field),
        "a_account_name": F(source.account_field.replace("_id", "__name")),
    }
    for name, output in COLUMN_TYPES.items():
        expr = source.columns.get(name)
        # Typed NULLs and casts: PostgreSQL types a UNION column from its branches, left to right.
        if expr is None:
            annotations[f"a_{name}"] = Cast(Value(None), output)
        elif isinstance(expr, str):
            annotations[f"a_{name}"] = Cast(expr, output) if name == "n1" else F(expr)
        else:
            annotations[f"a_{name}"] = expr
    qs = qs.order_by().annotate(**annotations).values_list(*annotations)
    if limit and connection.features.supports_slicing_ordering_in_compound:
        # Each branch reads at most one page from its own (account, date) index.
        order = ("-a_at", "-a_id") if forward else ("a_at", "a_id")
        qs = qs.order_by(*order)[:limit]
    return qs


def parse_cursor(cursor: str | None) -> tuple | None:
    if not cursor:
        return None
    direction, empty, value, pk, then = _decode(cursor)
    if empty or value is None or then is None or then not in {s.event for s in _sources()}:
        raise BadCursor(cursor)
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadCursor(cursor) from exc
    if at.tzinfo is None:
        raise BadCursor(cursor)
    return direction, at, then, pk


def activity_account(*, user: Any, pk: int) -> Account:
    """The account, if the user may see it (else 404)."""
    return get_object_or_404(Account.objects.visible_to(user).select_related("owner", "parent"), pk=pk)


def activity_page(
    *, account: Account, query: ActivityQuery, cursor: str | None, page_size: int = PAGE_SIZE, today: dt.date | None = None
) -> Page:
    """One page of the feed (``Page.rows`` are ``ActivityItem``), newest first. Raises ``BadCursor``."""
    today = today or timezone.localdate()
    parsed = parse_cursor(cursor)
    if query.group:
        # Everything below a visible account is visible (the visibility rule).
        subtree = AccountAncestry.objects.filter(ancestor_id=account.pk).values("descendant_id")
    wanted = page_size + 1
    sources = [s for s in _sources() if not query.kinds or s.kind in query.kinds]
    branches = []
    for source in sources:
        if source.model is TierAssignment:
            # Tiers belong to the group (its root); every member shows the group's tier.
            accounts = Q(account_id=account.group_root_id or account.pk)
        elif query.group:
            accounts = Q(**{f"{source.account_field}__in": subtree})
        else:
            accounts = Q(**{source.account_field: account.pk})
        branches.append(
            _branch(
                source, accounts=accounts, query=query, today=today, cursor=parsed, limit=wanted if len(sources) > 1 else None
            )
        )
    forward = parsed is None or parsed[0] == "n"
    union = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    order = ("-a_at", "-a_event", "-a_id") if forward else ("a_at", "a_event", "a_id")
    rows = list(union.order_by(*order)[:wanted])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if not forward:
        rows.reverse()
    has_next = more if forward else bool(parsed)
    has_prev = bool(parsed) if forward else more
    items = [_item(row) for row in rows]

    def cursor_at(item: ActivityItem, to: str) -> str:
        return _encode(to, False, item.occurred_at, item.object_id, item.event)

    return Page(
        rows=items,
        sort="-occurred_at",
        next_cursor=cursor_at(items[-1], "n") if items and has_next else None,
        prev_cursor=cursor_at(items[0], "p") if items and has_prev else None,
        page_size=page_size,
    )


def _label(choices: Any, value: str | None) -> str:
    return str(dict(choices).get(value, value or ""))


SOURCE_BY_EVENT: dict[str, Source] = {}


def _source(event: str) -> Source:
    if not SOURCE_BY_EVENT:
        SOURCE_BY_EVENT.update({s.event: s for s in _sources()})
    return SOURCE_BY_EVENT[event]


def _item(row: Sequence[Any]) -> ActivityItem:
    at, event, pk, account_id, account_name, t1, t2, t3, n1, d1 = row
    source = _source(event)
    if isinstance(at, str):  # SQLite returns a union's computed datetime as text
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if source.is_date:
        at = at.astimezone(dt.UTC)
    item = ActivityItem(
        occurred_at=at,
        is_date=source.is_date,
        kind=source.kind,
        event=event,
        object_type=source.model._meta.model_name,
        object_id=pk,
        account_id=account_id,
        account_name=account_name,
        title="",
        detail="",
        url=None,
    )
    t1, t2, t3 = t1 or "", t2 or "", t3 or ""
    account_url = reverse("web:account_detail", args=[account_id])
    if event == "meeting":
        item.title = (
            str(_("%(kind)s: %(title)s") % {"kind": _label(MeetingKind.choices, t1), "title": t2})
            if t2
            else _label(MeetingKind.choices, t1)
        )
        item.detail = str(_("With %(contacts)s") % {"contacts": t3}) if t3 else ""
        item.url = reverse("web:meeting_edit", args=[pk])
    elif event in ("sr_opened", "sr_resolved"):
        what = _("Service request opened") if event == "sr_opened" else _("Service request resolved")
        item.title = f"{what}: {t2}" if t2 else str(what)
        item.detail = t1.upper()
        item.url = account_url + "#service"
    elif event in ("escalation_opened", "escalation_closed"):
        what = _("Escalation opened") if event == "escalation_opened" else _("Escalation closed")
        item.title = f"{what}: {t2}"
        item.detail = t1.upper()
        item.url = account_url + "#service"
    elif event in ("alert_opened", "alert_closed"):
        what = _("Alert opened") if event == "alert_opened" else _("Alert closed")
        item.title = f"{what}: {_label(Rule.choices, t1)}"
        item.detail = t2 + (f" · {_label(AlertOutcome.choices, t3)}" if t3 else "")
        item.url = reverse("web:alert_detail", args=[pk])
    elif event == "survey":
        item.score = int(n1) if n1 is not None else None
        item.title = str(_("Survey answer: %(kind)s") % {"kind": _label(SurveyKind.choices, t1)})
        item.detail = str(_("Score %(score)s") % {"score": item.score})
        item.url = account_url + "#surveys"
    elif source.model is Contract:
        what = {
            "contract_signed": _("Contract signed"),
            "contract_started": _("Contract started"),
            "contract_renewed": _("Contract renewed"),
            "contract_ended": _("Contract ended"),
        }[event]
        item.title = f"{what}: {t1}"
        item.detail = t2
        item.url = reverse("web:contract_edit", args=[pk])
    elif source.model is Invoice:
        item.amount = Decimal(n1) if n1 is not None else None
        item.currency = t2
        due = d1 if isinstance(d1, dt.date) or d1 is None else dt.date.fromisoformat(str(d1))
        if event == "invoice_issued":
            item.title = str(_("Invoice issued: %(number)s") % {"number": t1})
        else:
            item.title = str(_("Invoice paid: %(number)s") % {"number": t1})
            if due is not None:
                item.days_late = max((at.date() - due).days, 0)
                if item.days_late:
                    item.detail = str(_("%(days)s days late") % {"days": item.days_late})
        item.url = reverse("web:invoice_edit", args=[pk])
    elif event == "review_held":
        item.title = str(_("Plan review held"))
        item.detail = t1.upper()
        item.url = reverse("web:review_preread", args=[pk])
    elif event == "tier_changed":
        item.title = str(_("Tier set to %(tier)s") % {"tier": t1}) if t1 else str(_("Tier removed"))
        item.detail = t2
        item.url = account_url
    return item
