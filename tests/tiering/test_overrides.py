"""Manual tier and health overrides: approval, limits, immediate effect, audit, expiry restores."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account
from tests.factories import AccountFactory
from tests.tiering.conftest import add_invoices
from tiering import services
from tiering.models import HealthOverride, HealthSnapshot, TierAssignment, TierOverride
from tiering.recompute import scores_recompute
from tiering.selectors import override_usage

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def group(ratings_model, account_manager, today):
    ratings_model()
    root = AccountFactory(owner=account_manager, market_influence=3)
    child = AccountFactory(owner=account_manager, parent=root)
    scores_recompute(as_of=today)  # computed: T3
    return root, child


def tiers(*accounts):
    return [Account.objects.get(pk=a.pk).tier for a in accounts]


def test_a_tier_override_applies_at_once_to_the_whole_group(
    group, executive, admin_user, today, events, django_capture_on_commit_callbacks
):
    root, child = group
    with django_capture_on_commit_callbacks(execute=True):
        override = services.tier_override_set(
            account=child, tier="T1", reason="Strategic partner in the corporate plan", approved_by=executive,
            expires_on=today + dt.timedelta(days=180), actor=admin_user,
        )  # fmt: skip
    assert override.account_id == root.pk  # given a member, the override is the group's
    assert tiers(root, child) == ["T1", "T1"]
    current = TierAssignment.objects.get(account=root, valid_to__isnull=True)
    assert (current.tier, current.reason, current.override_id) == ("T1", "override", override.pk)
    assert {p["account_id"]: p["reason"] for name, p in events if name == "account.tier_changed"} == {
        root.pk: "override",
        child.pk: "override",
    }
    assert override.history.get().history_user == admin_user  # audited


def test_expiry_restores_the_computed_tier(group, executive, today, events, django_capture_on_commit_callbacks):
    root, child = group
    expires = today + dt.timedelta(days=30)
    override = services.tier_override_set(account=root, tier="T1", reason="Committee", approved_by=executive, expires_on=expires)
    scores_recompute(part="health", as_of=expires - dt.timedelta(days=1))
    assert tiers(root, child) == ["T1", "T1"]  # still valid the day before
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(part="health", as_of=expires + dt.timedelta(days=2))  # the nightly run after expiry
    override.refresh_from_db()
    assert (override.status, override.ended_on) == ("expired", expires)
    assert tiers(root, child) == ["T3", "T3"]
    current = TierAssignment.objects.get(account=root, valid_to__isnull=True)
    assert (current.tier, current.reason, current.valid_from, current.override_id) == ("T3", "override_ended", expires, None)
    assert (
        "account.tier_changed",
        {
            "account_id": child.pk,
            "old_tier": "T1",
            "new_tier": "T3",
            "reason": "override_ended",
            "effective_on": expires.isoformat(),
        },
    ) in events


def test_ending_an_override_early_restores_the_computed_tier(group, executive, admin_user, today):
    root, child = group
    override = services.tier_override_set(
        account=root, tier="T2", reason="Committee", approved_by=executive, expires_on=today + dt.timedelta(days=30)
    )
    services.tier_override_end(override=override, actor=admin_user)
    override.refresh_from_db()
    assert (override.status, override.ended_on, override.ended_by) == ("revoked", today, admin_user)
    assert tiers(root, child) == ["T3", "T3"]
    with pytest.raises(ValidationError) as caught:
        services.tier_override_end(override=override)
    assert "status" in caught.value.message_dict


def test_a_new_override_replaces_the_active_one(group, executive, today):
    root, _ = group
    first = services.tier_override_set(
        account=root, tier="T2", reason="A", approved_by=executive, expires_on=today + dt.timedelta(days=30)
    )
    second = services.tier_override_set(
        account=root, tier="T1", reason="B", approved_by=executive, expires_on=today + dt.timedelta(days=60)
    )
    first.refresh_from_db()
    assert (first.status, second.status) == ("revoked", "active")
    assert tiers(root) == ["T1"]


def test_the_computed_state_moves_on_underneath_an_override(group, executive, today):
    root, _ = group
    services.tier_override_set(
        account=root, tier="T4", reason="Dispute", approved_by=executive, expires_on=today + dt.timedelta(days=300)
    )
    Account.objects.filter(pk=root.pk).update(market_influence=5)
    for months in (3, 6):
        scores_recompute(part="tiers", as_of=today + dt.timedelta(days=31 * months))
    from tiering.models import ScoreSnapshot

    latest = ScoreSnapshot.objects.filter(account=root).order_by("-as_of").first()
    assert (latest.computed_tier, latest.tier) == ("T2", "T4")
    assert tiers(root) == ["T4"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"approved_by": "manager"}, "approved_by"),
        ({"expires_on": 366}, "expires_on"),
        ({"expires_on": 0}, "expires_on"),
        ({"reason": "  "}, "reason"),
        ({"tier": "T9"}, "tier"),
        ({"starts_on": -1}, "starts_on"),
    ],
)
def test_invalid_tier_overrides_are_refused_by_field(group, executive, account_manager, today, changes, field):
    root, _ = group
    kwargs = {
        "account": root,
        "tier": "T1",
        "reason": "Committee",
        "approved_by": executive,
        "expires_on": today + dt.timedelta(days=30),
    }
    for name, value in changes.items():
        if name == "approved_by":
            value = account_manager  # account managers may not approve overrides
        elif name in {"expires_on", "starts_on"}:
            value = today + dt.timedelta(days=value)
        kwargs[name] = value
    with pytest.raises(ValidationError) as caught:
        services.tier_override_set(**kwargs)
    assert field in caught.value.message_dict
    assert not TierOverride.objects.exists()
    assert tiers(root) == ["T3"]


def test_a_health_override_keeps_the_computed_score_beside_it(
    group, executive, admin_user, today, events, django_capture_on_commit_callbacks
):
    root, child = group
    add_invoices(
        [
            {
                "account": root,
                "issued_on": today - dt.timedelta(days=40),
                "due_on": today - dt.timedelta(days=10),
                "amount": "1000",
                "paid_on": today - dt.timedelta(days=10),
            }
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        override = services.health_override_set(account=child, score=D("30"), reason="Escalated outage", actor=admin_user)
    assert override.approved_by == admin_user and override.expires_on == today + dt.timedelta(days=30)
    assert {(a.health_score, a.health_band) for a in Account.objects.filter(pk__in=[root.pk, child.pk])} == {(D(30), "red")}
    assert any(name == "account.health_band_changed" and p["new_band"] == "red" for name, p in events)
    scores_recompute(part="health", as_of=today + dt.timedelta(days=1))
    snap = HealthSnapshot.objects.filter(account=root).latest("as_of")
    assert (snap.effective_score, snap.effective_band, snap.override_id) == (D(30), "red", override.pk)
    assert snap.score is None or snap.score != D(30)  # the computed score stays beside it
    scores_recompute(part="health", as_of=today + dt.timedelta(days=31))
    override.refresh_from_db()
    assert override.status == "expired"
    assert Account.objects.get(pk=child.pk).health_band == HealthSnapshot.objects.filter(account=root).latest("as_of").band


def test_a_health_band_override_and_its_limits(group, executive, today):
    root, _ = group
    services.health_override_set(
        account=root, band="green", reason="Renewal signed", approved_by=executive, expires_on=today + dt.timedelta(days=90)
    )
    assert Account.objects.get(pk=root.pk).health_band == "green"
    with pytest.raises(ValidationError) as caught:
        services.health_override_set(
            account=root, band="green", reason="x", approved_by=executive, expires_on=today + dt.timedelta(days=91)
        )
    assert "expires_on" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.health_override_set(account=root, score=D(40), band="red", reason="x", approved_by=executive)
    assert "override_score" in caught.value.message_dict
    assert HealthOverride.objects.filter(status="active").count() == 1


def test_override_use_is_reported_per_user(group, executive, admin_user, today):
    root, _ = group
    services.tier_override_set(
        account=root, tier="T1", reason="A", approved_by=executive, expires_on=today + dt.timedelta(days=9), actor=admin_user
    )
    services.tier_override_set(
        account=root, tier="T2", reason="B", approved_by=executive, expires_on=today + dt.timedelta(days=9), actor=admin_user
    )
    services.health_override_set(account=root, band="red", reason="C", actor=executive)
    assert override_usage() == [
        {"user_id": admin_user.pk, "username": admin_user.username, "tier": 2, "health": 0, "active": 1},
        {"user_id": executive.pk, "username": executive.username, "tier": 0, "health": 1, "active": 1},
    ]
