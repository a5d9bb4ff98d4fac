"""The KPI families: one set-based statement (two for medians and the tier mix) per family.

Each ``measure_*`` returns the sums per (scope, period label) for every scope at once; each
``results_*`` turns one scope's sums into ``KpiResult`` values with the pure formulas of
``reports.formulas``. Definitions are DOMAIN.md §0.1a and §4; the comments cite the rule applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from reports import formulas as f
from reports.engine.sql import SqlContext
from reports.engine.tiers import KEY_TIERS, TIERS, key_tiers_sql, tier_valid_on
from reports.periods import Period
from service_plans.models import POSITIVE_RULES

# Constant codes (never user input), inlined so the statement reads the same on both databases.
POSITIVE_RULES_SQL = ", ".join(f"'{code}'" for code in POSITIVE_RULES)

Measures = dict[tuple[str, str], dict[str, Any]]
Lookup = Callable[[str], dict[str, Any]]


def _collect(rows: list[dict[str, Any]], into: Measures | None = None) -> Measures:
    into = {} if into is None else into
    for row in rows:
        scope = row.pop("scope")
        if scope is None:  # a group without a tier or region has no such scope
            continue
        into.setdefault((scope, row.pop("period")), {}).update(row)
    return into


def _measured(ctx: SqlContext, sql: str, params: dict[str, Any], part: str, into: Measures | None = None) -> Measures:
    """Run an additive statement (ending in ``ctx.additive``): its roll-up to scopes, or in group
    mode its per-group rows, kept in ``ctx.group_facts`` for the refresh."""
    rows = ctx.fetch(sql, params)
    if ctx.groups is not None:
        ctx.group_facts[part] = rows
        return {} if into is None else into
    return _collect(rows, into)


def _int(value: Any) -> int:
    return int(value or 0)


# --- retention: GRR, NRR, logo churn (§4.1–4.3) -------------------------------------------------


def measure_retention(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # §0.1a: a contract is active on d when start ≤ d ≤ end and it is not a draft; value at the
    # period start is ARR on its first day, value at the end ARR on the day after (p_until), both
    # at the period's fiscal-year rates. ARR uses annual_value as signed, so contractual escalator
    # uplift never shows as expansion (§4.2 "exclude_escalators"). An auto-renewing contract with no
    # notice and no renewal recorded keeps running past its end date (§4.4 "Auto-renew"), as the
    # renewal rates count it. ARR at risk: the end ARR of the groups with an open high or critical
    # alert at the period's end; the positive signals (E1 expansion) are no risk, whatever their priority.
    params: dict[str, Any] = {}
    t = ctx.t
    group_join, group = ctx.group_of("c.account_id")
    params["open_ended"] = ctx.date(dt.date(9999, 12, 31))
    sql = f"""
    WITH {ctx.common(periods, params)},
    {ctx.renewal_links_cte()},
    -- Each live contract's value in the base currency at the rates of each fiscal year computed:
    -- converted once per contract and year instead of once per contract and period.
    {
        ctx.materialized(
            "live",
            f'''
        SELECT c.account_id, c.start_date, c.end_date, y.fy, c.annual_value * {ctx.rate("c.currency", "rc")} AS value
        FROM (
            SELECT c.id, c.account_id, c.start_date, c.annual_value, c.currency,
                CASE WHEN {ctx.auto_rolls("c", "rl")} THEN %(open_ended)s ELSE c.end_date END AS end_date
            FROM {t["contract"]} c
            LEFT JOIN links rl ON rl.old_id = c.id
            WHERE c.status <> 'draft' AND c.start_date <= %(max_until)s{ctx.in_groups("c.account_id")}
        ) c
        CROSS JOIN (SELECT DISTINCT fy FROM periods) y
        LEFT JOIN rates rc ON rc.currency = c.currency AND rc.fy = y.fy
        WHERE c.end_date >= %(min_start)s''',
        )
    },
    arr AS (
        SELECT {group} AS group_id, p.label AS period, p.p_start,
            SUM(CASE WHEN c.start_date <= p.p_start AND c.end_date >= p.p_start THEN c.value ELSE 0 END) AS start_arr,
            SUM(CASE WHEN c.start_date <= p.p_until AND c.end_date >= p.p_until THEN c.value ELSE 0 END) AS end_arr
        FROM live c
        JOIN periods p ON p.fy = c.fy AND c.start_date <= p.p_until AND c.end_date >= p.p_start
        {group_join}
        GROUP BY {group}, p.label, p.p_start
    ),
    at_risk AS (
        SELECT DISTINCT p.label AS period, COALESCE(ra.group_root_id, ra.id) AS group_id
        FROM {t["alert"]} al
        JOIN periods p ON al.opened_at < p.ts_until AND (al.closed_at IS NULL OR al.closed_at >= p.ts_until)
        JOIN {t["account"]} ra ON ra.id = al.account_id
        WHERE al.priority IN ('high', 'critical') AND al.rule NOT IN ({POSITIVE_RULES_SQL})
            AND al.opened_at < %(max_ts_until)s{ctx.in_groups("al.account_id")}
    ),
    measured AS (
        -- C0, the cohort: groups with value at the period start; new logos and reactivations are
        -- not in it (but their ARR counts in the total and in ARR at risk).
        SELECT a.group_id, a.period, a.p_start, a.end_arr,
            CASE WHEN a.start_arr > 0 THEN 1 ELSE 0 END AS in_cohort,
            CASE WHEN a.start_arr > 0 THEN a.start_arr ELSE 0 END AS cohort_start,
            CASE WHEN a.start_arr > 0 THEN a.end_arr ELSE 0 END AS cohort_end,
            CASE WHEN a.start_arr <= 0 THEN 0 WHEN a.end_arr < a.start_arr THEN a.end_arr ELSE a.start_arr END AS kept,
            CASE WHEN a.start_arr > 0 AND a.end_arr <= 0 THEN 1 ELSE 0 END AS churned,
            CASE WHEN r.group_id IS NOT NULL THEN a.end_arr ELSE 0 END AS risk_arr
        FROM arr a
        LEFT JOIN at_risk r ON r.group_id = a.group_id AND r.period = a.period
    ),
    scoped AS ({ctx.attach("measured")})
    {
        ctx.additive(
            "scoped",
            "retention",
            [
                ("start_total", "cohort_start"),
                ("kept", "kept"),
                ("end_total", "cohort_end"),
                ("cohort", "in_cohort"),
                ("churned", "churned"),
                ("arr_total", "end_arr"),
                ("arr_at_risk", "risk_arr"),
                ("groups_at_risk", "CASE WHEN risk_arr > 0 THEN 1 ELSE 0 END"),
            ],
        )
    }
    """
    return _measured(ctx, sql, params, "retention")


def results_retention(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    return f.retention_from_sums(
        start=m.get("start_total"),
        kept=m.get("kept"),
        end=m.get("end_total"),
        cohort=_int(m.get("cohort")),
        churned=_int(m.get("churned")),
    ) | {
        "arr_at_risk": f.arr_at_risk_from_sums(
            at_risk=m.get("arr_at_risk"), total=m.get("arr_total"), groups=_int(m.get("groups_at_risk"))
        )
    }


# --- renewals (§4.4) ------------------------------------------------------------------------------


def measure_renewals(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # §0.1a: Due(P) = contracts not in draft ending in P (multi-year contracts are due only in the
    # period of their end date); a contract is renewed by the contract whose renewal_of points at it
    # or, in a consolidation, by the contract it was superseded by (whose value is then split over
    # the contracts it replaces pro rata to their prior value), dated by its signed_on (or start
    # date). An auto-renewing contract with no notice and no renewal recorded renews itself on its
    # end date at its own value, once that date has passed (§4.4 "Auto-renew"), and is counted
    # separately too. An early renewal counts in the period of the original end date; "in period"
    # means dated by P's last day, "eventual" 30 days later.
    params: dict[str, Any] = {}
    t = ctx.t
    group_join, group = ctx.group_of("c.account_id")
    prior = f"c.annual_value * {ctx.rate('c.currency', 'rc')}"
    new = f"n.annual_value * {ctx.rate('n.currency', 'rn')}"
    sql = f"""
    WITH {ctx.common(periods, params)},
    {ctx.renewal_links_cte()},
    split AS (
        -- Σ prior value of the contracts each new contract renews, at each fiscal year's rates.
        SELECT l.new_id, y.fy, SUM(o.annual_value * {ctx.rate("o.currency", "ro")}) AS prior_total
        FROM links l
        JOIN {t["contract"]} o ON o.id = l.old_id
        CROSS JOIN (SELECT DISTINCT fy FROM periods) y
        LEFT JOIN rates ro ON ro.currency = o.currency AND ro.fy = y.fy
        WHERE l.n_links > 1
        GROUP BY l.new_id, y.fy
    ),
    linked AS (
        SELECT p.label AS period, p.p_start, {group} AS group_id, p.p_due_last, p.p_grace, c.end_date,
            {prior} AS prior_value, {new} AS renewal_value, n.id AS renewal_id, l.n_links, s.prior_total,
            COALESCE(n.signed_on, n.start_date) AS signed,
            CASE WHEN {ctx.auto_rolls("c", "l")} AND c.end_date < p.p_until THEN 1 ELSE 0 END AS rolls
        FROM {t["contract"]} c
        JOIN period_months pm ON pm.month = {ctx.month_of("c.end_date")}
        JOIN periods p ON p.label = pm.label AND c.end_date >= p.p_start AND c.end_date < p.p_end
        {group_join}
        LEFT JOIN links l ON l.old_id = c.id
        LEFT JOIN {t["contract"]} n ON n.id = l.new_id
        LEFT JOIN split s ON s.new_id = l.new_id AND s.fy = p.fy
        LEFT JOIN rates rc ON rc.currency = c.currency AND rc.fy = p.fy
        LEFT JOIN rates rn ON rn.currency = n.currency AND rn.fy = p.fy
        WHERE c.status <> 'draft' AND c.end_date >= %(min_start)s AND c.end_date < %(max_end)s{ctx.in_groups("c.account_id")}
    ),
    due AS (
        SELECT period, p_start, group_id, p_due_last, p_grace, prior_value,
            CASE WHEN renewal_id IS NULL THEN rolls * prior_value
                 WHEN n_links = 1 THEN renewal_value
                 WHEN prior_total > 0 THEN renewal_value * prior_value / prior_total
                 ELSE renewal_value / n_links END AS new_value,
            CASE WHEN renewal_id IS NOT NULL THEN signed WHEN rolls = 1 THEN end_date END AS renewed_on,
            CASE WHEN renewal_id IS NULL THEN rolls ELSE 0 END AS auto_renewed
        FROM linked
    ),
    marked AS (
        SELECT period, p_start, group_id, prior_value, new_value, auto_renewed,
            CASE WHEN new_value < prior_value THEN new_value ELSE prior_value END AS kept_value,
            CASE WHEN renewed_on <= p_due_last THEN 1 ELSE 0 END AS in_period,
            CASE WHEN renewed_on <= p_grace THEN 1 ELSE 0 END AS eventual
        FROM due
    ),
    per_group AS (
        SELECT group_id, period, p_start, COUNT(*) AS due_n, SUM(prior_value) AS due_value,
            SUM(in_period) AS renewed, SUM(eventual) AS renewed_eventual, SUM(auto_renewed) AS auto_renewed,
            SUM(in_period * kept_value) AS gross, SUM(in_period * new_value) AS net,
            SUM(eventual * kept_value) AS gross_eventual, SUM(eventual * new_value) AS net_eventual
        FROM marked GROUP BY group_id, period, p_start
    ),
    scoped AS ({ctx.attach("per_group")})
    {ctx.additive("scoped", "renewals", [("due", "due_n"), *((c, c) for c in ("due_value", "renewed", "renewed_eventual", "auto_renewed", "gross", "net", "gross_eventual", "net_eventual"))])}
    """
    return _measured(ctx, sql, params, "renewals")


def results_renewals(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    return f.renewal_rates_from_sums(
        due=_int(m.get("due")),
        due_value=m.get("due_value"),
        renewed=_int(m.get("renewed")),
        renewed_eventual=_int(m.get("renewed_eventual")),
        auto_renewed=_int(m.get("auto_renewed")),
        gross=m.get("gross"),
        net=m.get("net"),
        gross_eventual=m.get("gross_eventual"),
        net_eventual=m.get("net_eventual"),
    )


# --- satisfaction: NPS, CSAT, CES and their change on last year (§0.1a "Surveys", §4.7–4.9, §4.16) ----


def measure_satisfaction(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # NPS classifies each group by the role-weighted mean of its nps answers in the 12 months up to
    # the period's end (promoter ≥ 9.0, detractor < 7.0; compared as Σw·s ≥ 9·Σw to stay exact);
    # CSAT counts csat answers in the period scoring 4 or 5; CES sums the ces answers in the period
    # (1–7) and counts those scoring 5 or more ("easy").
    params: dict[str, Any] = {}
    t = ctx.t
    weights = []
    for i, (role, weight) in enumerate(f.ROLE_WEIGHTS.items()):
        params[f"role{i}"], params[f"weight{i}"] = role, weight
        weights.append(f"WHEN %(role{i})s THEN %(weight{i})s")
    params.update(default_weight=f.DEFAULT_ROLE_WEIGHT, promoter=int(f.PROMOTER_MIN), passive=int(f.PASSIVE_MIN))
    params["satisfied"] = f.CSAT_SATISFIED_MIN
    params["easy"] = f.CES_EASY_MIN
    weight = f"(CASE s.respondent_role {' '.join(weights)} ELSE %(default_weight)s END)"
    group_join, group = ctx.group_of("s.account_id")
    sql = f"""
    WITH {ctx.common(periods, params)},
    {
        ctx.materialized(
            "recent",
            f'''
        SELECT account_id, kind, score, respondent_role, responded_at FROM {t["survey"]}
        WHERE kind IN ('nps', 'csat', 'ces') AND responded_at >= %(min_ts_window)s AND responded_at < %(max_ts_until)s{ctx.in_groups("account_id")}''',
        )
    },
    answers AS (
        SELECT {group} AS group_id, p.label AS period, p.p_start,
            SUM(CASE WHEN s.kind = 'nps' THEN {weight} * s.score ELSE 0 END) AS w_sum,
            SUM(CASE WHEN s.kind = 'nps' THEN {weight} ELSE 0 END) AS w_total,
            SUM(CASE WHEN s.kind = 'csat' THEN 1 ELSE 0 END) AS csat_n,
            SUM(CASE WHEN s.kind = 'csat' AND s.score >= %(satisfied)s THEN 1 ELSE 0 END) AS csat_satisfied,
            SUM(CASE WHEN s.kind = 'ces' THEN 1 ELSE 0 END) AS ces_n,
            SUM(CASE WHEN s.kind = 'ces' THEN s.score ELSE 0 END) AS ces_total,
            SUM(CASE WHEN s.kind = 'ces' AND s.score >= %(easy)s THEN 1 ELSE 0 END) AS ces_easy
        FROM recent s
        JOIN periods p ON s.responded_at < p.ts_until
            AND ((s.kind = 'nps' AND s.responded_at >= p.ts_window) OR (s.kind IN ('csat', 'ces') AND s.responded_at >= p.ts_start))
        {group_join}
        GROUP BY {group}, p.label, p.p_start
    ),
    classified AS (
        SELECT group_id, period, p_start, csat_n, csat_satisfied, ces_n, ces_total, ces_easy,
            CASE WHEN w_total > 0 THEN 1 ELSE 0 END AS nps_account,
            CASE WHEN w_total > 0 AND w_sum >= %(promoter)s * w_total THEN 1 ELSE 0 END AS promoter,
            CASE WHEN w_total > 0 AND w_sum < %(passive)s * w_total THEN 1 ELSE 0 END AS detractor
        FROM answers
    ),
    scoped AS ({ctx.attach("classified")})
    {
        ctx.additive(
            "scoped",
            "satisfaction",
            [
                ("nps_accounts", "nps_account"),
                ("promoters", "promoter"),
                ("detractors", "detractor"),
                ("csat_n", "csat_n"),
                ("csat_satisfied", "csat_satisfied"),
                ("ces_n", "ces_n"),
                ("ces_total", "ces_total"),
                ("ces_easy", "ces_easy"),
            ],
        )
    }
    """
    return _measured(ctx, sql, params, "satisfaction")


def _nps_csat(m: dict[str, Any]) -> tuple[f.KpiResult, f.KpiResult]:
    nps = f.nps_from_counts(
        promoters=_int(m.get("promoters")), detractors=_int(m.get("detractors")), accounts=_int(m.get("nps_accounts"))
    )
    csat = f.csat_from_counts(satisfied=_int(m.get("csat_satisfied")), responses=_int(m.get("csat_n")))
    return nps, csat


def results_satisfaction(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    # §4.16: satisfaction improvement = current − baseline in percentage points; the baseline is the
    # same stretch of last year (equal windows for a partial period).
    m = get(period.label)
    nps, csat = _nps_csat(m)
    base_nps, base_csat = _nps_csat(get(period.shifted(-1).label))
    return {
        "nps": nps,
        "csat": csat,
        "csat_improvement_pp": f.change(csat, base_csat, scale=100),
        "nps_improvement": f.change(nps, base_nps),
        **f.ces_from_sums(total=m.get("ces_total"), easy=_int(m.get("ces_easy")), responses=_int(m.get("ces_n"))),
    }


# --- receivables (§0.1a "Receivables", §4.10) --------------------------------------------------------


def measure_receivables(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # Revenue (credit sales) = invoices issued in the period; days to pay and days beyond terms use
    # invoices paid in the period, weighted by amount (disputed ones stay out of days beyond terms);
    # AR at the period end = issued by its last day, not paid and not written off by then.
    # Flows are dated events (issued, paid, written off) joined to their periods by month; the AR
    # stock reads only the invoices open at one of the period ends. Amounts are summed per group
    # and currency first and converted after, once per sum rather than once per invoice.
    params: dict[str, Any] = {}
    t = ctx.t
    money = (
        "revenue",
        "written_off",
        "paid_amount",
        "days_weighted",
        "terms_amount",
        "beyond_weighted",
        "receivables",
        "past_due",
    )
    parts = (*money, "paid_n")
    open_amount = "(o.amount - CASE WHEN o.written_off_on <= p.p_last THEN o.written_off_amount ELSE 0 END)"
    group_join, group = ctx.group_of("x.account_id")
    event_day = "(CASE k.kind WHEN 1 THEN i.issued_on WHEN 2 THEN i.written_off_on ELSE i.paid_on END)"
    sql = f"""
    WITH {ctx.common(periods, params)},
    events AS (
        -- One pass over the invoices, each giving up to three dated events (issued, written off,
        -- paid): a seek by date for each kind read the rows of half the table one page at a time.
        SELECT i.account_id, i.currency, {event_day} AS d,
            CASE WHEN k.kind = 1 THEN i.amount ELSE 0 END AS revenue,
            CASE WHEN k.kind = 2 THEN i.written_off_amount ELSE 0 END AS written_off,
            CASE WHEN k.kind = 3 THEN i.amount ELSE 0 END AS paid_amount,
            CASE WHEN k.kind = 3 THEN i.amount * {ctx.days_between("i.paid_on", "i.issued_on")} ELSE 0 END AS days_weighted,
            CASE WHEN k.kind <> 3 OR i.is_disputed THEN 0 ELSE i.amount END AS terms_amount,
            CASE WHEN k.kind <> 3 OR i.is_disputed OR i.paid_on <= i.due_on THEN 0
                ELSE i.amount * {ctx.days_between("i.paid_on", "i.due_on")} END AS beyond_weighted,
            CASE WHEN k.kind = 3 THEN 1 ELSE 0 END AS paid_n
        FROM {t["invoice"]} i CROSS JOIN (SELECT 1 AS kind UNION ALL SELECT 2 UNION ALL SELECT 3) k
        WHERE {event_day} >= %(min_start)s AND {event_day} < %(max_until)s{ctx.in_groups("i.account_id")}
    ),
    {
        ctx.materialized(
            "open_items",
            f'''
        SELECT account_id, currency, issued_on, due_on, paid_on, amount, written_off_amount, written_off_on
        FROM {t["invoice"]}
        WHERE issued_on <= %(max_last)s AND (paid_on IS NULL OR paid_on > %(min_last)s)
          AND NOT (written_off_on IS NOT NULL AND written_off_on <= %(min_last)s AND written_off_amount >= amount){
                ctx.in_groups("account_id")
            }''',
        )
    },
    amounts AS (
        SELECT p.label AS period, p.p_start, p.fy, e.account_id, e.currency, e.revenue, e.written_off, e.paid_amount,
            e.days_weighted, e.terms_amount, e.beyond_weighted, 0 AS receivables, 0 AS past_due, e.paid_n
        FROM events e
        JOIN period_months pm ON pm.month = {ctx.month_of("e.d")}
        JOIN periods p ON p.label = pm.label AND e.d >= p.p_start AND e.d < p.p_until
        UNION ALL
        SELECT p.label, p.p_start, p.fy, o.account_id, o.currency, 0, 0, 0, 0, 0, 0,
            {open_amount}, CASE WHEN o.due_on < p.p_last THEN {open_amount} ELSE 0 END, 0
        FROM open_items o
        JOIN periods p ON o.issued_on <= p.p_last AND (o.paid_on IS NULL OR o.paid_on > p.p_last)
    ),
    per_group AS (
        SELECT {group} AS group_id, x.period, x.p_start, x.fy, x.currency, {", ".join(f"SUM(x.{c}) AS {c}" for c in parts)}
        FROM amounts x {group_join}
        GROUP BY {group}, x.period, x.p_start, x.fy, x.currency
    ),
    converted AS (
        -- The period's start and fiscal year carried along: no second join with the periods.
        SELECT g.group_id, g.period, g.p_start, {
        ", ".join(f"g.{c} * {ctx.rate('g.currency', 'r')} AS {c}" for c in money)
    }, g.paid_n
        FROM per_group g
        LEFT JOIN rates r ON r.currency = g.currency AND r.fy = g.fy
    ),
    scoped AS ({ctx.attach("converted")})
    {ctx.additive("scoped", "receivables", [(c, c) for c in parts])}
    """
    return _measured(ctx, sql, params, "receivables")


def results_receivables(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    return {
        "dso": f.dso(receivables=m.get("receivables"), credit_sales=m.get("revenue"), days=period.days),
        **f.payment_days_from_sums(
            paid_amount=m.get("paid_amount"),
            days_weighted=m.get("days_weighted"),
            terms_amount=m.get("terms_amount"),
            beyond_weighted=m.get("beyond_weighted"),
            n=_int(m.get("paid_n")),
        ),
        "overdue_ratio": f.overdue_ratio(past_due=m.get("past_due"), receivables=m.get("receivables")),
        "bad_debt_ratio": f.bad_debt_ratio(written_off=m.get("written_off"), credit_sales=m.get("revenue")),
    }


# --- concentration (§0.1a "Revenue", §4.12, §4.13, §4.15) --------------------------------------------


OTHER_TOP_NS = tuple(n for n in f.TOP_NS if n != f.TOP_N)
# The kinds of scope and the columns that partition them, to rank groups within every scope.
RANK_PARTITIONS = (
    ("company", ("period",)),
    ("tier", ("period", "tier")),
    ("owner", ("period", "owner")),
    ("region", ("period", "region")),
)


def measure_concentration(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # Revenue of the period rolled up to groups, ranked within each scope for the top-N share;
    # HHI from Σ revenue²; key accounts (T1 ∪ T2 on the period's first day) for the shares.
    params: dict[str, Any] = {"top_n": f.TOP_N}
    t = ctx.t
    rate = ctx.rate("c.currency", "r")
    group_join, group = ctx.group_of("i.account_id")
    # Ranked on a float copy of revenue: the order only decides which five are summed (exactly).
    ranks = ", ".join(
        f"ROW_NUMBER() OVER (PARTITION BY {', '.join(ctx.sort_key(c) for c in columns)} "
        f"ORDER BY rank_key DESC, group_id) AS rank_{kind}"
        for kind, columns in RANK_PARTITIONS
    )
    tops = [f"SUM(CASE WHEN rank_{kind} <= %(top_n)s THEN revenue ELSE 0 END) AS top_{kind}" for kind, _ in RANK_PARTITIONS]
    # The other top-N shares of §8 (N are our integer constants, not input).
    tops += [
        f"SUM(CASE WHEN rank_{kind} <= {int(n)} THEN revenue ELSE 0 END) AS top{int(n)}_{kind}"
        for n in OTHER_TOP_NS
        for kind, _ in RANK_PARTITIONS
    ]
    aggregates = [
        "SUM(revenue) AS revenue",
        "SUM(revenue * revenue) AS revenue_squares",
        "SUM(CASE WHEN revenue > 0 THEN 1 ELSE 0 END) AS customers",
        "SUM(CASE WHEN revenue > 0 THEN is_key ELSE 0 END) AS key_customers",
        "SUM(is_key * revenue) AS key_revenue",
        "SUM(margin) AS margin",
        "SUM(is_key * margin) AS key_margin",
        "SUM(margin_n) AS margin_n",
    ]
    sql = f"""
    WITH {ctx.common([p for p in periods if not p.is_baseline], params)},
    per_currency AS (
        SELECT {group} AS group_id, p.label AS period, p.p_start, p.fy, i.currency,
            SUM(i.amount) AS revenue,
            SUM(CASE WHEN i.margin_amount IS NOT NULL THEN i.margin_amount ELSE 0 END) AS margin,
            SUM(CASE WHEN i.margin_amount IS NOT NULL THEN 1 ELSE 0 END) AS margin_n
        FROM {t["invoice"]} i
        JOIN period_months pm ON pm.month = {ctx.month_of("i.issued_on")}
        JOIN periods p ON p.label = pm.label AND i.issued_on >= p.p_start AND i.issued_on < p.p_until
        {group_join}
        WHERE i.issued_on >= %(min_start)s AND i.issued_on < %(max_until)s
        GROUP BY {group}, p.label, p.p_start, p.fy, i.currency
    ),
    per_group AS (
        -- Converted once per group, period and currency, then summed across currencies.
        SELECT c.group_id, c.period, c.p_start, SUM(c.revenue * {rate}) AS revenue,
            SUM(c.margin * {rate}) AS margin, SUM(c.margin_n) AS margin_n
        FROM per_currency c LEFT JOIN rates r ON r.currency = c.currency AND r.fy = c.fy
        GROUP BY c.group_id, c.period, c.p_start
    ),
    scoped AS (
        SELECT x.*, CASE WHEN {key_tiers_sql("x.tier")} THEN 1 ELSE 0 END AS is_key,
            CAST(x.revenue AS {ctx.float_type}) AS rank_key
        FROM ({ctx.attach("per_group")}) x
    ),
    totals AS ({ctx.rollup("scoped", aggregates)}),
    -- The rank of each group within each kind of scope (on narrow rows: four sorts of them); a
    -- scope's top N is read from its kind's rank.
    ranked AS (
        SELECT s.*, {ranks}
        FROM (SELECT period, tier, owner, region, group_id, revenue, rank_key FROM scoped) s
    ),
    tops AS ({ctx.rollup("ranked", tops)})
    SELECT totals.*, {", ".join(f"tops.top_{kind}" for kind, _ in RANK_PARTITIONS)},
        {", ".join(f"tops.top{n}_{kind}" for n in OTHER_TOP_NS for kind, _ in RANK_PARTITIONS)}
    FROM totals JOIN tops ON tops.scope = totals.scope AND tops.period = totals.period
    """
    measures = _collect(ctx.fetch(sql, params))
    for (scope, _label), m in measures.items():
        kind = scope.partition(":")[0]
        m["top_revenue"] = m.get(f"top_{kind}")
        for n in OTHER_TOP_NS:
            m[f"top{n}_revenue"] = m.get(f"top{n}_{kind}")
    # The revenue of the earlier windows (for the growth rate) needs no ranking: a plain roll-up.
    params = {}
    baseline = f"""
    WITH {ctx.common([p for p in periods if p.is_baseline], params)},
    amounts AS (
        SELECT p.label AS period, i.amount * {ctx.rate("i.currency", "r")} AS revenue, {ctx.scope_columns}
        FROM {t["invoice"]} i
        JOIN period_months pm ON pm.month = {ctx.month_of("i.issued_on")}
        JOIN periods p ON p.label = pm.label AND i.issued_on >= p.p_start AND i.issued_on < p.p_until
        JOIN {t["account"]} ra ON ra.id = i.account_id
        {ctx.scope_joins("COALESCE(ra.group_root_id, ra.id)")}
        LEFT JOIN rates r ON r.currency = i.currency AND r.fy = p.fy
        WHERE i.issued_on >= %(min_start)s AND i.issued_on < %(max_until)s
    )
    {ctx.rollup("amounts", ["SUM(revenue) AS revenue"])}
    """
    return _collect(ctx.fetch(baseline, params), measures)


def results_concentration(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    customers = _int(m.get("customers"))
    results = f.concentration_from_sums(
        total=m.get("revenue"),
        top=m.get("top_revenue"),
        sum_squares=m.get("revenue_squares"),
        customers=customers,
        tops={n: m.get(f"top{n}_revenue") or 0 for n in OTHER_TOP_NS},
    )
    key_customers = _int(m.get("key_customers"))
    if not key_customers:  # no key account bought anything: "no key accounts", not a share of 0
        empty = f.KpiResult(None, f.ZERO, f.dec(m.get("revenue")) or f.ZERO, 0, reason=f.Reason.NO_KEY_ACCOUNTS)
        results["key_account_revenue_share"] = results["key_account_margin_share"] = empty
    else:
        results["key_account_revenue_share"] = f.share(m.get("key_revenue"), m.get("revenue"), n=key_customers)
        results["key_account_margin_share"] = (
            f.share(m.get("key_margin"), m.get("margin"), reason=f.Reason.NO_MARGIN, n=key_customers)
            if _int(m.get("margin_n"))
            else f.KpiResult(None, f.ZERO, f.ZERO, key_customers, reason=f.Reason.NO_MARGIN)
        )
    # §4.15 over three years, on equal windows, at this period's rates (growth in constant currency).
    begin = get(period.shifted(-3).label).get("revenue")
    results["revenue_cagr_3y"] = f.cagr(begin=begin, end=m.get("revenue") or 0, years=3)
    return results


# --- service: SLA attainment and key-account response efficiency (§4.11, §4.16) ------------------------


def measure_service(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # §4.11: each SLA target (first response, resolution) of a request is one instance. It is decided
    # when it is met (fulfilled by its due time) or breached (its due time passes): eligible in the
    # period in which that happens, so every instance counts once; not yet due and open = pending.
    params: dict[str, Any] = {"now": ctx.timestamp(ctx.now)}
    t = ctx.t
    group_join, group = ctx.group_of("d.account_id")
    sla = f"""
    WITH {ctx.common(periods, params)},
    instances AS (
        SELECT account_id, first_response_due_at AS due_at, first_response_at AS done_at
        FROM {t["request"]} WHERE first_response_due_at IS NOT NULL
        UNION ALL
        SELECT account_id, resolution_due_at, resolved_at FROM {t["request"]} WHERE resolution_due_at IS NOT NULL
    ),
    {
        ctx.materialized(
            "decided",
            '''
        SELECT account_id, decided_at, attained FROM (
            SELECT account_id,
                CASE WHEN done_at IS NOT NULL AND done_at <= due_at THEN done_at ELSE due_at END AS decided_at,
                CASE WHEN done_at IS NOT NULL AND done_at <= due_at THEN 1 ELSE 0 END AS attained
            FROM instances) x
        WHERE decided_at >= %(min_ts_start)s AND decided_at < %(max_ts_until)s AND decided_at <= %(now)s''',
        )
    },
    per_group AS (
        SELECT {group} AS group_id, p.label AS period, p.p_start, COUNT(*) AS eligible, SUM(d.attained) AS attained
        FROM decided d
        JOIN periods p ON d.decided_at >= p.ts_start AND d.decided_at < p.ts_until
        {group_join}
        GROUP BY {group}, p.label, p.p_start
    ),
    scoped AS ({ctx.attach("per_group")})
    {ctx.rollup("scoped", ["SUM(eligible) AS sla_eligible", "SUM(attained) AS sla_attained"])}
    """
    measures = _collect(ctx.fetch(sla, params))
    # §4.16: median first-response time of key accounts' requests opened in the period (the median
    # by row numbers, which both databases have).
    params = {}
    frt = f"""
    WITH {ctx.common(periods, params)},
    answered AS (
        SELECT p.label AS period, {ctx.seconds_between("r.first_response_at", "r.opened_at")} AS seconds, {ctx.scope_columns}
        FROM {t["request"]} r
        JOIN periods p ON r.opened_at >= p.ts_start AND r.opened_at < p.ts_until
        JOIN {t["account"]} ra ON ra.id = r.account_id
        {ctx.scope_joins("COALESCE(ra.group_root_id, ra.id)")}
        WHERE r.first_response_at IS NOT NULL AND r.opened_at >= %(min_ts_start)s AND r.opened_at < %(max_ts_until)s
    ),
    scoped AS (SELECT * FROM answered WHERE {key_tiers_sql("tier")}),
    exploded AS ({ctx.explode("scoped", "seconds")}),
    ranked AS (
        SELECT scope, period, seconds,
            ROW_NUMBER() OVER (PARTITION BY scope, period ORDER BY seconds) AS rn,
            COUNT(*) OVER (PARTITION BY scope, period) AS cnt
        FROM exploded
    )
    SELECT scope, period, AVG(seconds) AS frt_median, MAX(cnt) AS frt_n
    FROM ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2)
    GROUP BY scope, period
    """
    return _collect(ctx.fetch(frt, params), measures)


def results_service(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    base = get(period.shifted(-1).label)
    return {
        "sla_attainment": f.sla_attainment(attained=_int(m.get("sla_attained")), eligible=_int(m.get("sla_eligible"))),
        "response_efficiency_improvement": f.improvement(
            baseline=base.get("frt_median"), current=m.get("frt_median"), n=_int(m.get("frt_n")) or None
        ),
    }


# --- programme: customised solutions, joint innovation, tier mix (§4.16) ------------------------------


def measure_programme(ctx: SqlContext, periods: Sequence[Period]) -> Measures:
    # Key accounts = groups in T1 ∪ T2 on the period's first day. Covered: at least one contract
    # flagged customised solution, or one customised-solution project, running on the period's last
    # day. Projects "active in P" overlap P and are active or done (done ones need their end date).
    params: dict[str, Any] = {}
    t = ctx.t
    running = "(pr.status = 'active' OR (pr.status = 'done' AND pr.ended_on IS NOT NULL))"
    keys = ", ".join(f"'{tier}'" for tier in KEY_TIERS)
    contract_group_join, contract_group = ctx.group_of("c.account_id", "ca")
    project_group_join, project_group = ctx.group_of("pr.account_id", "pa")
    programme = f"""
    WITH {ctx.common(periods, params)},
    key_groups AS (
        SELECT th.group_id, p.label AS period, p.p_start
        FROM tier_history th JOIN periods p ON {tier_valid_on("th", "p.p_start")}
        WHERE th.tier IN ({keys})
    ),
    covered AS (
        SELECT {contract_group} AS group_id, p.label AS period
        FROM {t["contract"]} c
        JOIN periods p ON c.start_date <= p.p_last AND c.end_date >= p.p_last
        {contract_group_join}
        WHERE c.is_customised_solution AND c.status <> 'draft'{ctx.in_groups("c.account_id")}
        UNION
        SELECT {project_group}, p.label
        FROM {t["project"]} pr
        JOIN periods p ON pr.started_on <= p.p_last AND (pr.ended_on IS NULL OR pr.ended_on >= p.p_last)
        {project_group_join}
        WHERE pr.kind = 'customised_solution' AND {running}{ctx.in_groups("pr.account_id")}
    ),
    projects AS (
        SELECT {project_group} AS group_id, p.label AS period, COUNT(*) AS projects,
            SUM(CASE WHEN pr.kind = 'joint_innovation' THEN 1 ELSE 0 END) AS joint
        FROM {t["project"]} pr
        JOIN periods p ON pr.started_on < p.p_until AND (pr.ended_on IS NULL OR pr.ended_on >= p.p_start)
        {project_group_join}
        WHERE {running}{ctx.in_groups("pr.account_id")}
        GROUP BY {project_group}, p.label
    ),
    per_group AS (
        SELECT k.group_id, k.period, k.p_start,
            CASE WHEN cv.group_id IS NULL THEN 0 ELSE 1 END AS covered,
            COALESCE(pj.projects, 0) AS projects, COALESCE(pj.joint, 0) AS joint
        FROM key_groups k
        LEFT JOIN covered cv ON cv.group_id = k.group_id AND cv.period = k.period
        LEFT JOIN projects pj ON pj.group_id = k.group_id AND pj.period = k.period
    ),
    scoped AS ({ctx.attach("per_group")})
    {ctx.additive("scoped", "programme", [("key_groups", "1"), ("covered", "covered"), ("key_projects", "projects"), ("joint_projects", "joint")])}
    """
    measures = _measured(ctx, programme, params, "programme")
    # The tier mix on the period's last day, for each scope (membership of a tier scope is still the
    # tier on the first day, so tier:T1's mix shows where last period's T1 accounts are now).
    params = {}
    tier_counts = [(f"{tier.lower()}_groups", f"CASE WHEN tier_now = '{tier}' THEN 1 ELSE 0 END") for tier in TIERS]
    mix = f"""
    WITH {ctx.common(periods, params)},
    tiered AS (
        SELECT th.group_id, p.label AS period, p.p_start, th.tier AS tier_now
        FROM tier_history th JOIN periods p ON {tier_valid_on("th", "p.p_last")}
        WHERE th.tier IS NOT NULL
    ),
    scoped AS ({ctx.attach("tiered")})
    {ctx.rollup("scoped", ["COUNT(*) AS tiered_groups", *(f"SUM({expr}) AS {name}" for name, expr in tier_counts)])}
    """
    # Not kept per group: only tiers move the mix, and a tier change refreshes the families whole.
    if ctx.groups is not None:
        return measures
    return _collect(ctx.fetch(mix, params), measures)


def results_programme(get: Lookup, period: Period) -> dict[str, f.KpiResult]:
    m = get(period.label)
    key_groups = _int(m.get("key_groups"))
    results = {
        "customised_solution_coverage": f.ratio(
            _int(m.get("covered")), key_groups, reason=f.Reason.NO_KEY_ACCOUNTS, n=key_groups
        ),
        "joint_innovation_share": f.ratio(
            _int(m.get("joint_projects")),
            _int(m.get("key_projects")),
            reason=f.Reason.NO_KEY_PROJECTS,
            n=_int(m.get("key_projects")),
        ),
    }
    tiered = _int(m.get("tiered_groups"))
    for tier in TIERS:
        count = _int(m.get(f"{tier.lower()}_groups"))
        results[f"tier_share_{tier.lower()}"] = f.ratio(count, tiered, reason=f.Reason.NO_TIERED_ACCOUNTS, n=count)
    return results
