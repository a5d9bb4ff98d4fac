"""What the KPI engine publishes: every KPI code, its family, unit, direction and label.

Codes are the stored and served names (API.md "KPI codes"; never translated); labels are for
people. A family is the set of KPIs one SQL pass computes (``reports.engine``); a run can recompute
some families only (the on-change refresh does).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reports.formulas import HIGHER, LOWER, Reason

RETENTION = "retention"
RENEWALS = "renewals"
SATISFACTION = "satisfaction"
RECEIVABLES = "receivables"
CONCENTRATION = "concentration"
SERVICE = "service"
PROGRAMME = "programme"
FAMILIES = (RETENTION, RENEWALS, SATISFACTION, RECEIVABLES, CONCENTRATION, SERVICE, PROGRAMME)
FAMILY_LABELS = {
    RETENTION: _("Retention"),
    RENEWALS: _("Renewals"),
    SATISFACTION: _("Satisfaction"),
    RECEIVABLES: _("Receivables"),
    CONCENTRATION: _("Revenue concentration"),
    SERVICE: _("Service levels"),
    PROGRAMME: _("Key account programme"),
}

# Units: how a value reads (API.md: ratios are fractions; NPS −100…100; HHI 0…10,000; days; a mean
# score on its survey scale: CES 1–7).
RATIO, DAYS, NPS_POINTS, INDEX, PERCENTAGE_POINTS, MONEY = "ratio", "days", "nps", "index", "pp", "money"
SCORE = "score"


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    family: str
    label: Promise
    unit: str
    direction: str  # which way is better, the default for targets


def _kpi(code: str, family: str, label: Promise, unit: str = RATIO, direction: str = HIGHER) -> KpiDefinition:
    return KpiDefinition(code, family, label, unit, direction)


KPIS: tuple[KpiDefinition, ...] = (
    _kpi("grr", RETENTION, _("Gross revenue retention")),
    _kpi("nrr", RETENTION, _("Net revenue retention")),
    _kpi("logo_churn", RETENTION, _("Logo churn"), direction=LOWER),
    _kpi("arr_at_risk", RETENTION, _("ARR at risk"), MONEY, LOWER),
    _kpi("renewal_rate_logo", RENEWALS, _("Renewal rate (contracts, in period)")),
    _kpi("renewal_rate_logo_eventual", RENEWALS, _("Renewal rate (contracts, with 30-day grace)")),
    _kpi("renewal_rate_logo_auto", RENEWALS, _("Auto-renewal share (contracts due)")),
    _kpi("renewal_rate_value_gross", RENEWALS, _("Gross value renewal rate")),
    _kpi("renewal_rate_value_net", RENEWALS, _("Net value renewal rate")),
    _kpi("renewal_rate_value_gross_eventual", RENEWALS, _("Gross value renewal rate (with 30-day grace)")),
    _kpi("renewal_rate_value_net_eventual", RENEWALS, _("Net value renewal rate (with 30-day grace)")),
    _kpi("nps", SATISFACTION, _("Net Promoter Score"), NPS_POINTS),
    _kpi("csat", SATISFACTION, _("Customer satisfaction (CSAT)")),
    _kpi("csat_improvement_pp", SATISFACTION, _("Customer satisfaction improvement"), PERCENTAGE_POINTS),
    _kpi("nps_improvement", SATISFACTION, _("NPS improvement"), NPS_POINTS),
    _kpi("ces", SATISFACTION, _("Customer effort score (CES)"), SCORE),
    _kpi("ces_easy", SATISFACTION, _("Easy-effort share (CES 5–7)")),
    _kpi("dso", RECEIVABLES, _("Days sales outstanding"), DAYS, LOWER),
    _kpi("avg_days_to_pay", RECEIVABLES, _("Average days to pay"), DAYS, LOWER),
    _kpi("days_beyond_terms", RECEIVABLES, _("Days beyond terms"), DAYS, LOWER),
    _kpi("overdue_ratio", RECEIVABLES, _("Overdue receivables ratio"), direction=LOWER),
    _kpi("bad_debt_ratio", RECEIVABLES, _("Bad-debt ratio"), direction=LOWER),
    _kpi("top5_share", CONCENTRATION, _("Top-5 customers' revenue share"), direction=LOWER),
    _kpi("top1_share", CONCENTRATION, _("Largest customer's revenue share"), direction=LOWER),
    _kpi("top10_share", CONCENTRATION, _("Top-10 customers' revenue share"), direction=LOWER),
    _kpi("hhi", CONCENTRATION, _("Revenue concentration (HHI)"), INDEX, LOWER),
    _kpi("key_account_revenue_share", CONCENTRATION, _("Key accounts' share of revenue")),
    _kpi("key_account_margin_share", CONCENTRATION, _("Key accounts' share of gross margin")),
    _kpi("revenue_cagr_3y", CONCENTRATION, _("Revenue growth (3-year CAGR)")),
    _kpi("sla_attainment", SERVICE, _("SLA attainment")),
    _kpi("response_efficiency_improvement", SERVICE, _("Key-account response-efficiency improvement")),
    _kpi("customised_solution_coverage", PROGRAMME, _("Customised-solution coverage")),
    _kpi("joint_innovation_share", PROGRAMME, _("Joint innovation projects share")),
    _kpi("tier_share_t1", PROGRAMME, _("Share of accounts in T1")),
    _kpi("tier_share_t2", PROGRAMME, _("Share of accounts in T2")),
    _kpi("tier_share_t3", PROGRAMME, _("Share of accounts in T3")),
    _kpi("tier_share_t4", PROGRAMME, _("Share of accounts in T4")),
)
KPI_BY_CODE = {k.code: k for k in KPIS}
KPI_CODES = tuple(KPI_BY_CODE)
CODE_CHOICES = [(k.code, k.label) for k in KPIS]


def codes_of(families: tuple[str, ...] | list[str]) -> list[str]:
    return [k.code for k in KPIS if k.family in families]


REASON_LABELS = {
    Reason.NO_COHORT: _("No recurring revenue at the start of the period"),
    Reason.NO_CONTRACTS_DUE: _("No contracts due in the period"),
    Reason.NO_VALUE_DUE: _("The contracts due have no value"),
    Reason.NO_RESPONSES: _("No survey responses"),
    Reason.NO_REVENUE: _("No revenue in the period"),
    Reason.NO_PAID_INVOICES: _("No invoices paid in the period"),
    Reason.NO_RECEIVABLES: _("No receivables at the end of the period"),
    Reason.NO_MARGIN: _("No gross margin recorded"),
    Reason.NO_SLA_INSTANCES: _("No service-level targets fell due"),
    Reason.NO_KEY_ACCOUNTS: _("No key accounts"),
    Reason.NO_KEY_PROJECTS: _("No projects with key accounts"),
    Reason.NO_KEY_REQUESTS: _("No answered requests from key accounts"),
    Reason.NO_BASELINE: _("No baseline to compare with"),
    Reason.NO_TIERED_ACCOUNTS: _("No tiered accounts"),
    Reason.NEGATIVE_VALUE: _("Undefined for a negative value"),
    Reason.NO_ARR: _("No recurring revenue at the end of the period"),
}
