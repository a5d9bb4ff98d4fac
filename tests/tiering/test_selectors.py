""" "Why this tier", health, history and candidates: what they return and who may read them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from accounts.models import Account
from tests.factories import AccountFactory, TeamMemberFactory
from tests.tiering.conftest import add_invoices
from tiering import selectors, services
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2025, 6, 30)


@pytest.fixture
def group(scoring_model, account_manager, other_manager):
    root = AccountFactory(
        owner=account_manager, wallet_estimate_amount=D("2000000"), credit_rating="D", market_influence=2, integration_potential=5
    )
    child = AccountFactory(owner=account_manager, parent=root)
    add_invoices(
        [
            {"account": child, "issued_on": dt.date(2025, 2, 1), "due_on": dt.date(2025, 3, 3), "amount": "800000", "margin": "100000", "paid_on": dt.date(2025, 4, 12)},
            {"account": root, "issued_on": dt.date(2024, 2, 1), "amount": "500000", "margin": "100000", "paid_on": dt.date(2024, 3, 1)},
        ]
    )  # fmt: skip
    other = AccountFactory(owner=other_manager, credit_rating="A", market_influence=5, integration_potential=5)
    add_invoices(
        [
            {
                "account": other,
                "issued_on": dt.date(2025, 2, 1),
                "amount": "100000",
                "margin": "50000",
                "paid_on": dt.date(2025, 3, 1),
            }
        ]
    )
    scores_recompute(as_of=AS_OF)
    return root, child, other


def test_why_this_tier_shows_the_breakdown_and_the_three_factors_holding_it_down(group, account_manager):
    root, child, _ = group
    why = selectors.tier_explanation(user=account_manager, account_id=child.pk)
    snap = why["snapshot"]
    assert (why["group_id"], why["tier"], snap["tier"]) == (root.pk, Account.objects.get(pk=child.pk).tier, why["tier"])
    assert [f["code"] for f in snap["factors"]] == [f"F{i}" for i in range(1, 9)]
    losing = sorted((f for f in snap["factors"] if f["lost"]), key=lambda f: -f["lost"])
    assert [f["code"] for f in snap["holding_down"]] == [f["code"] for f in losing[:3]]
    assert len(snap["holding_down"]) == 3
    assert [f["code"] for f in snap["missing"]] == ["F2"]  # no revenue in FY−3: no CAGR
    payment = next(f for f in snap["factors"] if f["code"] == "F5")
    assert payment["raw"] == 40 and payment["explanation"] == "Paid 40 days beyond terms on average"
    assert payment["source_ref"] == {
        "model": "accounts.invoice",
        "filters": {"account__group_root": root.pk, "paid_on__gte": "2025-01-02", "paid_on__lte": "2025-06-30"},
    }
    rating = next(f for f in snap["factors"] if f["code"] == "F6")
    assert rating["source_ref"] == {"model": "accounts.account", "id": root.pk, "field": "credit_rating"}
    assert snap["rule_qualified"] is None and snap["abc_class"] == "A"


def test_explanations_are_translated(group, account_manager):
    _, child, _ = group
    with translation.override("zh-hans"):
        why = selectors.tier_explanation(user=account_manager, account_id=child.pk)
    payment = next(f for f in why["snapshot"]["factors"] if f["code"] == "F5")
    assert "40" in payment["explanation"] and "Paid" not in payment["explanation"]


def test_another_managers_account_does_not_exist_for_the_selectors(group, other_manager, account_manager):
    _root, child, other = group
    for selector in (selectors.tier_explanation, selectors.health_explanation, selectors.tier_history):
        with pytest.raises(Account.DoesNotExist):
            selector(user=other_manager, account_id=child.pk)
        with pytest.raises(Account.DoesNotExist):
            selector(user=account_manager, account_id=other.pk)


def test_executives_and_team_members_read_the_groups_explanation(group, executive, other_manager):
    root, child, _ = group
    assert selectors.tier_explanation(user=executive, account_id=root.pk)["snapshot"] is not None
    TeamMemberFactory(account=child, user=other_manager)  # serves on the subsidiary only
    why = selectors.tier_explanation(user=other_manager, account_id=child.pk)
    assert why["group_id"] == root.pk and why["snapshot"]["score"] is not None


def test_health_explanation_and_history(group, account_manager, executive):
    root, child, _ = group
    health = selectors.health_explanation(user=account_manager, account_id=child.pk)["snapshot"]
    assert health["status"] in {"ok", "insufficient_data"}
    assert {f["code"] for f in health["factors"]} == {"commercial", "payment", "satisfaction", "relationship", "service"}
    assert [a.tier for a in selectors.tier_history(user=account_manager, account_id=child.pk)] == [
        Account.objects.get(pk=root.pk).tier
    ]
    services.tier_override_set(
        account=root,
        tier="T1",
        reason="Board decision",
        approved_by=executive,
        expires_on=dt.date.today() + dt.timedelta(days=30),
    )
    why = selectors.tier_explanation(user=account_manager, account_id=child.pk)
    assert why["override"]["tier"] == "T1" and why["tier"] == "T1"
    assert next(a.reason for a in selectors.tier_history(user=account_manager, account_id=child.pk)) == "override"
    assert len(selectors.health_history(user=account_manager, account_id=root.pk)) == 1


def test_t1_candidates_are_listed_for_those_who_see_them(ratings_model, account_manager, other_manager):
    ratings_model(max_t1=1)
    mine = [AccountFactory(owner=account_manager, market_influence=5) for _ in range(2)]
    theirs = AccountFactory(owner=other_manager, market_influence=5)
    scores_recompute(part="tiers", as_of=AS_OF)
    assert [s.account_id for s in selectors.t1_candidates(user=account_manager)] == [mine[1].pk]
    assert [s.account_id for s in selectors.t1_candidates(user=other_manager)] == [theirs.pk]
    assert list(selectors.rule_qualified(user=account_manager)) == []
