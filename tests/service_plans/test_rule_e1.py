"""E1 expansion signal (DOMAIN.md §5.2, the positive signal; §7.2 whitespace): a Green account with a gap
that at least two peers (other accounts of its industry) own, or whose NPS mean makes it a promoter.

Worked examples: a Green manufacturer whose active plan has a gap in "Predictive maintenance" while two
other manufacturers own it fires (Medium, owner the account manager, due +10 business days, the
"Expansion discovery" playbook); with one such peer, with the peers in another industry, or with the
account Yellow it does not. An economic buyer answering 9 and a user 10 (weights 3 and 1) make a role-
weighted mean of (27 + 10) / 4 = 9.25, a promoter; an economic buyer 8 and two users 10 make
(24 + 20) / 5 = 8.8, not one.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Account
from service_plans.alerts.rules import validate_params
from service_plans.models import Alert, RuleConfig, SurveyResponse
from service_plans.services import plans as plan_services
from service_plans.services.whitespace import whitespace_cell_create
from service_plans.sla import default_clock
from tests.factories import AccountFactory
from tests.service_plans.conftest import NOW, TODAY, run, set_tier

pytestmark = pytest.mark.django_db
PM = "Predictive maintenance"


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def account(*, industry="manufacturing", band="green", **fields) -> Account:
    created = AccountFactory(industry=industry, **fields)
    Account.objects.filter(pk=created.pk).update(health_band=band)  # written by the health run only
    created.refresh_from_db()
    return created


def plan(acc: Account, cells: dict[str, str], *, active=True, centre="Operations"):
    created = plan_services.plan_create(account=acc, fiscal_year=2026)
    if active:
        created = plan_services.plan_activate(plan=created)
    for offering, state in cells.items():
        whitespace_cell_create(plan=created, buying_centre=centre, offering=offering, state=state)
    return created


def peers(n: int, offering=PM, **fields) -> list[Account]:
    """``n`` accounts that own ``offering`` on their active plan (their health does not matter)."""
    result = []
    for _ in range(n):
        peer = account(band="red", **fields)
        plan(peer, {offering: "owned"})
        result.append(peer)
    return result


def nps(acc: Account, *scores: tuple[str, int], days_ago: int = 10) -> None:
    for role, score in scores:
        SurveyResponse.objects.create(
            account=acc, kind="nps", score=score, respondent_role=role, responded_at=NOW - days(days_ago)
        )


def e1(acc: Account) -> list[Alert]:
    return list(Alert.objects.open().filter(account=acc, rule="E1"))


# --- Worked examples ------------------------------------------------------------------------------------


def test_a_green_account_with_a_gap_two_industry_peers_own_raises_an_expansion_alert():
    target = account()
    plan(target, {PM: "gap", "Spare parts": "owned"})
    peers(1, offering="predictive MAINTENANCE")  # matched without regard to case (clean() trims spaces)
    peers(1)
    run()
    [alert] = e1(target)
    assert (alert.reason, alert.priority, alert.status) == ("expansion", "medium", "open")
    assert alert.evidence == {"health_band": "green", "offerings": [{"offering": PM, "peers": 2}]}
    assert (alert.owner, alert.owner_role) == (target.owner, "account_manager")
    assert alert.playbook.code == "expansion-discovery" and alert.playbook.name == "Expansion discovery"
    assert [t.owner_role for t in alert.tasks.order_by("order")] == [
        "account_manager", "account_manager", "solution_lead", "account_manager", "account_manager",
    ]  # fmt: skip
    assert alert.due_on == default_clock().add_business_days(TODAY, 10)  # §5.2: +10 bd (after the last task, d+10)
    assert alert.reason_display == f"Healthy account with room to grow: peers in its industry use {PM} (2 peers)"


@pytest.mark.parametrize(
    "case",
    ["one_peer", "other_industry", "yellow", "peer_plan_draft", "own_plan_draft", "same_group", "pipeline_not_gap", "other"],
)
def test_no_expansion_alert_without_two_peers_in_the_industry_or_without_green_health(case):
    target = account(band="yellow" if case == "yellow" else "green", industry="other" if case == "other" else "manufacturing")
    plan(target, {PM: "pipeline" if case == "pipeline_not_gap" else "gap"}, active=case != "own_plan_draft")
    peer_fields = {"industry": "retail"} if case == "other_industry" else {}
    if case == "other":
        peer_fields = {"industry": "other"}
    if case == "same_group":
        peer_fields = {"parent": target}  # its own subsidiaries are not its peers
    found = peers(1 if case == "one_peer" else 2, **peer_fields)
    if case == "peer_plan_draft":
        found[1].plans.update(status="draft")
    run()
    assert not e1(target)


def test_promoter_nps_raises_it_and_a_passive_mean_does_not():
    promoter = account()
    nps(promoter, ("economic_buyer", 9), ("user_buyer", 10))  # (27 + 10) / 4 = 9.25
    passive = account()
    nps(passive, ("economic_buyer", 8), ("user_buyer", 10), ("user_buyer", 10))  # (24 + 20) / 5 = 8.8
    stale = account()
    nps(stale, ("economic_buyer", 10), days_ago=400)  # outside the 365-day window
    yellow = account(band="yellow")
    nps(yellow, ("economic_buyer", 10))
    run()
    [alert] = e1(promoter)
    assert alert.evidence == {"health_band": "green", "nps_mean": 9.25}
    assert alert.reason_display == "Healthy account with room to grow: account NPS mean 9.2 (promoter)"  # 1 decimal
    assert not e1(passive) and not e1(stale) and not e1(yellow)


def test_both_triggers_make_one_alert_naming_every_offering_and_the_nps_mean():
    target = account()
    plan(target, {PM: "gap", "Remote monitoring": "gap"})
    peers(2)
    peers(3, offering="Remote monitoring")
    nps(target, ("coach_champion", 10))
    run()
    [alert] = e1(target)
    assert alert.evidence["offerings"] == [{"offering": PM, "peers": 2}, {"offering": "Remote monitoring", "peers": 3}]
    assert alert.evidence["nps_mean"] == 10.0
    with translation.override("zh-hans"):
        text = Alert.objects.get(pk=alert.pk).reason_display
    assert "同行业" in text and f"{PM}（2 家同行）" in text and "10.0" in text


def test_thresholds_come_from_rule_config_rows():
    RuleConfig.objects.update_or_create(rule="E1", tier="", defaults={"params": {"min_peers": 1}})
    RuleConfig.objects.create(rule="E1", tier="T1", params={"min_peers": 3, "nps_promoter_min": 9.5})
    one_peer = account()
    plan(one_peer, {PM: "gap"})
    strategic = set_tier(account(), "T1")
    plan(strategic, {PM: "gap"})
    nps(strategic, ("economic_buyer", 9))
    peers(2)
    run()
    assert e1(one_peer)[0].evidence["offerings"] == [{"offering": PM, "peers": 2}]
    assert not e1(strategic)  # T1 wants three peers and a mean of 9.5


def test_the_alert_closes_itself_after_two_clear_days_when_the_account_leaves_green():
    target = account()
    plan(target, {PM: "gap"})
    peers(2)
    run()
    [alert] = e1(target)
    Account.objects.filter(pk=target.pk).update(health_band="yellow")
    run(NOW + days(1))
    alert.refresh_from_db()
    assert (alert.status, alert.clear_runs) == ("open", 1)
    run(NOW + days(2))
    alert.refresh_from_db()
    assert (alert.status, alert.closure_note) == ("closed_resolved", "auto: condition cleared")
    assert not alert.tasks.filter(status="open").exists()


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"min_peers": 0}, "min_peers"),
        ({"min_peers": 1.5}, "min_peers"),
        ({"nps_window_days": 0}, "nps_window_days"),
        ({"nps_promoter_min": 11}, "nps_promoter_min"),
        ({"nps_promoter_min": "9"}, "nps_promoter_min"),
        ({"peers": 2}, "peers"),
    ],
)
def test_bad_parameters_are_refused_naming_them(params, bad):
    errors = validate_params("E1", params)
    assert len(errors) == 1 and bad in errors[0]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        RuleConfig(rule="E1", tier="T2", params=params).full_clean()
    assert "params" in error.value.message_dict


def test_good_parameters_pass():
    assert validate_params("E1", {"min_peers": 1, "nps_window_days": 180, "nps_promoter_min": 8.5, "tiers": ["T1"]}) == []


# --- One query over the portfolio -----------------------------------------------------------------------


def _portfolio(copies: int) -> dict[int, dict | None]:
    expected: dict[int, dict | None] = {}
    for i in range(copies):
        offering = f"Offering {i}"
        owners = [account(band="grey") for _ in range(2)]
        for owner in owners:
            plan(owner, {offering: "owned"})
            expected[owner.pk] = None
        gap = account()
        plan(gap, {offering: "gap"})
        expected[gap.pk] = {"health_band": "green", "offerings": [{"offering": offering, "peers": 2}]}
        promoter = account()
        nps(promoter, ("economic_buyer", 10))
        expected[promoter.pk] = {"health_band": "green", "nps_mean": 10.0}
        yellow = account(band="yellow")
        plan(yellow, {offering: "gap"})
        expected[yellow.pk] = None
        elsewhere = account(industry="retail")
        plan(elsewhere, {offering: "gap"})
        expected[elsewhere.pk] = None
    return expected


@pytest.mark.parametrize("copies", [1, 5])
def test_e1_over_a_portfolio_raises_exactly_the_qualifying_accounts_in_a_constant_query_count(copies):
    expected = _portfolio(copies)
    with CaptureQueriesContext(connection) as queries:
        run()
    raised = {a.account_id: a.evidence for a in Alert.objects.open().filter(rule="E1")}
    assert raised == {pk: evidence for pk, evidence in expected.items() if evidence}
    # E1 is one query whatever the portfolio; the run's count is the same at 7 and 35 accounts.
    assert len([q for q in queries.captured_queries if "UNION ALL" in q["sql"]]) == 1
    assert len(queries.captured_queries) == 35


def test_peers_are_counted_once_each_and_never_from_the_accounts_own_group():
    target = account()
    own_plan = plan(target, {PM: "gap"})
    whitespace_cell_create(plan=own_plan, buying_centre="Finance", offering=PM, state="owned")  # itself: no peer
    peers(1, parent=target)  # its subsidiary: no peer
    [twice] = peers(1)
    whitespace_cell_create(plan=twice.plans.get(), buying_centre="Logistics", offering=PM.upper(), state="owned")
    peers(1)
    run()
    assert e1(target)[0].evidence["offerings"] == [{"offering": PM, "peers": 2}]
