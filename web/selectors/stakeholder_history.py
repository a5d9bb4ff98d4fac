"""The stakeholder map over time (DOMAIN.md §6.3 "Snapshots"): who changed since the last review, each
contact's support over the last twelve months, and the support index then and now.

Read from Contact's simple-history rows in a fixed number of queries for the whole account, however
many contacts it has: the last held review (the baseline), the history rows of the window, the last
row of each contact before the window, and the buying roles of all those rows. Field diffs come from
``web.selectors.history`` (the same engine as the "History of changes" card).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import stakeholders
from accounts.choices import BuyingRoleCode, Support
from accounts.models import Contact
from service_plans.models import PlanReview, ReviewStatus
from web.selectors.history import FieldChange, _diff

# The fields of a map entry (DOMAIN.md §6.2); a new phone number is not a change of the map.
MAP_FIELDS = (
    "influence", "support", "coverage", "political_status", "decision_orientation", "reports_to", "is_active", "left_on",
)  # fmt: skip
DEFAULT_BASELINE_DAYS = 90
TREND_DAYS = 365
SPARK_WIDTH, SPARK_HEIGHT = 120, 24


class BaselineKind(models.TextChoices):
    REVIEW = "review", _("the last held review")
    DEFAULT = "default", _("90 days ago (no review has been held)")
    DATE = "date", _("the chosen date")


class EventKind(models.TextChoices):
    ADDED = "added", _("added")
    CHANGED = "changed", _("changed")
    LEFT = "left", _("left")
    RETURNED = "returned", _("returned")
    REMOVED = "removed", _("removed")


@dataclass
class Baseline:
    kind: str
    on: dt.date
    # Changes at or after this moment are "since the baseline"; the map as of just before it is the baseline's.
    starts_at: dt.datetime
    review: PlanReview | None = None

    @property
    def kind_label(self) -> Any:
        return BaselineKind(self.kind).label


@dataclass
class ContactEvent:
    at: dt.datetime
    user: Any
    kind: str
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def kind_label(self) -> Any:
        return EventKind(self.kind).label


@dataclass
class ContactChanges:
    contact_id: int
    name: str
    events: list[ContactEvent]


@dataclass
class SupportPoint:
    at: dt.datetime
    support: int

    @property
    def label(self) -> Any:
        return Support(self.support).label if self.support in Support.values else self.support


@dataclass
class SupportTrend:
    contact_id: int
    name: str
    is_active: bool
    # The first point is the support at the start of the trend window (or when the contact was added).
    points: list[SupportPoint]
    since: dt.datetime
    until: dt.datetime

    @property
    def has_changed(self) -> bool:
        return len(self.points) > 1

    @property
    def sparkline(self) -> str:
        """``points`` of an SVG polyline: a step line over the window, support +2 at the top, −2 at the bottom."""
        span = (self.until - self.since).total_seconds() or 1.0

        def x(at: dt.datetime) -> float:
            return round(max(0.0, min(1.0, (at - self.since).total_seconds() / span)) * SPARK_WIDTH, 1)

        def y(support: int) -> float:
            return round((2 - support) / 4 * (SPARK_HEIGHT - 4) + 2, 1)

        coords: list[tuple[float, float]] = []
        for point in self.points:
            if coords:
                coords.append((x(point.at), coords[-1][1]))
            coords.append((x(point.at), y(point.support)))
        if coords:
            coords.append((float(SPARK_WIDTH), coords[-1][1]))
        return " ".join(f"{a},{b}" for a, b in coords)


@dataclass
class StakeholderHistory:
    baseline: Baseline
    changes: list[ContactChanges]
    trends: list[SupportTrend]
    support_index_now: Decimal | None
    support_index_at_baseline: Decimal | None
    trend_since: dt.datetime


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def stakeholder_baseline(*, account: Any, today: dt.date, since: dt.date | None = None) -> Baseline:
    """The baseline: ``since`` when given; else the end of the day of the account's last held review
    (held or complete: a complete review was held); else 90 days ago. One query without ``since``."""
    if since is not None:
        return Baseline(kind=BaselineKind.DATE, on=since, starts_at=_start_of(since))
    review = (
        PlanReview.objects.filter(
            plan__account=account, status__in=[ReviewStatus.HELD, ReviewStatus.COMPLETE], held_on__lte=today
        )
        .order_by("-held_on", "-id")
        .first()
    )
    if review is not None:
        # Changes typed in on the review day record what the review found: they belong to the baseline.
        return Baseline(
            kind=BaselineKind.REVIEW, on=review.held_on, starts_at=_start_of(review.held_on + dt.timedelta(days=1)), review=review
        )
    on = today - dt.timedelta(days=DEFAULT_BASELINE_DAYS)
    return Baseline(kind=BaselineKind.DEFAULT, on=on, starts_at=_start_of(on))


def _roles_change(before: set[str], after: set[str]) -> FieldChange | None:
    if before == after:
        return None

    def labels(codes: set[str]) -> str:
        return ", ".join(str(BuyingRoleCode(c).label) if c in BuyingRoleCode.values else c for c in sorted(codes)) or "—"

    return FieldChange(
        label=Contact._meta.get_field("buying_roles").verbose_name,
        old=labels(before),
        new=labels(after),
        name="buying_roles",
        old_value=sorted(before),
        new_value=sorted(after),
    )


def stakeholder_history(
    *, account: Any, now: dt.datetime | None = None, since: dt.date | None = None, contacts: Iterable[Contact] | None = None
) -> StakeholderHistory:
    """Changes since the baseline, support trends and the support index then and now.

    ``contacts`` are the account's contacts as the caller loaded them (the page has them); without
    them they are read (one more query). Contacts without any history row (bulk-loaded and never
    saved since) are taken as unchanged.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    baseline = stakeholder_baseline(account=account, today=today, since=since)
    trend_since = now - dt.timedelta(days=TREND_DAYS)
    window_start = min(baseline.starts_at, trend_since)
    current = list(contacts) if contacts is not None else list(Contact.objects.filter(account=account).order_by("name", "id"))

    history = Contact.history.model
    in_window = list(
        history.objects.filter(account_id=account.pk, history_date__gte=window_start)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    # The state of each contact when the window opens: its last row before it (``order_by()`` drops the
    # history model's default ordering, which would otherwise join the GROUP BY).
    last_ids = (
        history.objects.filter(account_id=account.pk, history_date__lt=window_start)
        .order_by()
        .values("id")
        .annotate(last=Max("history_id"))
        .values("last")
    )
    before = {row.id: row for row in history.objects.filter(history_id__in=last_ids)}
    role_model = apps.get_model("accounts", "HistoricalContact_buying_roles")
    wanted = [r.history_id for r in in_window] + [r.history_id for r in before.values()]
    roles: dict[int, set[str]] = defaultdict(set)
    # Always one query (``[0]`` matches nothing): the count does not depend on the data.
    for history_id, code in role_model.objects.filter(history_id__in=wanted or [0]).values_list("history_id", "buyingrole_id"):
        roles[history_id].add(code)

    rows_of: dict[int, list[Any]] = defaultdict(list)
    for row in in_window:
        rows_of[row.id].append(row)
    names = {c.pk: c.name for c in current}
    for row in [*before.values(), *in_window]:
        names.setdefault(row.id, row.name)

    changes: list[ContactChanges] = []
    states_at_baseline: dict[int, Any] = {}
    trend_points: dict[int, list[SupportPoint]] = {}
    for contact_id in set(rows_of) | set(before):
        previous = before.get(contact_id)
        rows = rows_of.get(contact_id, [])
        events = []
        for row in rows:
            if row.history_date >= baseline.starts_at:
                event = _event(row, previous, roles, names)
                if event is not None and events and _same_edit(events[-1], event):
                    events[-1] = _merged(events[-1], event)
                elif event is not None:
                    events.append(event)
            previous = row
        known = [r for r in [before.get(contact_id), *rows] if r is not None]
        at_baseline = [r for r in known if r.history_date < baseline.starts_at]
        if at_baseline and at_baseline[-1].history_type != "-":
            states_at_baseline[contact_id] = at_baseline[-1]
        trend_points[contact_id] = _support_points(known, trend_since)
        if events:
            events.reverse()  # newest first
            changes.append(ContactChanges(contact_id=contact_id, name=names[contact_id], events=events))
    changes.sort(key=lambda c: (c.events[0].at, c.contact_id), reverse=True)

    # Contacts no history row knows of are unchanged since they were created.
    for contact in current:
        if contact.pk not in rows_of and contact.pk not in before and contact.created_at < baseline.starts_at:
            states_at_baseline[contact.pk] = contact

    trends = []
    for contact in current:
        points = trend_points.get(contact.pk, [])
        if not points:  # no change recorded in the window: flat at today's value
            points = [SupportPoint(at=max(trend_since, contact.created_at), support=contact.support)]
        trends.append(
            SupportTrend(
                contact_id=contact.pk, name=contact.name, is_active=contact.is_active, points=points, since=trend_since, until=now
            )
        )

    return StakeholderHistory(
        baseline=baseline,
        changes=changes,
        trends=trends,
        support_index_now=stakeholders.support_index(current),
        support_index_at_baseline=stakeholders.support_index(states_at_baseline.values()),
        trend_since=trend_since,
    )


# One service call writes several history rows (the save, then the buying roles' remove and add):
# rows of the same contact by the same user this close together are one edit.
SAME_EDIT = dt.timedelta(seconds=60)


def _same_edit(earlier: ContactEvent, later: ContactEvent) -> bool:
    return (
        earlier.kind != EventKind.REMOVED
        and later.kind not in (EventKind.ADDED, EventKind.REMOVED)
        and earlier.user == later.user
        and later.at - earlier.at <= SAME_EDIT
    )


def _merged(earlier: ContactEvent, later: ContactEvent) -> ContactEvent:
    fields = {f.name: f for f in earlier.fields}
    for change in later.fields:
        first = fields.get(change.name)
        fields[change.name] = change if first is None else FieldChange(
            label=change.label, old=first.old, new=change.new, name=change.name,
            old_value=first.old_value, new_value=change.new_value,
        )  # fmt: skip
    kind = earlier.kind if later.kind == EventKind.CHANGED else later.kind
    kept = [f for f in fields.values() if f.old_value != f.new_value]
    return ContactEvent(at=earlier.at, user=earlier.user, kind=kind, fields=kept)


def _event(row: Any, previous: Any, roles: dict[int, set[str]], names: dict[int, str]) -> ContactEvent | None:
    """What one history row did to the map, compared with the row before it (None: nothing on the map)."""
    if row.history_type == "+":
        return ContactEvent(at=row.history_date, user=row.history_user, kind=EventKind.ADDED)
    if row.history_type == "-":
        return ContactEvent(at=row.history_date, user=row.history_user, kind=EventKind.REMOVED)
    if previous is None:
        return None  # the first row we have is a change: what it changed from is unknown
    fields = _diff(Contact, row, previous, only=MAP_FIELDS)
    for change in fields:
        if change.name == "reports_to":  # the manager's name, known without a query
            change.old = names.get(change.old_value, "—") if change.old_value else "—"
            change.new = names.get(change.new_value, "—") if change.new_value else "—"
    role_change = _roles_change(roles.get(previous.history_id, set()), roles.get(row.history_id, set()))
    if role_change is not None:
        fields.append(role_change)
    if not fields:
        return None
    kind = EventKind.CHANGED
    if previous.is_active and not row.is_active:
        kind = EventKind.LEFT
    elif not previous.is_active and row.is_active:
        kind = EventKind.RETURNED
    return ContactEvent(at=row.history_date, user=row.history_user, kind=kind, fields=fields)


def _support_points(rows: list[Any], since: dt.datetime) -> list[SupportPoint]:
    """One contact's support from ``since`` on: the value it had then (if it existed), then each change."""
    points: list[SupportPoint] = []
    last: int | None = None
    for row in rows:
        if row.history_type == "-":
            last = None
            continue
        if row.history_date < since:
            last = row.support
            continue
        if not points and last is not None:
            points.append(SupportPoint(at=since, support=last))
        if not points or row.support != points[-1].support:
            points.append(SupportPoint(at=row.history_date, support=row.support))
    if not points and last is not None:
        points.append(SupportPoint(at=since, support=last))
    return points
