"""``alert-calibration/`` (DOMAIN.md §5.5): the selector's figures per rule for a quarter or from/to
dates; bad parameters are a 400 naming them; executives and administrators only.

The fixture's figures, by hand (alerts opened 10 January 2026, judged on 27 November 2026):
R1 fired on five accounts: churn 100 days later, a contraction 40 days later, churn 10 days later,
a renewal at the same value (not followed) and churn 181 days later (outside the 180 days): 3 of 5
followed, precision 0.6, lead times 100, 40 and 10 days, median 40, mean 50. R2 fired once, on the
account that churned after 100 days: precision 1, lead 100. An R3 alert opened in April belongs to
2026-Q2 and one opened in August to 2026-Q3 (the default: the last completed quarter), still pending.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from service_plans.models import Alert
from tests.api.conftest import token_client
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 27, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
OPENED = dt.date(2026, 1, 10)
URL = "/api/v1/alert-calibration/"


def alert(account, rule: str, opened_on: dt.date) -> Alert:
    return Alert.objects.create(
        account=account, rule=rule, reason=f"x-{opened_on}", priority="high", due_on=opened_on, last_triggered_on=opened_on,
        opened_at=timezone.make_aware(dt.datetime.combine(opened_on, dt.time(12))),
    )  # fmt: skip


def churn_after(account, days: int) -> None:
    ContractFactory(account=account, start_date=OPENED - dt.timedelta(days=200), end_date=OPENED + dt.timedelta(days=days))


def renewal_after(account, days: int, value: str) -> None:
    old = ContractFactory(
        account=account, start_date=OPENED - dt.timedelta(days=300), end_date=OPENED + dt.timedelta(days=days - 1)
    )
    ContractFactory(
        account=account, renewal_of=old, start_date=OPENED + dt.timedelta(days=days),
        end_date=OPENED + dt.timedelta(days=days + 364), annual_value=Decimal(value),
    )  # fmt: skip


def calibration_portfolio(owner) -> None:
    """The module docstring's alerts and contracts."""
    churned, contracted, quick, renewed, late = (AccountFactory(owner=owner) for _ in range(5))
    churn_after(churned, 100)
    renewal_after(contracted, 40, "800000")
    churn_after(quick, 10)
    renewal_after(renewed, 30, "1000000")
    churn_after(late, 181)
    for account in (churned, contracted, quick, renewed, late):
        alert(account, "R1", OPENED)
    alert(churned, "R2", OPENED)
    alert(renewed, "R3", dt.date(2026, 4, 5))
    alert(renewed, "R3", dt.date(2026, 8, 20))


@pytest.fixture
def portfolio(account_manager, other_manager):
    calibration_portfolio(account_manager)
    return account_manager


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def test_per_rule_precision_and_lead_times_computed_by_hand(portfolio, executive_api):
    body = _ok(executive_api.get(URL, {"quarter": "2026-Q1"}))
    assert (body["quarter"], body["from"], body["to"], body["as_of"]) == ("2026-Q1", "2026-01-01", "2026-03-31", "2026-11-27")
    assert (body["horizon_days"], body["min_sample"]) == (180, 30)
    rows = {row["rule"]: row for row in body["results"]}
    assert list(rows) == ["R1", "R2"]
    assert rows["R1"] == {
        "rule": "R1", "name": "R1 Purchase drop", "fired": 5, "pending": 0, "judged": 5, "followed": 3,
        "precision": 0.6, "median_lead_days": 40.0, "mean_lead_days": 50.0, "sample_size": 5, "low_sample": True,
    }  # fmt: skip
    assert (rows["R2"]["precision"], rows["R2"]["median_lead_days"], rows["R2"]["mean_lead_days"]) == (1.0, 100.0, 100.0)


def test_from_to_dates_give_the_same_figures_as_the_quarter(portfolio, admin_api):
    by_quarter = _ok(admin_api.get(URL, {"quarter": "2026-Q1"}))
    by_dates = _ok(admin_api.get(URL, {"from": "2026-01-01", "to": "2026-03-31"}))
    assert by_dates["quarter"] is None and by_dates["results"] == by_quarter["results"]
    # One day: only the alerts opened that day.
    assert [r["rule"] for r in _ok(admin_api.get(URL, {"from": "2026-04-05", "to": "2026-04-05"}))["results"]] == ["R3"]


def test_the_default_is_the_last_completed_quarter_whose_young_alerts_are_pending(portfolio, executive_api):
    body = _ok(executive_api.get(URL))
    assert (body["quarter"], body["from"], body["to"]) == ("2026-Q3", "2026-07-01", "2026-09-30")
    [row] = body["results"]
    assert (row["rule"], row["fired"], row["pending"], row["judged"]) == ("R3", 1, 1, 0)
    assert (row["precision"], row["median_lead_days"], row["mean_lead_days"], row["low_sample"]) == (None, None, None, False)


def test_no_alerts_in_the_window_is_an_empty_list(executive_api):
    assert _ok(executive_api.get(URL, {"quarter": "2026-Q1"}))["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"quarter": "2026-Q5"}, "quarter"),
        ({"quarter": "2026"}, "quarter"),
        ({"quarter": "2027-Q1"}, "quarter"),  # not started yet
        ({"quarter": "0000-Q1"}, "quarter"),  # no year 0
        ({"quarter": "9999-Q4"}, "quarter"),  # ends past the calendar
        ({"quarter": "2026-Q1", "from": "2026-01-01"}, "quarter"),
        ({"from": "2026-13-01", "to": "2026-12-31"}, "from"),
        ({"from": "2026-01-01", "to": "soon"}, "to"),
        ({"from": "2026-01-01"}, "to"),
        ({"to": "2026-01-01"}, "from"),
        ({"from": "2026-03-01", "to": "2026-02-28"}, "to"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(executive_api, params, field):
    response = executive_api.get(URL, params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_executives_and_administrators_only(portfolio, account_manager, executive_api, admin_api, manager_api, client):
    assert executive_api.get(URL).status_code == 200
    assert admin_api.get(URL).status_code == 200
    response = manager_api.get(URL, {"quarter": "2026-Q1"})  # even though every alert is on their accounts
    assert response.status_code == 403 and "executives and administrators" in response.json()["detail"]
    assert token_client(account_manager, scope="read").get(URL).status_code == 403
    assert client.get(URL).status_code == 401


def test_the_rule_name_follows_the_language(portfolio, executive_api):
    body = _ok(executive_api.get(URL, {"quarter": "2026-Q1"}, headers={"Accept-Language": "zh-hans"}))
    assert body["results"][0]["name"] == "R1 采购下降"


@pytest.mark.parametrize("copies", [1, 5])
def test_queries_do_not_grow_with_the_alerts(account_manager, executive, copies, django_assert_num_queries):
    for _ in range(copies):
        calibration_portfolio(account_manager)
    api = token_client(executive)
    api.get(URL)  # the first call records the token's use (a write, once a minute)
    with django_assert_num_queries(1):  # the selector's one query (the token and its user are cached)
        body = _ok(api.get(URL, {"quarter": "2026-Q1"}))
    assert body["results"][0]["fired"] == 5 * copies
