"""The v1 scoring model of DOMAIN.md §8 (factors of §1.3 and §2.2), installed by migration 0002.

Frozen: a later change of defaults ships as a new migration that adds a new version, so that the
snapshots computed with this one stay reproducible.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RATING_1_5 = {"map": {"1": 0, "2": 25, "3": 50, "4": 75, "5": 100}}

DEFAULT_NAME = "KAM v1 (DOMAIN.md §8)"

# (purpose, code, measure, scorer, params, raw weight)
DEFAULT_FACTORS: list[tuple[str, str, str, str, dict[str, Any], int]] = [
    ("value", "F1", "t12m_value", "percentile", {"nonpositive_scores_zero": True}, 25),
    ("value", "F2", "revenue_cagr_3y", "linear_band", {"poor": -10, "good": 25}, 15),
    ("value", "F3", "wallet_headroom", "percentile", {"nonpositive_scores_zero": True}, 15),
    ("value", "F4", "margin_index", "linear_band", {"poor": 0.5, "good": 1.5}, 10),
    ("value", "F5", "days_beyond_terms_t180", "linear_band", {"poor": 45, "good": 0}, 10),
    ("value", "F6", "credit_rating", "ordinal_map", {"map": {"A": 100, "B": 75, "C": 50, "D": 25, "E": 0}}, 10),
    ("value", "F7", "market_influence", "ordinal_map", RATING_1_5, 10),
    ("value", "F8", "integration_potential", "ordinal_map", RATING_1_5, 5),
    ("health", "commercial", "revenue_yoy_t12m", "linear_band", {"poor": -20, "good": 15}, 25),
    ("health", "payment", "days_beyond_terms_t180", "linear_band", {"poor": 45, "good": 0}, 20),
    ("health", "satisfaction", "nps_role_weighted_12m", "linear_band", {"poor": 6, "good": 9}, 20),
    ("health", "relationship", "days_since_exec_meeting", "linear_band", {"poor": 120, "good": 30}, 20),
    ("health", "service", "sla_attainment_t90", "linear_band", {"poor": 80, "good": 98}, 15),
]

# Model fields not listed take the model's field defaults, which are the §8 values.
DEFAULT_FIELDS: dict[str, Any] = {
    "value_min_coverage_pct": Decimal("70"),
    "t1_entry": Decimal("75"),
    "t2_entry": Decimal("60"),
    "t3_entry": Decimal("40"),
    "band_gap": Decimal("5"),
    "max_t1": 30,
    "consecutive_evaluations": 2,
    "min_residence_evaluations": 2,
    "renewal_freeze_days": 120,
    "tier_override_max_days": 365,
    "gate_revenue_share_min": Decimal("0.03"),
    "gate_yoy_growth_min": Decimal("0.10"),
    "gate_years": 3,
    "abc_a_cut": Decimal("0.80"),
    "abc_b_cut": Decimal("0.15"),
    "health_min_coverage_pct": Decimal("60"),
    "health_yellow_min": Decimal("50"),
    "health_green_min": Decimal("75"),
    "health_band_min_cross": Decimal("3"),
    "health_band_consecutive_runs": 2,
    "health_trend_lookback_days": 30,
    "health_trend_deadband": Decimal("3"),
    "health_override_default_days": 30,
    "health_override_max_days": 90,
}


def install_default_model(scoring_model: Any, scoring_factor: Any, *, active: bool = True) -> Any:
    """Create the default model with the given model classes (historical ones in a migration)."""
    version = (scoring_model.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    model = scoring_model.objects.create(
        name=DEFAULT_NAME,
        version=version,
        is_active=active,
        notes="Defaults of DOMAIN.md §8.",
        **DEFAULT_FIELDS,
    )
    scoring_factor.objects.bulk_create(
        scoring_factor(
            model=model, purpose=purpose, code=code, measure=measure, scorer=scorer, params=params,
            weight=Decimal(weight), position=position,
        )
        for position, (purpose, code, measure, scorer, params, weight) in enumerate(DEFAULT_FACTORS)
    )  # fmt: skip
    return model
