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
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection

from accounts.models import Account, Contract, ExchangeRate, Invoice
from reports.engine.tiers import tier_history_cte, tier_join
from reports.periods import Period, add_months, local_midnight, shift_years
from service_plans.models import Alert, Project, ServiceRequest, SurveyResponse

logger = logging.getLogger(__name__)
_NAMED = re.compile(r"%\((\w+)\)s")
WORK_MEM = "64MB"
DIMENSIONS = ("tier", "owner", "region")


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class SqlContext:
    """One run's SQL: the periods it covers, the base currency and the current time."""

    def __init__(self, *, now: dt.datetime, groups: Sequence[int] | None = None, fact_table: str | None = None) -> None:
        self.now = now
        # Group mode (the refresh after a change, PostgreSQL only): the sources are read for these
        # groups only and the additive statements return their per-group rows (``group_facts``)
        # instead of the roll-up to scopes.
        self.groups = list(groups) if groups is not None else None
        self.group_facts: dict[str, list[dict[str, Any]]] = {}
        # Fact capture (a run of the standard periods on PostgreSQL): the additive statements also
        # write their per-group rows into this table, for later refreshes of one group.
        self.fact_table = fact_table
        self.parts: dict[str, list[str]] = {}  # the sums of each additive statement, in array order
        self.vendor = connection.vendor
        self.base_currency = settings.KAM_BASE_CURRENCY
        user = get_user_model()
        self.t = {
            "account": table(Account),
            "contract": table(Contract),
            "invoice": table(Invoice),
            "rate": table(ExchangeRate),
            "survey": table(SurveyResponse),
            "request": table(ServiceRequest),
            "project": table(Project),
            "alert": table(Alert),
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

    def month_of(self, day: str) -> str:
        """The first day of the month of the SQL date ``day`` (to join events to periods by month)."""
        if self.is_postgresql:
            return f"({day} - CAST(EXTRACT(DAY FROM {day}) AS INTEGER) + 1)"
        return f"date({day}, 'start of month')"

    @property
    def float_type(self) -> str:
        return "DOUBLE PRECISION" if self.is_postgresql else "REAL"

    def sort_key(self, text: str) -> str:
        """A text column as a byte-wise sort key: the order only has to be consistent, and the
        database's locale collation costs several times more per comparison."""
        return f'{text} COLLATE "C"' if self.is_postgresql else text

    def materialized(self, name: str, sql: str) -> str:
        """A CTE computed once: PostgreSQL would otherwise fold a prefiltered source back into a
        per-period index scan of the whole table (one pass per period instead of one in all)."""
        keyword = " MATERIALIZED" if self.is_postgresql else ""
        return f"{name} AS{keyword} ({sql})"

    @contextmanager
    def tuned(self) -> Iterator[None]:
        """Session settings for the run's few large statements, reset afterwards.

        No JIT: compiling costs more than it saves on statements that run once. More memory to
        hash and sort in. No nested loops where a hash join is possible: the planner cannot
        estimate how many rows a join with the run's periods yields and, guessing few, would probe
        an index once per group; the range joins with the periods stay nested loops regardless.
        """
        if not self.is_postgresql:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SET jit = off; SET work_mem = '{WORK_MEM}'; SET enable_nestloop = off")
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("RESET jit; RESET work_mem; RESET enable_nestloop")
            except DatabaseError:  # an aborted transaction resets them on rollback; keep the first error
                logger.warning("could not reset the KPI run's session settings", exc_info=True)

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
        before p_until (the NPS window); baseline: 1 for an earlier window a KPI compares with.
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
                "baseline": int(p.is_baseline),
            }
            names = []
            for key, value in values.items():
                params[f"p{i}_{key}"] = value
                names.append(f"%(p{i}_{key})s")
            rows.append(f"({', '.join(names)})")
        columns = "label, p_start, p_end, p_until, p_last, p_due_last, p_grace, fy, ts_start, ts_until, ts_window, baseline"
        # The bounds of all the periods together, to read each source table once, prefiltered.
        params.update(
            min_start=self.date(min(p.start for p in periods)),
            max_end=self.date(max(p.end for p in periods)),
            max_until=self.date(max(p.until for p in periods)),
            min_last=self.date(min(p.last_day for p in periods)),
            max_last=self.date(max(p.last_day for p in periods)),
            min_ts_start=self.timestamp(local_midnight(min(p.start for p in periods))),
            min_ts_window=self.timestamp(local_midnight(min(shift_years(p.until, -1) for p in periods))),
            max_ts_until=self.timestamp(local_midnight(max(p.until for p in periods))),
        )
        return f"periods ({columns}) AS (VALUES {', '.join(rows)})"

    def period_months_cte(self, periods: Sequence[Period], params: dict[str, Any]) -> str:
        """``period_months``: (label, month) for every month a period overlaps, so that dated events
        join their periods by equality on the month instead of by range."""
        rows = []
        for i, p in enumerate(periods):
            month, j = p.start, 0
            while month < p.end:
                params[f"pm{i}_{j}"] = self.date(month)
                rows.append(f"(%(p{i}_label)s, %(pm{i}_{j})s)")
                month, j = add_months(month, 1), j + 1
        return f"period_months (label, month) AS (VALUES {', '.join(rows)})"

    # --- group mode ----------------------------------------------------------------------------

    def in_groups(self, account: str) -> str:
        """`` AND account IN (accounts of the run's groups)`` in group mode, else nothing: appended
        to the WHERE of every source scan so that a refresh reads one group's rows by index."""
        if self.groups is None:
            return ""
        a = self.t["account"]
        # An array computed once (an InitPlan) that the account_id indexes can take as a key.
        return f" AND {account} = ANY(ARRAY(SELECT ga.id FROM {a} ga WHERE ga.id = ANY(%(only_groups)s) OR ga.group_root_id = ANY(%(only_groups)s)))"

    def group_is(self, group: str) -> str:
        """`` AND group = one of the run's groups`` in group mode, else nothing."""
        return "" if self.groups is None else f" AND {group} = ANY(%(only_groups)s)"

    def common(self, periods: Sequence[Period], params: dict[str, Any]) -> str:
        """The CTEs every family starts from (without the leading WITH)."""
        params["base_currency"] = self.base_currency
        if self.groups is not None:
            params["only_groups"] = self.groups
        return ",\n".join(
            [
                self.periods_cte(periods, params),
                self.period_months_cte(periods, params),
                tier_history_cte(self.t["account"], only_groups=self.groups is not None),
                f"rates AS (SELECT currency, year AS fy, rate_to_base AS rate FROM {self.t['rate']})",
            ]
        )

    def renewal_links_cte(self) -> str:
        """``links``: (old_id, new_id) for every contract renewed by a non-draft contract.

        A contract is renewed by the contract whose ``renewal_of`` points at it or, in a
        consolidation, by the contract it was ``superseded_by`` (§4.4); the explicit renewal wins if
        a contract somehow has both. ``n_links`` counts the contracts a new contract renews, so that
        a consolidation's value can be split over them pro rata.
        """
        t = self.t["contract"]
        # In group mode: only the links to the contracts that renew one of the groups' contracts,
        # but all of those (so that n_links still counts every contract a new one renews).
        n_only = o_only = ""
        if self.groups is not None:
            mine = f"SELECT gc.id FROM {t} gc WHERE TRUE{self.in_groups('gc.account_id')}"
            renewing = f"""(SELECT r.id FROM {t} r WHERE r.renewal_of_id IN ({mine})
                UNION SELECT s.superseded_by_id FROM {t} s WHERE s.superseded_by_id IS NOT NULL AND s.id IN ({mine}))"""
            n_only, o_only = f" AND n.id IN {renewing}", f" AND o.superseded_by_id IN {renewing}"
        return f"""links AS (
            SELECT l.old_id, l.new_id, COUNT(*) OVER (PARTITION BY l.new_id) AS n_links
            FROM (
                SELECT n.renewal_of_id AS old_id, n.id AS new_id
                FROM {t} n WHERE n.renewal_of_id IS NOT NULL AND n.status <> 'draft'{n_only}
                UNION
                SELECT o.id AS old_id, o.superseded_by_id AS new_id
                FROM {t} o JOIN {t} n ON n.id = o.superseded_by_id AND n.status <> 'draft'
                WHERE NOT EXISTS (SELECT 1 FROM {t} r WHERE r.renewal_of_id = o.id AND r.status <> 'draft'){o_only}
            ) l
        )"""

    def auto_rolls(self, contract: str, link: str) -> str:
        """True for a contract that renews itself (§4.4 "Auto-renew"): auto-renewing, live (active or
        renewed), no notice given by its end date and no renewal contract recorded.

        ``link`` is the alias of ``links`` LEFT JOINed on ``old_id = contract.id`` (an ``old_id``
        appears once in ``links``). A join, not ``NOT EXISTS``: in a select list that would be a
        subquery per contract over the whole ``links`` CTE (minutes at 100,000 accounts)."""
        return f"""({contract}.auto_renew AND {contract}.status IN ('active', 'renewed')
            AND ({contract}.notice_on IS NULL OR {contract}.notice_on > {contract}.end_date)
            AND {link}.old_id IS NULL)"""

    def rate(self, currency: str, alias: str) -> str:
        """The factor converting ``currency`` to the base currency (1 for the base currency itself)."""
        return f"(CASE WHEN {currency} = %(base_currency)s THEN 1 ELSE {alias}.rate END)"

    # Every row is counted for its group (ultimate parent): KPIs roll up to groups (§0.1), and the
    # history of a merged company follows it to the surviving group (§4.2 edge cases). A group's
    # scopes are its root account's owner and region and the group's tier (``reports.engine.tiers``).
    # The tier is the one held on the period's first day by default: a cohort is judged by what it
    # was promised at the start, not by a downgrade after it churned.

    def group_of(self, account: str, alias: str = "ra") -> tuple[str, str]:
        """(join, group id expression) for a row whose account id is ``account``."""
        return f"JOIN {self.t['account']} {alias} ON {alias}.id = {account}", f"COALESCE({alias}.group_root_id, {alias}.id)"

    def scope_joins(self, group: str, *, tier_on: str = "p.p_start") -> str:
        """Joins adding the scope columns (``SCOPE_COLUMNS``) of the group ``group``."""
        t = self.t
        return f"""
            JOIN {t["account"]} gr ON gr.id = {group}
            JOIN {t["user"]} gu ON gu.id = gr.owner_id
            {tier_join("th", "gr.id", tier_on)}"""

    @property
    def scope_columns(self) -> str:
        return f"gu.{self.t['username']} AS owner, NULLIF(gr.region, '') AS region, th.tier AS tier"

    def attach(self, source: str) -> str:
        """``source`` (group_id, period, p_start, measures…) with its group's owner, region and
        tier (held on p_start, the period's first day)."""
        return f"""
            SELECT s.*, {self.scope_columns}
            FROM {source} s
            {self.scope_joins("s.group_id", tier_on="s.p_start")}"""

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

    def additive(self, source: str, part: str, sums: Sequence[tuple[str, str]]) -> str:
        """The end of an additive statement: ``sums`` are (name, expression on one row of ``source``),
        so that a scope's value is the sum over its groups' rows and a refresh can take one group's
        old rows out of a scope and put its new ones in (``reports.engine.facts``).

        Normally the roll-up of ``rollup``; with fact capture, the per-group rows are also written
        to the fact table by the same statement; in group mode, the per-group rows themselves.
        """
        self.parts[part] = [name for name, _ in sums]
        count = f"rows_{part}"
        if self.groups is not None:
            values = ", ".join(f"{expr} AS {name}" for name, expr in sums)
            return f"""
                SELECT period, group_id, tier, owner, region, {values}
                FROM {source}"""
        rolled = self.rollup(source, [f"COUNT(*) AS {count}", *(f"SUM({expr}) AS {name}" for name, expr in sums)])
        if not self.fact_table:
            return rolled
        array = ", ".join(f"CAST({expr} AS NUMERIC)" for _, expr in sums)
        return f""",
            facts_written AS (
                INSERT INTO {self.fact_table} (part, period, group_id, tier, owner, region, sums)
                SELECT '{part}', period, group_id, tier, owner, region, ARRAY[{array}] FROM {source}
            )
            {rolled}"""

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
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
