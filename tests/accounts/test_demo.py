"""seed_demo builds a coherent portfolio, the same for the same seed, once."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, Q

from accounts.demo import seed_demo
from accounts.models import Account, AccountAncestry, Contact, Contract, ExchangeRate, Invoice, Meeting

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for model, fields in [
        (Account, ("id", "name", "parent_id", "owner__username", "currency", "status", "credit_rating")),
        (Contract, ("id", "number", "start_date", "end_date", "annual_value", "renewal_of_id", "signed_on")),
        (Invoice, ("id", "number", "issued_on", "amount", "quantity", "paid_on", "written_off_amount")),
        (Contact, ("id", "name", "reports_to_id", "is_active")),
    ]:
        for row in model.objects.order_by("id").values_list(*fields):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _seed_and_fingerprint(seed: int) -> str:
    with transaction.atomic():
        seed_demo(accounts=120, seed=seed, today=TODAY)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return fingerprint


def test_same_seed_same_data_other_seed_other_data():
    first = _seed_and_fingerprint(7)
    assert first == _seed_and_fingerprint(7)
    assert first != _seed_and_fingerprint(8)


@pytest.fixture
def demo():
    return seed_demo(accounts=400, seed=3, today=TODAY)


def test_counts_are_returned_and_match_the_tables(demo):
    assert demo["accounts"] == Account.objects.count() == 400
    assert demo["contracts"] == Contract.objects.count()
    assert demo["invoices"] == Invoice.objects.count()
    assert demo["contacts"] == Contact.objects.count()
    assert demo["meetings"] == Meeting.objects.count()
    assert Contract.objects.count() > 2 * 400
    assert Invoice.objects.count() > 8 * 400


def test_groups_have_roots_and_a_complete_closure(demo):
    assert not Account.objects.filter(group_root__isnull=True).exists()
    assert Account.objects.filter(parent__isnull=False).count() > 20
    assert AccountAncestry.objects.filter(depth=0).count() == 400
    # Every parent link appears at depth 1.
    assert AccountAncestry.objects.filter(depth=1).count() == Account.objects.filter(parent__isnull=False).count()
    assert not Account.objects.filter(parent__isnull=False, group_root=F("id")).exists()


def test_contracts_form_renewal_chains_with_expansion_downsell_and_churn(demo):
    renewals = Contract.objects.filter(renewal_of__isnull=False).exclude(status="draft").select_related("renewal_of")
    assert renewals.count() > 200
    for renewal in renewals:
        assert renewal.start_date == renewal.renewal_of.end_date + dt.timedelta(days=1)
        assert renewal.renewal_of.status == "renewed"
    assert any(r.annual_value > r.renewal_of.annual_value for r in renewals)
    assert any(r.annual_value < r.renewal_of.annual_value for r in renewals)
    assert any(r.signed_on < r.renewal_of.end_date for r in renewals)  # early renewals
    assert any(r.signed_on > r.renewal_of.end_date for r in renewals)  # late renewals
    churned = Account.objects.filter(status="churned")
    assert churned.exists()
    assert not Contract.objects.filter(account__in=churned, end_date__gte=TODAY).exists()
    assert not Contract.objects.filter(account__status="prospect").exists()
    assert Contract.objects.filter(start_date__year__lte=TODAY.year - 4).exists()  # 4–5 years of history


def test_renewals_near_their_end_are_mostly_being_negotiated(demo):
    """Contracts ending within 180 days mostly have a draft renewal, starting the day after they end."""
    ending = Contract.objects.filter(
        account__status="active", status="active", end_date__gte=TODAY, end_date__lte=TODAY + dt.timedelta(days=180)
    )
    drafts = Contract.objects.filter(status="draft").select_related("renewal_of")
    assert drafts.exists()
    for draft in drafts:
        assert draft.start_date == draft.renewal_of.end_date + dt.timedelta(days=1)
        assert draft.signed_on is None and not draft.invoices.exists()
    assert drafts.count() >= 0.8 * ending.count()


def test_invoices_are_within_contracts_with_delays_and_write_offs(demo):
    assert not Invoice.objects.filter(issued_on__gt=TODAY).exists()
    assert not Invoice.objects.filter(
        Q(issued_on__lt=F("contract__start_date")) | Q(issued_on__gt=F("contract__end_date"))
    ).exists()
    assert Invoice.objects.filter(paid_on__gt=F("due_on")).exists()
    assert Invoice.objects.filter(paid_on__lte=F("due_on")).exists()
    assert Invoice.objects.filter(written_off_amount__gt=0).exists()
    assert Invoice.objects.filter(paid_on__isnull=True, written_off_amount=0).exists()  # open receivables


def test_product_customers_invoices_carry_quantities_that_feed_the_volume_alert(demo):
    from django.utils import timezone

    from service_plans.alerts.rules import Context, load_settings, r1_purchase_drop

    invoices = Invoice.objects.count()
    counted = Invoice.objects.filter(quantity__isnull=False)
    assert 0.3 * invoices < counted.count() < 0.75 * invoices
    assert not counted.filter(account__industry__in=["finance", "construction", "public", "education", "other"]).exists()
    assert not counted.filter(quantity__lte=0).exists()
    # A customer's invoices all carry a quantity, or none do; its unit price moves a little a year.
    per_account = Invoice.objects.values("account_id").annotate(n=Count("id"), counted=Count("quantity")).filter(counted__gt=0)
    assert not per_account.exclude(counted=F("n")).exists()
    price = F("amount") / F("quantity")
    spread = (
        counted.filter(issued_on__year=TODAY.year - 1)
        .values("account_id", "currency")
        .annotate(low=Min(price), high=Max(price))
        .filter(high__gt=F("low") * Decimal("1.08"))
    )
    assert not spread.exists(), list(spread[:5])
    now = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(9)))
    hits = r1_purchase_drop(Context(today=TODAY, now=now, settings=load_settings(), qbr_months={}))
    assert {"revenue", "volume"} <= {hit.evidence.get("measure") for hit in hits}


def test_contacts_have_roles_and_some_champions_left(demo):
    assert Contact.objects.filter(buying_roles__code="economic_buyer").exists()
    assert Contact.objects.filter(buying_roles__code="coach_champion", is_active=False, left_on__isnull=False).exists()
    with_boss = Contact.objects.filter(reports_to__isnull=False)
    assert with_boss.exists()
    assert not with_boss.exclude(reports_to__account=F("account")).exists()


def test_currencies_all_have_exchange_rates(demo):
    currencies = set(Account.objects.values_list("currency", flat=True)) - {"CNY"}
    assert currencies
    for currency in currencies:
        years = set(ExchangeRate.objects.filter(currency=currency).values_list("year", flat=True))
        assert set(range(TODAY.year - 5, TODAY.year + 1)) <= years


def test_demo_users_and_team_memberships(demo):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.annotate(n=Count("owned_accounts"))
    assert users.get(username="manager1").n > 0
    assert users.get(username="manager2").n > 0
    assert users.get(username="admin").is_superuser
    assert users.get(username="exec").check_password("kam-demo-exec")


def test_command_is_idempotent_with_if_empty(capsys):
    call_command("seed_demo", "--accounts", "30", "--no-progress", "--today", "2026-06-30")
    first = Account.objects.count()
    call_command("seed_demo", "--accounts", "30", "--no-progress", "--if-empty")
    out = capsys.readouterr().out
    assert Account.objects.count() == first == 30
    assert "already present" in out
    assert "manager1   password: kam-demo-manager1" in out


def test_service_delivery_rows_come_with_the_demo(demo):
    from service_plans.models import Project, ServiceRequest, SurveyResponse

    assert demo["survey_responses"] == SurveyResponse.objects.count() > 100
    assert SurveyResponse.objects.filter(kind="nps", respondent_role="economic_buyer").exists()
    assert SurveyResponse.objects.filter(kind="csat").exists()
    assert SurveyResponse.objects.filter(kind="ces", score__gte=1, score__lte=7).exists()
    assert demo["service_requests"] == ServiceRequest.objects.count() > 100
    assert not ServiceRequest.objects.filter(first_response_due_at__isnull=True).exists()
    assert Project.objects.filter(kind="customised_solution").exists()


def test_influence_and_conflict_lines_come_with_the_demo(demo):
    from accounts.models import InfluenceLink

    assert demo["influence_links"] == InfluenceLink.objects.count() > 100
    assert set(InfluenceLink.objects.values_list("kind", flat=True)) == {"influences", "conflicts"}
    # between two active contacts of the same account, as the services require
    assert not InfluenceLink.objects.exclude(from_contact__account_id=F("to_contact__account_id")).exists()
    assert not InfluenceLink.objects.filter(Q(from_contact__is_active=False) | Q(to_contact__is_active=False)).exists()
