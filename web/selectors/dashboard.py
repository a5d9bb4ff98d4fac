"""The executive dashboard: the published KPI snapshot, arranged for one period and one scope.

Everything comes from ``reports.selectors`` (published ``KpiValue`` rows): no KPI is computed while
a page is served (tests/web/test_dashboard.py asserts it). Five queries whatever the size of the
portfolio: the scope's values for every period of the chosen kind (tiles, trends, sparklines and
charts all come from this one read), the owner and region breakdowns of the period, the scopes of
the period, the latest published run and the KPI job in progress.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kam.models import JobKind, JobRun, JobStatus
from reports.catalogue import (
    DAYS,
    FAMILIES,
    FAMILY_LABELS,
    INDEX,
    KPI_BY_CODE,
    KPIS,
    MONEY,
    NPS_POINTS,
    PERCENTAGE_POINTS,
    RATIO,
    REASON_LABELS,
    SCORE,
    KpiDefinition,
)
from reports.formulas import HIGHER
from reports.models import KpiRun, KpiValue
from reports.selectors import kpi_latest_run, kpi_values

PERIOD_KINDS = [("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Fiscal year"))]
BREAKDOWN_CODES = ["nrr", "grr", "renewal_rate_value_gross", "nps", "sla_attainment", "dso", "overdue_ratio"]
# Column headings of the breakdown tables (the full label is the heading's tooltip).
SHORT_LABELS = {
    "nrr": _("NRR"),
    "grr": _("GRR"),
    "renewal_rate_value_gross": _("Renewal (value)"),
    "nps": _("NPS"),
    "sla_attainment": _("SLA"),
    "dso": _("DSO"),
    "overdue_ratio": _("Overdue"),
}
SERIES_CHARTS = {
    "concentration": ["top5_share", "hhi"],
    "satisfaction": ["nps", "csat", "ces_easy"],
    "service": ["sla_attainment"],
}
TIER_CODES = ["tier_share_t1", "tier_share_t2", "tier_share_t3", "tier_share_t4"]


class DashboardError(ValueError):
    """The period or scope asked for has no published values for this user."""


def as_number(value: Decimal | None, unit: str) -> float | None:
    """The value in the unit people read: ratios as percentages, everything else as stored."""
    if value is None:
        return None
    number = Decimal(value) * 100 if unit == RATIO else Decimal(value)
    return float(round(number, 0 if unit == INDEX else 2))


def format_kpi(value: Decimal | None, unit: str) -> str:
    from web.templatetags.kam_ui import format_number

    number = as_number(value, unit)
    if number is None:
        return "—"
    if unit == RATIO:
        return f"{format_number(number, 1)}%"
    if unit == DAYS:
        return str(_("%(days)s d") % {"days": format_number(number, 1)})
    if unit == PERCENTAGE_POINTS:
        return str(_("%(points)s pp") % {"points": ("+" if number > 0 else "") + format_number(number, 1)})
    if unit == NPS_POINTS:
        return ("+" if number > 0 else "") + format_number(number, 1)
    if unit == MONEY:
        return f"{format_number(number, 0)} {settings.KAM_BASE_CURRENCY}"
    if unit == SCORE:  # a mean on its survey scale (CES 1–7)
        return format_number(number, 2)
    return format_number(number, 0)


@dataclass
class Tile:
    kpi: KpiDefinition
    value: KpiValue | None
    previous: KpiValue | None
    spark: list[float | None]
    drill_url: str

    @property
    def text(self) -> str:
        return format_kpi(self.value.value if self.value else None, self.kpi.unit)

    @property
    def target_text(self) -> str:
        return format_kpi(self.value.target_value if self.value else None, self.kpi.unit)

    @property
    def reason(self) -> Any:
        if self.value is None:
            return _("Not published for this period and scope")
        return REASON_LABELS.get(self.value.reason, self.value.reason) if self.value.value is None else ""

    @property
    def delta(self) -> float | None:
        """Change against the previous period, in the unit shown (percentage points for ratios)."""
        now = as_number(self.value.value if self.value else None, self.kpi.unit)
        before = as_number(self.previous.value if self.previous else None, self.kpi.unit)
        return None if now is None or before is None else round(now - before, 2)

    @property
    def delta_text(self) -> str:
        from web.templatetags.kam_ui import format_number

        delta = self.delta
        if delta is None:
            return ""
        unit = {RATIO: " pp", PERCENTAGE_POINTS: " pp", DAYS: " d"}.get(self.kpi.unit, "")
        return ("+" if delta > 0 else "") + format_number(delta, 0 if self.kpi.unit == INDEX else 1) + unit

    @property
    def trend(self) -> str:
        """ "better", "worse" or "same", judged in the KPI's direction."""
        delta = self.delta
        if delta is None or delta == 0:
            return "same"
        return "better" if (delta > 0) == (self.kpi.direction == HIGHER) else "worse"


@dataclass
class Breakdown:
    kind: str  # "owner" or "region"
    rows: list[dict[str, Any]]  # {"scope", "name", "url", "cells": [(code, text, status)]}


@dataclass
class Dashboard:
    period_kind: str
    period: str
    period_row: KpiValue | None
    periods: list[dict[str, Any]]
    scope: str
    scopes: list[str]
    families: list[tuple[Any, list[Tile]]]
    charts: dict[str, Any]
    breakdowns: list[Breakdown]
    breakdown_codes: list[tuple[KpiDefinition, Any]]
    run: KpiRun | None
    job: JobRun | None
    computed_at: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)


