"""The account page: every section's figures, visibility, charts' data, constant query count."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Account
from service_plans.models import ServiceRequest
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    InvoiceFactory,
    TeamMemberFactory,
)
from tests.web.conftest import build_account, ensure_buying_roles

pytestmark = pytest.mark.django_db


def _url(account):
    return reverse("web:account_detail", args=[account.pk])


def _json(response, element_id):
    match = re.search(rf'<script nonce="[^"]+" id="{element_id}" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, f"no data block {element_id}"
    return json.loads(match.group(1))


def test_outsider_gets_404_for_the_account_and_a_subsidiary(client, other_manager, account_manager):
    account = build_account(account_manager, n=1)
    client.force_login(other_manager)
    assert client.get(_url(account)).status_code == 404
    assert client.get(_url(account.children.first())).status_code == 404


def test_team_member_and_executive_see_the_page(client, account_manager, other_manager, executive):
    account = AccountFactory(owner=account_manager)
    TeamMemberFactory(account=account, user=other_manager)
    for user in (other_manager, executive):
        client.force_login(user)
        assert client.get(_url(account)).status_code == 200


def test_header_shows_dashes_when_tiering_has_not_run(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_client.get(_url(account))
    text = response.text
    assert re.search(r'id="header-value-score">—<', text)
    assert re.search(r'id="header-tier"><span class="text-secondary">—</span>', text)
    Account.objects.filter(pk=account.pk).update(tier="T1", value_score=Decimal("81.5"), health_band="green", health_score=80)
    text = manager_client.get(_url(account)).text
    assert re.search(r'id="header-value-score">81.5<', text)
    assert "T1 Strategic" in text and "kam-band-green" in text


def test_group_rollups_convert_to_the_base_currency(manager_client, account_manager, usd_rate):
    today = timezone.localdate()
    root = AccountFactory(owner=account_manager, name="Root")
    child = AccountFactory(owner=account_manager, name="Child", parent=root, currency="USD")
    grandchild = AccountFactory(owner=account_manager, name="Grandchild", parent=child)
    active = {"start_date": today - dt.timedelta(days=10), "end_date": today + dt.timedelta(days=100)}
    ContractFactory(account=root, annual_value=Decimal("100"), **active)
    ContractFactory(account=child, annual_value=Decimal("10"), currency="USD", **active)
    ContractFactory(account=grandchild, annual_value=Decimal("1"), **active)
    ContractFactory(account=grandchild, annual_value=Decimal("999"), status="draft", **active)  # drafts are not ARR
    InvoiceFactory(account=grandchild, amount=Decimal("5"), issued_on=today - dt.timedelta(days=30), due_on=today)
    InvoiceFactory(account=grandchild, amount=Decimal("7"), issued_on=today - dt.timedelta(days=400), due_on=today)
    page = manager_client.get(_url(root)).context["page"]
    nodes = {n.account.name: n for n in page.hierarchy.nodes}
    assert [n.account.name for n in page.hierarchy.nodes] == ["Root", "Child", "Grandchild"]
    assert nodes["Root"].arr == Decimal("171") and nodes["Child"].arr == Decimal("71") and nodes["Grandchild"].arr == 1
    assert nodes["Root"].revenue_t12m == Decimal("5")
    # The child's page lists its ancestors as a breadcrumb and rolls up only its own subtree.
    child_page = manager_client.get(_url(child)).context["page"]
    assert [a.name for a in child_page.hierarchy.ancestors] == ["Root"]
    assert [n.account.name for n in child_page.hierarchy.nodes] == ["Child", "Grandchild"]


def test_a_missing_exchange_rate_is_shown_not_zeroed(manager_client, account_manager):
    today = timezone.localdate()
    services.exchange_rate_set(currency="EUR", year=today.year - 3, rate_to_base=Decimal("7.8"))
    account = AccountFactory(owner=account_manager)
    ContractFactory(
        account=account, currency="EUR", start_date=today - dt.timedelta(days=5), end_date=today + dt.timedelta(days=5)
    )
    response = manager_client.get(_url(account))
    assert response.context["page"].hierarchy.nodes[0].arr is None
    assert f"EUR {today.year}" in response.text and 'id="missing-rates"' in response.text


def test_stakeholder_map_and_red_flags(manager_client, account_manager):
    ensure_buying_roles()
    account = AccountFactory(owner=account_manager)
    boss = ContactFactory(account=account, name="Boss", coverage="in_depth", political_status="inner_circle", support=-1)
    services.contact_update(contact=boss, buying_roles=["economic_buyer"])
    ContactFactory(account=account, name="Report", reports_to=boss, coverage="brief")
    response = manager_client.get(_url(account))
    flags = [f.value for f in response.context["page"].stakeholders.red_flags]
    assert flags == ["no_coach", "economic_buyer_unsupportive", "single_threaded"]
    assert 'data-flag="no_coach"' in response.text
    chart = response.context["page"].stakeholders.chart
    assert [n.contact.name for n in chart] == ["Boss"] and [c.contact.name for c in chart[0].children] == ["Report"]


@time_machine.travel(dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC), tick=False)
def test_contracts_timeline_and_finance_charts(manager_client, account_manager):
    today = dt.date(2026, 6, 30)
    account = AccountFactory(owner=account_manager)
    old = ContractFactory(account=account, number="OLD", start_date=dt.date(2025, 6, 1), end_date=dt.date(2026, 5, 25))
    ContractFactory(account=account, number="NEW", renewal_of=old, start_date=dt.date(2026, 5, 26), end_date=dt.date(2027, 5, 25))
    # DOMAIN.md §4.10 worked example, two of its invoices: 1M paid in 45 days (15 late), 2.5M in 60 (30 late).
    InvoiceFactory(
        account=account,
        amount=Decimal("1000000"),
        issued_on=dt.date(2026, 3, 1),
        due_on=dt.date(2026, 3, 31),
        paid_on=dt.date(2026, 4, 15),
    )
    InvoiceFactory(
        account=account,
        amount=Decimal("2500000"),
        issued_on=dt.date(2026, 2, 1),
        due_on=dt.date(2026, 3, 3),
        paid_on=dt.date(2026, 4, 2),
    )
    InvoiceFactory(account=account, amount=Decimal("500"), issued_on=dt.date(2026, 4, 1), due_on=today - dt.timedelta(days=45))
    InvoiceFactory(
        account=account,
        amount=Decimal("70"),
        issued_on=dt.date(2024, 4, 1),
        due_on=dt.date(2024, 5, 1),
        paid_on=dt.date(2024, 5, 1),
    )
    response = manager_client.get(_url(account))
    page = response.context["page"]
    assert page.contracts.next_renewal.number == "NEW"
    timeline = _json(response, "timeline-data")
    assert [i["label"] for i in timeline["items"]] == ["OLD", "NEW"] and timeline["today"] == "2026-06-30"
    revenue = _json(response, "revenue-data")
    assert revenue["years"] == ["2022", "2023", "2024", "2025", "2026"]
    assert revenue["revenue"] == [0.0, 0.0, 70.0, 0.0, 3500500.0]
    payment = _json(response, "payment-data")
    # (1.0M×45 + 2.5M×60) / 3.5M = 55.71 days to pay; (1.0M×15 + 2.5M×30) / 3.5M = 25.71 beyond terms.
    assert payment["daysToPay"] == [None, None, 30.0, None, 55.7]
    assert payment["daysLate"] == [None, None, 0.0, None, 25.7]
    aging = _json(response, "aging-data")
    assert aging["amounts"][aging["buckets"].index("31_60")] == 500.0
    assert page.finance.overdue_total == Decimal("500")


def test_service_requests_show_sla_state(manager_client, account_manager):
    now = timezone.now()
    account = AccountFactory(owner=account_manager)
    ServiceRequest.objects.create(
        account=account, title="Late", opened_at=now - dt.timedelta(hours=5), first_response_due_at=now - dt.timedelta(hours=1)
    )
    ServiceRequest.objects.create(
        account=account,
        title="Met",
        opened_at=now - dt.timedelta(hours=5),
        first_response_at=now - dt.timedelta(hours=4),
        first_response_due_at=now - dt.timedelta(hours=3),
    )
    ServiceRequest.objects.create(
        account=account, title="Pending", opened_at=now, first_response_due_at=now + dt.timedelta(hours=3)
    )
    page = manager_client.get(_url(account)).context["page"]
    states = {sr.title: sr.response_sla for sr in page.service_requests}
    assert states == {"Late": "breached", "Met": "met", "Pending": "pending"}
    assert page.sla.eligible == 2 and page.sla.attained == 1


def _history_url(account):
    return reverse("web:account_history", args=[account.pk])


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_history_lists_changes_with_what_changed(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    contract = ContractFactory(account=account, number="H-1")
    services.contract_update(contract=contract, actor=account_manager, end_date=dt.date(2026, 6, 30))
    latest = manager_client.get(_history_url(account), **HTMX).context["history"][0]
    assert latest.object_label == "H-1" and latest.action == "~" and latest.user == account_manager
    assert [(str(f.label), f.old, f.new) for f in latest.fields] == [("end date", dt.date(2025, 12, 31), dt.date(2026, 6, 30))]


def test_the_page_has_a_placeholder_that_loads_the_history_card(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    contract = ContractFactory(account=account, number="H-1")
    services.contract_update(contract=contract, actor=account_manager, end_date=dt.date(2026, 6, 30))
    page = manager_client.get(_url(account)).text
    url = _history_url(account)
    placeholder = re.search(r'<section class="card" id="history" data-card-placeholder="history">.*?</section>', page, re.S)
    assert placeholder, "no placeholder for the history card"
    assert f'href="{url}" hx-get="{url}" hx-target="#history" hx-swap="outerHTML"' in placeholder.group(0)
    assert "data-change=" not in page and "kam-changes" not in page  # the card itself is not read with the page
    # htmx: the card alone (it replaces the placeholder: same id), with the change and its diff
    card = manager_client.get(url, **HTMX)
    assert card.status_code == 200 and card.text.lstrip().startswith('<section class="card" id="history">')
    assert "<html" not in card.text and "data-card-placeholder" not in card.text
    assert "<strong>H-1</strong>" in card.text and "<del>Dec. 31, 2025</del> → <ins>June 30, 2026</ins>" in card.text
    # without JavaScript the link opens the same card on a page of its own
    full = manager_client.get(url)
    assert full.status_code == 200 and "<html" in full.text
    assert '<section class="card" id="history">' in full.text and "<strong>H-1</strong>" in full.text
    assert f'href="{_url(account)}"' in full.text  # back to the account


def test_history_card_visibility(client, account_manager, other_manager, executive, admin_user):
    account = AccountFactory(owner=account_manager)
    client.force_login(other_manager)
    assert client.get(_history_url(account), **HTMX).status_code == 404
    assert client.get(_history_url(account)).status_code == 404
    TeamMemberFactory(account=account, user=other_manager)
    for user in (account_manager, other_manager, executive, admin_user):
        client.force_login(user)
        response = client.get(_history_url(account), **HTMX)
        assert response.status_code == 200 and 'id="history"' in response.text


def test_history_never_lists_the_row_from_before_a_contact_moved_in(manager_client, account_manager, other_manager):
    """The history reads the row before each change to diff it; that row, from an account the
    manager cannot see, is never listed."""
    mine = AccountFactory(owner=account_manager)
    theirs = AccountFactory(owner=other_manager)
    contact = ContactFactory(account=theirs, name="Mover", title="Buyer")
    contact.account, contact.title = mine, "Head of purchasing"
    contact.save()
    changes = [c for c in manager_client.get(_history_url(mine), **HTMX).context["history"] if c.kind == "contact"]
    assert [(c.action, c.account_id) for c in changes] == [("~", mine.pk)]
    assert ("Buyer", "Head of purchasing") in [(f.old, f.new) for f in changes[0].fields]


@pytest.mark.parametrize("n", [2, 10])
def test_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = build_account(account_manager, n=n)
    # session, user, groups; account; rates; hierarchy: ancestors, subtree, ARR and revenue roll-ups (4);
    # surveys (2); service requests (2); meetings + their contacts (2); contacts + roles + team relationships + influence lines (4); contracts;
    # finance: revenue, payments, ageing, invoices (4); team; projects; permissions (2);
    # without a scoring run or a plan: tier and health explanations (2 + 2), tier history, health trend,
    # scoring model, plan, needs, alerts; the unread badge. (With all of them: tests/web/test_account_insights.py.)
    # The history of changes and the stakeholder changes load on demand (their counts: below and in
    # tests/web/test_stakeholder_history.py).
    with django_assert_num_queries(39):
        response = manager_client.get(_url(account))
    assert response.status_code == 200
    assert len(response.context["page"].hierarchy.nodes) == n + 1


@pytest.mark.parametrize("n", [2, 10])
def test_history_card_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = build_account(account_manager, n=n)
    for contract in account.contracts.all():
        services.contract_update(contract=contract, actor=account_manager, end_date=contract.end_date + dt.timedelta(days=1))
    # session, user, groups; the account (visibility); 4 models × (latest rows, the rows before them)
    with django_assert_num_queries(12):
        response = manager_client.get(_history_url(account), **HTMX)
    assert response.status_code == 200
    moved = {c.object_id for c in response.context["history"] if [f.name for f in c.fields] == ["end_date"]}
    assert moved == set(account.contracts.values_list("pk", flat=True))


def test_team_card_warns_when_the_tiers_required_roles_are_missing(manager_client, account_manager):
    # DOMAIN.md §7.5: a T1 team needs KAM + executive sponsor + service lead — a warning, not a refusal.
    # The owner is the account manager.
    account = AccountFactory(owner=account_manager)
    Account.objects.filter(pk=account.pk).update(tier="T1")
    TeamMemberFactory(account=account, role="service_lead")
    response = manager_client.get(_url(account))
    assert response.context["page"].team_missing_roles == ["executive_sponsor"]
    assert 'id="team-gaps"' in response.text and "Executive sponsor" in response.text
    TeamMemberFactory(account=account, role="executive_sponsor")
    response = manager_client.get(_url(account))
    assert response.context["page"].team_missing_roles == []
    assert 'id="team-gaps"' not in response.text


def test_team_card_has_no_warning_for_tiers_without_required_roles(manager_client, account_manager):
    account = AccountFactory(owner=account_manager)
    Account.objects.filter(pk=account.pk).update(tier="T3")
    response = manager_client.get(_url(account))
    assert response.context["page"].team_missing_roles == []
    assert 'id="team-gaps"' not in response.text
