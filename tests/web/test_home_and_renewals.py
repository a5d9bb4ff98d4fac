"""Home page sections and the renewal pipeline: visible data only, right figures, constant queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from service_plans.models import ServiceRequest
from tests.factories import AccountFactory, ContractFactory, MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
RENEWALS = reverse("web:renewal_pipeline")


def _mine_and_theirs(owner, other, n, today):
    now = timezone.now()
    for i in range(n):
        for who, label in ((owner, "Mine"), (other, "Theirs")):
            account = AccountFactory(owner=who, name=f"{label} {i}")
            contract = ContractFactory(
                account=account,
                number=f"{label}-{i}",
                start_date=today - dt.timedelta(days=300),
                end_date=today + dt.timedelta(days=20 + 40 * (i % 5)),
            )
            services.contract_update(contract=contract, actor=who, title=f"{label} edited {i}")
            MeetingFactory(account=account, title=f"{label} past {i}", occurred_at=now - dt.timedelta(days=i + 1))
            MeetingFactory(account=account, title=f"{label} next {i}", occurred_at=now + dt.timedelta(days=i + 1))
            ServiceRequest.objects.create(
                account=account,
                title=f"{label} late {i}",
                opened_at=now - dt.timedelta(hours=9),
                first_response_due_at=now - dt.timedelta(hours=1),
            )
            ServiceRequest.objects.create(
                account=account,
                title=f"{label} fine {i}",
                opened_at=now - dt.timedelta(hours=9),
                first_response_due_at=now + dt.timedelta(hours=1),
            )
            TeamMemberFactory(account=account)


def test_home_shows_my_renewals_sla_breaches_meetings_and_changes(manager_client, account_manager, other_manager):
    today = timezone.localdate()
    _mine_and_theirs(account_manager, other_manager, 2, today)
    response = manager_client.get(reverse("home"))
    assert response.status_code == 200
    page = response.context["page"]
    assert [sr.title for sr in page.breaching] == ["Mine late 0", "Mine late 1"] and page.breaching_count == 2
    assert [m.title for m in page.upcoming_meetings] == ["Mine next 0", "Mine next 1"]
    assert {c.object_label for c in page.changes} == {"Mine-0", "Mine-1", "Mine 0", "Mine 1"}
    assert any(f.new == "Mine edited 1" for c in page.changes for f in c.fields)
    assert response.context["renewals_count"] == 2
    assert page.renewal_values == {c.pk: Decimal("1000000.00") for c in response.context["renewals"]}
    assert "Theirs" not in response.text


@pytest.mark.parametrize("n", [2, 10])
def test_home_query_count_is_constant(manager_client, account_manager, other_manager, n, django_assert_num_queries):
    _mine_and_theirs(account_manager, other_manager, n, timezone.localdate())
    # session, user, groups; 5 summary queries; rates; SLA breaches list + bounded count; upcoming meetings;
    # recent changes (4 models × 2)
    with django_assert_num_queries(20):
        assert manager_client.get(reverse("home")).status_code == 200


def test_renewal_windows_and_list(manager_client, account_manager, other_manager, usd_rate):
    today = timezone.localdate()
    mine = AccountFactory(owner=account_manager, name="Mine")
    theirs = AccountFactory(owner=other_manager, name="Theirs")
    served = AccountFactory(owner=other_manager, name="Served")
    TeamMemberFactory(account=served, user=account_manager)
    start = today - dt.timedelta(days=300)
    ContractFactory(
        account=mine, number="D10", start_date=start, end_date=today + dt.timedelta(days=10), annual_value=Decimal("100")
    )
    ContractFactory(
        account=mine,
        number="D45",
        start_date=start,
        end_date=today + dt.timedelta(days=45),
        annual_value=Decimal("10"),
        currency="USD",
    )
    ContractFactory(
        account=served, number="D100", start_date=start, end_date=today + dt.timedelta(days=100), annual_value=Decimal("1")
    )
    ContractFactory(account=mine, number="D300", start_date=start, end_date=today + dt.timedelta(days=300))
    ContractFactory(account=theirs, number="T10", start_date=start, end_date=today + dt.timedelta(days=10))
    MeetingFactory(account=mine, occurred_at=timezone.now() - dt.timedelta(days=3))
    response = manager_client.get(RENEWALS + "?within=180")
    assert response.status_code == 200
    windows = {w.days: (w.count, w.value) for w in response.context["windows"]}
    assert windows == {30: (1, Decimal("100")), 60: (2, Decimal("170")), 90: (2, Decimal("170")), 180: (3, Decimal("171"))}
    rows = response.context["page"].rows
    assert [c.number for c in rows] == ["D10", "D45", "D100"]
    assert rows[1].base_value == Decimal("70") and rows[0].days_left == 10
    assert rows[0].last_activity_at is not None and rows[2].last_activity_at is None
    assert "T10" not in response.text
    only_usd = manager_client.get(RENEWALS + "?within=180&currency=USD")
    assert [c.number for c in only_usd.context["page"].rows] == ["D45"]
    default = manager_client.get(RENEWALS)
    assert [c.number for c in default.context["page"].rows] == ["D10", "D45"]


def test_renewals_refuse_a_bad_window_or_filter(manager_client, account_manager):
    response = manager_client.get(RENEWALS + "?within=45")
    assert response.status_code == 400 and "30, 60, 90 or 180" in response.text
    assert manager_client.get(RENEWALS + "?within=soon").status_code == 400
    assert manager_client.get(RENEWALS + "?within=90&status=bogus").status_code == 400
    assert manager_client.get(RENEWALS + "?within=90&cursor=zzz").status_code == 400


@pytest.mark.parametrize("n", [2, 10])
def test_renewals_query_count_is_constant(manager_client, account_manager, other_manager, n, django_assert_num_queries):
    _mine_and_theirs(account_manager, other_manager, n, timezone.localdate())
    # session, user, groups; rates; windows; the page; bounded count
    with django_assert_num_queries(7):
        response = manager_client.get(RENEWALS + "?within=180&page_size=25")
    assert len(response.context["page"].rows) == n


def test_login_required(client):
    assert client.get(RENEWALS).status_code == 302
    assert client.get(reverse("home")).status_code == 302
