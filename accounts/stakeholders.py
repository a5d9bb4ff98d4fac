"""Stakeholder (relationship) map metrics and red flags, DOMAIN.md §6.3.

Pure functions over an account's contacts as loaded for a page (``buying_roles`` prefetched), so the
account page computes them without another query. The same rules feed alerts R4/R9 (§5.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import BuyingRoleCode, Coverage, PoliticalStatus, Support
from accounts.models import Contact

# Coverage from least to most; "≥ MULTIPLE" and "≥ BRIEF" in §6.3 compare on this order.
COVERAGE_ORDER = [Coverage.UNKNOWN, Coverage.NONE, Coverage.BRIEF, Coverage.MULTIPLE, Coverage.IN_DEPTH]
COVERAGE_RANK = {code: rank for rank, code in enumerate(COVERAGE_ORDER)}
# §6.3 role coverage counts the four Miller Heiman buying influences.
CORE_ROLES = (
    BuyingRoleCode.ECONOMIC_BUYER,
    BuyingRoleCode.TECHNICAL_BUYER,
    BuyingRoleCode.USER_BUYER,
    BuyingRoleCode.COACH_CHAMPION,
)
SPONSOR_ROLES = frozenset({BuyingRoleCode.ECONOMIC_BUYER, BuyingRoleCode.COACH_CHAMPION})
# How long the departure of an economic buyer or champion stays a red flag (design: a year, so a
# departure long since dealt with does not flag the account forever).
LEFT_RECENTLY_DAYS = 365


class RedFlag(models.TextChoices):
    NO_ECONOMIC_BUYER = "no_economic_buyer", _("No economic buyer identified")
    NO_COACH = "no_coach", _("No coach / champion")
    ECONOMIC_BUYER_UNSUPPORTIVE = "economic_buyer_unsupportive", _("The economic buyer does not support us")
    SINGLE_THREADED = "single_threaded", _("Single-threaded: fewer than two contacts covered in depth")
    SPONSOR_LEFT = "sponsor_left", _("An economic buyer or champion has left")
    NO_INNER_CIRCLE = "no_inner_circle", _("No contact in the inner circle")


def _roles(contact: Contact) -> set[str]:
    # Reads the prefetched roles: no query per contact.
    return {role.code for role in contact.buying_roles.all()}


def _covered(contact: Contact, at_least: str) -> bool:
    return COVERAGE_RANK.get(contact.coverage, 0) >= COVERAGE_RANK[at_least]


def red_flags(contacts: Iterable[Contact], *, today: dt.date) -> list[RedFlag]:
    """The §6.3 red flags of one account, in the order of ``RedFlag``."""
    contacts = list(contacts)
    active = [c for c in contacts if c.is_active]
    economic_buyers = [c for c in active if BuyingRoleCode.ECONOMIC_BUYER in _roles(c)]
    flags: list[RedFlag] = []
    if not economic_buyers:
        flags.append(RedFlag.NO_ECONOMIC_BUYER)
    if not any(BuyingRoleCode.COACH_CHAMPION in _roles(c) for c in active):
        flags.append(RedFlag.NO_COACH)
    if any(c.support < Support.NEUTRAL for c in economic_buyers):
        flags.append(RedFlag.ECONOMIC_BUYER_UNSUPPORTIVE)
    # "Only one contact with coverage ≥ MULTIPLE"; none at all is at least as bad (R9: "< 2").
    if sum(1 for c in active if _covered(c, Coverage.MULTIPLE)) < 2:
        flags.append(RedFlag.SINGLE_THREADED)
    since = today - dt.timedelta(days=LEFT_RECENTLY_DAYS)
    if any(not c.is_active and _roles(c) & SPONSOR_ROLES and (c.left_on is None or c.left_on >= since) for c in contacts):
        flags.append(RedFlag.SPONSOR_LEFT)
    if not any(c.political_status == PoliticalStatus.INNER_CIRCLE and _covered(c, Coverage.BRIEF) for c in active):
        flags.append(RedFlag.NO_INNER_CIRCLE)
    return flags


def support_index(contacts: Iterable[Contact]) -> Decimal | None:
    """Σ(influence × support) / Σ(influence × 2) over key players (inner circle and political structure).

    ``None`` when there are no key players: an empty denominator is "unknown", never 0 (§0.1).
    """
    key_players = [
        c
        for c in contacts
        if c.is_active and c.political_status in (PoliticalStatus.INNER_CIRCLE, PoliticalStatus.POLITICAL_STRUCTURE)
    ]
    denominator = sum(c.influence * 2 for c in key_players)
    if not denominator:
        return None
    return (Decimal(sum(c.influence * c.support for c in key_players)) / Decimal(denominator)).quantize(Decimal("0.0001"))


def role_coverage(contacts: Iterable[Contact]) -> tuple[Decimal, list[str]]:
    """Share of the four core roles held by an active contact covered at least "multiple contacts",
    and the roles still uncovered."""
    covered = set()
    for contact in contacts:
        if contact.is_active and _covered(contact, Coverage.MULTIPLE):
            covered |= _roles(contact) & set(CORE_ROLES)
    missing = [role for role in CORE_ROLES if role not in covered]
    return Decimal(len(CORE_ROLES) - len(missing)) / Decimal(len(CORE_ROLES)), missing


def relationship_gap(contacts: Iterable[Contact]) -> int:
    """Σ max(0, target − current) relationship levels over our team's relationships (§6.3), with the
    active contacts only: a gap with someone who has left is no longer ours to close.

    Reads the prefetched ``team_relationships``: no query per contact."""
    return sum(max(0, r.level_target - r.level_current) for c in contacts if c.is_active for r in c.team_relationships.all())


@dataclass
class OrgNode:
    contact: Contact
    roles: list[str]
    children: list[OrgNode]


def org_chart(contacts: Sequence[Contact]) -> list[OrgNode]:
    """Contacts as trees by ``reports_to``; a contact whose manager is not in the list is a root.

    Reporting lines are data users type in, so a cycle is possible in principle (A → B → A); the
    walk keeps a visited set and shows such contacts as roots instead of looping.
    """
    by_id = {c.pk: c for c in contacts}
    children: dict[int | None, list[Contact]] = {}
    for contact in contacts:
        parent = contact.reports_to_id if contact.reports_to_id in by_id else None
        children.setdefault(parent, []).append(contact)
    seen: set[int] = set()

    def build(contact: Contact) -> OrgNode:
        seen.add(contact.pk)
        kids = [build(child) for child in children.get(contact.pk, []) if child.pk not in seen]
        return OrgNode(contact=contact, roles=sorted(_roles(contact)), children=kids)

    roots = [build(c) for c in children.get(None, [])]
    roots += [build(c) for c in contacts if c.pk not in seen]  # members of a reporting cycle
    return roots
