"""The alert calibration page (DOMAIN.md §5.5): the selector's figures per rule for a fiscal quarter,
for executives and administrators (account managers: 403, no link). The fixture and its hand-computed
figures are tests/reports/test_calibration_api.py's."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from tests.reports.test_calibration_api import NOW, calibration_portfolio

pytestmark = pytest.mark.django_db
URL = reverse("web:alert_calibration")


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portfolio(account_manager):
    calibration_portfolio(account_manager)


def _cells(html: str, rule: str) -> dict[str, str]:
    row = re.search(rf'<tr data-rule="{rule}">(.*?)</tr>', html, re.S).group(1)
    return {col: re.sub(r"<[^>]+>", "", text).strip() for col, text in re.findall(r'data-col="(\w+)">(.*?)</td>', row, re.S)}


def test_precision_and_lead_times_per_rule(client, executive, portfolio):
    client.force_login(executive)
    response = client.get(URL, {"quarter": "2026-Q1"})
    assert response.status_code == 200
    html = response.text
    r1 = _cells(html, "R1")
    assert (r1["fired"], r1["pending"], r1["judged"], r1["followed"]) == ("5", "0", "5", "3")
    assert r1["precision"].startswith("60.0%") and "low sample" in r1["precision"]  # 5 judged < 30
    assert (r1["median"], r1["mean"]) == ("40.0", "50.0")
    r2 = _cells(html, "R2")
    assert (r2["precision"].split()[0], r2["median"], r2["mean"]) == ("100.0%", "100.0", "100.0")
    assert "R1 Purchase drop" in html and "2026-01-01" in html and "2026-03-31" in html
    assert 'id="calibration-help"' in html  # what precision and lead time mean
    assert '<option value="2026-Q1" selected>' in html


def test_the_default_is_the_last_completed_quarter(client, admin_user, portfolio):
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200 and '<option value="2026-Q3" selected>' in response.text
    r3 = _cells(response.text, "R3")  # opened in August: too young to judge
    assert (r3["fired"], r3["pending"], r3["judged"], r3["precision"], r3["median"]) == ("1", "1", "0", "—", "—")
    assert "R1" not in re.findall(r'data-rule="(\w+)"', response.text)


def test_an_older_quarter_stays_selectable(client, executive, portfolio):
    client.force_login(executive)
    response = client.get(URL, {"quarter": "2024-Q2"})
    assert response.status_code == 200 and '<option value="2024-Q2" selected>' in response.text


def test_empty_state(client, executive):
    client.force_login(executive)
    response = client.get(URL, {"quarter": "2026-Q1"})
    assert response.status_code == 200
    assert 'id="calibration-empty"' in response.text and 'id="calibration-table"' not in response.text


@pytest.mark.parametrize("quarter", ["2026-Q5", "Q1-2026", "2027-Q1"])
def test_a_bad_quarter_is_a_400_naming_it(client, executive, quarter):
    client.force_login(executive)
    response = client.get(URL, {"quarter": quarter})
    assert response.status_code == 400
    assert 'data-error-for="quarter"' in response.text and 'id="calibration-table"' not in response.text


def test_account_managers_get_403_and_no_link(client, account_manager, executive, portfolio):
    client.force_login(account_manager)
    assert client.get(URL, {"quarter": "2026-Q1"}).status_code == 403  # even with alerts on their own accounts
    assert 'id="nav-alert-calibration"' not in client.get(reverse("web:alert_list")).text
    client.force_login(executive)
    assert 'id="nav-alert-calibration"' in client.get(reverse("web:alert_list")).text
    client.logout()
    assert client.get(URL).status_code == 302  # to the login page


def test_the_page_reads_in_chinese(client, executive, portfolio):
    client.force_login(executive)
    html = client.get(URL, {"quarter": "2026-Q1"}, headers={"accept-language": "zh-hans"}).text
    assert "预警校准" in html and "R1 采购下降" in html and "样本量小" in html and "精确率" in html


@pytest.mark.parametrize("copies", [1, 5])
def test_queries_do_not_grow_with_the_alerts(client, executive, account_manager, copies, django_assert_num_queries):
    for _ in range(copies):
        calibration_portfolio(account_manager)
    client.force_login(executive)
    # session, user, groups, the selector's one query, the unread badge
    with django_assert_num_queries(5):
        response = client.get(URL, {"quarter": "2026-Q1"})
    assert _cells(response.text, "R1")["fired"] == str(5 * copies)
