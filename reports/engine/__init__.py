"""The KPI engine: set-based SQL per family over every scope and period at once (see ``sql.py``).

``compute_family`` runs one family for a list of periods and returns a ``KpiResult`` per (code,
period, scope) for every scope of the universe, so a scope without data gets its empty values with
their reasons instead of no row at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reports import catalogue
from reports.engine import families as fam
from reports.engine.sql import SqlContext
from reports.formulas import KpiResult
from reports.periods import Period


@dataclass(frozen=True)
class Family:
    name: str
    measure: Callable[[SqlContext, Sequence[Period]], fam.Measures]
    results: Callable[[fam.Lookup, Period], dict[str, KpiResult]]
    baseline_years: tuple[int, ...] = ()  # earlier windows the family compares with
    # The family's additive statements (``SqlContext.additive``): when it has no other statement, a
    # refresh can recompute one group and move the scopes' sums by the difference (``facts``).
    parts: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(catalogue.RETENTION, fam.measure_retention, fam.results_retention, parts=("retention",)),
        Family(catalogue.RENEWALS, fam.measure_renewals, fam.results_renewals, parts=("renewals",)),
        Family(catalogue.SATISFACTION, fam.measure_satisfaction, fam.results_satisfaction, (1,), ("satisfaction",)),
        Family(catalogue.RECEIVABLES, fam.measure_receivables, fam.results_receivables, parts=("receivables",)),
        Family(catalogue.CONCENTRATION, fam.measure_concentration, fam.results_concentration, (3,)),
        Family(catalogue.SERVICE, fam.measure_service, fam.results_service, (1,)),
        Family(catalogue.PROGRAMME, fam.measure_programme, fam.results_programme, parts=("programme",)),
    )
}
assert tuple(FAMILIES) == catalogue.FAMILIES

# The families from the costliest to the cheapest at 100,000 accounts (docs/benchmarks.md), the
# order in which a run starts them on its connections so that the long ones do not come last.
FAMILY_COST_ORDER = (
    catalogue.RECEIVABLES,
    catalogue.RETENTION,
    catalogue.CONCENTRATION,
    catalogue.SATISFACTION,
    catalogue.SERVICE,
    catalogue.RENEWALS,
    catalogue.PROGRAMME,
)
assert sorted(FAMILY_COST_ORDER) == sorted(FAMILIES)

Key = tuple[str, str, str]  # (code, period label, scope)


def family_periods(family: Family, periods: Sequence[Period]) -> list[Period]:
    """The periods to publish and, after them, the earlier windows the family compares with."""
    return [*periods, *(p.shifted(-years) for years in family.baseline_years for p in periods)]


def compute_family(
    family: Family, ctx: SqlContext, periods: Sequence[Period], scopes: Sequence[str], measures_out: dict | None = None
) -> dict[Key, KpiResult]:
    measures = family.measure(ctx, family_periods(family, periods))
    if measures_out is not None:
        measures_out[family.name] = measures
    return results_of(family, measures, periods, scopes)


def results_of(family: Family, measures: fam.Measures, periods: Sequence[Period], scopes: Sequence[str]) -> dict[Key, KpiResult]:
    """The family's values for ``scopes`` × ``periods`` from its sums per (scope, period label)."""
    results: dict[Key, KpiResult] = {}
    for scope in scopes:

        def lookup(label: str, scope: str = scope) -> dict:
            return measures.get((scope, label), {})

        for period in periods:
            for code, result in family.results(lookup, period).items():
                results[(code, period.label, scope)] = result
    return results