def scope_filters(scope: str, owners: dict[str, int]) -> dict[str, Any]:
    """The accounts list filters that select a scope's accounts."""
    kind, _sep, name = scope.partition(":")
    if kind == "tier":
        return {"tier": name}
    if kind == "region":
        return {"region": name}
    if kind == "owner" and name in owners:
        return {"owner": owners[name]}
    return {}


# Where a KPI's own accounts can be listed exactly, on top of the scope's filters.
DRILL_EXTRAS: dict[str, dict[str, Any]] = {
    "tier_share_t1": {"tier": "T1"},
    "tier_share_t2": {"tier": "T2"},
    "tier_share_t3": {"tier": "T3"},
    "tier_share_t4": {"tier": "T4"},
    "logo_churn": {"status": "churned"},
    "key_account_revenue_share": {"tier": ["T1", "T2"]},
    "key_account_margin_share": {"tier": ["T1", "T2"]},
}


def drill_url(code: str, scope: str, owners: dict[str, int]) -> str:
    params = {**scope_filters(scope, owners), **DRILL_EXTRAS.get(code, {})}
    return reverse("web:account_list") + ("?" + urlencode(params, doseq=True) if params else "")


def _owner_ids(scopes: list[str]) -> dict[str, int]:
    names = [s.partition(":")[2] for s in scopes if s.startswith("owner:")]
    if not names:
        return {}
    return dict(get_user_model().objects.filter(username__in=names).values_list("username", "pk"))


def dashboard(*, user: Any, period_kind: str = "month", period: str | None = None, scope: str = "company") -> Dashboard:
    if period_kind not in dict(PERIOD_KINDS):
        raise DashboardError(_("Choose a month, a quarter or a fiscal year."))
    series_rows = list(kpi_values(user=user, scope=scope, period_kind=period_kind))
    by_period: dict[str, dict[str, KpiValue]] = defaultdict(dict)
    period_info: dict[str, dict[str, Any]] = {}
    for row in series_rows:
        by_period[row.period][row.code] = row
        period_info.setdefault(row.period, {"period": row.period, "start": row.period_start, "is_partial": row.is_partial})
    periods = sorted(period_info.values(), key=lambda p: p["start"])
    if period is None:
        complete = [p for p in periods if not p["is_partial"]]
        period = (complete or periods)[-1]["period"] if periods else ""
    elif period not in period_info:
        raise DashboardError(_("No figures are published for %(period)s in this scope.") % {"period": period})
    labels = [p["period"] for p in periods]
    index = labels.index(period) if period in labels else -1
    previous = labels[index - 1] if index > 0 else None
    # Trends run up to the period shown: a later, partial period would look like a collapse.
    labels = labels[: index + 1]
    current = by_period.get(period, {})

    # The breakdowns and the scopes of the period: one query each.
    period_rows = list(kpi_values(user=user, period=period, codes=BREAKDOWN_CODES)) if period else []
    scopes = sorted(
        {r.scope for r in period_rows} | {scope} | ({"company"} if scope == "company" else set()),
        key=lambda s: ({"company": 0, "tier": 1, "owner": 2, "region": 3}.get(s.partition(":")[0], 9), s),
    )
    owners = _owner_ids(scopes)

    families = []
    for family in FAMILIES:
        tiles = [
            Tile(
                kpi=kpi,
                value=current.get(kpi.code),
                previous=by_period.get(previous, {}).get(kpi.code) if previous else None,
                spark=[
                    as_number(by_period[p].get(kpi.code).value, kpi.unit) if by_period[p].get(kpi.code) else None for p in labels
                ],
                drill_url=drill_url(kpi.code, scope, owners),
            )
            for kpi in KPIS
            if kpi.family == family
        ]
        families.append((FAMILY_LABELS[family], tiles))

    def series(code: str) -> list[float | None]:
        kpi = KPI_BY_CODE[code]
        return [as_number(by_period[p][code].value, kpi.unit) if code in by_period[p] else None for p in labels]

    charts = {
        "labels": labels,
        "tiers": {
            "labels": ["T1", "T2", "T3", "T4"],
            "shares": [as_number(current[c].value, RATIO) if c in current else None for c in TIER_CODES],
        },
        "concentration": {"top5": series("top5_share"), "hhi": series("hhi")},
        "satisfaction": {"nps": series("nps"), "csat": series("csat"), "ces_easy": series("ces_easy")},
        "service": {"sla": series("sla_attainment")},
    }

    breakdowns = []
    codes = [KPI_BY_CODE[c] for c in BREAKDOWN_CODES]
    for kind in ("owner", "region"):
        cells: dict[str, dict[str, KpiValue]] = defaultdict(dict)
        for row in period_rows:
            if row.scope.startswith(f"{kind}:"):
                cells[row.scope][row.code] = row
        rows = []
        for s in sorted(cells):
            row_cells = []
            for k in codes:
                value = cells[s].get(k.code)
                row_cells.append(
                    (k.code, format_kpi(value.value if value else None, k.unit), value.target_status if value else "")
                )
            rows.append({"scope": s, "name": s.partition(":")[2], "url": drill_url("", s, owners), "cells": row_cells})
        breakdowns.append(Breakdown(kind=kind, rows=rows))

    computed = [v.computed_at for v in current.values()]
    return Dashboard(
        period_kind=period_kind,
        period=period,
        period_row=next(iter(current.values()), None),
        periods=list(reversed(periods)),
        scope=scope,
        scopes=scopes,
        families=families,
        charts=charts,
        breakdowns=breakdowns,
        breakdown_codes=[(k, SHORT_LABELS[k.code]) for k in codes],
        run=kpi_latest_run(),
        job=JobRun.objects.filter(kind=JobKind.RECOMPUTE_KPIS, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .order_by("-id")
        .first(),
        computed_at=max(computed) if computed else None,
    )
