"""Small, explicit datasets for the KPI engine tests, built the way the app builds data (services)
except where a test needs hundreds of accounts (``bulk_groups``: COPY and one hierarchy rebuild)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from accounts.hierarchy import hierarchy_rebuild
from accounts.models import Account, Invoice
from kam import roles
from kam.bulk import bulk_insert, next_ids, reset_sequence
from reports.models import KpiValue
from reports.services import kpis_recompute
from service_plans.models import Project, ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ContractFactory, ExchangeRateFactory, InvoiceFactory, UserFactory

D = Decimal
_numbers = itertools.count(1)


def owner(username: str) -> Any:
    # An existing user as it is: the factory would reset its password (and log out its sessions).
    existing = get_user_model().objects.filter(username=username).first()
    return existing or UserFactory(username=username, role=roles.ACCOUNT_MANAGER)


def account(
    *,
    owner_name: str = "am_a",
    region: str = "East China",
    tier: str = "",
    parent: Account | None = None,
    currency: str = "CNY",
    name: str | None = None,
) -> Account:
    created = AccountFactory(
        owner=owner(owner_name), region=region, currency=currency, parent=parent, name=name or f"Account {next(_numbers):05d}"
    )
    if tier:
        set_tier(created, tier)
    return created


def set_tier(target: Account | int, tier: str) -> None:
    # Tiers are written by the tiering app only; tests put them in place directly.
    Account.objects.filter(pk=getattr(target, "pk", target)).update(tier=tier)


def contract(
    acc: Account,
    start: str,
    end: str,
    value: Any,
    *,
    renewal_of: Any = None,
    signed_on: str | None = None,
    currency: str = "CNY",
    status: str = "active",
    customised: bool = False,
    auto_renew: bool = False,
    notice_on: str | None = None,
) -> Any:
    return ContractFactory(
        auto_renew=auto_renew,
        notice_on=dt.date.fromisoformat(notice_on) if notice_on else None,
        account=acc,
        start_date=dt.date.fromisoformat(start),
        end_date=dt.date.fromisoformat(end),
        annual_value=D(value),
        currency=currency,
        status=status,
        renewal_of=renewal_of,
        signed_on=dt.date.fromisoformat(signed_on) if signed_on else None,
        is_customised_solution=customised,
    )


def invoice(
    acc: Account,
    issued: str,
    amount: Any,
    *,
    due: str | None = None,
    paid: str | None = None,
    margin: Any = None,
    currency: str = "CNY",
    written_off: Any = 0,
    written_off_on: str | None = None,
    disputed: bool = False,
) -> Any:
    issued_on = dt.date.fromisoformat(issued)
    return InvoiceFactory(
        account=acc,
        issued_on=issued_on,
        due_on=dt.date.fromisoformat(due) if due else issued_on + dt.timedelta(days=30),
        paid_on=dt.date.fromisoformat(paid) if paid else None,
        amount=D(amount),
        margin_amount=D(margin) if margin is not None else None,
        currency=currency,
        written_off_amount=D(written_off),
        written_off_on=dt.date.fromisoformat(written_off_on) if written_off_on else None,
        is_disputed=disputed,
    )


def rate(currency: str, year: int, value: Any) -> Any:
    return ExchangeRateFactory(currency=currency, year=year, rate_to_base=D(value))


def moment(text: str) -> dt.datetime:
    """An aware datetime in the company time zone from 'YYYY-MM-DD HH:MM'."""
    return timezone.make_aware(dt.datetime.fromisoformat(text))


def survey(acc: Account, kind: str, score: int, when: str, role: str = "") -> SurveyResponse:
    return SurveyResponse.objects.create(account=acc, kind=kind, score=score, respondent_role=role, responded_at=moment(when))


def request(acc: Account, opened: str, **times: str | None) -> ServiceRequest:
    return ServiceRequest.objects.create(
        account=acc, opened_at=moment(opened), **{k: moment(v) if v else None for k, v in times.items()}
    )


def project(acc: Account, kind: str, started: str, *, status: str = "active", ended: str | None = None) -> Project:
    return Project.objects.create(
        account=acc,
        name=f"{kind} {next(_numbers)}",
        kind=kind,
        status=status,
        started_on=dt.date.fromisoformat(started),
        ended_on=dt.date.fromisoformat(ended) if ended else None,
    )


def bulk_groups(
    revenues: list[Any],
    *,
    issued: str,
    owners: list[Any],
    regions: list[str],
    tiers: list[str] | None = None,
    margins: list[Any] | None = None,
) -> list[int]:
    """One single-account group per revenue, each with one invoice issued on ``issued``;
    owners, regions and tiers assigned round-robin. Returns the account ids."""
    ids = next_ids(Account, len(revenues))
    rows = []
    for i, account_id in enumerate(ids):
        rows.append(
            (
                account_id,
                f"Bulk {account_id}",
                owners[i % len(owners)].pk,
                regions[i % len(regions)],
                "CNY",
                "active",
                (tiers or [""])[i % len(tiers or [""])],
            )
        )
    bulk_insert(Account, ("id", "name", "owner_id", "region", "currency", "status", "tier"), rows)
    reset_sequence(Account)
    hierarchy_rebuild()
    issued_on = dt.date.fromisoformat(issued)
    invoice_ids = next_ids(Invoice, len(revenues))
    bulk_insert(
        Invoice,
        ("id", "account_id", "number", "issued_on", "due_on", "amount", "currency", "margin_amount"),
        [
            (
                invoice_id,
                account_id,
                f"BULK-{invoice_id}",
                issued_on,
                issued_on + dt.timedelta(days=30),
                D(amount),
                "CNY",
                D(margins[i]) if margins else None,
            )
            for i, (invoice_id, account_id, amount) in enumerate(zip(invoice_ids, ids, revenues, strict=True))
        ],
    )
    reset_sequence(Invoice)
    return list(ids)


def run(periods: list[str] | None, as_of: str, **kwargs: Any) -> Any:
    return kpis_recompute(periods=periods, as_of=dt.date.fromisoformat(as_of), **kwargs)


def value(code: str, period: str, scope: str = "company") -> KpiValue:
    return KpiValue.objects.get(code=code, period=period, scope=scope)


def values(period: str, scope: str = "company") -> dict[str, KpiValue]:
    return {v.code: v for v in KpiValue.objects.filter(period=period, scope=scope)}


def snapshot() -> dict[tuple[str, str, str], tuple[Any, ...]]:
    return {
        (v.code, v.period, v.scope): (v.value, v.numerator, v.denominator, v.reason, v.run_id) for v in KpiValue.objects.all()
    }


def scope_values(code: str, period: str, prefix: str) -> list[KpiValue]:
    return list(KpiValue.objects.filter(Q(scope__startswith=prefix), code=code, period=period))


def bulk_portfolio(count: int, *, owners: list[Any], regions: list[str], tiers: list[str]) -> list[int]:
    """``count`` groups with a contract, an invoice, survey answers, a service request and a project
    each, so that every KPI family has rows to read."""
    from accounts.models import Contract

    ids = bulk_groups([100_000 + i for i in range(count)], issued="2025-02-10", owners=owners, regions=regions, tiers=tiers)
    contract_ids = next_ids(Contract, count)
    bulk_insert(
        Contract,
        ("id", "account_id", "number", "start_date", "end_date", "annual_value", "currency", "status", "signed_on"),
        [
            (
                cid,
                aid,
                f"BULK-C-{cid}",
                dt.date(2024, 7, 1),
                dt.date(2025, 6, 30),
                D(50_000),
                "CNY",
                "active",
                dt.date(2024, 6, 1),
            )
            for cid, aid in zip(contract_ids, ids, strict=True)
        ],
    )
    reset_sequence(Contract)
    when = moment("2025-02-11 10:00")
    for kind, score in (("nps", 9), ("csat", 4)):
        SurveyResponse.objects.bulk_create(
            SurveyResponse(account_id=aid, kind=kind, score=score, respondent_role="economic_buyer", responded_at=when)
            for aid in ids
        )
    ServiceRequest.objects.bulk_create(
        ServiceRequest(
            account_id=aid,
            opened_at=when,
            first_response_at=when + dt.timedelta(hours=1),
            first_response_due_at=when + dt.timedelta(hours=2),
        )
        for aid in ids
    )
    Project.objects.bulk_create(
        Project(account_id=aid, name="P", kind="customised_solution", status="active", started_on=dt.date(2025, 1, 5))
        for aid in ids
    )
    return ids
