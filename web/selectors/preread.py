"""The pre-read pack of a business review (DOMAIN.md §7.4): what the customer and we look at before a
QBR or EBR — health and its breakdown (§2), SLA attainment (§4.11), NPS and CSAT, renewal dates, open
alerts (CTAs) and the status of the plan's objectives — as of the moment it is opened; once the review
is held, who attended on both sides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import ContractStatus
from accounts.models import Contract
from service_plans.models import Alert, PlanObjective, PlanReview
from service_plans.services.plans import objective_progress
from tiering.selectors import health_explanation_of
from web.selectors.account_page import SlaSummary, SurveySummary, account_service_requests, account_surveys

RENEWAL_HORIZON_DAYS = 365  # renewals due within a year of the review are on the agenda
MAX_ROWS = 20


@dataclass
class PreRead:
    review: PlanReview
    account: Any
    as_of: dt.datetime
    health: dict[str, Any]
    sla: SlaSummary
    surveys: SurveySummary
    renewals: list[Contract]
    alerts: list[Alert]
    objectives: list[PlanObjective]


def review_preread(*, user: Any, pk: int, now: dt.datetime | None = None) -> PreRead:
    """The pack for a review the user can see (another manager's is a 404), in a fixed number of
    queries whatever the number of objectives, alerts and contracts."""
    now = now or timezone.now()
    # Who attended on both sides is kept on the review's meeting (§7.4): 2 queries once it has one.
    reviews = (
        PlanReview.objects.visible_to(user)
        .select_related("plan__account__owner", "plan__owner", "meeting")
        .prefetch_related("meeting__contacts", "meeting__attendees")
    )
    review = get_object_or_404(reviews, pk=pk)
    account = review.plan.account
    _requests, sla = account_service_requests(account=account, now=now)
    _responses, surveys = account_surveys(account=account, now=now)
    start = min(review.scheduled_on, timezone.localdate(now))
    renewals = list(
        Contract.objects.filter(
            account=account, end_date__gte=start, end_date__lte=start + dt.timedelta(days=RENEWAL_HORIZON_DAYS)
        )
        .exclude(status__in=[ContractStatus.DRAFT, ContractStatus.TERMINATED])
        .annotate(has_renewal=Exists(Contract.objects.filter(renewal_of=OuterRef("pk"))))
        .order_by("end_date", "id")[:MAX_ROWS]
    )
    # The stored priority codes sort critical, high, medium.
    alerts = list(
        Alert.objects.filter(account=account).open().select_related("owner").order_by("priority", "due_on", "id")[:MAX_ROWS]
    )
    objectives = list(
        PlanObjective.objects.with_progress().filter(plan=review.plan).select_related("owner").order_by("due_on", "id")
    )
    for objective in objectives:
        objective.progress = objective_progress(objective)
    return PreRead(
        review=review,
        account=account,
        as_of=now,
        health=health_explanation_of(account),
        sla=sla,
        surveys=surveys,
        renewals=renewals,
        alerts=alerts,
        objectives=objectives,
    )
