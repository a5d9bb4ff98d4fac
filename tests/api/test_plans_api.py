"""``plans/``, ``objectives/``, ``actions/``, ``reviews/``, ``needs/``, ``cases/``, ``playbooks/``,
``service-standards/`` and ``notifications/``: happy paths, bad input named by field (nothing
half-written), visibility, roles and If-Match."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from service_plans.models import (
    AccountPlan,
    BusinessCalendar,
    Commitment,
    Notification,
    PlanAction,
    PlanReview,
    PlaybookTemplate,
    ServiceStandard,
    SlaTarget,
)
from service_plans.services import delivery, plans, standards
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Plans ------------------------------------------------------------------------------------------


def test_plan_create_defaults_the_owner_and_checks_money(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/plans/", {"account": account.pk, "fiscal_year": 2026, "revenue_target_amount": "5000000.00"}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["currency"])  # an amount needs its currency
    response = manager_api.post(
        "/api/v1/plans/",
        {"account": account.pk, "fiscal_year": 2026, "revenue_target_amount": "5000000.00", "currency": "usd"},
        format="json",
    )
    assert (response.status_code, list(response.json())) == (400, ["currency"])
    assert not AccountPlan.objects.exists()
    response = manager_api.post(
        "/api/v1/plans/",
        {"account": account.pk, "fiscal_year": 2026, "revenue_target_amount": "5000000.00", "currency": "CNY"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner"], body["status"], body["revenue_target_amount"], body["version"]) == (
        account_manager.pk,
        "draft",
        "5000000.00",
        1,
    )
    assert response["Location"].endswith(f"/api/v1/plans/{body['id']}/")


def test_plan_on_an_invisible_account_is_refused(manager_api, other_manager):
    account = AccountFactory(owner=other_manager)
    response = manager_api.post("/api/v1/plans/", {"account": account.pk, "fiscal_year": 2026}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["account"])


def test_activate_records_the_approver_and_allows_one_active_plan(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    first = plans.plan_create(account=account, fiscal_year=2026)
    second = plans.plan_create(account=account, fiscal_year=2026)
    response = manager_api.post(f"/api/v1/plans/{first.pk}/activate/", {}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["approved_by"]) == ("active", account_manager.pk)
    response = manager_api.post(f"/api/v1/plans/{second.pk}/activate/", {}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["status"])
    second.refresh_from_db()
    assert second.status == "draft"


def test_plan_patch_with_stale_if_match_is_412(manager_api, account_manager):
    plan = plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026)
    etag = manager_api.get(f"/api/v1/plans/{plan.pk}/")["ETag"]
    plans.plan_update(plan=plan, challenges="Budget cuts")
    response = manager_api.patch(f"/api/v1/plans/{plan.pk}/", {"challenges": "Mine"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    plan.refresh_from_db()
    assert plan.challenges == "Budget cuts"


def test_other_managers_plan_and_children_are_404(other_api, account_manager):
    plan = plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026)
    objective = plans.objective_create(plan=plan, title="NPS")
    action = plans.action_create(plan=plan, title="Call")
    review = plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 1))
    for path in [f"plans/{plan.pk}", f"objectives/{objective.pk}", f"actions/{action.pk}", f"reviews/{review.pk}"]:
        assert other_api.get(f"/api/v1/{path}/").status_code == 404, path
    assert other_api.patch(f"/api/v1/actions/{action.pk}/", {"status": "done"}, format="json").status_code == 404
    response = other_api.post("/api/v1/objectives/", {"plan": plan.pk, "title": "Theirs"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["plan"])


def test_executives_cannot_write_plans(executive_api, account_manager):
    plan = plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026)
    assert executive_api.get(f"/api/v1/plans/{plan.pk}/").status_code == 200
    assert executive_api.patch(f"/api/v1/plans/{plan.pk}/", {"challenges": "x"}, format="json").status_code == 403


# --- Objectives and actions -------------------------------------------------------------------------


def test_objective_progress_follows_its_actions(manager_api, account_manager):
    plan = plans.plan_create(account=AccountFactory(owner=account_manager), fiscal_year=2026)
    response = manager_api.post("/api/v1/objectives/", {"plan": plan.pk, "title": "NPS", "kpi_code": "nps"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["target"])
    response = manager_api.post(
        "/api/v1/objectives/", {"plan": plan.pk, "title": "NPS", "kpi_code": "nps", "target": "40"}, format="json"
    )
    assert response.status_code == 201
    objective_id = response.json()["id"]
    assert response.json()["progress"] is None
    for status in ("done", "open", "cancelled"):
        response = manager_api.post(
            "/api/v1/actions/", {"plan": plan.pk, "objective": objective_id, "title": status, "status": status}, format="json"
        )
        assert response.status_code == 201, response.content
    assert manager_api.get(f"/api/v1/objectives/{objective_id}/").json()["progress"] == 50.0
    response = manager_api.patch(
        f"/api/v1/objectives/{objective_id}/", {"status": "on_track"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert (response.status_code, response.json()["progress"], response["ETag"]) == (200, 50.0, '"2"')
    listed = manager_api.get("/api/v1/objectives/", {"plan": plan.pk}).json()["results"]
    assert [row["progress"] for row in listed] == [50.0]


def test_action_owner_is_a_colleague_or_a_contact_of_the_account(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    plan = plans.plan_create(account=account, fiscal_year=2026)
    contact = ContactFactory(account=account)
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    response = manager_api.post(
        "/api/v1/actions/",
        {"plan": plan.pk, "title": "Both", "owner_user": account_manager.pk, "owner_contact": contact.pk},
        format="json",
    )
    assert (response.status_code, list(response.json())) == (400, ["owner_contact"])
    response = manager_api.post(
        "/api/v1/actions/", {"plan": plan.pk, "title": "Elsewhere", "owner_contact": stranger.pk}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["owner_contact"])
    assert not PlanAction.objects.exists()
    response = manager_api.post("/api/v1/actions/", {"plan": plan.pk, "title": "Ok", "owner_contact": contact.pk}, format="json")
    assert response.status_code == 201
    action_id = response.json()["id"]
    response = manager_api.patch(f"/api/v1/actions/{action_id}/", {"status": "done", "source": "standard"}, format="json")
    assert response.status_code == 200
    assert (response.json()["source"], response.json()["completed_at"] is not None) == ("manual", True)


# --- Reviews ----------------------------------------------------------------------------------------


def test_review_cycle_with_decisions_and_commitments(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    plan = plans.plan_create(account=account, fiscal_year=2026)
    contact = ContactFactory(account=account)
    response = manager_api.post("/api/v1/reviews/", {"plan": plan.pk, "kind": "qbr", "scheduled_on": "2026-03-01"}, format="json")
    assert response.status_code == 201, response.content
    review_id = response.json()["id"]
    record = f"/api/v1/reviews/{review_id}/record/"

    bad = {"held_on": "2026-03-02", "commitments": [{"side": "theirs", "text": "Pilot", "owner_user": account_manager.pk}]}
    response = manager_api.post(record, bad, format="json")
    assert (response.status_code, list(response.json())) == (400, ["commitments[0]"])
    elsewhere = ContactFactory(account=AccountFactory(owner=account_manager))  # visible, but of another account
    bad = {
        "held_on": "2026-03-02",
        "commitments": [{"side": "ours", "text": "Fine"}, {"side": "theirs", "text": "X", "owner_contact": elsewhere.pk}],
    }
    response = manager_api.post(record, bad, format="json")
    assert (response.status_code, list(response.json())) == (400, ["commitments[1]"])
    assert not PlanAction.objects.exists()  # the first commitment's action was rolled back with the rest
    assert (PlanReview.objects.get(pk=review_id).status, Commitment.objects.count()) == ("scheduled", 0)

    good = {
        "held_on": "2026-03-02",
        "decisions": "Extend the pilot to plant 2.",
        "commitments": [
            {"side": "ours", "text": "Send the pilot plan", "due_on": "2026-03-15"},
            {"side": "theirs", "text": "Nominate a sponsor", "owner_contact": contact.pk},
        ],
    }
    response = manager_api.post(record, good, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decisions"]) == ("held", "Extend the pilot to plant 2.")
    ours = next(c for c in body["commitments"] if c["side"] == "ours")
    action = PlanAction.objects.get(pk=ours["action"])  # our commitment became an action
    assert (action.title, action.source, action.owner_user, action.due_on) == (
        "Send the pilot plan",
        "commitment",
        account_manager,
        dt.date(2026, 3, 15),
    )

    response = manager_api.post(f"/api/v1/reviews/{review_id}/complete/", {}, format="json")
    assert response.status_code == 400
    assert {"recap_sent_at", "next_review"} <= set(response.json())
    assert manager_api.post(f"/api/v1/reviews/{review_id}/recap-sent/", {}, format="json").status_code == 200
    plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 6, 1))
    response = manager_api.post(f"/api/v1/reviews/{review_id}/complete/", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "complete")
    response = manager_api.post(record, good, format="json")
    assert (response.status_code, list(response.json())) == (400, ["status"])


def test_review_record_takes_our_attendees(manager_api, other_api, account_manager, other_manager):
    # §7.4: the attendees go on the review's meeting, as the workspace form records them (review_record).
    account = AccountFactory(owner=account_manager)
    plan = plans.plan_create(account=account, fiscal_year=2026)
    colleague = UserFactory(username="colleague")
    review = plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 1))
    record = f"/api/v1/reviews/{review.pk}/record/"
    for attendees in ([987654321], [UserFactory(username="gone", is_active=False).pk], "x", [account_manager.pk, "x"]):
        response = manager_api.post(record, {"held_on": "2026-03-02", "attendees": attendees}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["attendees"]), attendees
    review.refresh_from_db()
    assert (review.status, review.meeting_id) == ("scheduled", None)  # nothing recorded
    # another manager's review: 404 before the body matters
    response = other_api.post(record, {"held_on": "2026-03-02", "attendees": [other_manager.pk]}, format="json")
    assert response.status_code == 404

    response = manager_api.post(
        record, {"held_on": "2026-03-02", "attendees": [account_manager.pk, colleague.pk]}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert (response.status_code, response.json()["status"]) == (200, "held"), response.content
    review.refresh_from_db()
    assert set(review.meeting.attendees.all()) == {account_manager, colleague}
    assert review.meeting.kind == "qbr"

    # an internal review has no meeting to put attendees on: 400 naming ``attendees``
    internal = plans.review_schedule(plan=plan, kind="internal_monthly", scheduled_on=dt.date(2026, 4, 1))
    response = manager_api.post(
        f"/api/v1/reviews/{internal.pk}/record/", {"held_on": "2026-03-02", "attendees": [colleague.pk]}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["attendees"])
    response = manager_api.post(f"/api/v1/reviews/{internal.pk}/record/", {"held_on": "2026-03-02"}, format="json")
    assert response.status_code == 200


def test_review_record_takes_the_customers_contacts(manager_api, other_api, executive_api, account_manager, other_manager):
    # §7.4: who attended on the customer's side goes on the review's meeting, beside our attendees.
    account = AccountFactory(owner=account_manager)
    plan = plans.plan_create(account=account, fiscal_year=2026)
    buyer = ContactFactory(account=account, name="Ms Buyer")
    sponsor = ContactFactory(account=account, name="Mr Sponsor")
    review = plans.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 3, 1))
    record = f"/api/v1/reviews/{review.pk}/record/"
    body = {"held_on": "2026-03-02", "attendees": [account_manager.pk], "commitments": [{"side": "ours", "text": "Pilot"}]}
    refused = [
        [987654321],  # unknown
        [buyer.pk, ContactFactory(account=AccountFactory(owner=account_manager)).pk],  # my other account's
        [ContactFactory(account=AccountFactory(owner=other_manager)).pk],  # an account I cannot see
        # a subsidiary's: the plan (and the meeting) belong to one account, not to its group
        [ContactFactory(account=AccountFactory(owner=account_manager, parent=account)).pk],
        [ContactFactory(account=account, is_active=False).pk],  # has left
        "x",
    ]
    for contacts in refused:
        response = manager_api.post(record, {**body, "contacts": contacts}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["contacts"]), contacts
    review.refresh_from_db()
    assert (review.status, review.meeting_id, review.version) == ("scheduled", None, 1)  # nothing recorded
    assert not account.meetings.exists() and not Commitment.objects.exists() and not PlanAction.objects.exists()
    # another manager's review is a 404, to read and to record (with contacts they may name: VerbMixin
    # validates the body first, as for a review that does not exist, so a body naming ours is a 400)
    assert other_api.get(f"/api/v1/reviews/{review.pk}/").status_code == 404
    theirs = ContactFactory(account=AccountFactory(owner=other_manager))
    response = other_api.post(record, {"held_on": "2026-03-02", "contacts": [theirs.pk]}, format="json")
    assert response.status_code == 404
    assert other_api.post(record, {"held_on": "2026-03-02", "contacts": [buyer.pk]}, format="json").status_code == 400

    response = manager_api.post(record, {**body, "contacts": [sponsor.pk, buyer.pk]}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    expected = {"attendees": [account_manager.pk], "contacts": sorted([buyer.pk, sponsor.pk])}
    assert {key: response.json()[key] for key in expected} == expected
    review.refresh_from_db()
    assert set(review.meeting.contacts.all()) == {buyer, sponsor} and review.meeting.account_id == account.pk
    for client in (manager_api, executive_api):  # the detail and the list read them back
        assert {key: client.get(f"/api/v1/reviews/{review.pk}/").json()[key] for key in expected} == expected
        (row,) = client.get("/api/v1/reviews/", {"plan": plan.pk}).json()["results"]
        assert {key: row[key] for key in expected} == expected

    # an internal review has no meeting to record contacts on: 400 naming ``contacts``, and the review
    # (updated before the meeting is looked at) and its commitments are rolled back
    internal = plans.review_schedule(plan=plan, kind="internal_monthly", scheduled_on=dt.date(2026, 4, 1))
    response = manager_api.post(f"/api/v1/reviews/{internal.pk}/record/", {**body, "contacts": [buyer.pk]}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["contacts"])
    internal.refresh_from_db()
    assert (internal.status, internal.version, internal.commitments.count()) == ("scheduled", 1, 0)
    response = manager_api.get(f"/api/v1/reviews/{internal.pk}/")
    assert (response.json()["attendees"], response.json()["contacts"]) == ([], [])


# --- Needs and cases --------------------------------------------------------------------------------


def test_needs(manager_api, other_api, account_manager):
    account = AccountFactory(owner=account_manager)
    response = manager_api.post(
        "/api/v1/needs/", {"account": account.pk, "description": "A portal", "priority": "urgent"}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["priority"])
    response = manager_api.post("/api/v1/needs/", {"account": account.pk, "description": "A portal"}, format="json")
    assert response.status_code == 201
    need_id = response.json()["id"]
    response = manager_api.patch(f"/api/v1/needs/{need_id}/", {"status": "addressed"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["status"])
    response = manager_api.patch(f"/api/v1/needs/{need_id}/", {"status": "met"}, format="json", HTTP_IF_MATCH='"1"')
    assert (response.status_code, response.json()["status"], response.json()["version"]) == (200, "met", 2)
    assert other_api.get(f"/api/v1/needs/{need_id}/").status_code == 404


def test_case_library_shares_reusable_cases_read_only(manager_api, account_manager, other_manager):
    internal = delivery.benchmark_case_create(account=AccountFactory(owner=other_manager), title="I", problem="P", solution="S")
    public = delivery.benchmark_case_create(
        account=AccountFactory(owner=other_manager),
        title="Pub",
        problem="P",
        solution="S",
        approval_status="public",
        published_on=dt.date(2026, 1, 5),
    )
    assert manager_api.get(f"/api/v1/cases/{internal.pk}/").status_code == 404
    assert manager_api.get(f"/api/v1/cases/{public.pk}/").status_code == 200
    assert manager_api.patch(f"/api/v1/cases/{public.pk}/", {"title": "Mine"}, format="json").status_code == 404
    assert {row["id"] for row in manager_api.get("/api/v1/cases/").json()["results"]} == {public.pk}


def test_case_validation_names_the_field(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    payload = {"account": account.pk, "title": "T", "problem": "P", "solution": "S", "approval_status": "public"}
    response = manager_api.post("/api/v1/cases/", payload, format="json")
    assert (response.status_code, list(response.json())) == (400, ["published_on"])
    response = manager_api.post(
        "/api/v1/cases/", {**payload, "approval_status": "internal_only", "outcome_metrics": [{"x": 1}]}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["outcome_metrics"])
    response = manager_api.post(
        "/api/v1/cases/",
        {
            **payload,
            "published_on": "2026-01-05",
            "tags": ["uptime"],
            "outcome_metrics": [{"kpi_code": "nps", "before": 10, "after": 35}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["uptime"]


# --- Configuration ----------------------------------------------------------------------------------


def test_playbooks_are_written_by_administrators_and_versioned(admin_api, manager_api):
    payload = {
        "code": "overdue",
        "name": "Overdue invoices",
        "rule": "R3",
        "tasks": [{"title": "Call finance", "due_offset_days": 2}, {"title": "Statement", "due_offset_days": 5}],
    }
    assert manager_api.post("/api/v1/playbooks/", payload, format="json").status_code == 403
    response = admin_api.post("/api/v1/playbooks/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["is_active"], [t["order"] for t in body["tasks"]]) == (1, True, [1, 2])
    assert admin_api.post("/api/v1/playbooks/", payload, format="json").status_code == 409
    bad = {**payload, "code": "other", "tasks": [{"title": "No offset"}]}
    response = admin_api.post("/api/v1/playbooks/", bad, format="json")
    assert response.status_code == 400 and "tasks" in response.json()
    assert not PlaybookTemplate.objects.filter(code="other").exists()

    first = body["id"]
    assert manager_api.post(f"/api/v1/playbooks/{first}/new-version/", {}, format="json").status_code == 403
    response = admin_api.post(f"/api/v1/playbooks/{first}/new-version/", {}, format="json")
    assert response.status_code == 201
    assert (response.json()["version"], len(response.json()["tasks"])) == (2, 2)
    assert manager_api.get(f"/api/v1/playbooks/{first}/").json()["is_active"] is False
    response = admin_api.post(f"/api/v1/playbooks/{first}/new-version/", {}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["is_active"])


def test_service_standard_revise(admin_api, manager_api):
    standard = ServiceStandard.objects.filter(tier="T1", is_active=True).first() or ServiceStandard.objects.create(
        tier="T1", calendar=BusinessCalendar.objects.create(name="CN")
    )
    SlaTarget.objects.update_or_create(
        standard=standard, priority="p1", defaults={"first_response_minutes": 30, "resolution_minutes": 240}
    )
    versions = ServiceStandard.objects.filter(tier="T1").count()
    url = f"/api/v1/service-standards/{standard.pk}/revise/"
    assert manager_api.get(f"/api/v1/service-standards/{standard.pk}/").status_code == 200
    assert manager_api.post(url, {"review_cadence": {"qbr": 2}}, format="json").status_code == 403
    response = admin_api.post(url, {"review_cadence": {"weekly": 2}}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["review_cadence"])
    response = admin_api.post(
        url, {"sla_targets": [{"priority": "p1", "first_response_minutes": 60, "resolution_minutes": 30}]}, format="json"
    )
    assert response.status_code == 400
    assert ServiceStandard.objects.filter(tier="T1").count() == versions  # nothing half-written
    response = admin_api.post(
        url,
        {
            "review_cadence": {"qbr": 2},
            "sla_targets": [{"priority": "p2", "first_response_minutes": 60, "resolution_minutes": 480}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["is_active"], body["review_cadence"]) == (standard.version + 1, True, {"qbr": 2})
    targets = {t["priority"]: (t["first_response_minutes"], t["resolution_minutes"]) for t in body["sla_targets"]}
    assert (targets["p1"], targets["p2"]) == ((30, 240), (60, 480))
    standard.refresh_from_db()
    assert standard.is_active is False


def test_notifications_are_ones_own(manager_api, other_api, admin_api, account_manager, admin_user):
    mine = Notification.objects.create(user=account_manager, kind="alert.opened", text="New alert")
    Notification.objects.create(user=admin_user, kind="alert.opened", text="Admin's")
    assert [row["id"] for row in manager_api.get("/api/v1/notifications/").json()["results"]] == [mine.pk]
    assert other_api.get(f"/api/v1/notifications/{mine.pk}/").status_code == 404
    assert admin_api.post(f"/api/v1/notifications/{mine.pk}/read/", {}, format="json").status_code == 404
    assert manager_api.get("/api/v1/notifications/", {"is_read": "false"}).json()["results"][0]["id"] == mine.pk
    response = manager_api.post(f"/api/v1/notifications/{mine.pk}/read/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert manager_api.get("/api/v1/notifications/", {"is_read": "false"}).json()["results"] == []


def test_read_all_marks_only_ones_own_unread_notifications(manager_api, admin_api, account_manager, admin_user):
    for i in range(3):
        Notification.objects.create(user=account_manager, kind="alert.opened", text=f"Alert {i}")
    already = Notification.objects.create(user=account_manager, kind="alert.opened", text="Seen", read_at=timezone.now())
    read_at = already.read_at
    theirs = Notification.objects.create(user=admin_user, kind="alert.opened", text="Admin's")
    response = manager_api.post("/api/v1/notifications/read-all/", {}, format="json")
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert manager_api.get("/api/v1/notifications/", {"is_read": "false"}).json()["results"] == []
    already.refresh_from_db()
    theirs.refresh_from_db()
    assert already.read_at == read_at and theirs.read_at is None  # a read one keeps its time; others' untouched
    assert manager_api.post("/api/v1/notifications/read-all/", {}, format="json").json() == {"marked": 0}
    assert admin_api.post("/api/v1/notifications/read-all/", {}, format="json").json() == {"marked": 1}


def test_playbook_etag_changes_with_its_content(admin_api):
    playbook = standards.playbook_create(code="x", name="X", rule="R1")
    etag = admin_api.get(f"/api/v1/playbooks/{playbook.pk}/")["ETag"]
    assert etag != '"1"'  # the playbook's version number is not a change counter
    response = admin_api.post(f"/api/v1/playbooks/{playbook.pk}/new-version/", {}, format="json", HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412
    response = admin_api.post(f"/api/v1/playbooks/{playbook.pk}/new-version/", {}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 201
