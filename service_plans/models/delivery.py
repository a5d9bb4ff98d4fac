"""Service delivery: the account team, surveys, service requests, projects and escalations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.visibility import AccountScopedQuerySet


class TeamRole(models.TextChoices):
    # DOMAIN.md §5.3 and §7.5: rules resolve owners by role, not by named user.
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    SOLUTION_LEAD = "solution_lead", _("Solution lead")
    SERVICE_LEAD = "service_lead", _("Service lead")
    FINANCE = "finance", _("Finance")
    DELIVERY = "delivery", _("Delivery")


class AccountTeamMember(models.Model):
    """A colleague on an account's cross-department team. Serving on a team makes the account visible."""

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="team_members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="account_teams"
    )
    role = models.CharField(_("role"), max_length=24, choices=TeamRole.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="team_one_role_per_user"),
            models.CheckConstraint(condition=Q(role__in=TeamRole.values), name="team_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "account"], name="team_user")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} ({self.account})"


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–7)")


SCORE_RANGES = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}


class SurveyResponse(models.Model):
    """One answer to an NPS, CSAT or CES question (DOMAIN.md §4.7–4.9).

    ``respondent_role`` keeps the contact's buying role at the time of the answer, so later role
    changes do not rewrite the role-weighted NPS of past periods.
    """

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="survey_responses"
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    survey = models.ForeignKey(
        "service_plans.Survey",
        verbose_name=_("survey"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    score = models.SmallIntegerField(_("score"))
    respondent_role = models.CharField(_("respondent role"), max_length=32, blank=True)
    responded_at = models.DateTimeField(_("responded at"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["account", "kind", "responded_at"], name="survey_account_kind_time"),
            models.Index(fields=["kind", "responded_at"], name="survey_kind_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="nps", score__gte=0, score__lte=10)
                | Q(kind="csat", score__gte=1, score__lte=5)
                | Q(kind="ces", score__gte=1, score__lte=7),
                name="survey_score_in_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind in SCORE_RANGES and self.score is not None:
            low, high = SCORE_RANGES[SurveyKind(self.kind)]
            if not low <= self.score <= high:
                raise ValidationError(
                    {
                        "score": _("A %(kind)s score is between %(low)s and %(high)s.")
                        % {"kind": self.kind.upper(), "low": low, "high": high}
                    }
                )
        if self.contact_id is not None and self.account_id is not None and self.contact.account_id != self.account_id:
            raise ValidationError({"contact": _("The contact belongs to another account.")})
        if self.survey_id is not None and self.kind and self.survey.kind != self.kind:
            raise ValidationError({"kind": _("The response's kind must match its survey's kind.")})


class Priority(models.TextChoices):
    P1 = "p1", _("P1 critical")
    P2 = "p2", _("P2 high")
    P3 = "p3", _("P3 normal")
    P4 = "p4", _("P4 low")


class ServiceRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class ServiceRequest(models.Model):
    """A customer's request or incident, measured against the SLA of the account's tier (§4.11).

    The ``*_due_at`` targets and breach flags are set by the SLA service (business-hours calendar,
    pauses); the KPI engine reads them and never recomputes clocks.
    """

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="service_requests"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.P3)
    status = models.CharField(_("status"), max_length=16, choices=ServiceRequestStatus.choices, default=ServiceRequestStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due at"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due at"), null=True, blank=True)
    # Written by the SLA service (service_plans.sla); True once a target passed without the event.
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    paused_minutes = models.PositiveIntegerField(_("paused business minutes"), default=0)
    sla_standard = models.ForeignKey(
        "service_plans.ServiceStandard",
        verbose_name=_("service standard"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The standard version whose SLA targets apply to this request."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        indexes = [
            models.Index(fields=["account", "opened_at"], name="sr_account_opened"),
            models.Index(fields=["opened_at"], name="sr_opened"),
            models.Index(fields=["resolved_at"], name="sr_resolved"),
            models.Index(
                fields=["first_response_due_at"], condition=Q(first_response_at__isnull=True), name="sr_open_response_due"
            ),
            models.Index(fields=["resolution_due_at"], condition=Q(resolved_at__isnull=True), name="sr_open_resolution_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="sr_priority_valid"),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True) | Q(first_response_at__gte=models.F("opened_at")),
                name="sr_response_after_open",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("opened_at")), name="sr_resolved_after_open"
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_priority_display()} #{self.pk}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.opened_at and self.first_response_at and self.first_response_at < self.opened_at:
            errors["first_response_at"] = [_("The first response cannot come before the request was opened.")]
        if self.opened_at and self.resolved_at and self.resolved_at < self.opened_at:
            errors["resolved_at"] = [_("A request cannot be resolved before it was opened.")]
        if errors:
            raise ValidationError(errors)


class ProjectKind(models.TextChoices):
    CUSTOMISED_SOLUTION = "customised_solution", _("Customised solution")
    JOINT_INNOVATION = "joint_innovation", _("Joint innovation")
    STANDARD = "standard", _("Standard")


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Project(models.Model):
    """A project with the customer: customised solution, joint innovation or standard (§4.16)."""

    account = models.ForeignKey("accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=24, choices=ProjectKind.choices, default=ProjectKind.STANDARD)
    status = models.CharField(_("status"), max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED)
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        indexes = [models.Index(fields=["account", "kind", "status"], name="project_account_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProjectKind.values), name="project_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ProjectStatus.values), name="project_status_valid"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")), name="project_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            raise ValidationError({"ended_on": [_("The end date cannot be before the start date.")]})


class Severity(models.TextChoices):
    SEV1 = "sev1", _("Sev-1")
    SEV2 = "sev2", _("Sev-2")
    SEV3 = "sev3", _("Sev-3")


class Escalation(models.Model):
    """An escalation of a customer issue to management (§5.2 R6)."""

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="escalations"
    )
    service_request = models.ForeignKey(
        ServiceRequest,
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalations",
    )
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.SEV2)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalations_owned",
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        indexes = [models.Index(fields=["account", "closed_at"], name="escalation_account_open")]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="escalation_severity_valid"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("opened_at")), name="escalation_closed_after_open"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PauseQuerySet(AccountScopedQuerySet):
    account_lookup = "service_request__account_id"


class ServiceRequestPause(models.Model):
    """An interval during which the SLA clocks of a request stop (e.g. waiting on the customer).

    An open pause (``ended_at`` empty) holds the due times back until it ends; the SLA service then
    moves them by the business time the pause took.
    """

    service_request = models.ForeignKey(
        ServiceRequest, verbose_name=_("service request"), on_delete=models.CASCADE, related_name="pauses"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    objects = PauseQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA pause")
        verbose_name_plural = _("SLA pauses")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")), name="sr_pause_end_after_start"
            ),
            models.UniqueConstraint(fields=["service_request"], condition=Q(ended_at__isnull=True), name="sr_one_open_pause"),
        ]

    def __str__(self) -> str:
        return f"{self.service_request_id}: {self.started_at:%Y-%m-%d %H:%M}"


class Survey(models.Model):
    """A survey definition: the question asked, its kind and scale (DOMAIN.md §4.7–4.9)."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    question = models.TextField(_("question"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [models.CheckConstraint(condition=Q(kind__in=SurveyKind.values), name="survey_kind_valid")]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> tuple[int, int]:
        return SCORE_RANGES[SurveyKind(self.kind)]


class NeedPriority(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    MET = "met", _("Met")
    DROPPED = "dropped", _("Dropped")


class Need(models.Model):
    """A need of a customer department, reviewed periodically (the course's needs analysis)."""

    account = models.ForeignKey("accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="needs")
    department = models.CharField(_("department"), max_length=120, blank=True)
    description = models.TextField(_("description"))
    priority = models.CharField(_("priority"), max_length=8, choices=NeedPriority.choices, default=NeedPriority.MEDIUM)
    status = models.CharField(_("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    last_reviewed_on = models.DateField(_("last reviewed on"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        indexes = [models.Index(fields=["account", "status"], name="need_account_status")]
        constraints = [
            models.CheckConstraint(condition=Q(priority__in=NeedPriority.values), name="need_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=NeedStatus.values), name="need_status_valid"),
        ]

    def __str__(self) -> str:
        return self.description[:60]


class CaseApproval(models.TextChoices):
    INTERNAL_ONLY = "internal_only", _("Internal only")
    APPROVED_FOR_REFERENCE = "approved_for_reference", _("Approved for reference")
    PUBLIC = "public", _("Public")


class BenchmarkCase(models.Model):
    """A success story for the benchmark case library (DOMAIN.md §7.6).

    ``outcome_metrics`` is a list of ``{"kpi_code", "before", "after"}``; ``tags`` a list of words.
    """

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="benchmark_cases"
    )
    title = models.CharField(_("title"), max_length=200)
    problem = models.TextField(_("problem"))
    solution = models.TextField(_("solution"))
    offerings = models.CharField(_("offerings"), max_length=500, blank=True)
    outcome_metrics = models.JSONField(_("outcome metrics"), default=list, blank=True)
    approval_status = models.CharField(
        _("customer approval"), max_length=24, choices=CaseApproval.choices, default=CaseApproval.INTERNAL_ONLY
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("benchmark case")
        verbose_name_plural = _("benchmark cases")
        constraints = [
            models.CheckConstraint(condition=Q(approval_status__in=CaseApproval.values), name="case_approval_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from decimal import Decimal, InvalidOperation

        from django.core.exceptions import ValidationError

        errors = {}
        metrics = self.outcome_metrics
        if not isinstance(metrics, list):
            errors["outcome_metrics"] = [_("Give a list of {kpi_code, before, after} objects.")]
        else:
            for item in metrics:
                if not isinstance(item, dict) or not str(item.get("kpi_code") or "").strip():
                    errors["outcome_metrics"] = [_("Each outcome metric needs a kpi_code, a before and an after value.")]
                    break
                try:
                    Decimal(str(item.get("before"))), Decimal(str(item.get("after")))
                except (InvalidOperation, ValueError):
                    errors["outcome_metrics"] = [_("Before and after values must be numbers.")]
                    break
        if not isinstance(self.tags, list) or not all(isinstance(t, str) for t in self.tags):
            errors["tags"] = [_("Give the tags as a list of words.")]
        if self.approval_status == CaseApproval.PUBLIC and not self.published_on:
            errors["published_on"] = [_("A public case needs a publication date.")]
        if errors:
            raise ValidationError(errors)
