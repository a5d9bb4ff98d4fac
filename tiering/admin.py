"""Admin for tiering: scoring models are edited here (saved through the versioning service);
snapshots, runs and assignments are read-only records; overrides are created through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from kam.admin_mixins import VisibleToUserAdminMixin
from tiering import services
from tiering.choices import OverrideStatus, Purpose
from tiering.models import (
    HealthOverride,
    HealthSnapshot,
    ScoreSnapshot,
    ScoringFactor,
    ScoringModel,
    ScoringRun,
    TierAssignment,
    TierOverride,
)
from tiering.scoring import normalised_weights


class ReadOnlyAdminMixin:
    """Records written by score runs: visible, never edited by hand (history is never recomputed)."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class FactorFormSet(forms.BaseInlineFormSet):
    """Checks across factors: a positive weight per purpose, unique codes (the service checks again)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and (f.instance.pk or f.has_changed())
        ]
        errors = []
        for purpose in Purpose:
            mine = [data for data in kept if data.get("purpose") == purpose]
            if not any((data.get("weight") or 0) > 0 for data in mine):
                errors.append(
                    _("The %(purpose)s needs at least one factor with a weight above zero.") % {"purpose": purpose.label}
                )
            codes = [data.get("code") for data in mine]
            duplicates = sorted({c for c in codes if c and codes.count(c) > 1})
            if duplicates:
                errors.append(_("Factor codes must be unique: %(codes)s.") % {"codes": ", ".join(duplicates)})
        if errors:
            raise ValidationError(errors)


class ScoringFactorInline(admin.TabularInline):
    model = ScoringFactor
    formset = FactorFormSet
    extra = 0
    fields = ["purpose", "code", "measure", "scorer", "params", "weight", "weight_pct", "position"]
    readonly_fields = ["weight_pct"]
    ordering = ["purpose", "position", "code"]

    @admin.display(description=_("weight %"))
    def weight_pct(self, obj: ScoringFactor) -> str:
        if obj.pk is None:
            return "—"
        siblings = [f for f in obj.model.factors.all() if f.purpose == obj.purpose]
        pct = normalised_weights([f.weight for f in siblings])
        return f"{pct[[f.pk for f in siblings].index(obj.pk)]:.1f}%"

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).select_related("model").prefetch_related("model__factors")


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "is_active", "is_used_display", "created_by", "created_at"]
    list_select_related = ["created_by"]
    list_filter = ["is_active"]
    search_fields = ["name", "notes"]
    readonly_fields = ["version", "is_active", "based_on", "created_by", "created_at"]
    raw_id_fields = ["based_on", "created_by"]
    inlines = [ScoringFactorInline]
    actions = ["activate", "copy"]
    fieldsets = [
        (None, {"fields": ["name", "version", "is_active", "based_on", "notes", "created_by", "created_at"]}),
        (
            _("Value score and tiers"),
            {
                "fields": [
                    "value_min_coverage_pct", ("t1_entry", "t2_entry", "t3_entry"), "band_gap", "max_t1",
                    ("consecutive_evaluations", "min_residence_evaluations"), "renewal_freeze_days",
                    "evaluation_period_months", "tier_override_max_days",
                    ("gate_revenue_share_min", "gate_yoy_growth_min", "gate_years"), ("abc_a_cut", "abc_b_cut"),
                ]
            },
        ),
        (
            _("Health"),
            {
                "fields": [
                    "health_min_coverage_pct", ("health_yellow_min", "health_green_min"),
                    ("health_band_min_cross", "health_band_consecutive_runs"),
                    ("health_trend_lookback_days", "health_trend_deadband"),
                    ("health_override_default_days", "health_override_max_days"),
                ]
            },
        ),
    ]  # fmt: skip

    @admin.display(boolean=True, description=_("used by runs"))
    def is_used_display(self, obj: ScoringModel) -> bool:
        return obj.is_used

    def save_model(self, request: Any, obj: ScoringModel, form: Any, change: bool) -> None:
        """Saved in ``save_related`` together with the factors, through the versioning service."""

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        factors = []
        for formset in formsets:
            # The service saves the factors; the admin's change message reads these lists.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for factor_form in formset.forms:
                data = factor_form.cleaned_data
                if not data or data.get("DELETE") or (factor_form.instance.pk is None and not factor_form.has_changed()):
                    continue
                factors.append({name: data[name] for name in services.FACTOR_FIELDS if name in data})
        fields = {name: value for name, value in form.cleaned_data.items() if name in services.SCORING_MODEL_FIELDS}
        original = ScoringModel.objects.get(pk=form.instance.pk) if change else None
        saved = services.scoring_model_save(model=original, fields=fields, factors=factors, actor=request.user)
        if original is not None and saved.pk != original.pk:
            self.message_user(
                request,
                _("Version %(old)s has been used by score runs, so your changes were saved as version %(new)s.")
                % {"old": original.version, "new": saved.version},
                messages.WARNING,
            )
        form.instance.pk = saved.pk
        form.instance.version = saved.version

    @admin.action(description=_("Activate the selected scoring model"), permissions=["change"])
    def activate(self, request: Any, queryset: Any) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one scoring model to activate."), messages.ERROR)
            return
        try:
            model = services.scoring_model_activate(model=queryset.get(), actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("%(model)s is now active; the next score run uses it.") % {"model": model})

    @admin.action(description=_("Copy as a new inactive version"), permissions=["add"])
    def copy(self, request: Any, queryset: Any) -> None:
        for model in queryset:
            copy = services.scoring_model_copy(model=model, actor=request.user)
            self.message_user(request, _("Created version %(version)s.") % {"version": copy.version})


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "part", "as_of", "period_start", "status", "model", "job", "started_at", "finished_at"]
    list_filter = ["status", "part"]
    list_select_related = ["model", "job"]
    raw_id_fields = ["model", "job"]
    date_hierarchy = "as_of"


class SnapshotAdmin(ReadOnlyAdminMixin, VisibleToUserAdminMixin, admin.ModelAdmin):
    list_select_related = ["account", "run"]
    raw_id_fields = ["account", "run"]
    search_fields = ["account__name"]
    date_hierarchy = "as_of"
    show_full_result_count = False


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "account",
        "as_of",
        "score",
        "status",
        "coverage_pct",
        "abc_class",
        "target_tier",
        "computed_tier",
        "tier",
        "is_t1_candidate",
        "gate",
    ]
    list_filter = ["tier", "computed_tier", "status", "abc_class", "is_t1_candidate", "gate"]


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "account",
        "as_of",
        "score",
        "band",
        "effective_score",
        "effective_band",
        "trend",
        "coverage_pct",
        "is_partial",
    ]
    list_filter = ["effective_band", "band", "trend", "status", "is_partial"]
    raw_id_fields = ["account", "run", "override"]


@admin.register(TierAssignment)
class TierAssignmentAdmin(ReadOnlyAdminMixin, VisibleToUserAdminMixin, admin.ModelAdmin):
    list_display = ["account", "tier", "valid_from", "valid_to", "reason", "override", "evidence"]
    list_filter = ["tier", "reason"]
    list_select_related = ["account", "override", "evidence"]
    raw_id_fields = ["account", "evidence", "override", "run"]
    search_fields = ["account__name"]
    date_hierarchy = "valid_from"
    show_full_result_count = False


class OverrideForm(forms.ModelForm):
    validate: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            self.validate(data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return data


class TierOverrideForm(OverrideForm):
    class Meta:
        model = TierOverride
        fields = ["account", "tier", "reason", "approved_by", "starts_on", "expires_on"]

    def validate(self, data: dict[str, Any]) -> None:
        services.tier_override_validate(
            tier=data.get("tier"), approved_by=data.get("approved_by"), expires_on=data.get("expires_on"),
            starts_on=data.get("starts_on"),
        )  # fmt: skip


class HealthOverrideForm(OverrideForm):
    request_user: Any = None

    class Meta:
        model = HealthOverride
        fields = ["account", "override_score", "override_band", "reason", "approved_by", "starts_on", "expires_on"]

    def validate(self, data: dict[str, Any]) -> None:
        services.health_override_validate(
            score=data.get("override_score"), band=data.get("override_band") or "",
            approved_by=data.get("approved_by") or self.request_user, expires_on=data.get("expires_on"),
            starts_on=data.get("starts_on"),
        )  # fmt: skip


class OverrideAdmin(VisibleToUserAdminMixin, SimpleHistoryAdmin):
    list_select_related = ["account", "approved_by", "created_by"]
    raw_id_fields = ["account", "approved_by"]
    list_filter = ["status"]
    search_fields = ["account__name", "reason"]
    actions = ["end_overrides"]
    show_full_result_count = False

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [f.name for f in self.model._meta.fields]

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            for name in ("starts_on", "expires_on", "approved_by"):
                if name in form.base_fields:
                    form.base_fields[name].required = name == "expires_on" and self.model is TierOverride
            form.request_user = request.user
        return form

    @admin.action(description=_("End the selected overrides now"), permissions=["change"])
    def end_overrides(self, request: Any, queryset: Any) -> None:
        ended = 0
        for override in queryset.filter(status=OverrideStatus.ACTIVE):
            self.end_service(override=override, actor=request.user)
            ended += 1
        self.message_user(request, ngettext("%(n)d override ended.", "%(n)d overrides ended.", ended) % {"n": ended})


@admin.register(TierOverride)
class TierOverrideAdmin(OverrideAdmin):
    form = TierOverrideForm
    end_service = staticmethod(services.tier_override_end)
    list_display = ["account", "tier", "status", "starts_on", "expires_on", "approved_by", "created_by", "created_at"]
    list_filter = ["status", "tier"]

    def save_model(self, request: Any, obj: TierOverride, form: Any, change: bool) -> None:
        if change:
            return  # overrides are never edited; end one and set another
        data = form.cleaned_data
        saved = services.tier_override_set(
            account=data["account"], tier=data["tier"], reason=data["reason"], approved_by=data["approved_by"],
            expires_on=data["expires_on"], starts_on=data.get("starts_on"), actor=request.user,
        )  # fmt: skip
        obj.pk = saved.pk


@admin.register(HealthOverride)
class HealthOverrideAdmin(OverrideAdmin):
    form = HealthOverrideForm
    end_service = staticmethod(services.health_override_end)
    list_display = [
        "account",
        "override_score",
        "override_band",
        "status",
        "starts_on",
        "expires_on",
        "approved_by",
        "created_by",
    ]
    list_filter = ["status", "override_band"]

    def save_model(self, request: Any, obj: HealthOverride, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        saved = services.health_override_set(
            account=data["account"], score=data.get("override_score"), band=data.get("override_band") or "",
            reason=data["reason"], approved_by=data.get("approved_by"), expires_on=data.get("expires_on"),
            starts_on=data.get("starts_on"), actor=request.user,
        )  # fmt: skip
        obj.pk = saved.pk
