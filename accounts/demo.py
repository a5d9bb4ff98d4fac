"""A coherent, deterministic demo portfolio for `make run`, the benchmarks and manual testing.

``seed_demo(accounts=N, seed=S)`` builds group hierarchies, four to five years of contracts with
renewals (early, on time, late), expansions, downsells and churn, invoices with each account's
payment habit and some write-offs (and, for customers buying by the unit, quantities), contacts with buying roles (some champions leave), meetings,
account teams and exchange rates; the key accounts get account plans (``service_plans.demo_plans``). The same seed and ``today`` give the same data.

Rows are generated in chunks of whole groups and loaded with ``kam.bulk.bulk_insert`` (COPY on
PostgreSQL), one transaction per chunk, so memory stays flat whatever N is. Other apps add their
own demo rows per chunk through ``EXTENSIONS``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import demo_names as words
from accounts.choices import (
    AccountStatus,
    BuyingRoleCode,
    ContractStatus,
    Coverage,
    Industry,
    InfluenceKind,
    MeetingKind,
    PoliticalStatus,
)
from accounts.hierarchy import hierarchy_rebuild
from accounts.models import Account, Contact, Contract, ExchangeRate, InfluenceLink, Invoice, Meeting
from kam import roles
from kam.bulk import bulk_insert, next_ids, reset_sequence
from kam.jobs import Progress
from service_plans.models import AccountTeamMember, TeamRole

# Other apps' per-chunk generators: ``extend(chunk: DemoChunk, ctx: DemoContext) -> dict[str, int]``.
EXTENSIONS: list[str] = [
    "service_plans.demo.extend",
    "accounts.demo.influence_links_extend",
    "service_plans.demo_plans.extend",
]

CHUNK_ACCOUNTS = 2_000

DEMO_USERS = [
    # username, full name, role, password, superuser
    ("admin", ("Ada", "Admin"), roles.ADMINISTRATOR, "kam-demo-admin", True),
    ("exec", ("Evelyn", "Zhou"), roles.EXECUTIVE, "kam-demo-exec", False),
    ("manager1", ("Li", "Wei"), roles.ACCOUNT_MANAGER, "kam-demo-manager1", False),
    ("manager2", ("Maria", "Chen"), roles.ACCOUNT_MANAGER, "kam-demo-manager2", False),
]

# Rate to CNY around 2021-2026, drifted per year from these centres.
RATE_CENTRES = {"USD": 7.10, "EUR": 7.80, "HKD": 0.91, "JPY": 0.052, "SGD": 5.30}
CURRENCY_MIX = [("CNY", 74), ("USD", 10), ("EUR", 5), ("HKD", 5), ("JPY", 3), ("SGD", 3)]
INDUSTRY_MIX = [(i.value, w) for i, w in zip(Industry, [22, 12, 8, 14, 8, 7, 9, 5, 6, 4, 3, 2], strict=True)]
PAYER_PROFILES = {  # an account's usual delay after the due date: (probability, low, high)
    "prompt": (0.55, -10, 5),
    "average": (0.33, -3, 20),
    "slow": (0.10, 5, 30),
}
# Customers buying goods by the unit: what their invoices count and a unit price range in CNY
# (licences, cases, MWh, shipments…), and whether the count is whole. Most of them (VOLUME_SHARE)
# have finance feeds that carry the quantity; services customers' invoices never do.
VOLUME_PROFILES = {
    Industry.MANUFACTURING: (200, 5_000, True),  # parts, machines
    Industry.RETAIL: (80, 600, True),  # cases
    Industry.TECHNOLOGY: (800, 20_000, True),  # licences
    Industry.HEALTHCARE: (30, 2_000, True),  # consumables
    Industry.ENERGY: (350, 900, False),  # MWh
    Industry.LOGISTICS: (1_500, 12_000, True),  # shipments
    Industry.TELECOM: (40, 300, True),  # lines
}
VOLUME_SHARE = 0.7
# Yearly unit price change per customer: list prices mostly rise, so volume can fall while revenue
# holds (the volume path of alert R1), and a discount now and then does the reverse.
PRICE_RISE = [((0.0, 0.0), 30), ((0.01, 0.04), 45), ((0.05, 0.10), 20), ((-0.05, -0.01), 5)]
# Days either side of an account's usual delay: payment habits are steady, so "days beyond terms
# rising" and long overdue invoices mark a real change, as they do in a real book.
DELAY_JITTER = 6


@dataclass
class DemoChunk:
    """The rows of one chunk, as plain tuples keyed like ``kam.bulk.bulk_insert`` columns."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DemoContext:
    rng: random.Random
    today: dt.date
    now: dt.datetime
    owners: list[Any]
    executive: Any
    ids: dict[str, range]
    # Its own stream, so that adding quantities left every other demo value as it was.
    volume_rng: random.Random = field(default_factory=random.Random)
    # The customer effort (CES) answers' own stream, for the same reason.
    effort_rng: random.Random = field(default_factory=random.Random)
    # The key accounts' plans (objectives, actions, whitespace, reviews): their own stream too.
    plans_rng: random.Random = field(default_factory=random.Random)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, name: str) -> int:
        index = self.counters.get(name, 0)
        if index >= len(self.ids[name]):
            # The reserved range is a bound on the whole demo (not per account); past it, ids would
            # run into the next range and a COPY would fail on a duplicate key far from the cause.
            raise RuntimeError(f"The demo ran out of reserved {name} ids ({len(self.ids[name]):,}).")
        self.counters[name] = index + 1
        return self.ids[name].start + index


