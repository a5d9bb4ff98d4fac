"""Scoring models: the §8 defaults, validation by field, one active version, immutability once used."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tiering import services
from tiering.models import ScoringModel
from tiering.recompute import scores_recompute
from tiering.selectors import scoring_model_weights

pytestmark = pytest.mark.django_db
D = Decimal


def factor_dicts(model):
    return [
        {"purpose": f.purpose, "code": f.code, "measure": f.measure, "scorer": f.scorer, "params": f.params, "weight": f.weight}
        for f in model.factors.all()
    ]


def test_the_migrated_default_is_the_section_8_configuration(scoring_model):
    model = ScoringModel.objects.active()
    weights = {(w["purpose"], w["code"]): (w["weight"], w["weight_pct"]) for w in scoring_model_weights(model)}
    assert {k: v[0] for k, v in weights.items() if k[0] == "value"} == {
        ("value", f"F{i}"): D(w) for i, w in enumerate([25, 15, 15, 10, 10, 10, 10, 5], start=1)
    }
    assert {k[1]: v[1] for k, v in weights.items() if k[0] == "health"} == {
        "commercial": 25, "payment": 20, "satisfaction": 20, "relationship": 20, "service": 15,
    }  # fmt: skip
    assert (model.t1_entry, model.t2_entry, model.t3_entry, model.band_gap, model.max_t1) == (75, 60, 40, 5, 30)
    assert (model.value_min_coverage_pct, model.health_min_coverage_pct) == (70, 60)
    assert (model.gate_revenue_share_min, model.gate_yoy_growth_min, model.gate_years) == (D("0.03"), D("0.10"), 3)
    assert (model.consecutive_evaluations, model.min_residence_evaluations, model.renewal_freeze_days) == (2, 2, 120)
    assert (model.health_yellow_min, model.health_green_min, model.health_trend_deadband) == (50, 75, 3)
    assert (model.health_override_default_days, model.health_override_max_days, model.tier_override_max_days) == (30, 90, 365)


def test_raw_weights_are_shown_as_percentages(scoring_model):
    factors = factor_dicts(scoring_model)
    for f in factors:
        if f["purpose"] == "value":
            f["weight"] = f["weight"] * 7  # any scale
    model = services.scoring_model_save(model=scoring_model, fields={}, factors=factors)
    pct = {w["code"]: w["weight_pct"] for w in scoring_model_weights(model) if w["purpose"] == "value"}
    assert pct["F1"] == 25 and pct["F8"] == 5 and sum(pct.values()) == pytest.approx(100)


def test_an_unused_model_is_edited_in_place(scoring_model):
    model = services.scoring_model_save(model=scoring_model, fields={"max_t1": 25}, factors=None)
    assert model.pk == scoring_model.pk and model.max_t1 == 25 and model.version == scoring_model.version


def test_a_used_model_is_never_changed_and_edits_make_a_new_active_version(scoring_model):
    scores_recompute(part="health", as_of=dt.date(2025, 6, 30))
    before = scoring_model.config_hash()
    model = services.scoring_model_save(model=scoring_model, fields={"max_t1": 20}, factors=None)
    scoring_model.refresh_from_db()
    assert model.pk != scoring_model.pk
    assert (model.version, model.based_on_id, model.max_t1, model.is_active) == (
        scoring_model.version + 1,
        scoring_model.pk,
        20,
        True,
    )
    assert (scoring_model.max_t1, scoring_model.is_active, scoring_model.config_hash()) == (30, False, before)
    assert model.factors.count() == scoring_model.factors.count() == 13


def test_a_copy_is_an_inactive_draft_and_activation_moves_the_flag(scoring_model):
    draft = services.scoring_model_copy(model=scoring_model)
    assert (draft.is_active, draft.based_on_id, draft.factors.count()) == (False, scoring_model.pk, 13)
    services.scoring_model_activate(model=draft)
    assert list(ScoringModel.objects.filter(is_active=True).values_list("pk", flat=True)) == [draft.pk]


def test_the_database_allows_one_active_model_only(scoring_model):
    draft = services.scoring_model_copy(model=scoring_model)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringModel.objects.filter(pk=draft.pk).update(is_active=True)


@pytest.mark.parametrize(
    ("fields", "change", "error"),
    [
        ({}, ("F1", "weight", D(-1)), "weight"),
        ({}, ("F2", "params", {"poor": 5, "good": 5}), "params"),
        ({}, ("F3", "params", {"nonpositive": True}), "params"),
        ({}, ("F6", "scorer", "linear_band"), "scorer"),
        ({"t2_entry": D(80)}, None, "t2_entry"),
        ({"health_green_min": D(40)}, None, "health_green_min"),
        ({"abc_a_cut": D("0.9"), "abc_b_cut": D("0.2")}, None, "abc_b_cut"),
        ({"band_gap": D(45)}, None, "band_gap"),
    ],
)
def test_invalid_models_are_refused_by_field(scoring_model, fields, change, error):
    factors = factor_dicts(scoring_model)
    if change:
        code, name, value = change
        index = next(i for i, f in enumerate(factors) if f["code"] == code)
        factors[index][name] = value
        error = f"factors[{index}].{error}"
    with pytest.raises(ValidationError) as caught:
        services.scoring_model_save(model=scoring_model, fields=fields, factors=factors)
    assert error in caught.value.message_dict
    assert ScoringModel.objects.count() == 1


def test_each_purpose_needs_a_positive_weight(scoring_model):
    factors = [dict(f, weight=D(0)) if f["purpose"] == "health" else f for f in factor_dicts(scoring_model)]
    with pytest.raises(ValidationError) as caught:
        services.scoring_model_save(model=scoring_model, fields={}, factors=factors)
    assert "factors" in caught.value.message_dict


def test_step_bands_validate_their_order():
    from tiering.scoring import validate_params

    assert validate_params("step_bands", {"bounds": [10, 30], "scores": [100, 50, 0]}) == []
    assert validate_params("step_bands", {"bounds": [30, 10], "scores": [100, 50, 0]})
    assert validate_params("step_bands", {"bounds": [10, 30], "scores": [100, 50]})
    assert validate_params("ordinal_map", {"map": {"A": 120}})
