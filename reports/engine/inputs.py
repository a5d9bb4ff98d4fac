"""What a run needs before it computes: the scopes that exist and the exchange rates it will use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from reports.engine.sql import SqlContext
from reports.engine.tiers import TIERS
from reports.periods import Period

FAR_FUTURE = dt.date(9999, 12, 31)


def scope_universe(ctx: SqlContext) -> list[str]:
    """company, every tier, and the owners and regions of the groups (their root accounts)."""
    t = ctx.t
    rows = ctx.fetch(
        f"""
        SELECT DISTINCT 'owner' AS kind, u.{t["username"]} AS name
        FROM {t["account"]} a JOIN {t["user"]} u ON u.id = a.owner_id WHERE a.parent_id IS NULL
        UNION
        SELECT DISTINCT 'region', a.region FROM {t["account"]} a WHERE a.parent_id IS NULL AND a.region <> ''
        """,
        {},
    )
    owners = sorted(r["name"] for r in rows if r["kind"] == "owner")
    regions = sorted(r["name"] for r in rows if r["kind"] == "region")
    return ["company", *(f"tier:{tier}" for tier in TIERS), *(f"owner:{o}" for o in owners), *(f"region:{r}" for r in regions)]


def missing_exchange_rates(ctx: SqlContext, periods: Sequence[Period]) -> list[tuple[str, int]]:
    """(currency, fiscal year) pairs the run would convert with but that have no rate.

    Per fiscal year, the currencies of the contracts and invoices whose lives touch the windows
    converted at that year's rates (a renewal's currency counts at its predecessor's end date).
    A missing rate stops the run with this list instead of turning amounts into a silent 0.
    """
    windows: dict[int, tuple[dt.date, dt.date]] = {}
    for p in periods:
        start, end = windows.get(p.fiscal_year, (p.start, p.until))
        windows[p.fiscal_year] = (min(start, p.start), max(end, p.until))
    if not windows:
        return []
    params: dict[str, Any] = {"base_currency": ctx.base_currency, "far": ctx.date(FAR_FUTURE)}
    if ctx.groups is not None:  # a refresh: the rows of its groups only
        params["only_groups"] = ctx.groups
    rows = []
    for i, (year, (start, end)) in enumerate(sorted(windows.items())):
        params.update({f"w{i}_fy": year, f"w{i}_start": ctx.date(start), f"w{i}_end": ctx.date(end)})
        rows.append(f"(%(w{i}_fy)s, %(w{i}_start)s, %(w{i}_end)s)")
    t = ctx.t
    found = ctx.fetch(
        f"""
        WITH windows (fy, w_start, w_end) AS (VALUES {", ".join(rows)}),
        used AS (
            SELECT currency, start_date AS d1, end_date AS d2 FROM {t["contract"]} WHERE status <> 'draft'{ctx.in_groups("account_id")}
            UNION ALL
            SELECT n.currency, c.end_date, c.end_date
            FROM {t["contract"]} n JOIN {t["contract"]} c ON c.id = n.renewal_of_id WHERE n.status <> 'draft'{ctx.in_groups("n.account_id")}
            UNION ALL
            SELECT currency, issued_on,
                COALESCE(paid_on, CASE WHEN written_off_amount >= amount THEN written_off_on END, %(far)s)
            FROM {t["invoice"]} WHERE TRUE{ctx.in_groups("account_id")}
        )
        SELECT DISTINCT u.currency, w.fy
        -- w_end is the period's end instant (the day after it), where ARR is measured too.
        FROM used u JOIN windows w ON u.d1 <= w.w_end AND u.d2 >= w.w_start
        WHERE u.currency <> %(base_currency)s
          AND NOT EXISTS (SELECT 1 FROM {t["rate"]} r WHERE r.currency = u.currency AND r.year = w.fy)
        ORDER BY u.currency, w.fy
        """,
        params,
    )
    return [(r["currency"], int(r["fy"])) for r in found]
