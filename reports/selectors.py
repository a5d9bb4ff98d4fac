"""Reads of the published KPI snapshot, for dashboards and the ``kpis/`` API. Nothing recomputes.

Visibility: executives and administrators see every scope. An account manager sees the KPIs of
their own book only (``owner:<their username>``): company, tier, region and other managers' figures
aggregate accounts they may not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from kam.roles import sees_all_accounts
from reports.catalogue import KPIS, KpiDefinition
from reports.engine.tiers import tier_history_cte, tier_valid_on
from reports.models import KpiRun, KpiTarget, KpiValue, RunStatus

# The fields API.md promises for each ``kpis/`` result, in order.
API_FIELDS = ("code", "period", "scope", "value", "numerator", "denominator", "reason", "computed_at")


def _visible(queryset: QuerySet[KpiValue], user: Any) -> QuerySet[KpiValue]:
    if user is None or sees_all_accounts(user):
        return queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(scope=f"owner:{user.get_username()}")


def kpi_values(
    *,
    user: Any = None,
    code: str | None = None,
    period: str | None = None,
    scope: str | None = None,
    codes: Iterable[str] | None = None,
    periods: Iterable[str] | None = None,
    scopes: Iterable[str] | None = None,
    period_kind: str | None = None,
) -> QuerySet[KpiValue]:
    """Published values, filtered by any of code/period/scope (or lists of them) and period kind.

    ``user=None`` means an internal caller that sees everything; pages and the API pass the user.
    Each row carries the API fields (``API_FIELDS``) plus n, is_partial, low_confidence, the period
    bounds, as_of and the target status.
    """
    queryset = KpiValue.objects.all()
    for field, one, many in (("code", code, codes), ("period", period, periods), ("scope", scope, scopes)):
        if one is not None:
            queryset = queryset.filter(**{field: one})
        if many is not None:
            queryset = queryset.filter(**{f"{field}__in": list(many)})
    if period_kind is not None:
        queryset = queryset.filter(period_kind=period_kind)
    return _visible(queryset, user).order_by("code", "period_start", "period_kind", "scope")


def kpi_value_dicts(**filters: Any) -> list[dict[str, Any]]:
    """``kpi_values`` as plain dicts with exactly the API.md fields."""
    return list(kpi_values(**filters).values(*API_FIELDS))


def kpi_board(*, period: str, scope: str = "company", user: Any = None) -> dict[str, KpiValue]:
    """Every KPI of one period and scope, by code (one query): a dashboard's tiles."""
    return {v.code: v for v in kpi_values(user=user, period=period, scope=scope)}


def kpi_series(*, code: str, scope: str = "company", period_kind: str = "month", user: Any = None) -> list[KpiValue]:
    """One KPI over the published periods of a kind, oldest first: a dashboard's trend line."""
    return list(kpi_values(user=user, code=code, scope=scope, period_kind=period_kind).order_by("period_start"))


def kpi_scopes(*, user: Any = None) -> list[str]:
    """The scopes with published values, company first, then tiers, owners and regions."""
    order = {"company": 0, "tier": 1, "owner": 2, "region": 3}
    scopes = _visible(KpiValue.objects.all(), user).values_list("scope", flat=True).distinct()
    return sorted(set(scopes), key=lambda s: (order.get(s.partition(":")[0], 9), s))


def kpi_periods(*, user: Any = None) -> list[dict[str, Any]]:
    """The published periods (label, kind, start, end, partial), newest first."""
    rows = (
        _visible(KpiValue.objects.all(), user)
        .values("period", "period_kind", "period_start", "period_end", "is_partial")
        .distinct()
        .order_by("-period_start", "period_kind")
    )
    return list(rows)


def kpi_latest_run(*, published: bool = True) -> KpiRun | None:
    runs = KpiRun.objects.select_related("job")
    if published:
        runs = runs.filter(status=RunStatus.PUBLISHED)
    return runs.first()


def kpi_targets() -> QuerySet[KpiTarget]:
    return KpiTarget.objects.select_related("created_by").order_by("code", "scope", "period")


def kpi_catalogue() -> tuple[KpiDefinition, ...]:
    return KPIS


def group_tiers_on(day: dt.date) -> dict[int, str]:
    """The tier of every group (root account id → tier) held on ``day``, through the engine's one
    tier fragment (``reports.engine.tiers``)."""
    from accounts.models import Account

    account = connection.ops.quote_name(Account._meta.db_table)
    sql = f"""
        WITH {tier_history_cte(account)}
        SELECT th.group_id, th.tier FROM tier_history th
        WHERE th.tier IS NOT NULL AND {tier_valid_on("th", "%s")}
    """
    day_value = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        cursor.execute(sql, [day_value, day_value])
        return dict(cursor.fetchall())