def demo_users() -> list[tuple[Any, str]]:
    """Create (or reset) the four demo users; returns (user, password) pairs to print."""
    User = get_user_model()
    result = []
    for username, (first, last), role, password, superuser in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@kam.example"
        user.is_staff = True
        user.is_superuser = superuser
        user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        result.append((user, password))
    return result


def _extra_owners(count: int) -> list[Any]:
    """More account managers for large portfolios (they cannot log in: no usable password)."""
    User = get_user_model()
    group = Group.objects.get(name=roles.ACCOUNT_MANAGER)
    owners = []
    for i in range(count):
        user, created = User.objects.get_or_create(
            username=f"am{i + 3:03d}", defaults={"first_name": "AM", "last_name": f"{i + 3:03d}", "is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(group)
        owners.append(user)
    return owners


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _money(value: float) -> Decimal:
    return Decimal(max(round(value * 100), 0)).scaleb(-2)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def seed_exchange_rates(rng: random.Random, today: dt.date) -> None:
    existing = set(ExchangeRate.objects.values_list("currency", "year"))
    rows = []
    for currency, centre in RATE_CENTRES.items():
        for year in range(today.year - 6, today.year + 2):
            if (currency, year) not in existing:
                drift = 1 + rng.uniform(-0.04, 0.04)
                rows.append(ExchangeRate(currency=currency, year=year, rate_to_base=Decimal(f"{centre * drift:.6f}")))
    ExchangeRate.objects.bulk_create(rows)


def _company_name(rng: random.Random, industry: str, chinese: bool) -> str:
    if chinese:
        return f"{rng.choice(words.CITIES_CN)}{rng.choice(words.BRANDS_CN)}{rng.choice(words.TRADES_CN[industry])}{rng.choice(words.SUFFIX_CN)}"
    return f"{rng.choice(words.BRANDS_EN)} {rng.choice(words.TRADES_EN[industry])} {rng.choice(words.SUFFIX_EN)}"


def _person_name(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return rng.choice(words.SURNAMES_CN) + rng.choice(words.GIVEN_CN)
    return f"{rng.choice(words.FIRST_EN)} {rng.choice(words.LAST_EN)}"


def _make_group(ctx: DemoContext, remaining: int, chunk: DemoChunk) -> None:
    """One group: a root and, for about one group in four, subsidiaries (up to three levels)."""
    rng = ctx.rng
    size_roll = rng.random()
    size = 1 if size_roll < 0.75 else rng.randint(2, 4) if size_roll < 0.95 else rng.randint(5, 9)
    size = min(size, remaining)
    industry = _weighted(rng, INDUSTRY_MIX)
    currency = _weighted(rng, CURRENCY_MIX)
    chinese = currency == "CNY" or rng.random() < 0.3
    owner = rng.choice(ctx.owners)
    root_name = _company_name(rng, industry, chinese)
    # Annual spend in CNY: a heavy-tailed (log-normal) portfolio, as real books of business are.
    group_spend = math.exp(rng.gauss(13.2, 1.25))
    members: list[dict[str, Any]] = []
    for index in range(size):
        account_id = ctx.next_id("account")
        if index == 0:
            parent_id, name = None, root_name
        else:
            parent = members[0] if index < 3 or rng.random() < 0.6 else rng.choice(members[1:])
            parent_id = parent["id"]
            city = rng.choice(words.CITIES_CN if chinese else words.CITIES_EN)
            name = f"{root_name}{city}分公司" if chinese else f"{root_name} ({city})"
        status_roll = rng.random()
        status = (
            AccountStatus.ACTIVE
            if status_roll < 0.86
            else AccountStatus.CHURNED
            if status_roll < 0.95
            else AccountStatus.PROSPECT
        )
        member_currency = currency if rng.random() < 0.9 else _weighted(rng, CURRENCY_MIX)
        rate = 1.0 if member_currency == "CNY" else RATE_CENTRES[member_currency]
        share = 1.0 if size == 1 else (0.5 if index == 0 else 0.5 / (size - 1))
        spend_cny = group_spend * share * rng.uniform(0.6, 1.4)
        spend = spend_cny / rate
        members.append(
            {
                "id": account_id,
                "name": name[:200],
                "external_id": f"DEMO-{account_id:07d}",
                "parent_id": parent_id,
                "owner_id": owner.pk if rng.random() < 0.85 else rng.choice(ctx.owners).pk,
                "industry": industry,
                "region": rng.choice(words.REGIONS_CN) if chinese else rng.choice(words.REGIONS_INTL),
                "currency": member_currency,
                "status": status,
                "credit_rating": _weighted(rng, [("A", 15), ("B", 35), ("C", 30), ("D", 14), ("E", 6)]),
                "payment_terms_days": rng.choice([30, 30, 45, 60, 60, 90]),
                "market_influence": None if rng.random() < 0.08 else rng.randint(1, 5),
                "integration_potential": None if rng.random() < 0.08 else rng.randint(1, 5),
                "relationship_stage": None if rng.random() < 0.1 else rng.randint(1, 5),
                "wallet_estimate_amount": _money(spend * 3 * rng.uniform(1.1, 3.5)),
                # Generation-only attributes (not columns), used for contracts and invoices below.
                "_spend": spend,
                "_chinese": chinese,
                "_payer": _weighted(rng, [(k, int(v[0] * 100)) for k, v in PAYER_PROFILES.items()]),
                "_renewal_talks": False,
                # A customer is billed on one rhythm (monthly, quarterly, …) across its contracts.
                "_billing": _weighted(rng, [(1, 5), (3, 45), (6, 25), (12, 25)]),
                "_margin": rng.uniform(0.12, 0.45),
            }
        )
    chunk.accounts.extend(members)


def _make_contracts(ctx: DemoContext, account: dict[str, Any], chunk: DemoChunk) -> None:
    """Renewal chains from up to five years ago to today; churned accounts' chains stop."""
    rng, today = ctx.rng, ctx.today
    if account["status"] == AccountStatus.PROSPECT:
        return
    lines = 1 if rng.random() < 0.9 else 2
    for line in range(lines):
        start = dt.date(today.year - rng.randint(1, 5), rng.randint(1, 12), 1)
        value = account["_spend"] * (1.0 if lines == 1 else (0.65 if line == 0 else 0.35))
        churned = account["status"] == AccountStatus.CHURNED
        churn_year = today.year - rng.randint(0, 2) if churned else None
        previous: dict[str, Any] | None = None
        while start <= today:
            years = _weighted(rng, [(1, 70), (2, 20), (3, 10)])
            end = _add_months(start, 12 * years) - dt.timedelta(days=1)
            if churned and end >= today:
                break  # a churned account's last contract has ended
            contract_id = ctx.next_id("contract")
            signed = start - dt.timedelta(days=rng.randint(5, 40))
            if previous is not None:
                # Early (most), on time, or late renewals, relative to the previous end date.
                timing = rng.random()
                offset = -rng.randint(1, 75) if timing < 0.7 else 0 if timing < 0.85 else rng.randint(1, 45)
                signed = previous["end_date"] + dt.timedelta(days=offset)
                if signed > today:
                    break  # the renewal has not been signed yet
            contract = {
                "id": contract_id,
                "account_id": account["id"],
                "number": f"C{start.year}-{contract_id:07d}",
                "title": "",
                "start_date": start,
                "end_date": end,
                "annual_value": _money(value),
                "currency": account["currency"],
                "status": ContractStatus.ACTIVE if end >= today else ContractStatus.EXPIRED,
                "renewal_of_id": previous["id"] if previous else None,
                "signed_on": signed,
                "auto_renew": rng.random() < 0.2,
                "is_customised_solution": rng.random() < 0.15,
                "escalator_pct": Decimal("3.00") if years > 1 and rng.random() < 0.3 else Decimal("0"),
                "_billing": account["_billing"],
                "_account": account,
            }
            if previous is not None:
                previous["status"] = ContractStatus.RENEWED
            chunk.contracts.append(contract)
            # Active accounts renew (a lapsed line of a live customer is rare); churned ones stop.
            renew_probability = 0.995 if not churned else {"prompt": 0.93, "average": 0.88, "slow": 0.8}[account["_payer"]]
            if end >= today or (churn_year is not None and end.year >= churn_year) or rng.random() > renew_probability:
                break
            previous = contract
            start = end + dt.timedelta(days=1)
            value *= _weighted(rng, [(rng.uniform(0.78, 0.97), 15), (rng.uniform(0.98, 1.04), 50), (rng.uniform(1.05, 1.4), 35)])
        if _renewal_draft(ctx, account, chunk):
            account["_renewal_talks"] = True


RENEWAL_TALK_DAYS = 180  # §5.2 R5: the longest renewal window (T1)


def _renewal_draft(ctx: DemoContext, account: dict[str, Any], chunk: DemoChunk) -> bool:
    """Most contracts ending within the renewal window already have a draft renewal being negotiated
    (and, in ``_make_meetings``, a recent conversation): renewals in a real book are worked on."""
    rng, today = ctx.rng, ctx.today
    last = chunk.contracts[-1] if chunk.contracts and chunk.contracts[-1]["account_id"] == account["id"] else None
    if (
        last is None
        or account["status"] != AccountStatus.ACTIVE
        or not today <= last["end_date"] <= today + dt.timedelta(days=RENEWAL_TALK_DAYS)
        or rng.random() > 0.97
    ):
        return False
    contract_id = ctx.next_id("contract")
    start = last["end_date"] + dt.timedelta(days=1)
    chunk.contracts.append(
        {
            **last,
            "id": contract_id,
            "number": f"C{start.year}-{contract_id:07d}",
            "start_date": start,
            "end_date": _add_months(start, 12) - dt.timedelta(days=1),
            "status": ContractStatus.DRAFT,
            "renewal_of_id": last["id"],
            "signed_on": None,
        }
    )
    return True


def _units(ctx: DemoContext, account: dict[str, Any]) -> tuple[float, float, bool] | None:
    """(unit price in CNY this year, yearly price change, whole units) of a customer whose
    invoices carry a quantity; None for the others. Drawn once per account."""
    if "_units" not in account:
        rng = ctx.volume_rng
        profile = VOLUME_PROFILES.get(account["industry"])
        if profile is None or rng.random() >= VOLUME_SHARE:
            account["_units"] = None
        else:
            low, high, whole = profile
            # At least some 40 units an invoice, so that whole counts stay close to amount / price.
            rate = 1.0 if account["currency"] == "CNY" else RATE_CENTRES[account["currency"]]
            per_invoice = account["_spend"] * rate * account["_billing"] / 12
            price = min(math.exp(rng.uniform(math.log(low), math.log(high))), per_invoice / 40)
            rise_low, rise_high = _weighted(rng, PRICE_RISE)
            account["_units"] = (price, rng.uniform(rise_low, rise_high), whole)
    return account["_units"]


def _invoice_rows(ctx: DemoContext, chunk: DemoChunk) -> list[tuple]:
    rng, today = ctx.rng, ctx.today
    rows = []
    for contract in chunk.contracts:
        account = contract["_account"]
        months = contract["_billing"]
        if contract["status"] == ContractStatus.DRAFT:
            continue
        if "_delay" not in account:
            account["_delay"] = rng.randint(*PAYER_PROFILES[account["_payer"]][1:])
        low, high = account["_delay"] - DELAY_JITTER, account["_delay"] + DELAY_JITTER
        amount = float(contract["annual_value"]) * months / 12
        units = _units(ctx, account)
        if units is not None:
            price_cny, rise, whole = units
            price_now = price_cny / RATE_CENTRES.get(contract["currency"], 1.0)
        issued = contract["start_date"]
        while issued <= min(contract["end_date"], today):
            invoice_id = ctx.next_id("invoice")
            due = issued + dt.timedelta(days=account["payment_terms_days"])
            paid: dt.date | None = due + dt.timedelta(days=rng.randint(low, high))
            if paid < issued:
                paid = issued
            written_off, written_off_on = Decimal("0"), None
            invoice_amount = _money(amount * rng.uniform(0.97, 1.03))
            if paid > today:
                paid = None
            elif account["_payer"] == "slow" and rng.random() < 0.03:
                # Collection failed: written off 120–240 days after the due date, in full or half (the
                # other half settled that day), so no receivable stays open for years.
                paid = None
                written_off_on = due + dt.timedelta(days=rng.randint(120, 240))
                if written_off_on > today:
                    written_off_on = None
                else:
                    share = rng.choice([1.0, 1.0, 0.5])
                    written_off = invoice_amount if share == 1.0 else _money(float(invoice_amount) * share)
                    paid = None if share == 1.0 else written_off_on
            quantity = None
            if units is not None:
                # The amount at that year's unit price, give or take the product mix.
                price = price_now * (1 + rise) ** (issued.year - today.year) * ctx.volume_rng.uniform(0.98, 1.02)
                count = float(invoice_amount) / price
                quantity = Decimal(max(1, round(count))) if whole else Decimal(f"{count:.3f}")
            rows.append(
                (
                    invoice_id, account["id"], contract["id"], f"INV-{invoice_id:09d}", issued, due,
                    invoice_amount, contract["currency"], _money(float(invoice_amount) * account["_margin"]),
                    quantity, paid, min(written_off, invoice_amount), written_off_on, False,
                )
            )  # fmt: skip
            issued = _add_months(issued, months)
    return rows


INVOICE_COLUMNS = (
    "id", "account_id", "contract_id", "number", "issued_on", "due_on", "amount", "currency", "margin_amount",
    "quantity", "paid_on", "written_off_amount", "written_off_on", "is_disputed",
)  # fmt: skip


KEY_SUPPORT = [(2, 25), (1, 46), (0, 27), (-1, 1), (-2, 1)]
KEY_COVERAGE = [(Coverage.IN_DEPTH, 35), (Coverage.MULTIPLE, 55), (Coverage.BRIEF, 8), (Coverage.NONE, 1), (Coverage.UNKNOWN, 1)]


def _make_contacts(ctx: DemoContext, account: dict[str, Any], chunk: DemoChunk, role_rows: list[tuple]) -> None:
    rng = ctx.rng
    prospect = account["status"] == AccountStatus.PROSPECT and rng.random() < 0.5
    count = rng.randint(1, 2) if prospect else rng.randint(3, 6)
    titles = words.TITLES_CN if account["_chinese"] else words.TITLES_EN
    plan = ["economic_buyer", "coach_champion", "technical_buyer", "user_buyer", "other", "other"][:count]
    if rng.random() < 0.015 and len(plan) > 1:
        plan[0] = "other"  # no identified economic buyer: a red flag the alerts will find
    boss_id = None
    for index, role in enumerate(plan):
        contact_id = ctx.next_id("contact")
        left = role in {"economic_buyer", "coach_champion"} and rng.random() < 0.02
        key = role in {"economic_buyer", "coach_champion", "technical_buyer"}
        influence = {"economic_buyer": 5, "technical_buyer": 4, "coach_champion": 3}.get(role, rng.randint(1, 3))
        chunk.contacts.append(
            {
                "id": contact_id,
                "account_id": account["id"],
                "name": _person_name(rng, account["_chinese"]),
                "email": f"contact{contact_id}@customer{account['id']}.example.com",
                "phone": "",
                "title": rng.choice(titles.get(role, titles["other"])),
                "department": rng.choice(words.DEPARTMENTS),
                "influence": influence,
                # The key players of a served account are mostly well covered and on our side.
                "support": _weighted(rng, KEY_SUPPORT if key else [(2, 15), (1, 35), (0, 35), (-1, 10), (-2, 5)]),
                "coverage": _weighted(rng, KEY_COVERAGE if key else [(Coverage.IN_DEPTH, 15), (Coverage.MULTIPLE, 35), (Coverage.BRIEF, 30), (Coverage.NONE, 10), (Coverage.UNKNOWN, 10)]),
                "political_status": PoliticalStatus.INNER_CIRCLE if influence >= 4 else _weighted(rng, [(PoliticalStatus.POLITICAL_STRUCTURE, 50), (PoliticalStatus.OUTSIDE, 50)]),
                "decision_orientation": rng.choice(["financial", "technical", "relationship", "business"]),
                "reports_to_id": boss_id if index > 0 else None,
                "is_active": not left,
                "left_on": ctx.today - dt.timedelta(days=rng.randint(10, 300)) if left else None,
            }
        )  # fmt: skip
        if index == 0:
            boss_id = contact_id
        if role != "other":
            role_rows.append((contact_id, role))
            if role == "economic_buyer" and rng.random() < 0.3:
                role_rows.append((contact_id, BuyingRoleCode.APPROVER.value))


def _make_meetings(
    ctx: DemoContext, account: dict[str, Any], contacts: list[dict[str, Any]], rows: list[tuple], links: list[tuple]
) -> None:
    rng = ctx.rng
    if account["status"] != AccountStatus.ACTIVE or not contacts:
        return
    big = account["_spend"] * (1 if account["currency"] == "CNY" else RATE_CENTRES[account["currency"]]) > 2_000_000
    for _ in range(rng.randint(2, 8) if big else rng.randint(0, 3)):
        kind = _weighted(
            rng,
            [
                (MeetingKind.QBR, 15 if big else 2),
                (MeetingKind.EBR, 4 if big else 1),
                (MeetingKind.EXECUTIVE, 10),
                (MeetingKind.MEETING, 35),
                (MeetingKind.CALL, 30),
                (MeetingKind.VISIT, 10),
            ],
        )
        when = ctx.now - dt.timedelta(days=rng.randint(1, 720), hours=rng.randint(0, 8))
        title = rng.choice(words.MEETING_TITLES[kind]).format(q=(when.month - 1) // 3 + 1, y=when.year)
        meeting_id = ctx.next_id("meeting")
        rows.append((meeting_id, account["id"], kind, when, title))
        for contact in rng.sample(contacts, k=min(len(contacts), rng.randint(1, 2))):
            links.append((meeting_id, contact["id"]))
    if account["_renewal_talks"] and rng.random() < 0.97:
        when = ctx.now - dt.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 8))
        meeting_id = ctx.next_id("meeting")
        rows.append(
            (
                meeting_id,
                account["id"],
                MeetingKind.MEETING,
                when,
                rng.choice(words.MEETING_TITLES[MeetingKind.MEETING]).format(q=(when.month - 1) // 3 + 1, y=when.year),
            )
        )
        links.append((meeting_id, contacts[0]["id"]))


def influence_links_extend(*, chunk: DemoChunk, ctx: DemoContext) -> dict[str, int]:
    """A few influence and conflict lines per account (DOMAIN.md §6.1–6.2), from the contacts' roles as
    ``_make_contacts`` lays them out (buyer, champion, technical buyer, user buyer, others)."""
    # A copy of the demo's stream: deterministic per seed, and the other demo values stay as they were.
    rng = random.Random()
    rng.setstate(ctx.rng.getstate())
    by_account: dict[int, list[dict[str, Any]]] = {}
    for contact in chunk.contacts:
        if contact["is_active"]:
            by_account.setdefault(contact["account_id"], []).append(contact)
    rows = []
    for contacts in by_account.values():
        if len(contacts) < 3:
            continue
        ids = [c["id"] for c in contacts]
        if rng.random() < 0.6:  # the champion has the economic buyer's ear
            rows.append((ids[1], ids[0], InfluenceKind.INFLUENCES.value))
        if rng.random() < 0.3:
            rows.append((ids[2], ids[0], InfluenceKind.INFLUENCES.value))
        if len(ids) > 3 and rng.random() < 0.25:  # technical and user buyers pulling apart
            rows.append((ids[2], ids[3], InfluenceKind.CONFLICTS.value))
    count = bulk_insert(InfluenceLink, ("from_contact_id", "to_contact_id", "kind"), rows)
    return {"influence_links": count}


ACCOUNT_COLUMNS = (
    "id", "name", "external_id", "parent_id", "owner_id", "industry", "region", "currency", "status", "credit_rating",
    "payment_terms_days", "market_influence", "integration_potential", "relationship_stage", "wallet_estimate_amount",
)  # fmt: skip
CONTACT_COLUMNS = (
    "id", "account_id", "name", "email", "phone", "title", "department", "influence", "support", "coverage",
    "political_status", "decision_orientation", "reports_to_id", "is_active", "left_on",
)  # fmt: skip
CONTRACT_COLUMNS = (
    "id", "account_id", "number", "title", "start_date", "end_date", "annual_value", "currency", "status",
    "renewal_of_id", "signed_on", "auto_renew", "is_customised_solution", "escalator_pct",
)  # fmt: skip
MEETING_COLUMNS = ("id", "account_id", "kind", "occurred_at", "title")


def _write_chunk(
    ctx: DemoContext, chunk: DemoChunk, extensions: list[Callable[..., dict[str, int]]], totals: dict[str, int]
) -> None:
    rng = ctx.rng
    role_rows: list[tuple] = []
    meeting_rows: list[tuple] = []
    meeting_links: list[tuple] = []
    team_rows: list[tuple] = []
    contacts_by_account: dict[int, list[dict[str, Any]]] = {}
    for account in chunk.accounts:
        before = len(chunk.contacts)
        _make_contacts(ctx, account, chunk, role_rows)
        contacts_by_account[account["id"]] = [c for c in chunk.contacts[before:] if c["is_active"]]
        _make_contracts(ctx, account, chunk)
        _make_meetings(ctx, account, contacts_by_account[account["id"]], meeting_rows, meeting_links)
        # Cross-department teams on the larger accounts; the second demo manager serves on some of
        # the first one's accounts, so team-based visibility shows in the demo.
        if rng.random() < 0.25:
            team_rows.append((ctx.next_id("team"), account["id"], ctx.executive.pk, TeamRole.EXECUTIVE_SPONSOR, ctx.today))
            helper = rng.choice(ctx.owners)
            if helper.pk != account["owner_id"]:
                team_rows.append((ctx.next_id("team"), account["id"], helper.pk, TeamRole.SERVICE_LEAD, ctx.today))
    invoice_rows = _invoice_rows(ctx, chunk)
    with transaction.atomic():
        totals["accounts"] += bulk_insert(
            Account, ACCOUNT_COLUMNS, (tuple(a[c] for c in ACCOUNT_COLUMNS) for a in chunk.accounts)
        )
        totals["contacts"] += bulk_insert(
            Contact, CONTACT_COLUMNS, (tuple(c[k] for k in CONTACT_COLUMNS) for c in chunk.contacts)
        )
        bulk_insert(Contact.buying_roles.through, ("contact_id", "buyingrole_id"), role_rows)
        totals["contracts"] += bulk_insert(
            Contract, CONTRACT_COLUMNS, (tuple(c[k] for k in CONTRACT_COLUMNS) for c in chunk.contracts)
        )
        totals["invoices"] += bulk_insert(Invoice, INVOICE_COLUMNS, invoice_rows)
        totals["meetings"] += bulk_insert(Meeting, MEETING_COLUMNS, meeting_rows)
        bulk_insert(Meeting.contacts.through, ("meeting_id", "contact_id"), meeting_links)
        bulk_insert(AccountTeamMember, ("id", "account_id", "user_id", "role", "since"), team_rows)
        for extend in extensions:
            for key, value in extend(chunk=chunk, ctx=ctx).items():
                totals[key] = totals.get(key, 0) + value


def _extension_models() -> list[Any]:
    """Models the extensions write with explicit ids; their sequences are moved past them."""
    from django.apps import apps

    return [m for app in ("service_plans", "tiering", "reports") for m in apps.get_app_config(app).get_models()]


def demo_present() -> bool:
    return Account.objects.exists()


def seed_demo(*, accounts: int, seed: int = 42, today: dt.date | None = None, bar: bool = False) -> dict[str, int]:
    """Generate ``accounts`` accounts and everything around them. Returns row counts."""
    if not settings.KAM_DEMO_ALLOWED:
        raise RuntimeError("Demo data is disabled here (KAM_DEMO_ALLOWED is off, as it is in production).")
    rng = random.Random(seed)
    today = today or timezone.localdate()
    now = timezone.make_aware(dt.datetime.combine(today, dt.time(9, 0)))
    users = [user for user, _ in demo_users()]
    owners = [u for u in users if u.groups.filter(name=roles.ACCOUNT_MANAGER).exists()]
    owners += _extra_owners(max(0, accounts // 1500 - len(owners)))
    executive = next(u for u in users if u.groups.filter(name=roles.EXECUTIVE).exists())
    seed_exchange_rates(rng, today)
    # Upper bounds on the rows per model, reserved as id ranges so that rows can point at each
    # other before they are written.
    ids = {
        "account": next_ids(Account, accounts),
        "contact": next_ids(Contact, accounts * 6),
        "contract": next_ids(Contract, accounts * 16),
        "invoice": next_ids(Invoice, accounts * 16 * 24),
        "meeting": next_ids(Meeting, accounts * 8),
        "team": next_ids(AccountTeamMember, accounts * 2),
    }
    ctx = DemoContext(
        rng=rng,
        today=today,
        now=now,
        owners=owners,
        executive=executive,
        ids=ids,
        volume_rng=random.Random(f"volume-{seed}"),
        effort_rng=random.Random(f"effort-{seed}"),
        plans_rng=random.Random(f"plans-{seed}"),
    )
    extensions = [import_string(path) for path in EXTENSIONS]
    totals = {"accounts": 0, "contacts": 0, "contracts": 0, "invoices": 0, "meetings": 0}
    progress = Progress(total=accounts, description="Seeding accounts", bar=bar)
    made = 0
    while made < accounts:
        chunk = DemoChunk()
        while len(chunk.accounts) < CHUNK_ACCOUNTS and made + len(chunk.accounts) < accounts:
            _make_group(ctx, accounts - made - len(chunk.accounts), chunk)
        _write_chunk(ctx, chunk, extensions, totals)
        made += len(chunk.accounts)
        progress.advance(len(chunk.accounts))
    progress.close()
    with transaction.atomic():
        hierarchy_rebuild()
    for model in (Account, Contact, Contract, Invoice, Meeting, AccountTeamMember, *_extension_models()):
        reset_sequence(model)
    # Fresh tables have no planner statistics; without them the first portfolio jobs pick
    # nested-loop plans that are orders of magnitude slower.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return totals
