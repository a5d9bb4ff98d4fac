"""Forms of the workspace. They validate and render only; views hand ``cleaned_data`` to the services.

ModelForms are used for their field types, labels and model validation (``full_clean`` runs during
``is_valid``, so "end before start" is reported on the field before anything is written); the
services validate again inside their transaction and remain the only writers.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, BuyingRole, Contact, Contract, ExchangeRate, Invoice, Meeting
from service_plans.models import AccountTeamMember

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
            "number", "contract", "issued_on", "due_on", "amount", "currency", "margin_amount", "paid_on",
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


NO_FIELD_ERROR = _("Please correct the errors below.")
