"""The arithmetic of scores, free of the database: scorers, weighted composites, ABC, gate rule.

Everything here works on plain values so that the worked examples of DOMAIN.md §1 and §2 are unit
tests, and the property tests can throw thousands of cases at it. Raw measures are floats (they are
ratios, days, ratings and money already aggregated in SQL); comparisons with configured thresholds
that a user can check by hand (ABC cuts, gate rule, coverage) are exact, in ``Decimal``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from tiering.choices import Scorer

TWO_PLACES = Decimal("0.01")


def round2(value: float | Decimal | None) -> Decimal | None:
    """A score as stored and shown: two decimals, half up (65.976 → 65.98)."""
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and math.isfinite(float(value))


def validate_params(scorer: str, params: Any) -> list[str]:
    """Messages describing what is wrong with a scorer's parameters (empty when they are valid)."""
    if not isinstance(params, dict):
        return [_("Parameters must be a JSON object.")]
    if scorer == Scorer.LINEAR_BAND:
        if set(params) != {"poor", "good"} or not (_number(params.get("poor")) and _number(params.get("good"))):
            return [_('A linear band needs exactly two numbers, "poor" and "good".')]
        if float(params["poor"]) == float(params["good"]):
            return [_('"poor" and "good" must differ.')]
    elif scorer == Scorer.STEP_BANDS:
        bounds, scores = params.get("bounds"), params.get("scores")
        if set(params) != {"bounds", "scores"} or not isinstance(bounds, list) or not isinstance(scores, list):
            return [_('Step bands need "bounds" and "scores" lists.')]
        if not bounds or not all(_number(b) for b in bounds) or any(b >= c for b, c in itertools.pairwise(bounds)):
            return [_('"bounds" must be numbers in strictly increasing order.')]
        if len(scores) != len(bounds) + 1 or not all(_number(s) and 0 <= s <= 100 for s in scores):
            return [_('"scores" must hold one more value than "bounds", each between 0 and 100.')]
    elif scorer == Scorer.PERCENTILE:
        if set(params) - {"nonpositive_scores_zero"} or not isinstance(params.get("nonpositive_scores_zero", False), bool):
            return [_('A percentile takes no parameters but an optional "nonpositive_scores_zero": true/false.')]
    elif scorer == Scorer.ORDINAL_MAP:
        mapping = params.get("map")
        if set(params) != {"map"} or not isinstance(mapping, dict) or not mapping:
            return [_('An ordinal map needs a non-empty "map" object, e.g. {"map": {"A": 100, "B": 75}}.')]
        if not all(_number(v) and 0 <= v <= 100 for v in mapping.values()):
            return [_("Every value of the map must be a number between 0 and 100.")]
    else:
        return [_("Unknown scorer.")]
    return []


def linear_band(x: float, poor: float, good: float) -> float:
    """DOMAIN.md §1.4 LINEAR_BAND; works both ways because ``good < poor`` when lower is better."""
    return 100.0 * min(max((x - poor) / (good - poor), 0.0), 1.0)


def step_bands(x: float, bounds: Sequence[float], scores: Sequence[float]) -> float:
    """Ordered ranges to points; a range's top is inclusive, its bottom is not (§1.4, ChurnZero)."""
    for bound, score in zip(bounds, scores, strict=False):
        if x <= bound:
            return float(score)
    return float(scores[-1])


def percentile_ranks(values: Sequence[float | None], *, nonpositive_scores_zero: bool = False) -> list[float | None]:
    """``100 × rank / n`` with tied values sharing their average rank (the highest value scores 100).

    The population is every value present (and, with ``nonpositive_scores_zero``, above zero: a
    group that bought nothing has no "current value" to rank and scores 0).
    """
    result: list[float | None] = [None] * len(values)
    population = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if nonpositive_scores_zero and value <= 0:
            result[index] = 0.0
        else:
            population.append((value, index))
    population.sort()
    n = len(population)
    start = 0
    while start < n:
        end = start
        while end + 1 < n and population[end + 1][0] == population[start][0]:
            end += 1
        average_rank = (start + end) / 2 + 1
        for _value, index in population[start : end + 1]:
            result[index] = 100.0 * average_rank / n
        start = end + 1
    return result


def score_column(scorer: str, params: Mapping[str, Any], values: Sequence[Any]) -> list[float | None]:
    """Score one measure for the whole portfolio (a percentile needs the population)."""
    if scorer == Scorer.PERCENTILE:
        return percentile_ranks(values, nonpositive_scores_zero=bool(params.get("nonpositive_scores_zero", False)))
    if scorer == Scorer.LINEAR_BAND:
        poor, good = float(params["poor"]), float(params["good"])
        return [None if v is None else linear_band(float(v), poor, good) for v in values]
    if scorer == Scorer.STEP_BANDS:
        bounds, scores = [float(b) for b in params["bounds"]], [float(s) for s in params["scores"]]
        return [None if v is None else step_bands(float(v), bounds, scores) for v in values]
    if scorer == Scorer.ORDINAL_MAP:
        mapping = {str(k): float(v) for k, v in params["map"].items()}
        return [None if v is None else mapping.get(str(v)) for v in values]
    raise ValueError(f"unknown scorer {scorer!r}")


def normalised_weights(raw: Sequence[Decimal | float]) -> list[float]:
    """Raw non-negative weights as percentages that sum to 100 (all zero when they sum to zero)."""
    total = sum(float(w) for w in raw)
    if total <= 0:
        return [0.0 for _ in raw]
    return [100.0 * float(w) / total for w in raw]


