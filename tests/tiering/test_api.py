"""The tiering endpoints: scoring models, snapshots, assignments, overrides and the account verbs.

Scores come from real runs (``scores_recompute``) over a small portfolio: the owner's group (a root
and a subsidiary) and another manager's account. The value score is the market-influence rating
alone (``ratings_model``), so each account's tier is known.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from integrations.models import WebhookDelivery
from integrations.webhooks import subscription_create
from tests.api.conftest import token_client
from tests.factories import AccountFactory, UserFactory
from tiering.models import ScoringModel, ScoringRun, TierAssignment, TierOverride
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db

FACTORS = [
    {"purpose": "value", "code": "MI", "measure": "market_influence", "scorer": "ordinal_map",
     "params": {"map": {"1": 0, "5": 100}}, "weight": "2"},
    {"purpose": "health", "code": "PAY", "measure": "days_beyond_terms_t180", "scorer": "linear_band",
     "params": {"poor": 45, "good": 0}, "weight": "1"},
]  # fmt: skip


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def portfolio(ratings_model, account_manager, other_manager, today):
    ratings_model()
    root = AccountFactory(owner=account_manager, market_influence=3)  # → T3
    child = AccountFactory(owner=account_manager, parent=root)
    others = AccountFactory(owner=other_manager, market_influence=5)
    scores_recompute(as_of=today)
    return {"root": root, "child": child, "others": others}


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- scoring models -------------------------------------------------------------------------------


def test_an_administrator_creates_an_inactive_version_with_its_factors(admin_api, scoring_model):
    response = admin_api.post("/api/v1/scoring-models/", {"name": "2027 draft", "factors": FACTORS}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_active"] is False and body["is_used"] is False
    assert body["version"] == scoring_model.version + 1
    assert sorted((f["code"], f["weight"]) for f in body["factors"]) == [("MI", "2.000"), ("PAY", "1.000")]
    assert response["Location"].endswith(f"/api/v1/scoring-models/{body['id']}/")
    assert ScoringModel.objects.get(is_active=True) == scoring_model


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "No factors"}, "factors"),
        ({"name": "Bad measure", "factors": [{**FACTORS[0], "measure": "nope"}, FACTORS[1]]}, "factors"),
        ({"name": "Only value", "factors": FACTORS[:1]}, "factors"),
        ({"name": "Unordered", "factors": FACTORS, "t1_entry": "50", "t2_entry": "60"}, "t2_entry"),
        ({"name": "Typo", "factors": FACTORS, "t1_entyr": "80"}, "t1_entyr"),
        ({"factors": FACTORS}, "name"),
    ],
)
def test_bad_scoring_models_are_400_naming_the_field(admin_api, scoring_model, payload, field):
    count = ScoringModel.objects.count()
    response = admin_api.post("/api/v1/scoring-models/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert ScoringModel.objects.count() == count


def test_an_unused_version_is_edited_in_place(admin_api, scoring_model):
    created = admin_api.post("/api/v1/scoring-models/", {"name": "Draft", "factors": FACTORS}, format="json").json()
    response = admin_api.patch(f"/api/v1/scoring-models/{created['id']}/", {"t1_entry": "80.00"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["t1_entry"] == "80.00" and response.json()["version"] == created["version"]
    assert ScoringModel.objects.get(pk=created["id"]).t1_entry == Decimal("80")


def test_a_used_version_is_immutable_409_and_nothing_changes(admin_api, scoring_model):
    ScoringRun.objects.create(model=scoring_model, config_hash="x", as_of=timezone.localdate(), status="done")
    count = ScoringModel.objects.count()
    response = admin_api.patch(f"/api/v1/scoring-models/{scoring_model.pk}/", {"t1_entry": "80.00"}, format="json")
    assert response.status_code == 409, response.content
    assert "copy" in response.json()["non_field_errors"][0]
    scoring_model.refresh_from_db()
    assert scoring_model.t1_entry == Decimal("75") and ScoringModel.objects.count() == count
    assert admin_api.get(f"/api/v1/scoring-models/{scoring_model.pk}/").json()["is_used"] is True


def test_copy_then_activate_makes_the_copy_the_active_version(admin_api, scoring_model):
    response = admin_api.post(f"/api/v1/scoring-models/{scoring_model.pk}/copy/")
    assert response.status_code == 201, response.content
    copy = response.json()
    assert (copy["based_on"], copy["is_active"]) == (scoring_model.pk, False)
    assert admin_api.patch(f"/api/v1/scoring-models/{copy['id']}/", {"max_t1": 40}, format="json").status_code == 200
    response = admin_api.post(f"/api/v1/scoring-models/{copy['id']}/activate/")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert ScoringModel.objects.get(is_active=True).pk == copy["id"]


def test_a_stale_if_match_on_a_scoring_model_is_412(admin_api, scoring_model):
    created = admin_api.post("/api/v1/scoring-models/", {"name": "Draft", "factors": FACTORS}, format="json")
    etag = created["ETag"]
    assert admin_api.patch(f"/api/v1/scoring-models/{created.json()['id']}/", {"notes": "v2"}, format="json").status_code == 200
    response = admin_api.patch(
        f"/api/v1/scoring-models/{created.json()['id']}/", {"notes": "v3"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert ScoringModel.objects.get(pk=created.json()["id"]).notes == "v2"


@pytest.mark.parametrize("persona", ["account_manager", "executive"])
def test_only_administrators_write_scoring_models(request, persona, scoring_model):
    client = token_client(request.getfixturevalue(persona))
    assert client.get(f"/api/v1/scoring-models/{scoring_model.pk}/").status_code == 200
    assert client.post("/api/v1/scoring-models/", {"name": "X", "factors": FACTORS}, format="json").status_code == 403
    assert client.post(f"/api/v1/scoring-models/{scoring_model.pk}/activate/").status_code == 403


def test_a_read_only_token_cannot_write(admin_user, scoring_model):
    client = token_client(admin_user, scope="read")
    assert client.post(f"/api/v1/scoring-models/{scoring_model.pk}/copy/").status_code == 403


# --- snapshots, assignments ---------------------------------------------------------------------------


def test_tier_snapshots_carry_the_breakdown_and_follow_visibility(portfolio, manager_api, executive_api):
    root, others = portfolio["root"], portfolio["others"]
    rows = manager_api.get("/api/v1/tier-snapshots/").json()["results"]
    assert [r["account"] for r in rows] == [root.pk]  # the group's snapshot, on its root
    row = rows[0]
    assert (row["tier"], row["score"], row["status"]) == ("T3", "50.00", "ok")
    assert row["factors"][0]["code"] == "MI" and "raw" in row["factors"][0]
    other_row = executive_api.get("/api/v1/tier-snapshots/", {"account": others.pk}).json()["results"][0]
    assert other_row["tier"] == "T1"
    assert manager_api.get(f"/api/v1/tier-snapshots/{other_row['id']}/").status_code == 404
    assert executive_api.get(f"/api/v1/tier-snapshots/{other_row['id']}/").status_code == 200


def test_snapshot_filters(portfolio, executive_api, today):
    root, others = portfolio["root"], portfolio["others"]
    snapshots = executive_api.get("/api/v1/tier-snapshots/").json()["results"]
    assert {r["account"] for r in snapshots} == {root.pk, others.pk}
    by_tier = executive_api.get("/api/v1/tier-snapshots/", {"tier": "T1"}).json()["results"]
    assert [r["account"] for r in by_tier] == [others.pk]
    run = snapshots[0]["run"]
    assert len(_ids(executive_api.get("/api/v1/tier-snapshots/", {"run": run}))) == 2
    assert _ids(executive_api.get("/api/v1/tier-snapshots/", {"as_of_after": (today + dt.timedelta(days=1)).isoformat()})) == []
    health = executive_api.get("/api/v1/health-snapshots/", {"account": root.pk}).json()["results"]
    assert len(health) == 1 and health[0]["account"] == root.pk
    band = health[0]["effective_band"]
    assert len(_ids(executive_api.get("/api/v1/health-snapshots/", {"band": band, "account": root.pk}))) == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("tier-snapshots", {"tier": "T9"}, "tier"),
        ("tier-snapshots", {"as_of": "yesterday"}, "as_of"),
        ("health-snapshots", {"band": "purple"}, "band"),
        ("tier-assignments", {"valid_on": "2025-13-01"}, "valid_on"),
        ("tier-overrides", {"status": "paused"}, "status"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(portfolio, manager_api, path, params, field):
    response = manager_api.get(f"/api/v1/{path}/", params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_tier_assignments_current_and_on_a_day(portfolio, manager_api, other_api, today):
    root = portfolio["root"]
    current = manager_api.get("/api/v1/tier-assignments/", {"is_current": "true"}).json()["results"]
    assert [(r["account"], r["tier"], r["valid_to"]) for r in current] == [(root.pk, "T3", None)]
    assert current[0]["evidence"] is not None
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert _ids(manager_api.get("/api/v1/tier-assignments/", {"valid_on": yesterday})) == []
    assert other_api.get(f"/api/v1/tier-assignments/{current[0]['id']}/").status_code == 404


# --- why ---------------------------------------------------------------------------------------


def test_why_explains_tier_and_health_of_a_member(portfolio, manager_api):
    child = portfolio["child"]
    response = manager_api.get(f"/api/v1/accounts/{child.pk}/why/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["tier"]["tier"], body["tier"]["group_id"]) == ("T3", portfolio["root"].pk)
    snapshot = body["tier"]["snapshot"]
    assert [f["code"] for f in snapshot["factors"]] == ["MI"]
    assert [f["code"] for f in snapshot["holding_down"]] == ["MI"]  # 50 of 100 points lost
    assert len(body["health"]["snapshot"]["holding_down"]) <= 3
    assert body["health"]["snapshot"]["factors"]


def test_why_of_another_managers_account_is_404(portfolio, manager_api):
    assert manager_api.get(f"/api/v1/accounts/{portfolio['others'].pk}/why/").status_code == 404


def test_why_before_any_run_has_no_snapshot(manager_api, account_manager, scoring_model):
    account = AccountFactory(owner=account_manager)
    body = manager_api.get(f"/api/v1/accounts/{account.pk}/why/").json()
    assert body["tier"]["snapshot"] is None and body["health"]["snapshot"] is None


# --- overrides --------------------------------------------------------------------------------


def _tiers(*accounts):
    return [Account.objects.get(pk=a.pk).tier for a in accounts]


def test_an_executive_sets_and_ends_a_tier_override(portfolio, executive_api, executive, today):
    root, child = portfolio["root"], portfolio["child"]
    expires = (today + dt.timedelta(days=90)).isoformat()
    response = executive_api.post(
        f"/api/v1/accounts/{child.pk}/tier-override/",
        {"tier": "T1", "reason": "Strategic partner", "expires_on": expires},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["account"], body["tier"], body["approved_by"], body["status"]) == (root.pk, "T1", executive.pk, "active")
    assert response["Location"].endswith(f"/api/v1/tier-overrides/{body['id']}/")
    assert _tiers(root, child) == ["T1", "T1"]
    assert TierAssignment.objects.get(account=root, valid_to__isnull=True).reason == "override"

    response = executive_api.delete(f"/api/v1/accounts/{root.pk}/tier-override/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"
    assert _tiers(root, child) == ["T3", "T3"]
    assert executive_api.delete(f"/api/v1/accounts/{root.pk}/tier-override/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_clients_ending_the_same_override_at_once_get_200_and_404(portfolio, executive_api, today):
    """The second DELETE waits for the first one's row lock, then finds the override ended: a 404 like a
    request arriving a moment later (it used to be a 400 the schema does not list)."""
    root = portfolio["root"]
    expires = (today + dt.timedelta(days=90)).isoformat()
    url = f"/api/v1/accounts/{root.pk}/tier-override/"
    response = executive_api.post(url, {"tier": "T1", "reason": "Strategic", "expires_on": expires}, format="json")
    override_id = response.json()["id"]
    answers = []

    def second_client():
        try:
            answers.append(executive_api.delete(url))
        finally:
            connection.close()

    with transaction.atomic():  # the "first client": holds the override's row lock while ending it
        TierOverride.objects.select_for_update().get(pk=override_id)
        thread = threading.Thread(target=second_client)
        thread.start()
        with connection.cursor() as cursor:  # wait until the second client is blocked on that lock
            for _ in range(300):
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # the view is otherwise frozen for the transaction
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second DELETE never waited for the row lock")
        TierOverride.objects.filter(pk=override_id).update(status="revoked")
    thread.join(30)
    assert [r.status_code for r in answers] == [404], answers[0].content if answers else "no answer"
    assert "no active override" in answers[0].json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tier": "T1", "expires_on": "+90"}, "reason"),
        ({"tier": "T1", "reason": "x", "expires_on": "+900"}, "expires_on"),
        ({"tier": "T1", "reason": "x", "expires_on": "+90", "starts_on": "-1"}, "starts_on"),
        ({"tier": "T7", "reason": "x", "expires_on": "+90"}, "tier"),
        ({"tier": "T1", "reason": "x", "expires_on": "+90", "approved_by": "manager"}, "approved_by"),
        ({"tier": "T1", "reason": "x", "expires_on": "+90", "colour": "red"}, "colour"),
        ({"tier": "T1", "reason": "x"}, "expires_on"),
    ],
)
def test_bad_tier_overrides_are_400_naming_the_field(portfolio, admin_api, account_manager, today, payload, field):
    def day(offset: str) -> str:
        return (today + dt.timedelta(days=int(offset))).isoformat()

    payload = {
        k: day(v) if k in {"expires_on", "starts_on"} else account_manager.pk if v == "manager" else v for k, v in payload.items()
    }
    response = admin_api.post(f"/api/v1/accounts/{portfolio['root'].pk}/tier-override/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not TierOverride.objects.exists()
    assert _tiers(portfolio["root"]) == ["T3"]


def test_an_approver_may_record_another_approver(portfolio, admin_api, executive, today):
    response = admin_api.post(
        f"/api/v1/accounts/{portfolio['root'].pk}/tier-override/",
        {
            "tier": "T2",
            "reason": "Committee of 3 May",
            "approved_by": executive.pk,
            "expires_on": str(today + dt.timedelta(days=30)),
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["approved_by"] == executive.pk


def test_managers_cannot_override_and_outsiders_get_404(portfolio, manager_api, executive_api, today):
    payload = {"tier": "T1", "reason": "x", "expires_on": str(today + dt.timedelta(days=30))}
    assert manager_api.post(f"/api/v1/accounts/{portfolio['root'].pk}/tier-override/", payload, format="json").status_code == 403
    assert executive_api.post("/api/v1/accounts/987654/tier-override/", payload, format="json").status_code == 404
    assert not TierOverride.objects.exists()


def test_a_stale_if_match_on_the_account_is_412_and_writes_nothing(portfolio, executive_api, today):
    root = portfolio["root"]
    stale = f'"{root.version - 1}"' if root.version > 1 else '"999"'
    response = executive_api.post(
        f"/api/v1/accounts/{root.pk}/tier-override/",
        {"tier": "T1", "reason": "x", "expires_on": str(today + dt.timedelta(days=30))},
        format="json",
        HTTP_IF_MATCH=stale,
    )
    assert response.status_code == 412
    assert not TierOverride.objects.exists()


def test_health_override_by_band_and_its_end(portfolio, admin_api, events):
    root, child = portfolio["root"], portfolio["child"]
    url = f"/api/v1/accounts/{child.pk}/health-override/"
    response = admin_api.post(url, {"score": "20", "band": "green", "reason": "x"}, format="json")
    assert response.status_code == 400 and "score" in response.json()
    response = admin_api.post(url, {"band": "red", "reason": "Escalated outage"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["account"], body["band"], body["score"]) == (root.pk, "red", None)
    assert {Account.objects.get(pk=a.pk).health_band for a in (root, child)} == {"red"}
    listed = admin_api.get("/api/v1/health-overrides/", {"account": root.pk, "status": "active"}).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    assert admin_api.delete(url).json()["status"] == "revoked"


# --- webhooks: one event per committed change ----------------------------------------------------------


@pytest.fixture
def subscription(admin_user, settings):
    settings.KAM_WEBHOOK_ALLOW_LOOPBACK = True
    return subscription_create(
        owner=admin_user,
        url="http://127.0.0.1:9/hook",
        event_types=["account.tier_changed", "account.health_band_changed", "kpis.recomputed"],
    )


def test_a_tier_override_sends_one_tier_changed_event_per_member(
    portfolio, subscription, executive_api, today, django_capture_on_commit_callbacks
):
    root, child = portfolio["root"], portfolio["child"]
    payload = {"tier": "T1", "reason": "x", "expires_on": str(today + dt.timedelta(days=30))}
    with django_capture_on_commit_callbacks(execute=True):
        assert executive_api.post(f"/api/v1/accounts/{root.pk}/tier-override/", payload, format="json").status_code == 201
    deliveries = WebhookDelivery.objects.filter(subscription=subscription)
    assert sorted((d.event_type, d.body["data"]["account_id"]) for d in deliveries) == sorted(
        [("account.tier_changed", root.pk), ("account.tier_changed", child.pk)]
    )
    # Setting the same tier again changes nothing: no new event.
    with django_capture_on_commit_callbacks(execute=True):
        assert executive_api.post(f"/api/v1/accounts/{root.pk}/tier-override/", payload, format="json").status_code == 201
    assert deliveries.count() == 2


def test_a_refused_override_sends_no_event(portfolio, subscription, executive_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = executive_api.post(
            f"/api/v1/accounts/{portfolio['root'].pk}/tier-override/", {"tier": "T1", "reason": "x"}, format="json"
        )
    assert response.status_code == 400
    assert not callbacks
    assert not WebhookDelivery.objects.exists()


def test_a_health_override_sends_one_band_changed_event_per_member(
    portfolio, subscription, admin_api, django_capture_on_commit_callbacks
):
    root, child = portfolio["root"], portfolio["child"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/accounts/{root.pk}/health-override/", {"band": "red", "reason": "x"}, format="json")
    assert response.status_code == 201
    assert sorted(
        d.body["data"]["account_id"] for d in WebhookDelivery.objects.filter(event_type="account.health_band_changed")
    ) == sorted([root.pk, child.pk])


def test_a_score_run_sends_tier_changes_once(
    ratings_model,
    subscription,
    account_manager,
    today,
    django_capture_on_commit_callbacks,
):
    ratings_model()
    account = AccountFactory(owner=account_manager, market_influence=5)
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(as_of=today)
    assert list(
        WebhookDelivery.objects.filter(event_type="account.tier_changed").values_list("body__data__account_id", flat=True)
    ) == [account.pk]
    with django_capture_on_commit_callbacks(execute=True):
        scores_recompute(as_of=today)  # same scores: no change, no event
    assert WebhookDelivery.objects.filter(event_type="account.tier_changed").count() == 1


def test_the_approver_must_be_allowed_to_approve(portfolio, admin_api, today):
    outsider = UserFactory(username="not_an_approver")
    response = admin_api.post(
        f"/api/v1/accounts/{portfolio['root'].pk}/tier-override/",
        {"tier": "T1", "reason": "x", "approved_by": outsider.pk, "expires_on": str(today + dt.timedelta(days=30))},
        format="json",
    )
    assert response.status_code == 400 and "approved_by" in response.json()


# --- constant query counts ---------------------------------------------------------------------


def _rows(kind: str, owner, approver, n: int) -> None:
    from tiering import services
    from tiering.models import HealthSnapshot, ScoreSnapshot

    today = timezone.localdate()
    model = ScoringModel.objects.active()
    for _ in range(n):
        account = AccountFactory(owner=owner)  # a new group per row
        if kind == "scoring-models":
            services.scoring_model_copy(model=model)
            continue
        run = ScoringRun.objects.create(model=model, config_hash="x", as_of=today, status="done")
        if kind == "tier-snapshots":
            ScoreSnapshot.objects.create(run=run, account=account, as_of=today, period_start=today, status="ok", coverage_pct=100)
        elif kind == "health-snapshots":
            HealthSnapshot.objects.create(
                run=run, account=account, as_of=today, status="ok", coverage_pct=100, raw_band="red", band="red",
                effective_band="red",
            )  # fmt: skip
        elif kind == "tier-assignments":
            TierAssignment.objects.create(account=account, tier="T2", valid_from=today, reason="initial", run=run)
        elif kind == "tier-overrides":
            services.tier_override_set(
                account=account, tier="T1", reason="x", approved_by=approver, expires_on=today + dt.timedelta(days=9)
            )
        elif kind == "health-overrides":
            services.health_override_set(account=account, band="red", reason="x", approved_by=approver)


# Queries per page whatever the number of rows: the page (+ factors); the token, its user and
# groups come from the token cache (kam.api.authentication).
PINNED = {
    "scoring-models": 2,
    "tier-snapshots": 1,
    "health-snapshots": 1,
    "tier-assignments": 1,
    "tier-overrides": 1,
    "health-overrides": 1,
}


@pytest.mark.parametrize("kind", sorted(PINNED))
def test_list_queries_are_constant(kind, scoring_model, account_manager, executive, django_assert_num_queries):
    client = token_client(account_manager)
    before = len(client.get(f"/api/v1/{kind}/", {"page_size": 500}).json()["results"])  # also records the token's use
    n = 3
    _rows(kind, account_manager, executive, n)
    with django_assert_num_queries(PINNED[kind]):
        response = client.get(f"/api/v1/{kind}/", {"page_size": 500})
    assert len(response.json()["results"]) == before + n
    _rows(kind, account_manager, executive, 4 * n)
    with django_assert_num_queries(PINNED[kind]):
        response = client.get(f"/api/v1/{kind}/", {"page_size": 500})
    assert len(response.json()["results"]) == before + 5 * n
