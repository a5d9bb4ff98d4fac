"""Account plans: create and edit, objectives and actions, reviews and commitments, and the schedule
of reviews and tasks that the tier's service standard asks for (DOMAIN.md §7)."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import MeetingKind
from accounts.models import Account
from accounts.services import meeting_create
from kam.bulk import bulk_update
from kam.errors import StaleVersion
from service_plans.models import (
    AccountPlan,
    AccountTeamMember,
    ActionSource,
    ActionStatus,
    Commitment,
    CommitmentSide,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlanStatus,
    ReviewKind,
    ReviewStatus,
    ServiceStandard,
    TeamRole,
)
from service_plans.notifications import Note, notify_many, plan_link

PLAN_FIELDS = frozenset(
    {
        "owner", "owner_id", "status", "customer_vision", "customer_priorities", "customer_kpis", "challenges", "competitors",
        "industry_trends", "swot_strengths", "swot_weaknesses", "swot_opportunities", "swot_threats", "revenue_target_amount",
        "margin_target_amount", "currency", "share_of_wallet_target", "approved_by", "approved_on",
    }
)  # fmt: skip
OBJECTIVE_FIELDS = frozenset({"title", "description", "kpi_code", "baseline", "target", "owner", "start_on", "due_on", "status"})
ACTION_FIELDS = frozenset({"title", "objective", "owner_user", "owner_contact", "due_on", "status", "alert"})
REVIEW_FIELDS = frozenset({"kind", "scheduled_on", "held_on", "meeting", "notes", "decisions"})
# §7.4: a review held with the customer is a meeting of this kind (internal reviews are not meetings).
REVIEW_MEETING_KINDS = {
    ReviewKind.QBR: MeetingKind.QBR,
    ReviewKind.EBR: MeetingKind.EBR,
    ReviewKind.ANNUAL_JBP: MeetingKind.EBR,
    ReviewKind.BUSINESS_REVIEW: MeetingKind.MEETING,
}
PREP_DAYS = 7  # prepare the pre-read pack a week ahead (§7.4: pre-share 24 h before, drafted earlier)
FIRST_REVIEW_AFTER_DAYS = 30  # §7.4 SOP: reviews are scheduled 30 days ahead
TEAM_GAP_DAYS = 14
ACTIVATE_WITHIN_DAYS = 30  # §7.3: a T1 plan is active within 30 days


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year a day belongs to, named after the calendar year it starts in."""
    start = settings.KAM_FISCAL_YEAR_START_MONTH
    return day.year if day.month >= start else day.year - 1


