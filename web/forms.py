"""Forms of the workspace. They validate and render only; views hand ``cleaned_data`` to the services.

ModelForms are used for their field types, labels and model validation (``full_clean`` runs during
``is_valid``, so "end before start" is reported on the field before anything is written); the
services validate again inside their transaction and remain the only writers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.choices import HealthBand, Tier
from accounts.models import (
    Account,
    AccountAncestry,
    BuyingRole,
    Contact,
    Contract,
    ExchangeRate,
    InfluenceLink,
    Invoice,
    Meeting,
    TeamRelationship,
)
from service_plans.models import (
    CLOSED_STATUSES,
    AccountPlan,
    AccountTeamMember,
    AlertOutcome,
    AlertPriority,
    AlertStatus,
    Commitment,
    CommitmentSide,
    Need,
    PlanAction,
    PlanObjective,
    PlanReview,
    ReviewKind,
    WhitespaceCell,
)
from tiering.services import health_override_validate, tier_override_validate

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
DATETIME = forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"})


def currency_choices() -> list[tuple[str, str]]:
    """The base currency and every currency with an exchange rate: the ones the models accept."""
    known = set(ExchangeRate.objects.values_list("currency", flat=True).distinct())
    known.add(settings.KAM_BASE_CURRENCY)
    return [(code, code) for code in sorted(known)]


class AccountPickerWidget(forms.Select):
    """A select that renders only the chosen account; a search box above it fetches matches by htmx.

    Rendering every account as an <option> would send 100,000 of them to an executive.
    """

    template_name = "web/forms/account_picker.html"

    def __init__(self, *args: Any, lookup_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookup_url = lookup_url

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["lookup_url"] = self.lookup_url
        return context

    def optgroups(self, name: str, value: Any, attrs: Any = None) -> list[Any]:
        chosen = [v for v in value if v not in ("", None)]
        options = [self.create_option(name, "", "—", not chosen, 0)]
        for index, account in enumerate(Account.objects.filter(pk__in=[v for v in chosen if str(v).isdigit()]), start=1):
            options.append(self.create_option(name, account.pk, account.name, True, index))
        return [(None, options, 0)]


def style_fields(form: forms.BaseForm) -> None:
    """Bootstrap classes on every widget (kept out of templates so each field renders with ``{{ field }}``)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class VersionedForm(forms.ModelForm):
    """Carries the version the user read; the update service refuses the save if it has moved on."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].required = True
            self.fields["version"].initial = self.instance.version


class AccountForm(VersionedForm):
    class Meta:
        model = Account
        fields = [
            "name", "external_id", "parent", "owner", "status", "industry", "region", "currency", "credit_rating",
            "payment_terms_days", "market_influence", "integration_potential", "relationship_stage",
            "wallet_estimate_amount", "notes",
        ]  # fmt: skip
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, user: Any, lookup_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Account.objects.visible_to(user)
        self.fields["parent"].widget = AccountPickerWidget(lookup_url=lookup_url)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["currency"] = forms.ChoiceField(
            label=capfirst(Account._meta.get_field("currency").verbose_name), choices=currency_choices()
        )


class BuyingRoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: BuyingRole) -> str:
        return str(obj.get_code_display())


class ContactForm(VersionedForm):
    buying_roles = BuyingRoleChoiceField(
        queryset=BuyingRole.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=capfirst(Contact._meta.get_field("buying_roles").verbose_name),
    )

    class Meta:
        model = Contact
        fields = [
            "name", "title", "department", "email", "phone", "buying_roles", "influence", "support", "coverage",
            "political_status", "decision_orientation", "reports_to", "is_active", "left_on", "replaced_by",
        ]  # fmt: skip
        widgets = {"left_on": DATE}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        colleagues = Contact.objects.filter(account=account).order_by("name")
        if self.instance.pk is not None:
            colleagues = colleagues.exclude(pk=self.instance.pk)
        self.fields["reports_to"].queryset = colleagues
        self.fields["replaced_by"].queryset = colleagues
        self.fields["influence"].widget = forms.NumberInput(attrs={"min": 1, "max": 5})


class ContractForm(VersionedForm):
    class Meta:
        model = Contract
        fields = [
            "number", "title", "status", "start_date", "end_date", "annual_value", "currency", "renewal_of",
            "signed_on", "notice_on", "auto_renew", "is_customised_solution", "escalator_pct",
        ]  # fmt: skip
        widgets = {"start_date": DATE, "end_date": DATE, "signed_on": DATE, "notice_on": DATE}

    def __init__(self, *args: Any, account: Account, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        # A renewal stays within the group (Contract.clean); offer the group's visible contracts.
        group = account.group_root_id or account.pk
        renewable = Contract.objects.visible_to(user).filter(account__group_root_id=group).order_by("-end_date")
        if self.instance.pk is not None:
            renewable = renewable.exclude(pk=self.instance.pk)
        self.fields["renewal_of"].queryset = renewable
        self.fields["currency"] = forms.ChoiceField(
            label=capfirst(Contract._meta.get_field("currency").verbose_name), choices=currency_choices()
        )
        if self.instance.pk is None:
            self.initial.setdefault("currency", account.currency)


class InvoiceForm(VersionedForm):
    class Meta:
        model = Invoice
        fields = [
            "number", "contract", "issued_on", "due_on", "amount", "currency", "margin_amount", "quantity", "paid_on",
            "written_off_amount", "written_off_on", "is_disputed",
        ]  # fmt: skip
        widgets = {"issued_on": DATE, "due_on": DATE, "paid_on": DATE, "written_off_on": DATE}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        self.fields["contract"].queryset = Contract.objects.filter(account=account).order_by("-end_date")
        self.fields["currency"] = forms.ChoiceField(
            label=capfirst(Invoice._meta.get_field("currency").verbose_name), choices=currency_choices()
        )
        if self.instance.pk is None:
            self.initial.setdefault("currency", account.currency)


class MeetingForm(forms.ModelForm):
    # Meetings have no version column: the form carries the ``updated_at`` it was opened with.
    seen_updated_at = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Meeting
        fields = ["kind", "occurred_at", "title", "contacts", "attendees", "summary", "decisions"]
        widgets = {
            "occurred_at": DATETIME,
            "summary": forms.Textarea(attrs={"rows": 3}),
            "decisions": forms.Textarea(attrs={"rows": 2}),
            "contacts": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        self.fields["contacts"].queryset = Contact.objects.filter(account=account, is_active=True).order_by("name")
        self.fields["attendees"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["attendees"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["attendees"].widget.attrs["size"] = 5
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        if self.instance.pk is not None:
            self.fields["seen_updated_at"].initial = self.instance.updated_at.isoformat()


class TeamMemberForm(forms.ModelForm):
    class Meta:
        model = AccountTeamMember
        fields = ["user", "role", "since"]
        widgets = {"since": DATE}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username
        if self.instance.pk is not None:
            self.fields["user"].disabled = True


def account_people(account: Account) -> Any:
    """Our active people on the account: the owners and team members of the account and of the groups
    above it (those who see it through the visibility rule, executives and administrators aside)."""
    group = AccountAncestry.objects.filter(descendant_id=account.pk).values("ancestor_id")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(owned_accounts__in=group) | Q(account_teams__account__in=group))
        .distinct()
        .order_by("username")
    )


class TeamRelationshipForm(VersionedForm):
    """One colleague's relationship level with a contact (DOMAIN.md §6.2). ``colleagues`` are the people
    the user may record it for: themselves, or (the account's owner) the account's people."""

    class Meta:
        model = TeamRelationship
        fields = ["user", "level_current", "level_target", "last_interaction_on"]
        widgets = {"last_interaction_on": DATE}

    def __init__(self, *args: Any, contact: Contact, colleagues: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contact = contact
        self.fields["user"].queryset = colleagues
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username
        if self.instance.pk is not None:
            self.fields["user"].disabled = True


class InfluenceLinkForm(forms.ModelForm):
    """An influence or conflict line between two of the account's contacts (DOMAIN.md §6.1–6.2)."""

    class Meta:
        model = InfluenceLink
        fields = ["from_contact", "kind", "to_contact", "note"]

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contacts = Contact.objects.filter(account=account).order_by("-is_active", "name", "id")
        self.fields["from_contact"].queryset = contacts
        self.fields["to_contact"].queryset = contacts

    def validate_constraints(self) -> None:
        # The service checks the self-link (on the field) and decides a duplicate (a conflict, 409).
        pass


NO_FIELD_ERROR = _("Please correct the errors below.")


# --- Alerts (lifecycle forms; the rules — snooze at most 30 days, a note and an outcome to close —
# live in service_plans.services.alerts and come back as field errors) ------------------------------


class AlertVersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AlertSnoozeForm(AlertVersionForm):
    until = forms.DateField(label=_("Snooze until"), widget=DATE)
    reason = forms.CharField(label=_("Why"), max_length=200, required=False)


class AlertCloseForm(AlertVersionForm):
    status = forms.ChoiceField(label=_("Close as"))
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    note = forms.CharField(label=_("Closure note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    saved_value_amount = forms.DecimalField(
        label=_("Value saved"), max_digits=18, decimal_places=2, required=False, help_text=_("Optional.")
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(AlertStatus.choices)
        self.fields["status"].choices = [(code, labels[code]) for code in CLOSED_STATUSES]
        self.fields["outcome"].choices = [("", "—"), *AlertOutcome.choices]
        self.fields["currency"].choices = currency_choices()


class AlertReassignForm(AlertVersionForm):
    """Reassign to someone who works on the account: its owner or a member of its team (§5.3)."""

    owner = forms.ModelChoiceField(label=_("New owner"), queryset=get_user_model().objects.none())
    move_tasks = forms.BooleanField(label=_("Move the previous owner's open tasks too"), required=False, initial=True)

    def __init__(self, *args: Any, alert: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = alert.account
        team = AccountTeamMember.objects.filter(account_id=account.pk).values("user_id")
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(pk__in=team) | Q(pk=account.owner_id))
            .exclude(pk=alert.owner_id)
            .order_by("username")
        )
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username


class AlertRescheduleForm(AlertVersionForm):
    due_on = forms.DateField(label=_("Due date"), widget=DATE)
    shift_tasks = forms.BooleanField(label=_("Move the open tasks by the same number of days"), required=False, initial=True)


class AlertRaiseForm(forms.Form):
    """An alert raised by hand (§5.1: CTAs are created by rules or manually), e.g. R10's news flag."""

    rule = forms.ChoiceField(label=_("Signal"))
    priority = forms.ChoiceField(label=_("Priority"), choices=AlertPriority.choices, initial=AlertPriority.HIGH)
    reason = forms.CharField(
        label=_("Reason"), max_length=60, help_text=_("What happened, in a few words: e.g. litigation reported in the press.")
    )
    due_on = forms.DateField(label=_("Due date"), widget=DATE, required=False, help_text=_("Empty: by the priority."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from service_plans.models import Rule

        self.fields["rule"].choices = Rule.choices

    def clean_due_on(self) -> Any:
        due_on = self.cleaned_data["due_on"]
        if due_on is not None and due_on < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later date."))
        return due_on


class AlertTaskCompleteForm(forms.Form):
    evidence = forms.CharField(label=_("Evidence"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


# --- Account plans: the plan, its objectives and actions (service_plans.services.plans) -----------


class PlanCreateForm(forms.ModelForm):
    class Meta:
        model = AccountPlan
        fields = ["fiscal_year", "owner", "revenue_target_amount", "currency", "share_of_wallet_target"]

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["currency"] = forms.ChoiceField(
            label=capfirst(AccountPlan._meta.get_field("currency").verbose_name),
            choices=[("", "—"), *currency_choices()],
            required=False,
        )


class ObjectiveForm(VersionedForm):
    class Meta:
        model = PlanObjective
        fields = ["title", "description", "kpi_code", "baseline", "target", "owner", "start_on", "due_on", "status"]
        widgets = {"start_on": DATE, "due_on": DATE, "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, plan: AccountPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.plan = plan
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username


class ActionForm(VersionedForm):
    class Meta:
        model = PlanAction
        fields = ["title", "objective", "owner_user", "owner_contact", "due_on", "status"]
        widgets = {"due_on": DATE}

    def __init__(self, *args: Any, plan: AccountPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.plan = plan
        self.fields["objective"].queryset = PlanObjective.objects.filter(plan=plan).order_by("due_on", "id")
        self.fields["owner_user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner_user"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["owner_contact"].queryset = Contact.objects.filter(account_id=plan.account_id, is_active=True).order_by(
            "name"
        )


class WhitespaceCellForm(VersionedForm):
    """A cell of the plan's whitespace map (service_plans.services.whitespace)."""

    class Meta:
        model = WhitespaceCell
        fields = ["buying_centre", "offering", "state", "our_annual_value", "est_total_spend", "currency", "competitor", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, plan: AccountPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.plan = plan
        self.fields["currency"] = forms.ChoiceField(
            label=capfirst(WhitespaceCell._meta.get_field("currency").verbose_name),
            choices=currency_choices(),
            initial=self.instance.currency or plan.account.currency,
        )


# --- Plan reviews (service_plans.services.plans: review_schedule, review_hold) --------------------


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.username


class ReviewScheduleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Review"), choices=ReviewKind.choices)
    scheduled_on = forms.DateField(label=_("Scheduled on"), widget=DATE)


class CommitmentForm(forms.ModelForm):
    """One commitment made in the review; ours become plan actions (``review_record``)."""

    class Meta:
        model = Commitment
        fields = ["side", "text", "owner_user", "owner_contact", "due_on"]
        widgets = {"due_on": DATE}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["side"].choices = [("", "—"), *CommitmentSide.choices]
        self.fields["owner_user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner_user"].label_from_instance = _user_label
        self.fields["owner_contact"].queryset = Contact.objects.filter(account=account, is_active=True).order_by("name")
        style_fields(self)


CommitmentFormSet = forms.formset_factory(CommitmentForm, extra=4, max_num=20, validate_max=True)


class ReviewRecordForm(forms.Form):
    """A review held: when, what was decided, the commitments on both sides (a formset carried by the
    form, so the shared form flow validates and renders both), and when the next one is."""

    kind = forms.ChoiceField(label=_("Review"), choices=ReviewKind.choices)
    held_on = forms.DateField(label=_("Held on"), widget=DATE)
    meeting = forms.ModelChoiceField(label=_("Meeting"), queryset=Meeting.objects.none(), required=False)
    contacts = forms.ModelMultipleChoiceField(
        label=_("Customer attendees"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("Our attendees"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    decisions = forms.CharField(label=_("Decisions"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next_scheduled_on = forms.DateField(
        label=_("Next review on"), widget=DATE, required=False, help_text=_("Schedules the next review of this kind.")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, data: Any = None, *, account: Account, review: PlanReview | None = None, **kwargs: Any) -> None:
        if review is not None:
            kwargs.setdefault("initial", {}).update({"kind": review.kind, "version": review.version})
        super().__init__(data, **kwargs)
        self.review = review
        if review is not None:  # recording a scheduled review: its kind is given
            self.fields["kind"].disabled = True
            self.fields["version"].required = True
        # The last year's meetings: a review links the meeting it was held in, not an old one.
        since = timezone.now() - dt.timedelta(days=366)
        self.fields["meeting"].queryset = Meeting.objects.filter(account=account, occurred_at__gte=since).order_by(
            "-occurred_at", "-id"
        )
        self.fields["contacts"].queryset = Contact.objects.filter(account=account, is_active=True).order_by("name")
        self.fields["attendees"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["attendees"].label_from_instance = _user_label
        self.commitments = CommitmentFormSet(data, prefix="c", form_kwargs={"account": account})

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.commitments.is_valid():
            self.add_error(None, _("Please correct the commitments below."))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        held_on, next_on = data.get("held_on"), data.get("next_scheduled_on")
        if held_on and held_on > timezone.localdate():
            self.add_error("held_on", _("A review is recorded once it was held: the date cannot be in the future."))
        if held_on and next_on and next_on <= held_on:
            self.add_error("next_scheduled_on", _("The next review must come after this one."))
        return data

    def commitment_rows(self) -> list[dict[str, Any]]:
        """The filled rows of the formset, as ``review_record`` takes them."""
        return [f.cleaned_data for f in self.commitments.forms if f.has_changed() and f.cleaned_data]


# --- Needs (service_plans.services.delivery) -----------------------------------------------------


class NeedForm(VersionedForm):
    class Meta:
        model = Need
        fields = ["department", "description", "priority", "status", "last_reviewed_on"]
        widgets = {"last_reviewed_on": DATE, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account

    def clean_last_reviewed_on(self) -> Any:
        # A review that has not happened yet is a typing mistake, not a plan.
        day = self.cleaned_data.get("last_reviewed_on")
        if day is not None and day > timezone.localdate():
            raise ValidationError(_("The last review cannot be in the future."), code="future")
        return day


# --- Tier and health overrides (tiering.services; approvers only) ---------------------------------


class OverrideForm(forms.Form):
    """Shared by both overrides: ``clean`` asks the tiering service's validator, so every rule (reason,
    approver, expiry within the maximum, score or band) is reported on its field in one go."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE, required=False, help_text=_("Empty: today."))
    expires_on = forms.DateField(label=_("Expires on"), widget=DATE, required=False)
    aliases = {"override_score": "score", "override_band": "band"}

    def __init__(self, *args: Any, approver: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.approver = approver

    def validate(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            self.validate(data)
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                name = self.aliases.get(name, name)
                if name in self.fields and name not in self.errors:
                    self.add_error(name, errors)
                elif name not in self.fields:
                    self.add_error(None, errors)
        return data


class TierOverrideForm(OverrideForm):
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices)
    field_order = ["tier", "reason", "starts_on", "expires_on"]

    def validate(self, data: dict[str, Any]) -> None:
        tier_override_validate(
            tier=data.get("tier", ""), approved_by=self.approver, expires_on=data.get("expires_on"),
            starts_on=data.get("starts_on"),
        )  # fmt: skip


class HealthOverrideForm(OverrideForm):
    score = forms.DecimalField(
        label=_("Health score"), max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )
    band = forms.ChoiceField(label=_("or a band"), required=False)
    field_order = ["score", "band", "reason", "starts_on", "expires_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["band"].choices = [("", "—")] + [(c, lbl) for c, lbl in HealthBand.choices if c != HealthBand.GREY]

    def validate(self, data: dict[str, Any]) -> None:
        if "score" not in data:  # an invalid number: its own error says so
            return
        health_override_validate(
            score=data.get("score"), band=data.get("band", ""), approved_by=self.approver,
            expires_on=data.get("expires_on"), starts_on=data.get("starts_on"),
        )  # fmt: skip
