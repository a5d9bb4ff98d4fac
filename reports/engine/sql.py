"""SQL building blocks shared by the KPI families, for PostgreSQL and the embedded SQLite.

Each family is one statement (two for medians and tier mixes): the source rows are joined with the
run's periods, aggregated per (group, period), given the group's scope attributes, and rolled up to
every scope at once (company, each tier, each owner, each region). On PostgreSQL the roll-up is one
``GROUP BY GROUPING SETS``; SQLite, which has no grouping sets, gets the equivalent ``UNION ALL``.
Everything else is portable SQL (window functions need SQLite 3.25+); the few dialect differences
(date and time arithmetic) are the functions below.

Values are always parameters. Statements are written with named placeholders (``%(name)s``) and
turned into positional ones here, because Django's SQLite backend takes positional parameters only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import Account, Contract, ExchangeRate, Invoice
from reports.engine.tiers import tier_history_cte, tier_join
from reports.periods import Period, local_midnight, shift_years
from service_plans.models import Project, ServiceRequest, SurveyResponse

_NAMED = re.compile(r"%\((\w+)\)s")
DIMENSIONS = ("tier", "owner", "region")


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class SqlContext:
    """One run's SQL: the periods it covers, the base currency and the current time."""

    def __init__(self, *, now: dt.datetime) -> None:
        self.now = now
        self.vendor = connection.vendor
        self.base_currency = settings.KAM_BASE_CURRENCY
        self.queries = 0
        user = get_user_model()
        self.t = {
            "account": table(Account),
            "contract": table(Contract),
            "invoice": table(Invoice),
            "rate": table(ExchangeRate),
            "survey": table(SurveyResponse),
            "request": table(ServiceRequest),
            "project": table(Project),
            "user": table(user),
            "username": connection.ops.quote_name(user._meta.get_field(user.USERNAME_FIELD).column),
        }

    # --- dialect ------------------------------------------------------------------------------

    @property
    def is_postgresql(self) -> bool:
        return self.vendor == "postgresql"

    def days_between(self, later: str, earlier: str) -> str:
        if self.is_postgresql:
            return f"({later} - {earlier})"  # date − date is a whole number of days
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def seconds_between(self, later: str, earlier: str) -> str:
        if self.is_postgresql:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def date(self, day: dt.date) -> Any:
        return connection.ops.adapt_datefield_value(day)

    def timestamp(self, moment: dt.datetime) -> Any:
        return connection.ops.adapt_datetimefield_value(moment)

    # --- common CTEs -------------------------------------------------------------------------

    def periods_cte(self, periods: Sequence[Period], params: dict[str, Any]) -> str:
        """``periods``: one row per period with the instants and windows every family uses.

        p_start/p_end: the period; p_until: where its data stop (end, or the day after as_of);
        p_last: the last day with data; p_due_last: the period's own last day (renewals due);
        p_grace: 30 days after it (eventual renewals); fy: the fiscal year whose rates convert;
        ts_*: the same instants as aware timestamps for datetime columns; ts_window: 12 months
        before p_until (the NPS window).
        """
        from reports.formulas import RENEWAL_GRACE_DAYS

        rows = []
        for i, p in enumerate(periods):
            due_last = p.end - dt.timedelta(days=1)
            values = {
                "label": p.label,
                "start": self.date(p.start),
                "end": self.date(p.end),
                "until": self.date(p.until),
                "last": self.date(p.last_day),
                "due_last": self.date(due_last),
                "grace": self.date(due_last + dt.timedelta(days=RENEWAL_GRACE_DAYS)),
                "fy": p.fiscal_year,
                "ts_start": self.timestamp(local_midnight(p.start)),
                "ts_until": self.timestamp(local_midnight(p.until)),
                "ts_window": self.timestamp(local_midnight(shift_years(p.until, -1))),
            }
            names = []
            for key, value in values.items():
                params[f"p{i}_{key}"] = value
                names.append(f"%(p{i}_{key})s")
            rows.append(f"({', '.join(names)})")
        columns = "label, p_start, p_end, p_until, p_last, p_due_last, p_grace, fy, ts_start, ts_until, ts_window"
        return f"periods ({columns}) AS (VALUES {', '.join(rows)})"

    def common(self, periods: Sequence[Period], params: dict[str, Any]) -> str:
        """The CTEs every family starts from (without the leading WITH)."""
        t = self.t
        params["base_currency"] = self.base_currency
        return ",\n".join(
            [
                self.periods_cte(periods, params),
                # Every account to its group (ultimate parent): KPIs roll up to groups (§0.1), and a
                # merged group's history follows it to the surviving group (§4.2 edge cases).
                f"grp AS (SELECT a.id AS account_id, COALESCE(a.group_root_id, a.id) AS group_id FROM {t['account']} a)",
                # A group's scopes are its root account's owner and region.
                f"""groups AS (
                    SELECT a.id AS group_id, u.{t["username"]} AS owner, NULLIF(a.region, '') AS region
                    FROM {t["account"]} a JOIN {t["user"]} u ON u.id = a.owner_id
                    WHERE a.parent_id IS NULL)""",
                tier_history_cte(t["account"]),
                f"rates AS (SELECT currency, year AS fy, rate_to_base AS rate FROM {t['rate']})",
            ]
        )

    def rate(self, currency: str, alias: str) -> str:
        """The factor converting ``currency`` to the base currency (1 for the base currency itself)."""
        return f"(CASE WHEN {currency} = %(base_currency)s THEN 1 ELSE {alias}.rate END)"

    def attach(self, source: str, *, tier_on: str = "p.p_start") -> str:
        """``source`` (group_id, period, measures…) with the group's owner, region and tier.

        The tier is the one held on the period's first day by default: a cohort is judged by what
        it was promised at the start, not by a downgrade after it churned.
        """
        return f"""
            SELECT s.*, gr.owner, gr.region, th.tier
            FROM {source} s
            JOIN periods p ON p.label = s.period
            LEFT JOIN groups gr ON gr.group_id = s.group_id
            {tier_join("th", "s.group_id", tier_on)}"""

    def rollup(self, source: str, aggregates: Iterable[str]) -> str:
        """``SELECT scope, period, aggregates…`` over ``source`` for every scope at once."""
        aggs = ", ".join(aggregates)
        if self.is_postgresql:
            return f"""
                SELECT CASE WHEN GROUPING(tier) = 0 THEN 'tier:' || tier
                            WHEN GROUPING(owner) = 0 THEN 'owner:' || owner
                            WHEN GROUPING(region) = 0 THEN 'region:' || region
                            ELSE 'company' END AS scope,
                       period, {aggs}
                FROM {source}
                GROUP BY GROUPING SETS ((period), (period, tier), (period, owner), (period, region))"""
        parts = [f"SELECT 'company' AS scope, period, {aggs} FROM {source} GROUP BY period"]
        parts += [
            f"SELECT '{dim}:' || {dim} AS scope, period, {aggs} FROM {source} WHERE {dim} IS NOT NULL GROUP BY period, {dim}"
            for dim in DIMENSIONS
        ]
        return "\nUNION ALL\n".join(parts)

    def explode(self, source: str, columns: str) -> str:
        """One row per (scope, row of ``source``): for window functions that rank within a scope."""
        parts = [f"SELECT 'company' AS scope, period, {columns} FROM {source}"]
        parts += [
            f"SELECT '{dim}:' || {dim} AS scope, period, {columns} FROM {source} WHERE {dim} IS NOT NULL" for dim in DIMENSIONS
        ]
        return "\nUNION ALL\n".join(parts)

    # --- execution ---------------------------------------------------------------------------

    def fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        order: list[Any] = []

        def positional(match: re.Match[str]) -> str:
            order.append(params[match.group(1)])
            return "%s"

        statement = _NAMED.sub(positional, sql)
        with connection.cursor() as cursor:
            cursor.execute(statement, order)
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        self.queries += 1
        return rows
