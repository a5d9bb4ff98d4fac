"""Enumerations of the accounts app. Codes are stored and served by the API; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PROSPECT = "prospect", _("Prospect")
    CHURNED = "churned", _("Churned")


class CreditRating(models.TextChoices):
    A = "A", _("A (excellent)")
    B = "B", _("B (good)")
    C = "C", _("C (fair)")
    D = "D", _("D (weak)")
    E = "E", _("E (poor)")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    RETAIL = "retail", _("Retail and consumer goods")
    FINANCE = "finance", _("Financial services")
    TECHNOLOGY = "technology", _("Technology")
    HEALTHCARE = "healthcare", _("Healthcare")
    ENERGY = "energy", _("Energy and utilities")
    LOGISTICS = "logistics", _("Logistics and transport")
    TELECOM = "telecom", _("Telecommunications")
    CONSTRUCTION = "construction", _("Construction and real estate")
    PUBLIC = "public", _("Public sector")
    EDUCATION = "education", _("Education")
    OTHER = "other", _("Other")


class Tier(models.TextChoices):
    T1 = "T1", _("T1 Strategic")
    T2 = "T2", _("T2 Key")
    T3 = "T3", _("T3 Managed")
    T4 = "T4", _("T4 Transactional")


class HealthBand(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")
    GREY = "grey", _("Grey (insufficient data)")


class BuyingRoleCode(models.TextChoices):
    # DOMAIN.md §6.1–6.2 (Miller Heiman buying influences plus the roles practitioners add).
    ECONOMIC_BUYER = "economic_buyer", _("Economic buyer")
    TECHNICAL_BUYER = "technical_buyer", _("Technical buyer")
    USER_BUYER = "user_buyer", _("User buyer")
    COACH_CHAMPION = "coach_champion", _("Coach / champion")
    APPROVER = "approver", _("Approver")
    EVALUATOR = "evaluator", _("Evaluator")
    INFLUENCER = "influencer", _("Influencer")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    BLOCKER = "blocker", _("Blocker")


# DOMAIN.md §4.7 / §8 nps.role_weights: how much a respondent's buying role weighs in an account's
# NPS mean; any other role (or none) weighs NPS_DEFAULT_WEIGHT. The one copy: tiering's health
# measure, the KPI engine and the R2 alert rule all read it.
NPS_ROLE_WEIGHTS = {
    BuyingRoleCode.ECONOMIC_BUYER.value: 3,
    BuyingRoleCode.COACH_CHAMPION.value: 2,
    BuyingRoleCode.TECHNICAL_BUYER.value: 2,
    BuyingRoleCode.USER_BUYER.value: 1,
}
NPS_DEFAULT_WEIGHT = 1


class Support(models.IntegerChoices):
    MENTOR = 2, _("Mentor")
    SUPPORTER = 1, _("Supporter")
    NEUTRAL = 0, _("Neutral")
    NON_SUPPORTER = -1, _("Non-supporter")
    ENEMY = -2, _("Enemy")


class Coverage(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    NONE = "none", _("No contact")
    BRIEF = "brief", _("Brief contact")
    MULTIPLE = "multiple", _("Multiple contacts")
    IN_DEPTH = "in_depth", _("In depth")


class PoliticalStatus(models.TextChoices):
    INNER_CIRCLE = "inner_circle", _("Inner circle")
    POLITICAL_STRUCTURE = "political_structure", _("Political structure")
    OUTSIDE = "outside", _("Outside")


class RelationshipLevel(models.IntegerChoices):
    # DOMAIN.md §6.1–6.2 (Altify [S-107]): ordered, so relationship_gap can count the levels missing.
    VENDOR = 1, _("Vendor")
    CREDIBLE_SOURCE = 2, _("Credible source")
    PROBLEM_SOLVER = 3, _("Problem solver")
    TRUSTED_ADVISOR = 4, _("Trusted advisor")


class InfluenceKind(models.TextChoices):
    # DOMAIN.md §6.1–6.2 (Altify [S-106]): influence lines and conflict lines between contacts.
    INFLUENCES = "influences", _("Influences")
    CONFLICTS = "conflicts", _("Conflicts with")


class DecisionOrientation(models.TextChoices):
    FINANCIAL = "financial", _("Financial")
    TECHNICAL = "technical", _("Technical")
    RELATIONSHIP = "relationship", _("Relationship")
    BUSINESS = "business", _("Business")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    RENEWED = "renewed", _("Renewed")
    TERMINATED = "terminated", _("Terminated")


class MeetingKind(models.TextChoices):
    QBR = "qbr", _("Quarterly business review")
    EBR = "ebr", _("Executive business review")
    EXECUTIVE = "executive", _("Executive meeting")
    MEETING = "meeting", _("Meeting")
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
