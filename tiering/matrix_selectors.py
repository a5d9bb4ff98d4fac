"""The KAM portfolio matrix (DOMAIN.md §1.2) of the whole visible portfolio, set-based.

One row per **group** (its root account), as for tiers and scores: the visible roots are the
groups the user sees (``Account.objects.visible_to(user)``: executives see every group, a manager
the groups whose root they own or serve); a member account seen without its root is not a row
of its own. Six queries whatever the size of the portfolio: the visible roots, their latest value
snapshots (of finished runs), the current fiscal year's exchange rates, the groups' wallet estimates and T12M revenue (per currency), their
and NPS responses of the last twelve months. The formulas are in
``tiering.matrix``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, ExchangeRate, Invoice
from kam.roles import sees_all_accounts
from service_plans.models import SurveyResponse
from tiering import matrix
from tiering.models import ScoreSnapshot, ScoringRun

PROMOTER_MIN, DETRACTOR_MAX = 9, 6


@dataclass
class MatrixRow:
    account_id: int
    name: str
    owner: str
    tier: str
    attractiveness: float | None
    strength: float | None
    quadrant: str | None
    quadrant_label: Any
    relationship_stage: int | None
    share_of_wallet: float | None  # percent, 0–100
    nps: float | None  # −100…100
    nps_responses: int
    current_sales: Decimal | None  # T12M revenue, base currency
    wallet_3y: Decimal | None  # three-year wallet estimate, base currency
    snapshot_as_of: dt.date | None


@dataclass
class PortfolioMatrix:
    rows: list[MatrixRow]
    config: matrix.MatrixConfig
    as_of: dt.date
    base_currency: str
    missing_rates: list[str] = field(default_factory=list)

    def counts(self) -> dict[str | None, int]:
        counts: dict[str | None, int] = dict.fromkeys([*matrix.QUADRANTS, None], 0)
        for row in self.rows:
            counts[row.quadrant] += 1
        return counts


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def portfolio_matrix(
    *, user: Any, today: dt.date | None = None, config: matrix.MatrixConfig | None = None, group_id: int | None = None
) -> PortfolioMatrix:
    """Every visible group's attractiveness, strength and quadrant (6 queries), largest current sales first.

    ``group_id``: only that group (no row when its root is not visible to ``user``).
    """
    today = today or timezone.localdate()
    config = config or matrix.MatrixConfig.from_settings()
    visible_roots = Account.objects.visible_to(user).filter(Q(group_root__isnull=True) | Q(group_root_id=F("pk")))
    if group_id is not None:
        visible_roots = visible_roots.filter(pk=group_id)
    roots = list(visible_roots.values_list("id", "name", "owner__username", "tier", "relationship_stage").order_by("name", "id"))
    root_ids = visible_roots.values("pk")  # a subquery in each read below
    # The groups' members: every account when the user sees every group (no subquery to join).
    everything = sees_all_accounts(user) and group_id is None
    members = Q() if everything else Q(pk__in=root_ids) | Q(group_root_id__in=root_ids)
    member_rows = Q() if everything else Q(account_id__in=root_ids) | Q(account__group_root_id__in=root_ids)

    # Each group's value snapshot of the latest finished tier run (the run "why this tier" reads), by
    # the (run, account) index: a portfolio's history of snapshots is never scanned, and a group the
    # run did not score (churned since) has none.
    latest_run = ScoringRun.objects.done().with_tiers().order_by("-period_start", "-as_of", "-finished_at", "-id")
    snapshots = {
        s.account_id: s
        for s in ScoreSnapshot.objects.filter(
            Q() if everything else Q(account_id__in=root_ids), run_id=Subquery(latest_run.values("pk")[:1])
        ).only("account_id", "as_of", "factors")
    }
    group = Coalesce("group_root_id", "id")
    wallet_rows = (
        Account.objects.filter(members, wallet_estimate_amount__isnull=False)
        .values("currency", grp=group)
        .annotate(total=Sum("wallet_estimate_amount"))
        .order_by()
    )
    since = today - dt.timedelta(days=365)
    # The same twelve months as aware bounds (local days), so the (kind, responded_at) index serves them.
    start_at = timezone.make_aware(dt.datetime.combine(since + dt.timedelta(days=1), dt.time.min))
    end_at = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    revenue_rows = (
        Invoice.objects.filter(issued_on__gt=since, issued_on__lte=today)
        .filter(member_rows)
        .values("currency", grp=Coalesce("account__group_root_id", "account_id"))
        .annotate(total=Sum("amount"))
        .order_by()
    )
    nps_rows = (
        SurveyResponse.objects.filter(kind="nps", responded_at__gte=start_at, responded_at__lt=end_at)
        .filter(member_rows)
        .values(grp=Coalesce("account__group_root_id", "account_id"))
        .annotate(
            n=Count("id"),
            promoters=Count("id", filter=Q(score__gte=PROMOTER_MIN)),
            detractors=Count("id", filter=Q(score__lte=DETRACTOR_MAX)),
        )
        .order_by()
    )
    # Both figures at the current fiscal year's rates, as the value score's wallet headroom (F3).
    start_month = settings.KAM_FISCAL_YEAR_START_MONTH
    year = today.year if today.month >= start_month else today.year - 1
    base = settings.KAM_BASE_CURRENCY
    rates = dict(ExchangeRate.objects.filter(year=year).values_list("currency", "rate_to_base"))
    missing: set[str] = set()

    def totals(rows: Any) -> dict[int, Decimal | None]:
        """Per group, the sum in the base currency; None when a currency has no rate (never a silent 0)."""
        result: dict[int, Decimal | None] = {}
        for row in rows:
            grp, currency, amount = row["grp"], row["currency"], row["total"] or Decimal("0")
            rate = Decimal("1") if currency == base else rates.get(currency)
            if rate is None:
                missing.add(f"{currency} {year}")
                result[grp] = None
            elif grp not in result or result[grp] is not None:
                result[grp] = result.get(grp, Decimal("0")) + amount * rate
        return result

    wallet = totals(wallet_rows)
    revenue = totals(revenue_rows)
    nps = {row["grp"]: row for row in nps_rows}

    rows = []
    for pk, name, owner, tier, stage in roots:
        snapshot = snapshots.get(pk)
        attractiveness = matrix.attractiveness(snapshot.factors, config.attractiveness_factors) if snapshot else None
        sales = revenue.get(pk, Decimal("0"))  # no invoice in twelve months: no sales
        responses = nps.get(pk)
        nps_value = matrix.nps_value(responses["promoters"], responses["detractors"], responses["n"]) if responses else None
        sow = matrix.share_of_wallet(sales, wallet.get(pk))
        strength = matrix.strength(stage=stage, sow_pct=sow, nps=nps_value)
        code = matrix.quadrant(attractiveness, strength, cut_a=config.cut_attractiveness, cut_s=config.cut_strength)
        rows.append(
            MatrixRow(
                account_id=pk,
                name=name,
                owner=owner,
                tier=tier,
                attractiveness=_round(attractiveness),
                strength=_round(strength),
                quadrant=code,
                quadrant_label=config.label(code),
                relationship_stage=stage,
                share_of_wallet=_round(sow),
                nps=_round(nps_value),
                nps_responses=responses["n"] if responses else 0,
                current_sales=sales,
                wallet_3y=wallet.get(pk),
                snapshot_as_of=snapshot.as_of if snapshot else None,
            )
        )
    rows.sort(key=lambda r: (-(r.current_sales or 0), r.name, r.account_id))
    return PortfolioMatrix(rows=rows, config=config, as_of=today, base_currency=base, missing_rates=sorted(missing))
