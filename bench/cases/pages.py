"""Server time of the workspace's pages, as a logged-in demo user, with their query counts.

Each case GETs one URL through Django's test client (the whole stack: middleware, session, view,
template) and reports the median and p95 of 40 requests (20 for the variants) after 3 warm-up
requests, plus the number of SQL queries one request makes. Run on the 100,000-account dataset
(``--scale full``). The demo data has no tiers, alerts or KPIs until their jobs run: for realistic
figures run ``recompute_scores``, ``evaluate_alerts`` and ``recompute_kpis`` on the dataset first
(the dashboard cases show an empty board otherwise).
"""

from __future__ import annotations

from typing import Any

from bench.measure import count_queries, summary, timed
from bench.registry import case

PAGE = "p95 < 150 ms"


def _client(username: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _page(username: str, url: str, *, repeat: int = 40) -> dict[str, Any]:
    client = _client(username)

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    durations = timed(get, repeat=repeat, warmup=3)
    return {**summary(durations), "queries": count_queries(get), "url": url}


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


@case("page_home_manager", target=PAGE, unit="ms")
def home_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/")


@case("page_home_executive", target=PAGE, unit="ms")
def home_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/")


@case("admin_account_changelist", target=PAGE, unit="ms")
def admin_changelist(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/admin/accounts/account/", repeat=20)


# --- The accounts list ----------------------------------------------------------------------------


def _deep_cursor(username: str, *, sort: str, rows_before: int) -> tuple[str, int]:
    """A cursor ``rows_before`` rows into the list (set up with one OFFSET query, not timed)."""
    from web.pagination import KeysetPaginator, _encode
    from web.selectors.workspace import ACCOUNT_SORT_KEYS, account_list_queryset

    paginator = KeysetPaginator(account_list_queryset(user=_user(username)), keys=ACCOUNT_SORT_KEYS, default_sort="name")
    ordered = paginator.ordered(sort)
    total = ordered.count()
    offset = max(0, min(rows_before, total - 50) - 1)
    row = ordered[offset]
    key, _desc = paginator.parse_sort(sort)
    empty = key.empty is not None and row._sortval in (None, "")
    return _encode("n", empty, None if empty else row._sortval, row.pk), offset + 1


def _deep(username: str, sort: str, rows_before: int = 2000 * 50) -> dict[str, Any]:
    cursor, position = _deep_cursor(username, sort=sort, rows_before=rows_before)
    result = _page(username, f"/accounts/?sort={sort}&cursor={cursor}")
    return {**result, "starts_at_row": position}


@case("page_accounts_executive", target=PAGE, unit="ms")
def accounts_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/accounts/")


@case("page_accounts_manager", target=PAGE, unit="ms")
def accounts_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/accounts/")


@case("page_accounts_deep_executive", target=PAGE, unit="ms")
def accounts_deep_executive(*, scale: Any) -> dict[str, Any]:
    """Page 2,000 (row 100,000 at 50 a page) by name: keyset pages cost what page 1 costs."""
    return _deep("exec", "name")


@case("page_accounts_deep_executive_by_value", target=PAGE, unit="ms")
def accounts_deep_executive_value(*, scale: Any) -> dict[str, Any]:
    return _deep("exec", "-value_score")


@case("page_accounts_deep_executive_by_value_scored", target=PAGE, unit="ms")
def accounts_deep_executive_value_scored(*, scale: Any) -> dict[str, Any]:
    """Page 800 by value score: deep inside the scored accounts (the unscored ones come last)."""
    return _deep("exec", "-value_score", rows_before=800 * 50)


@case("page_accounts_deep_manager", target=PAGE, unit="ms")
def accounts_deep_manager(*, scale: Any) -> dict[str, Any]:
    """A manager's book is ~1,600 accounts, so its deepest page is the last one (~page 32)."""
    return _deep("manager1", "name")


# (case suffix, query string) — each filter of AccountFilterSet and each sort, as the executive
# (the whole portfolio: the worst case for a filter that matches few rows).
LIST_VARIANTS = [
    ("q", "q=Group"),
    ("q_rare", "q=no-such-name"),
    ("external_id", "q=DEMO-0050000"),
    ("tier", "tier=T1&tier=T2"),
    ("health_red", "health_band=red"),
    ("status", "status=prospect"),
    ("industry", "industry=retail"),
    ("region", "region=East"),
    ("owner", "owner={manager1}"),
    ("renewal_90", "renewal_due_within=90"),
    ("renewal_30", "renewal_due_within=30"),
    ("open_alerts", "open_alerts=true"),
    ("no_open_alerts", "open_alerts=false"),
    ("sort_value", "sort=-value_score"),
    ("sort_health", "sort=health_score"),
    ("sort_tier", "sort=tier"),
    ("sort_owner", "sort=owner"),
    ("sort_region", "sort=-region"),
    ("tier_sort_value", "tier=T2&sort=-value_score"),
    ("renewal_90_sort_value", "renewal_due_within=90&sort=-value_score"),
    ("open_alerts_red", "open_alerts=true&health_band=red&sort=-value_score"),
]


def _list_case(suffix: str, query: str) -> None:
    @case(f"page_accounts_filter_{suffix}", target=PAGE, unit="ms")
    def run(*, scale: Any) -> dict[str, Any]:
        return _page("exec", "/accounts/?" + query.format(manager1=_user("manager1").pk), repeat=20)


for _suffix, _query in LIST_VARIANTS:
    _list_case(_suffix, _query)


@case("page_accounts_filter_renewal_90_manager", target=PAGE, unit="ms")
def accounts_renewal_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/accounts/?renewal_due_within=90", repeat=20)


# --- The account page -----------------------------------------------------------------------------


def _largest_group() -> int:
    """The group root with the most subsidiaries: the heaviest account page of the dataset."""
    from django.db.models import Count

    from accounts.models import AccountAncestry

    row = (
        AccountAncestry.objects.filter(depth__gt=0)
        .values("ancestor_id")
        .annotate(n=Count("id"))
        .order_by("-n", "ancestor_id")
        .first()
    )
    return row["ancestor_id"]


def _busiest_account_of(username: str) -> int:
    from django.db.models import Count

    from accounts.models import Account

    return (
        Account.objects.filter(owner__username=username)
        .annotate(n=Count("invoices"))
        .order_by("-n", "id")
        .values_list("id", flat=True)
        .first()
    )


@case("page_account_executive", target=PAGE, unit="ms")
def account_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", f"/accounts/{_largest_group()}/")


@case("page_account_manager", target=PAGE, unit="ms")
def account_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", f"/accounts/{_busiest_account_of('manager1')}/")


# --- Renewals, alerts, notifications, dashboard ---------------------------------------------------


@case("page_renewals_manager", target=PAGE, unit="ms")
def renewals_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/renewals/?within=90")


@case("page_renewals_executive", target=PAGE, unit="ms")
def renewals_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/renewals/?within=180")


@case("page_alerts_manager", target=PAGE, unit="ms")
def alerts_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/alerts/")


@case("page_alerts_executive", target=PAGE, unit="ms")
def alerts_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/alerts/")


@case("page_alerts_executive_filtered", target=PAGE, unit="ms")
def alerts_executive_filtered(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/alerts/?priority=high&tier=T2&rule=R3", repeat=20)


@case("page_notifications_manager", target=PAGE, unit="ms")
def notifications_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/notifications/")


@case("page_dashboard_executive", target=PAGE, unit="ms")
def dashboard_executive(*, scale: Any) -> dict[str, Any]:
    """The executive dashboard on the published KPI snapshot (run recompute_kpis on the dataset first)."""
    return _page("exec", "/dashboard/")


@case("page_dashboard_executive_quarter_region", target=PAGE, unit="ms")
def dashboard_executive_quarter(*, scale: Any) -> dict[str, Any]:
    from reports.models import KpiValue

    region = KpiValue.objects.filter(scope__startswith="region:").values_list("scope", flat=True).first() or "company"
    return _page("exec", "/dashboard/?kind=quarter&scope=" + region.replace(" ", "+"), repeat=20)


@case("page_dashboard_manager", target=PAGE, unit="ms")
def dashboard_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/dashboard/", repeat=20)


@case("page_dashboard_renewals_card", target=PAGE, unit="ms")
def dashboard_renewals(*, scale: Any) -> dict[str, Any]:
    """The live renewals card the dashboard loads after the page (not a KPI: contracts due)."""
    return _page("exec", "/dashboard/renewals/", repeat=20)
