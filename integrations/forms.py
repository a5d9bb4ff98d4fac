from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from integrations.models import TokenScope


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use it, e.g. “ERP nightly sync”."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.Select(attrs={"class": "form-select"})
    )
    expires_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=settings.KAM_API_TOKEN_MAX_DAYS,
        initial=90,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
