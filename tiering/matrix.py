"""The KAM portfolio matrix of DOMAIN.md §1.2: pure functions, no database.

Two composite axes, each 0–100:

- **Attractiveness** = weighted mean of the scores of the *attractiveness factors* in the group's
  latest value-score breakdown (``ScoreSnapshot.factors``), their weights re-normalised over the
  factors that have a score. The factors (``settings.KAM_MATRIX_ATTRACTIVENESS_FACTORS``, codes of
  the §1.3 catalogue) default to F1 current value, F2 growth, F3 potential (wallet headroom), F4
  profitability, F7 industry position / market influence and F8 resource-integration potential:
  what the account could bring us. F5 (payment cycle) and F6 (credit risk) are left out: they
  measure the cost and risk of serving the account rather than its potential.
- **Strength** = weighted mean (equal weights) of relationship stage 1–5 → 0–100, share of wallet
  (T12M revenue ÷ a year's wallet, capped at 100%) and the group's NPS (−100…100 → 0…100),
  re-normalised over the inputs present. §1.2's fourth input, supplier-preference status, does not
  exist in the data and is left out. Fewer than two inputs: no strength ("insufficient data").

The quadrant is (attractiveness ≥ cut, strength ≥ cut); without either axis there is none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

INVEST_FOR_GROWTH = "invest_for_growth"
INVEST_SELECTIVELY = "invest_selectively"
MAINTAIN = "maintain"
MANAGE_FOR_CASH = "manage_for_cash"
# Reading order of the 2×2 grid: high attractiveness first, high strength on the left.
QUADRANTS = [INVEST_FOR_GROWTH, INVEST_SELECTIVELY, MAINTAIN, MANAGE_FOR_CASH]
DEFAULT_LABELS = {
    INVEST_FOR_GROWTH: _("Invest for growth"),
    INVEST_SELECTIVELY: _("Invest selectively"),
    MAINTAIN: _("Maintain"),
    MANAGE_FOR_CASH: _("Manage for cash"),
}

STAGE = "relationship_stage"
SHARE_OF_WALLET = "share_of_wallet"
NPS = "nps"
STRENGTH_WEIGHTS = {STAGE: 1.0, SHARE_OF_WALLET: 1.0, NPS: 1.0}
MIN_STRENGTH_INPUTS = 2
WALLET_YEARS = 3  # the wallet estimate is "available spend over three years" (Account.wallet_estimate_amount)


@dataclass(frozen=True)
class MatrixConfig:
    cut_attractiveness: float = 50.0
    cut_strength: float = 50.0
    attractiveness_factors: frozenset[str] = frozenset({"F1", "F2", "F3", "F4", "F7", "F8"})
    labels: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_LABELS))

    @classmethod
    def from_settings(cls) -> MatrixConfig:
        configured = getattr(settings, "KAM_MATRIX_LABELS", {}) or {}
        return cls(
            cut_attractiveness=float(getattr(settings, "KAM_MATRIX_CUT_ATTRACTIVENESS", 50)),
            cut_strength=float(getattr(settings, "KAM_MATRIX_CUT_STRENGTH", 50)),
            attractiveness_factors=frozenset(
                getattr(settings, "KAM_MATRIX_ATTRACTIVENESS_FACTORS", None) or cls.attractiveness_factors
            ),
            labels={code: configured.get(code) or DEFAULT_LABELS[code] for code in QUADRANTS},
        )

    def label(self, quadrant: str | None) -> Any:
        return self.labels[quadrant] if quadrant else _("Insufficient data")


def weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Σ w·s / Σ w over the pairs whose score is known (weights re-normalised); None without any."""
    total = weights = 0.0
    for score, weight in pairs:
        if score is None or weight <= 0:
            continue
        total += float(score) * float(weight)
        weights += float(weight)
    return None if weights == 0 else total / weights


def attractiveness(factors: Iterable[Mapping[str, Any]], codes: Iterable[str]) -> float | None:
    """The weighted mean of the attractiveness factors' scores of a value-score breakdown.

    ``factors`` are ``ScoreSnapshot.factors`` rows (``code``, ``score`` 0–100 or None, ``weight``
    the model's normalised percentage); missing factors drop out and the others' weights are
    re-normalised. None when none of them has a score.
    """
    wanted = set(codes)
    return weighted_mean((row.get("score"), float(row.get("weight") or 0)) for row in factors if row.get("code") in wanted)


def stage_score(stage: int | None) -> float | None:
    """Relationship stage 1 (exploratory) … 5 (integrated) → 0 … 100."""
    return None if stage is None else (stage - 1) / 4 * 100


def share_of_wallet(t12m_revenue: Decimal | float | None, wallet_3y: Decimal | float | None) -> float | None:
    """Our T12M revenue ÷ the customer's yearly wallet (the three-year estimate ÷ 3), 0–100, capped at 100.

    None without a wallet estimate (or a zero one) or without a revenue figure.
    """
    if t12m_revenue is None or wallet_3y is None or wallet_3y <= 0:
        return None
    return min(float(t12m_revenue) / (float(wallet_3y) / WALLET_YEARS), 1.0) * 100


def nps_value(promoters: int, detractors: int, responses: int) -> float | None:
    """Respondent-level NPS (DOMAIN.md §4.7): % promoters − % detractors, −100 … 100."""
    if not responses:
        return None
    return (promoters - detractors) / responses * 100


def nps_score(nps: float | None) -> float | None:
    """NPS −100 … 100 → 0 … 100."""
    return None if nps is None else (nps + 100) / 2


def strength(
    *, stage: int | None, sow_pct: float | None, nps: float | None, weights: Mapping[str, float] = STRENGTH_WEIGHTS
) -> float | None:
    """Weighted mean of the strength inputs present; None with fewer than ``MIN_STRENGTH_INPUTS``."""
    scores = {STAGE: stage_score(stage), SHARE_OF_WALLET: sow_pct, NPS: nps_score(nps)}
    if sum(score is not None for score in scores.values()) < MIN_STRENGTH_INPUTS:
        return None
    return weighted_mean((scores[key], weights.get(key, 0.0)) for key in scores)


def quadrant(
    attractiveness_score: float | None, strength_score: float | None, *, cut_a: float = 50.0, cut_s: float = 50.0
) -> str | None:
    """The quadrant code; None when an axis is unknown. On a cut counts as high (≥)."""
    if attractiveness_score is None or strength_score is None:
        return None
    high_a, high_s = attractiveness_score >= cut_a, strength_score >= cut_s
    if high_a:
        return INVEST_FOR_GROWTH if high_s else INVEST_SELECTIVELY
    return MAINTAIN if high_s else MANAGE_FOR_CASH
