"""The accounts list: shared FilterSet, sorting, keyset pages, visibility, errors, constant queries, exports."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Account
from kam.export import Column, csv_lines
from tests.factories import AccountFactory, ContractFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
URL = reverse("web:account_list")
EXPORT = reverse("web:account_export")


def _names(response):
    return [a.name for a in response.context["page"].rows]


@pytest.fixture
def portfolio(account_manager, other_manager):
    today = timezone.localdate()
    acme = AccountFactory(owner=account_manager, name="Acme", region="East China", industry="retail")
    beta = AccountFactory(owner=account_manager, name="Beta", region="North China", status="churned")
    gamma = AccountFactory(owner=account_manager, name="Gamma", region="East China")
    served = AccountFactory(owner=other_manager, name="Served", region="South China")
    TeamMemberFactory(account=served, user=account_manager)
    AccountFactory(owner=other_manager, name="Theirs")
    Account.objects.filter(pk=acme.pk).update(tier="T1", health_band="red", value_score=Decimal("80"), health_score=Decimal("40"))
    Account.objects.filter(pk=gamma.pk).update(
        tier="T2", health_band="green", value_score=Decimal("60"), health_score=Decimal("90")
    )
    ContractFactory(account=gamma, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=20))
    return {"acme": acme, "beta": beta, "gamma": gamma, "served": served}


def test_lists_only_visible_accounts_sorted_by_name(manager_client, portfolio):
    response = manager_client.get(URL)
    assert response.status_code == 200
    assert _names(response) == ["Acme", "Beta", "Gamma", "Served"]
    assert response.context["total"] == 4
    assert "Theirs" not in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tier=T1", ["Acme"]),
        ("tier=T1&tier=T2", ["Acme", "Gamma"]),
        ("health_band=green", ["Gamma"]),
        ("status=churned", ["Beta"]),
        ("industry=retail", ["Acme"]),
        ("region=East China", ["Acme", "Gamma"]),
        ("q=amm", ["Gamma"]),
        ("renewal_due_within=30", ["Gamma"]),
        ("renewal_due_within=10", []),
    ],
)
def test_filters_use_the_shared_filterset(manager_client, portfolio, query, expected):
    response = manager_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert _names(response) == expected


def test_owner_filter(manager_client, portfolio, account_manager, other_manager):
    assert _names(manager_client.get(f"{URL}?owner={other_manager.pk}")) == ["Served"]
    assert "Served" not in _names(manager_client.get(f"{URL}?owner={account_manager.pk}"))


def test_sorting_puts_accounts_without_a_value_last(manager_client, portfolio):
    # Rows without a value keep the id order of the direction asked for, after the others.
    assert _names(manager_client.get(f"{URL}?sort=-value_score")) == ["Acme", "Gamma", "Served", "Beta"]
    assert _names(manager_client.get(f"{URL}?sort=value_score")) == ["Gamma", "Acme", "Beta", "Served"]
    assert _names(manager_client.get(f"{URL}?sort=tier")) == ["Acme", "Gamma", "Beta", "Served"]


def test_next_page_link_continues_after_the_last_row(manager_client, portfolio):
    first = manager_client.get(f"{URL}?page_size=25&sort=name")
    assert not first.context["page"].has_next
    for i in range(30):
        AccountFactory(owner=portfolio["acme"].owner, name=f"Zeta {i:02d}")
    first = manager_client.get(f"{URL}?page_size=25")
    page = first.context["page"]
    assert page.has_next and len(page.rows) == 25
    second = manager_client.get(f"{URL}?page_size=25&cursor={page.next_cursor}")
    names = _names(second)
    assert names[0] == "Zeta 21" and names[-1] == "Zeta 29" and len(names) == 9
    assert second.context["page"].has_prev


def test_bad_filter_values_are_a_400_naming_the_field(manager_client, portfolio):
    response = manager_client.get(f"{URL}?tier=T9&renewal_due_within=soon")
    assert response.status_code == 400
    assert response.context["page"] is None
    assert "Tier" in response.text and "Renewal due within (days)" in response.text


def test_a_tampered_cursor_is_a_400_with_a_message(manager_client, portfolio):
    response = manager_client.get(f"{URL}?cursor=garbage")
    assert response.status_code == 400
    assert "no longer valid" in response.text


def test_htmx_request_gets_only_the_results(manager_client, portfolio):
    response = manager_client.get(f"{URL}?tier=T1", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="account-table"' in response.text


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(EXPORT).status_code == 302


@pytest.mark.parametrize("n", [5, 25])
def test_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    today = timezone.localdate()
    for i in range(n):
        account = AccountFactory(owner=account_manager, name=f"Mine {i}")
        ContractFactory(account=account, start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=30 + i))
        TeamMemberFactory(account=account)
    # session, user, groups; the page; the bounded count; permissions (user, groups); owners for the
    # filter; the unread badge
    with django_assert_num_queries(9):
        response = manager_client.get(f"{URL}?page_size=25&renewal_due_within=400")
    assert len(response.context["page"].rows) == min(n, 25)
    # Unfiltered: the visible account ids (web.visible, read once) instead of the bounded count.
    with django_assert_num_queries(9):
        response = manager_client.get(f"{URL}?page_size=25")
    assert len(response.context["page"].rows) == min(n, 25) and response.context["total"] == n


# --- Exports --------------------------------------------------------------------------------------


def test_csv_export_streams_the_filtered_visible_list(manager_client, portfolio):
    response = manager_client.get(f"{EXPORT}?format=csv&region=East China&sort=-name")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Name", "External id", "Parent account", "Tier"]
    assert [r[0] for r in rows[1:]] == ["Gamma", "Acme"]
    assert rows[2][3] == "T1" and rows[2][7] == "Active"


def test_xlsx_export_has_the_same_rows(manager_client, portfolio):
    response = manager_client.get(f"{EXPORT}?format=xlsx&status=active")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "Name"
    assert [r[0] for r in rows[1:]] == ["Acme", "Gamma", "Served"]


def test_export_headers_and_labels_follow_the_language(manager_client, portfolio):
    response = manager_client.get(f"{EXPORT}?format=csv&q=Acme", headers={"accept-language": "zh-hans"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][0] == "名称"
    assert rows[1][3] == "T1"  # codes stay codes


def test_export_refuses_bad_input_with_a_message(manager_client, portfolio):
    response = manager_client.get(f"{EXPORT}?format=pdf")
    assert response.status_code == 400 and "pdf" in response.text
    response = manager_client.get(f"{EXPORT}?format=csv&tier=T9")
    assert response.status_code == 400 and "Tier" in response.text


def test_export_neutralises_spreadsheet_formulas():
    lines = list(csv_lines([{"n": "=HYPERLINK(1)"}, {"n": "-5"}, {"n": Decimal("-5")}], [Column("N", lambda r: r["n"])]))
    assert lines[1].strip() == "'=HYPERLINK(1)"
    assert lines[2].strip() == "'-5"
    assert lines[3].strip() == "-5"


def test_export_query_count_does_not_grow_with_rows(manager_client, account_manager, django_assert_max_num_queries):
    for i in range(40):
        AccountFactory(owner=account_manager, name=f"Row {i}")
    with django_assert_max_num_queries(6):
        response = manager_client.get(f"{EXPORT}?format=csv")
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == 41


def test_export_links_carry_the_current_filters(manager_client, portfolio):
    response = manager_client.get(f"{URL}?tier=T1&sort=-name", headers={"HX-Request": "true"})
    assert f'href="{EXPORT}?tier=T1&amp;sort=-name&amp;format=csv"' in response.text


def test_open_alerts_filter_keeps_accounts_with_an_open_alert(manager_client, portfolio):
    from service_plans.services import alerts as alert_services

    alert_services.alert_create_manual(account=portfolio["acme"], rule="R1", reason="drop", priority="high", actor=None)
    closed = alert_services.alert_create_manual(account=portfolio["beta"], rule="R3", reason="x", priority="high", actor=None)
    alert_services.alert_close(alert=closed, actor=None, note="paid", outcome="retained")
    snoozed = alert_services.alert_create_manual(
        account=portfolio["served"], rule="R1", reason="y", priority="medium", actor=None
    )
    alert_services.alert_snooze(alert=snoozed, until=timezone.localdate() + dt.timedelta(days=3), reason="later", actor=None)
    assert _names(manager_client.get(URL, {"open_alerts": "true"})) == ["Acme", "Served"]  # snoozed is still open
    assert _names(manager_client.get(URL, {"open_alerts": "false"})) == ["Beta", "Gamma"]
    assert _names(manager_client.get(URL, {"open_alerts": ""})) == ["Acme", "Beta", "Gamma", "Served"]
    # Like every boolean filter of the API, a value that is neither true nor false means "either".
    assert len(_names(manager_client.get(URL, {"open_alerts": "maybe"}))) == 4
    # The filter is set-based: one EXISTS, no count or join per account.
    from accounts.filters import AccountFilterSet

    sql = str(AccountFilterSet({"open_alerts": "true"}, queryset=Account.objects.all()).qs.query).upper()
    assert "EXISTS" in sql and "COUNT(" not in sql and "JOIN" not in sql


def test_renewal_filter_skips_contracts_already_renewed(manager_client, portfolio):
    today = timezone.localdate()
    old = ContractFactory(
        account=portfolio["acme"], start_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=5)
    )
    assert "Acme" in _names(manager_client.get(URL, {"renewal_due_within": 30}))
    ContractFactory(
        account=portfolio["acme"],
        renewal_of=old,
        start_date=today + dt.timedelta(days=6),
        end_date=today + dt.timedelta(days=400),
    )
    assert _names(manager_client.get(URL, {"renewal_due_within": 30})) == ["Gamma"]