@dataclass(frozen=True)
class Composite:
    score: float | None  # None: insufficient data
    coverage_pct: float
    effective_weights: list[float | None]  # re-normalised over the factors with data (None: missing)


def composite(scores: Sequence[float | None], raw_weights: Sequence[Decimal], min_coverage_pct: Decimal) -> Composite:
    """Weighted mean of the factors with data, weights re-normalised over them (DOMAIN.md §1.3).

    Coverage is the share of the total weight that has data; below ``min_coverage_pct`` the score
    is ``None`` ("insufficient data"). The coverage test is exact (Decimal), so 70% covered with a
    70% minimum passes whatever the weights.
    """
    total = sum(raw_weights, Decimal(0))
    covered = sum((w for w, s in zip(raw_weights, scores, strict=True) if s is not None), Decimal(0))
    coverage = float(covered * 100 / total) if total > 0 else 0.0
    if total <= 0 or covered <= 0 or covered * 100 < min_coverage_pct * total:
        return Composite(None, coverage, [None] * len(scores))
    effective = [None if s is None else 100.0 * float(w) / float(covered) for w, s in zip(raw_weights, scores, strict=True)]
    value = sum(e * s / 100.0 for e, s in zip(effective, scores, strict=True) if e is not None and s is not None)
    return Composite(min(max(value, 0.0), 100.0), coverage, effective)


def breakdown(
    *,
    codes: Sequence[str],
    raw_values: Sequence[Any],
    scores: Sequence[float | None],
    weights_pct: Sequence[float],
    result: Composite,
    notes: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The factor breakdown stored with a snapshot (§1.7): code, raw value, score, weight (%),
    contribution and points lost, plus ``missing`` or a ``note`` where they apply.

    ``contribution = w × score / 100`` and ``lost = w × (100 − score) / 100`` use the re-normalised
    weight ``w``, so over the factors with data the contributions add up to the score and
    contributions plus points lost add up to 100. What depends on the factor only (measure, unit,
    source) is read from the run's model version, which never changes once used; keeping it out
    of every row keeps a portfolio's snapshots small.
    """
    rows = []
    for i, code in enumerate(codes):
        raw, score, effective = raw_values[i], scores[i], result.effective_weights[i]
        row: dict[str, Any] = {
            "code": code,
            "raw": raw if raw is None or isinstance(raw, str) else round(raw, 4),
            "score": None if score is None else round(score, 2),
            "weight": round(weights_pct[i], 2),
            "contribution": None,
            "lost": None,
        }
        if score is None:
            row["missing"] = True
        elif effective is not None:
            contribution = effective * score / 100.0
            row["contribution"], row["lost"] = round(contribution, 2), round(effective - contribution, 2)
        if notes and notes[i]:
            row["note"] = notes[i]
        rows.append(row)
    return rows


def abc_classes(
    metrics: Mapping[int, Decimal | None], revenues: Mapping[int, Decimal | None], a_cut: Decimal, b_cut: Decimal
) -> dict[int, str]:
    """ABC / Pareto classes by cumulative share of the metric (DOMAIN.md §1.1).

    The account whose cumulative share first reaches a cut belongs to the upper class. Accounts
    with a metric ≤ 0 are C; those without revenue are inactive (blank). Ties break on the id.
    """
    classes: dict[int, str] = {}
    positive = []
    for key, metric in metrics.items():
        revenue = revenues.get(key)
        if revenue is None or revenue <= 0:
            classes[key] = ""
        elif metric is None or metric <= 0:
            classes[key] = "C"
        else:
            positive.append((metric, key))
    positive.sort(reverse=True)
    total = sum((m for m, _k in positive), Decimal(0))
    cumulative = Decimal(0)
    a_reached = b_reached = False
    for metric, key in positive:
        cumulative += metric
        share = cumulative / total
        if not a_reached:
            classes[key] = "A"
            a_reached = share >= a_cut
            b_reached = a_reached and share >= a_cut + b_cut
        elif not b_reached:
            classes[key] = "B"
            b_reached = share >= a_cut + b_cut
        else:
            classes[key] = "C"
    return classes


def cagr_pct(begin: Decimal | None, end: Decimal | None, years: int) -> float | None:
    """DOMAIN.md §4.15: ``(end / begin)^(1/n) − 1`` in percent; undefined when begin ≤ 0 or end < 0."""
    if begin is None or end is None or begin <= 0 or end < 0 or years <= 0:
        return None
    return ((float(end) / float(begin)) ** (1.0 / years) - 1.0) * 100.0


def gate_rule(
    revenues: Sequence[Decimal | None],
    company_revenues: Sequence[Decimal | None],
    *,
    share_min: Decimal,
    growth_min: Decimal,
) -> tuple[bool | None, dict[str, Any]]:
    """DOMAIN.md §1.5: share of company revenue ≥ X in FY0 and growth ≥ Y in each of the last years.

    ``revenues`` run from the oldest fiscal year needed (FY−n) to the last completed one (FY0), so
    n years of growth need n + 1 years of data. A group without purchases in every one of those
    years evaluates to ``None`` ("unknown"), never ``False``.
    """
    years_with_data = sum(1 for r in revenues if r is not None and r > 0)
    if years_with_data < len(revenues):
        return None, {"years_with_data": years_with_data}
    company = company_revenues[-1]
    share = revenues[-1] / company if company and company > 0 else None
    growth = [revenues[k] / revenues[k - 1] - 1 for k in range(1, len(revenues))]
    passed = share is not None and share >= share_min and all(g >= growth_min for g in growth)
    detail = {
        "years_with_data": years_with_data,
        "share": None if share is None else float(round(share, 6)),
        "growth": [float(round(g, 6)) for g in growth],
    }
    return passed, detail