def fiscal_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """[start, end) of a fiscal year."""
    start_month = settings.KAM_FISCAL_YEAR_START_MONTH
    start = dt.date(year, start_month, 1)
    return start, dt.date(year + 1, start_month, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")


def _update[M: models.Model](model: type[M], pk: int, fields: dict[str, Any], expected_version: int | None) -> tuple[M, M]:
    locked = model.objects.select_for_update().get(pk=pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    before = copy.copy(locked)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    return before, locked


# --- plans ------------------------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, account: Account, fiscal_year: int, actor: Any = None, **fields: Any) -> AccountPlan:
    """Create a plan and schedule the reviews and tasks of the account's tier standard."""
    _check(fields, PLAN_FIELDS)
    fields.setdefault("owner", account.owner)
    plan = AccountPlan(account=account, fiscal_year=fiscal_year, **fields)
    plan.full_clean()
    plan.save()
    standard = ServiceStandard.objects.current().filter(tier=account.tier).first() if account.tier else None
    if standard is not None:
        start, _end = fiscal_year_bounds(fiscal_year)
        plan_schedule_apply(plans=[plan], standards={plan.pk: standard}, from_date=max(start, timezone.localdate()))
    return plan


@transaction.atomic
def plan_update(*, plan: AccountPlan, actor: Any = None, expected_version: int | None = None, **fields: Any) -> AccountPlan:
    _check(fields, PLAN_FIELDS)
    return _update(AccountPlan, plan.pk, fields, expected_version)[1]


@transaction.atomic
def plan_activate(*, plan: AccountPlan, actor: Any = None, expected_version: int | None = None) -> AccountPlan:
    """Make the plan the account's active plan for its year (another active one is refused)."""
    fields: dict[str, Any] = {"status": PlanStatus.ACTIVE}
    if actor is not None and getattr(actor, "pk", None):
        fields.update(approved_by=actor, approved_on=timezone.localdate())
    plan = _update(AccountPlan, plan.pk, fields, expected_version)[1]
    PlanAction.objects.filter(plan=plan, generation_key="plan:activate", status=ActionStatus.OPEN).update(
        status=ActionStatus.DONE, completed_at=timezone.now()
    )
    return plan


# --- objectives and actions -------------------------------------------------------------------------


@transaction.atomic
def objective_create(*, plan: AccountPlan, actor: Any = None, **fields: Any) -> PlanObjective:
    _check(fields, OBJECTIVE_FIELDS)
    objective = PlanObjective(plan=plan, **fields)
    objective.full_clean()
    objective.save()
    return objective


@transaction.atomic
def objective_update(
    *, objective: PlanObjective, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> PlanObjective:
    _check(fields, OBJECTIVE_FIELDS)
    return _update(PlanObjective, objective.pk, fields, expected_version)[1]


def objective_progress(objective: PlanObjective) -> float | None:
    """% complete = done actions / actions not cancelled (§7.3); None without actions."""
    total = getattr(objective, "actions_total", None)
    done = getattr(objective, "actions_done", None)
    if total is None:
        actions = objective.actions.exclude(status=ActionStatus.CANCELLED)
        total, done = actions.count(), actions.filter(status=ActionStatus.DONE).count()
    return None if not total else round(done * 100 / total, 1)


@transaction.atomic
def action_create(*, plan: AccountPlan, actor: Any = None, **fields: Any) -> PlanAction:
    _check(fields, ACTION_FIELDS)
    action = PlanAction(plan=plan, **fields)
    if action.status == ActionStatus.DONE:
        action.completed_at = timezone.now()
    action.full_clean()
    action.save()
    return action


@transaction.atomic
def action_update(*, action: PlanAction, actor: Any = None, expected_version: int | None = None, **fields: Any) -> PlanAction:
    _check(fields, ACTION_FIELDS)
    if fields.get("status") == ActionStatus.DONE:
        fields["completed_at"] = timezone.now()
    elif "status" in fields:
        fields["completed_at"] = None
    return _update(PlanAction, action.pk, fields, expected_version)[1]


def action_complete(*, action: PlanAction, actor: Any = None) -> PlanAction:
    return action_update(action=action, actor=actor, status=ActionStatus.DONE)


# --- reviews and commitments ------------------------------------------------------------------------


@transaction.atomic
def review_schedule(*, plan: AccountPlan, kind: str, scheduled_on: dt.date, actor: Any = None) -> PlanReview:
    review = PlanReview(plan=plan, kind=kind, scheduled_on=scheduled_on)
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def review_record(
    *,
    review: PlanReview,
    held_on: dt.date,
    actor: Any = None,
    notes: str = "",
    decisions: str = "",
    meeting: Any = None,
    commitments: Iterable[dict[str, Any]] = (),
    contacts: Iterable[Any] = (),
    attendees: Iterable[Any] = (),
    expected_version: int | None = None,
) -> PlanReview:
    """Record a held review with its decisions and commitments; each of our commitments becomes an action.

    ``commitments``: dicts with ``side`` (ours/theirs), ``text``, ``owner_user`` or ``owner_contact``, ``due_on``.
    ``contacts`` (the customer's attendees: active contacts of the review's own account, as the meeting
    they are added to belongs to that account) and ``attendees`` (active colleagues) are added to the
    review's meeting, which is where the review's attendance is kept (§7.4: "Meeting(type=QBR) stores
    attendees"). §7.4 also says attendance updates the stakeholders' last interaction (§6); nothing
    derives ``TeamRelationship.last_interaction_on`` from meetings yet, so recording leaves it as entered.
    """
    contacts, attendees = list(contacts), list(attendees)
    strangers = [c.name for c in contacts if c.account_id != review.plan.account_id]
    if strangers:
        raise ValidationError({"contacts": [_("Not contacts of this account: %(names)s.") % {"names": ", ".join(strangers)}]})
    gone = [c.name for c in contacts if not c.is_active]
    if gone:
        raise ValidationError({"contacts": [_("Contacts who have left: %(names)s.") % {"names": ", ".join(gone)}]})
    inactive = [str(user) for user in attendees if not getattr(user, "is_active", False)]
    if inactive:
        raise ValidationError({"attendees": [_("Not active colleagues: %(names)s.") % {"names": ", ".join(inactive)}]})
    fields = {"held_on": held_on, "status": ReviewStatus.HELD, "notes": notes, "decisions": decisions}
    if meeting is not None:
        if meeting.account_id != review.plan.account_id:
            raise ValidationError({"meeting": [_("The meeting belongs to another account.")]})
        fields["meeting"] = meeting
    current = PlanReview.objects.select_for_update().get(pk=review.pk)
    if current.status in {ReviewStatus.COMPLETE, ReviewStatus.CANCELLED}:
        raise ValidationError({"status": [_("A completed or cancelled review cannot be recorded again.")]})
    review = _update(PlanReview, review.pk, fields, expected_version)[1]
    meeting_kind = REVIEW_MEETING_KINDS.get(review.kind)
    if review.meeting_id is None and meeting_kind is not None:
        # §7.4: the review's record is a meeting; log one when the review names none, so that meeting-based
        # rules and measures (R7, the health's executive meetings, the meeting history) see it.
        tz = timezone.get_current_timezone()
        review.meeting = meeting_create(
            account=review.plan.account,
            kind=meeting_kind,
            occurred_at=dt.datetime.combine(held_on, dt.time(12, 0), tzinfo=tz),
            title=review.get_kind_display(),
            summary=notes,
            decisions=decisions,
            created_by=actor if getattr(actor, "pk", None) else None,
            actor=actor,
        )
        PlanReview.objects.filter(pk=review.pk).update(meeting=review.meeting)
    if review.meeting_id is not None:
        review.meeting.contacts.add(*contacts)
        review.meeting.attendees.add(*attendees)
    elif contacts or attendees:
        field = "contacts" if contacts else "attendees"
        raise ValidationError({field: [_("An internal review has no meeting to record attendees on.")]})
    for index, item in enumerate(commitments):
        commitment = Commitment(
            review=review,
            side=item.get("side", ""),
            text=item.get("text", ""),
            owner_user=item.get("owner_user"),
            owner_contact=item.get("owner_contact"),
            due_on=item.get("due_on"),
        )
        try:
            commitment.full_clean()
            if commitment.owner_contact is not None and commitment.owner_contact.account_id != review.plan.account_id:
                raise ValidationError(_("The contact belongs to another account."))
        except ValidationError as exc:
            raise ValidationError({f"commitments[{index}]": exc.messages}) from exc
        if commitment.side == CommitmentSide.OURS:
            commitment.action = PlanAction.objects.create(
                plan=review.plan,
                title=commitment.text[:200],
                owner_user=commitment.owner_user or review.plan.owner,
                due_on=commitment.due_on,
                source=ActionSource.COMMITMENT,
            )
        commitment.save()
    return review


@transaction.atomic
def review_hold(
    *,
    plan: AccountPlan,
    held_on: dt.date,
    review: PlanReview | None = None,
    kind: str = "",
    next_scheduled_on: dt.date | None = None,
    actor: Any = None,
    expected_version: int | None = None,
    **record: Any,
) -> PlanReview:
    """Record a review as held in one step, as the account page does: the scheduled ``review``, or a
    new one of ``kind`` held on ``held_on`` that was never scheduled; then, if given, schedule the next
    review of the same kind (§7.4: a QBR is complete only once the next one is scheduled).

    ``record``: ``notes``, ``decisions``, ``meeting`` and ``commitments`` as ``review_record`` takes them.
    All or nothing: a bad commitment leaves neither the review nor the next one written.
    """
    if review is None:
        review = review_schedule(plan=plan, kind=kind, scheduled_on=held_on, actor=actor)
    elif review.plan_id != plan.pk:
        raise ValidationError({"review": [_("The review belongs to another plan.")]})
    review = review_record(review=review, held_on=held_on, actor=actor, expected_version=expected_version, **record)
    if next_scheduled_on is not None:
        if next_scheduled_on <= held_on:
            raise ValidationError({"next_scheduled_on": [_("The next review must come after this one.")]})
        review_schedule(plan=plan, kind=review.kind, scheduled_on=next_scheduled_on, actor=actor)
    return review


@transaction.atomic
def review_recap_sent(*, review: PlanReview, actor: Any = None, at: dt.datetime | None = None) -> PlanReview:
    # The status as stored (locked), not as the caller's copy remembers it.
    review = PlanReview.objects.select_for_update().get(pk=review.pk)
    if review.status not in {ReviewStatus.HELD, ReviewStatus.COMPLETE}:
        raise ValidationError({"recap_sent_at": [_("Send the recap after the review was held.")]})
    return _update(PlanReview, review.pk, {"recap_sent_at": at or timezone.now()}, None)[1]


@transaction.atomic
def review_complete(*, review: PlanReview, actor: Any = None) -> PlanReview:
    """A review is complete only when it was held, its recap sent and the next one scheduled (§7.4)."""
    review = PlanReview.objects.select_for_update().get(pk=review.pk)
    errors: dict[str, list[Any]] = {}
    if review.held_on is None:
        errors["held_on"] = [_("Record the review as held first.")]
    if review.recap_sent_at is None:
        errors["recap_sent_at"] = [_("Send the recap first.")]
    next_scheduled = (
        PlanReview.objects.filter(
            plan__account_id=review.plan.account_id, kind=review.kind, scheduled_on__gt=review.held_on or review.scheduled_on
        )
        .exclude(pk=review.pk)
        .exclude(status=ReviewStatus.CANCELLED)
        .exists()
    )
    if not next_scheduled:
        errors["next_review"] = [_("Schedule the next %(kind)s first.") % {"kind": review.get_kind_display()}]
    if errors:
        raise ValidationError(errors)
    review.status = ReviewStatus.COMPLETE
    review.version = F("version") + 1
    review.save(update_fields=["status", "version", "updated_at"])
    review.refresh_from_db()
    return review


# --- the standard's schedule and tier changes --------------------------------------------------------


def _wanted_items(plan: AccountPlan, standard: ServiceStandard, from_date: dt.date, roles_present: set[str]) -> tuple[dict, dict]:
    """The reviews and actions the standard asks for from ``from_date`` to the fiscal year's end."""
    _start, end = fiscal_year_bounds(plan.fiscal_year)
    reviews: dict[str, dict[str, Any]] = {}
    actions: dict[str, dict[str, Any]] = {}
    for kind, months in sorted(standard.review_cadence.items()):
        label = ReviewKind(kind).label
        day = from_date + dt.timedelta(days=FIRST_REVIEW_AFTER_DAYS)
        step = 0
        while day < end:
            key = f"{kind}:{day.isoformat()}"
            reviews[key] = {"kind": kind, "scheduled_on": day}
            actions[f"prep:{key}"] = {
                "title": _("Prepare the %(review)s of %(day)s (pre-read pack, agenda)")
                % {"review": label, "day": day.isoformat()},
                "due_on": max(from_date, day - dt.timedelta(days=PREP_DAYS)),
            }
            step += 1
            day = _add_months(from_date + dt.timedelta(days=FIRST_REVIEW_AFTER_DAYS), months * step)
    for role in standard.required_roles:
        if role not in roles_present:
            actions[f"team:{role}"] = {
                "title": _("Add a %(role)s to the account team") % {"role": TeamRole(role).label},
                "due_on": from_date + dt.timedelta(days=TEAM_GAP_DAYS),
            }
    if plan.status != PlanStatus.ACTIVE and standard.review_cadence:
        actions["plan:activate"] = {
            "title": _("Complete and activate the account plan"),
            "due_on": from_date + dt.timedelta(days=ACTIVATE_WITHIN_DAYS),
        }
    return reviews, actions


def plan_schedule_apply(*, plans: list[AccountPlan], standards: dict[int, ServiceStandard], from_date: dt.date) -> dict[str, int]:
    """Bring the plans' generated reviews and actions from ``from_date`` on in line with their standard.

    Set-based: a fixed number of queries for any number of plans. Held, completed and done items are
    never touched; open generated items the standard no longer asks for are cancelled (not deleted),
    and a cancelled one asked for again is re-opened.
    """
    plan_ids = [p.pk for p in plans]
    # The account's owner is its account manager (§7.5), whether or not they are also a team member.
    team: dict[int, set[str]] = defaultdict(lambda: {TeamRole.ACCOUNT_MANAGER})
    for account_id, role in AccountTeamMember.objects.filter(account_id__in=[p.account_id for p in plans]).values_list(
        "account_id", "role"
    ):
        team[account_id].add(role)
    reviews = defaultdict(dict)
    for review in PlanReview.objects.filter(plan_id__in=plan_ids).exclude(generation_key=""):
        reviews[review.plan_id][review.generation_key] = review
    actions = defaultdict(dict)
    for action in PlanAction.objects.filter(plan_id__in=plan_ids).exclude(generation_key=""):
        actions[action.plan_id][action.generation_key] = action
    new_reviews, new_actions, changed_reviews, changed_actions = [], [], [], []
    for plan in plans:
        standard = standards[plan.pk]
        wanted_reviews, wanted_actions = _wanted_items(plan, standard, from_date, team[plan.account_id])
        for key, values in wanted_reviews.items():
            existing = reviews[plan.pk].get(key)
            if existing is None:
                new_reviews.append(PlanReview(plan=plan, generation_key=key, **values))
            elif existing.status == ReviewStatus.CANCELLED:
                existing.status = ReviewStatus.SCHEDULED
                changed_reviews.append(existing)
        for key, review in reviews[plan.pk].items():
            if key not in wanted_reviews and review.status == ReviewStatus.SCHEDULED and review.scheduled_on >= from_date:
                review.status = ReviewStatus.CANCELLED
                changed_reviews.append(review)
        for key, values in wanted_actions.items():
            existing = actions[plan.pk].get(key)
            if existing is None:
                new_actions.append(
                    PlanAction(plan=plan, generation_key=key, owner_user_id=plan.owner_id, source=ActionSource.STANDARD, **values)
                )
            elif existing.status == ActionStatus.CANCELLED:
                existing.status = ActionStatus.OPEN
                existing.due_on = values["due_on"]
                changed_actions.append(existing)
        for key, action in actions[plan.pk].items():
            if (
                key not in wanted_actions
                and action.status == ActionStatus.OPEN
                and (action.due_on is None or action.due_on >= from_date)
            ):
                action.status = ActionStatus.CANCELLED
                changed_actions.append(action)
    PlanReview.objects.bulk_create(new_reviews)
    PlanAction.objects.bulk_create(new_actions)
    if changed_reviews:
        bulk_update(PlanReview, changed_reviews, ["status"])
    if changed_actions:
        bulk_update(PlanAction, changed_actions, ["status", "due_on"])
    AccountPlan.objects.filter(pk__in=plan_ids).update(version=F("version") + 1)
    _set_standards(plans, standards)
    return {
        "reviews_created": len(new_reviews),
        "actions_created": len(new_actions),
        "reviews_changed": len(changed_reviews),
        "actions_changed": len(changed_actions),
    }


def _set_standards(plans: list[AccountPlan], standards: dict[int, ServiceStandard]) -> None:
    for plan in plans:
        plan.standard = standards[plan.pk]
    bulk_update(AccountPlan, plans, ["standard"])


@transaction.atomic
def tier_changes_apply(payloads: list[dict[str, Any]], *, today: dt.date | None = None) -> dict[str, int]:
    """React to ``account.tier_changed``: each account's current plan follows its new tier's standard.

    The plan of the fiscal year of ``effective_on`` is used (the active one, else the latest draft);
    an account without one gets a draft plan. Its owner is notified.
    """
    today = today or timezone.localdate()
    by_account: dict[int, dict[str, Any]] = {}
    for payload in payloads:
        by_account[int(payload["account_id"])] = payload  # the last change of an account wins
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=by_account).only("pk", "name", "owner_id", "tier")}
    standards = {s.tier: s for s in ServiceStandard.objects.current()}
    effective = {}
    for account_id, payload in by_account.items():
        try:
            effective[account_id] = (
                dt.date.fromisoformat(str(payload.get("effective_on"))) if payload.get("effective_on") else today
            )
        except ValueError:
            effective[account_id] = today
    wanted_years = {aid: fiscal_year_of(max(day, today)) for aid, day in effective.items() if aid in accounts}
    existing: dict[int, AccountPlan] = {}
    order = {PlanStatus.ACTIVE: 0, PlanStatus.DRAFT: 1}
    for plan in AccountPlan.objects.filter(
        account_id__in=wanted_years, status__in=[PlanStatus.ACTIVE, PlanStatus.DRAFT]
    ).order_by("account_id", "-created_at"):
        if plan.fiscal_year != wanted_years.get(plan.account_id):
            continue
        current = existing.get(plan.account_id)
        if current is None or order[plan.status] < order[current.status]:
            existing[plan.account_id] = plan
    missing = [
        AccountPlan(account_id=aid, fiscal_year=year, owner_id=accounts[aid].owner_id, status=PlanStatus.DRAFT)
        for aid, year in wanted_years.items()
        if aid not in existing and standards.get(by_account[aid].get("new_tier") or "")
    ]
    for plan in AccountPlan.objects.bulk_create(missing):
        existing[plan.account_id] = plan
    counts = {"plans": 0, "plans_created": len(missing)}
    groups: dict[dt.date, list[AccountPlan]] = defaultdict(list)
    plan_standards: dict[int, ServiceStandard] = {}
    for account_id, plan in existing.items():
        standard = standards.get(by_account[account_id].get("new_tier") or "")
        if standard is None:
            continue
        plan_standards[plan.pk] = standard
        groups[max(effective[account_id], today)].append(plan)
    for from_date, plans in groups.items():
        for key, value in plan_schedule_apply(plans=plans, standards=plan_standards, from_date=from_date).items():
            counts[key] = counts.get(key, 0) + value
        counts["plans"] += len(plans)
    notes = []
    for account_id, payload in by_account.items():
        account = accounts.get(account_id)
        if account is None:
            continue
        text = _("%(account)s moved from %(old)s to %(new)s; its plan now follows the %(new)s service standard.") % {
            "account": account.name,
            "old": payload.get("old_tier") or "—",
            "new": payload.get("new_tier") or "—",
        }
        # The plan's section of the account page, where its owner works it.
        notes.append(Note(account.owner_id, "account.tier_changed", text, plan_link(account_id)))
    notify_many(notes)
    return counts
