"""The raw measures a scoring factor can use, computed for every group by ``tiering.inputs``.

A factor names one measure (``ScoringFactor.measure``) and a scorer that turns it into 0–100. Each
measure has a unit (shown beside raw values), the source of its data (so the "why" view can link
to the rows behind a number) and a sentence that explains it in the "what is holding this score
down" list. Measures are codes stored in scoring models; never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Measure:
    code: str
    label: Promise
    unit: str  # "currency" (the base currency), "percent", "ratio", "days", "rating"
    source: str  # a key of SOURCES
    explanation: Promise  # formatted with %(value)s
    is_text: bool = False  # letters, not numbers: only the ordinal map can score it


MEASURES: dict[str, Measure] = {
    m.code: m
    for m in [
        # DOMAIN.md §1.3 factor catalogue
        Measure("t12m_value", _("Current value: twelve-month gross margin (or revenue)"), "currency", "invoices_t12m",
                _("Twelve-month value of %(value)s")),
        Measure("revenue_cagr_3y", _("Growth: three-year revenue CAGR"), "percent", "invoices_fy",
                _("Revenue grew %(value)s%% a year over three fiscal years")),
        Measure("wallet_headroom", _("Potential: wallet headroom (3-year estimate − our 3-year sales)"), "currency",
                "invoices_t36m", _("Wallet headroom of %(value)s")),
        Measure("margin_index", _("Profitability: gross margin % ÷ company gross margin %"), "ratio", "invoices_t12m",
                _("Gross margin is %(value)s× the company average")),
        Measure("days_beyond_terms_t180", _("Payment: invoice-weighted days beyond terms (180 days)"), "days",
                "invoices_paid_t180", _("Paid %(value)s days beyond terms on average")),
        Measure("credit_rating", _("Credit rating A–E"), "rating", "account_credit_rating", _("Credit rating %(value)s"),
                is_text=True),
        Measure("market_influence", _("Market influence (committee rating 1–5)"), "rating", "account_market_influence",
                _("Market influence rated %(value)s of 5")),
        Measure("integration_potential", _("Resource-integration potential (committee rating 1–5)"), "rating",
                "account_integration_potential", _("Integration potential rated %(value)s of 5")),
        Measure("relationship_stage", _("Relationship stage (1 exploratory … 5 integrated)"), "rating",
                "account_relationship_stage", _("Relationship stage %(value)s of 5")),
        # DOMAIN.md §2.2 health measures
        Measure("revenue_yoy_t12m", _("Commercial momentum: revenue, last 12 months vs the 12 before"), "percent",
                "invoices_t24m", _("Revenue changed %(value)s%% year on year")),
        Measure("nps_role_weighted_12m", _("Satisfaction: role-weighted NPS mean (12 months)"), "score",
                "surveys_nps_12m", _("Role-weighted NPS mean of %(value)s")),
        Measure("days_since_exec_meeting", _("Relationship: days since the last executive-level meeting"), "days",
                "meetings_exec", _("No executive meeting for %(value)s days")),
        Measure("sla_attainment_t90", _("Service delivery: SLA attainment (90 days)"), "percent", "service_requests_t90",
                _("SLA attainment of %(value)s%%")),
    ]
}  # fmt: skip

MEASURE_CHOICES = [(m.code, m.label) for m in MEASURES.values()]

# Where a measure's data lives, as a model and the window (a key of ScoringRun.windows) that the
# "why" view turns into a filtered list of rows. ``field`` names the account field of a rating.
SOURCES: dict[str, dict[str, str]] = {
    "invoices_t12m": {"model": "accounts.invoice", "date_field": "issued_on", "window": "t12m"},
    "invoices_t24m": {"model": "accounts.invoice", "date_field": "issued_on", "window": "t24m"},
    "invoices_t36m": {"model": "accounts.invoice", "date_field": "issued_on", "window": "t36m"},
    "invoices_fy": {"model": "accounts.invoice", "date_field": "issued_on", "window": "fiscal_years"},
    "invoices_paid_t180": {"model": "accounts.invoice", "date_field": "paid_on", "window": "t180"},
    "surveys_nps_12m": {"model": "service_plans.surveyresponse", "date_field": "responded_at", "window": "t12m"},
    "meetings_exec": {"model": "accounts.meeting", "date_field": "occurred_at", "window": ""},
    "service_requests_t90": {"model": "service_plans.servicerequest", "date_field": "opened_at", "window": "t90"},
    "account_credit_rating": {"model": "accounts.account", "field": "credit_rating"},
    "account_market_influence": {"model": "accounts.account", "field": "market_influence"},
    "account_integration_potential": {"model": "accounts.account", "field": "integration_potential"},
    "account_relationship_stage": {"model": "accounts.account", "field": "relationship_stage"},
}

# The NPS mean is low-confidence unless one of these answered (§4.7).
NPS_KEY_ROLES = ("economic_buyer", "coach_champion")
# Meeting kinds that count as executive-level engagement (§2.2 "Relationship").
EXECUTIVE_MEETING_KINDS = ("qbr", "ebr", "executive")
