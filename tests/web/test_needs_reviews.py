"""Needs and plan reviews on the account page: create and edit needs inline; schedule a review,
record one held with decisions and commitments on both sides (ours become plan actions), the recap
sent and completion only when the next one is scheduled (§7.4). Bad input is a field error with
nothing saved; another manager's account is a 404; executives read but do not write (403)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from service_plans.models import Commitment, Need, PlanAction, PlanReview
from service_plans.services import plans as plan_services
from tests.factories import AccountFactory, ContactFactory, MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(account_manager):
    return AccountFactory(owner=account_manager, name="Acme")


@pytest.fixture
def plan(account, account_manager):
    today = timezone.localdate()
    return plan_services.plan_create(account=account, fiscal_year=plan_services.fiscal_year_of(today), owner=account_manager)


# --- Needs ----------------------------------------------------------------------------------------


def test_create_a_need_inline_and_see_it_on_the_page(manager_client, account):
    url = reverse("web:need_create", args=[account.pk])
    form = manager_client.get(url, headers=HTMX)
    assert form.status_code == 200 and "<html" not in form.text and 'name="description"' in form.text
    page_url = "http://testserver" + reverse("web:account_detail", args=[account.pk])
    response = manager_client.post(
        url,
        {"department": "Procurement", "description": "Faster delivery", "priority": "high", "status": "open"},
        headers={**HTMX, "HX-Current-URL": page_url},
    )
    assert response.status_code == 204 and response["HX-Redirect"].endswith("#needs")
    # back to the same page with only a new #section: htmx must reload it, or the form stays open
    assert response["HX-Refresh"] == "true"
    need = Need.objects.get(account=account)
    assert (need.department, need.priority, need.version) == ("Procurement", "high", 1)
    page = manager_client.get(reverse("web:account_detail", args=[account.pk]))
    assert "Faster delivery" in page.text and f'data-edit-need="{need.pk}"' in page.text


def test_edit_a_need_bumps_the_version_and_a_stale_one_is_refused(manager_client, account):
    need = Need.objects.create(account=account, description="Old", priority="low")
    url = reverse("web:need_edit", args=[need.pk])
    today = timezone.localdate()
    data = {"description": "New", "priority": "medium", "status": "in_progress", "last_reviewed_on": today.isoformat()}
    assert manager_client.post(url, {**data, "version": 1}).status_code == 302
    need.refresh_from_db()
    assert (need.description, need.status, need.last_reviewed_on, need.version) == ("New", "in_progress", today, 2)
    stale = manager_client.post(url, {**data, "description": "Newer", "version": 1})
    assert stale.status_code == 409
    need.refresh_from_db()
    assert need.description == "New"


def test_need_bad_input_is_a_field_error_and_nothing_is_saved(manager_client, account):
    url = reverse("web:need_create", args=[account.pk])
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = manager_client.post(
        url, {"description": "", "priority": "urgent", "status": "open", "last_reviewed_on": tomorrow.isoformat()}, headers=HTMX
    )
    assert response.status_code == 422
    assert {"description", "priority", "last_reviewed_on"} <= set(response.context["form"].errors)
    assert 'data-error-for="priority"' in response.text
    # live validation of one field: errors, nothing saved, status 200
    live = manager_client.post(url, {"priority": "urgent", "_validate": "priority"}, headers=HTMX)
    assert live.status_code == 200 and 'data-error-for="priority"' in live.text
    assert not Need.objects.exists()


def test_needs_forms_are_a_404_for_another_manager_and_403_for_an_executive(client, account, other_manager, executive):
    need = Need.objects.create(account=account, description="N")
    urls = [reverse("web:need_create", args=[account.pk]), reverse("web:need_edit", args=[need.pk])]
    client.force_login(other_manager)
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, {"description": "x", "priority": "low", "status": "open", "version": 1}).status_code == 404
    client.force_login(executive)
    for url in urls:
        assert client.get(url).status_code == 403
    need.refresh_from_db()
    assert need.description == "N" and Need.objects.count() == 1


# --- Plan reviews ---------------------------------------------------------------------------------


def _commitment(i, **fields):
    return {f"c-{i}-{name}": value for name, value in fields.items()}


def _review_data(held_on, *rows, **fields):
    data = {"kind": "qbr", "held_on": held_on.isoformat(), "decisions": "Expand to APAC", "notes": "",
            "c-TOTAL_FORMS": "4", "c-INITIAL_FORMS": "0", "c-MIN_NUM_FORMS": "0", "c-MAX_NUM_FORMS": "20"}  # fmt: skip
    for row in rows:
        data.update(row)
    data.update(fields)
    return data


def test_record_a_qbr_with_commitments_on_both_sides(manager_client, account, plan, account_manager):
    contact = ContactFactory(account=account, name="Ms Buyer")
    meeting = MeetingFactory(account=account, title="QBR Q1")
    colleague = TeamMemberFactory(account=account).user
    today = timezone.localdate()
    url = reverse("web:review_create", args=[plan.pk])
    form = manager_client.get(url, headers=HTMX)
    assert form.status_code == 200 and 'name="c-0-text"' in form.text
    data = _review_data(
        today,
        _commitment(0, side="ours", text="Send the pricing proposal", owner_user=colleague.pk, due_on=(today + dt.timedelta(days=14)).isoformat()),
        _commitment(1, side="theirs", text="Share the volume forecast", owner_contact=contact.pk),
        meeting=meeting.pk,
        next_scheduled_on=(today + dt.timedelta(days=90)).isoformat(),
    )  # fmt: skip
    response = manager_client.post(url, data, headers=HTMX)
    assert response.status_code == 204, response.content
    held = PlanReview.objects.get(plan=plan, status="held")
    assert (held.kind, held.held_on, held.decisions, held.meeting) == ("qbr", today, "Expand to APAC", meeting)
    ours, theirs = Commitment.objects.filter(review=held).order_by("side")
    assert ours.side == "ours" and ours.action.title == "Send the pricing proposal" and ours.action.owner_user == colleague
    assert ours.action.source == "commitment" and ours.action.plan == plan
    assert theirs.owner_contact == contact and theirs.action is None
    nxt = PlanReview.objects.get(plan=plan, status="scheduled")
    assert (nxt.kind, nxt.scheduled_on) == ("qbr", today + dt.timedelta(days=90))
    page = manager_client.get(reverse("web:account_detail", args=[plan.account_id]))
    assert f'data-review="{held.pk}"' in page.text and "Share the volume forecast" in page.text


def test_recording_a_qbr_logs_its_meeting_with_the_attendees(manager_client, account, plan, account_manager):
    # §7.4: the QBR's record is a meeting with its attendees (customer stakeholders and colleagues).
    buyer = ContactFactory(account=account, name="Ms Buyer")
    ContactFactory(account=account, name="Mr Absent")
    colleague = TeamMemberFactory(account=account).user
    today = timezone.localdate()
    url = reverse("web:review_create", args=[plan.pk])
    form = manager_client.get(url, headers=HTMX)
    assert 'name="contacts"' in form.text and 'name="attendees"' in form.text
    data = _review_data(today, contacts=[buyer.pk], attendees=[account_manager.pk, colleague.pk])
    assert manager_client.post(url, data, headers=HTMX).status_code == 204
    held = PlanReview.objects.get(plan=plan, status="held")
    meeting = held.meeting
    assert (meeting.kind, meeting.account_id, meeting.decisions) == ("qbr", account.pk, "Expand to APAC")
    assert list(meeting.contacts.all()) == [buyer]
    assert set(meeting.attendees.all()) == {account_manager, colleague}
    # another account's contact is refused by the form, and nothing is saved
    stranger = ContactFactory(account=AccountFactory(owner=account_manager))
    response = manager_client.post(url, _review_data(today, contacts=[stranger.pk]), headers=HTMX)
    assert response.status_code == 422 and "contacts" in response.context["form"].errors
    assert PlanReview.objects.filter(plan=plan).count() == 1


def test_a_scheduled_review_records_who_attended_and_the_pages_show_both_sides(
    client, account, plan, account_manager, other_manager, executive
):
    # §7.4: the record form of a scheduled review takes the customer's attendees among the account's
    # active contacts; the review row and the pre-read then show who came on each side.
    buyer = ContactFactory(account=account, name="Ms Buyer")
    ContactFactory(account=account, name="Mr Gone", is_active=False)
    colleague = TeamMemberFactory(account=account, user__first_name="Li", user__last_name="Na").user
    review = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=timezone.localdate())
    url = reverse("web:review_record", args=[review.pk])
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client.force_login(account_manager)
    form = client.get(url, headers=HTMX)
    assert list(form.context["form"].fields["contacts"].queryset) == [buyer]  # active ones only
    assert 'name="contacts"' in form.text and "Ms Buyer" in form.text and "Mr Gone" not in form.text
    data = _review_data(timezone.localdate(), contacts=[buyer.pk], attendees=[colleague.pk], version=review.version)
    assert client.post(url, data, headers=HTMX).status_code == 204
    review.refresh_from_db()
    assert (review.status, list(review.meeting.contacts.all()), list(review.meeting.attendees.all())) == (
        "held",
        [buyer],
        [colleague],
    )

    page = client.get(reverse("web:account_detail", args=[account.pk])).text
    row = page.split(f'data-review="{review.pk}"')[1].split("</tr>")[0]
    theirs = row.split('data-attendee-side="theirs"')[1].split("</div>")[0]
    ours = row.split('data-attendee-side="ours"')[1].split("</div>")[0]
    assert f'data-attendee-contact="{buyer.pk}">Ms Buyer<' in theirs and "Li Na" not in theirs
    assert f'data-attendee-user="{colleague.pk}">Li Na<' in ours and "Ms Buyer" not in ours
    client.force_login(executive)  # reads it too
    pack = client.get(reverse("web:review_preread", args=[review.pk])).text
    section = pack.split('id="preread-attendees"')[1].split("</section>")[0]
    assert f'data-attendee-contact="{buyer.pk}">Ms Buyer' in section and f'data-attendee-user="{colleague.pk}">Li Na<' in section
    # a stale form (the review was recorded meanwhile) saves nothing more
    client.force_login(account_manager)
    stranger = ContactFactory(account=account, name="Mr Late")
    assert client.post(url, {**data, "contacts": [stranger.pk]}, headers=HTMX).status_code == 409
    assert list(review.meeting.contacts.all()) == [buyer]


def test_an_internal_review_takes_no_attendees(manager_client, account, plan):
    url = reverse("web:review_create", args=[plan.pk])
    buyer = ContactFactory(account=account)
    data = _review_data(timezone.localdate(), kind="internal_monthly", contacts=[buyer.pk])
    response = manager_client.post(url, data, headers=HTMX)
    assert response.status_code == 422 and "contacts" in response.context["form"].errors
    assert not PlanReview.objects.filter(plan=plan).exists() and not account.meetings.exists()


def test_bad_commitment_or_dates_save_nothing(manager_client, account, plan, account_manager):
    today = timezone.localdate()
    url = reverse("web:review_create", args=[plan.pk])
    # the customer's commitment owned by a colleague; an unknown side; the next review before this one
    data = _review_data(
        today,
        _commitment(0, side="theirs", text="Forecast", owner_user=account_manager.pk),
        _commitment(1, side="maybe", text="Something"),
        next_scheduled_on=(today - dt.timedelta(days=1)).isoformat(),
    )
    response = manager_client.post(url, data, headers=HTMX)
    assert response.status_code == 422
    form = response.context["form"]
    assert "next_scheduled_on" in form.errors
    assert "owner_user" in form.commitments.forms[0].errors and "side" in form.commitments.forms[1].errors
    assert 'data-error-for="c-1-side"' in response.text
    future = manager_client.post(url, _review_data(today + dt.timedelta(days=3)), headers=HTMX)
    assert future.status_code == 422 and "held_on" in future.context["form"].errors
    missing = manager_client.post(url, {**_review_data(today), "kind": "", "held_on": ""}, headers=HTMX)
    assert missing.status_code == 422 and {"kind", "held_on"} <= set(missing.context["form"].errors)
    assert not PlanReview.objects.exists() and not Commitment.objects.exists() and not PlanAction.objects.exists()


def test_schedule_then_record_then_recap_then_complete(manager_client, plan):
    today = timezone.localdate()
    schedule = reverse("web:review_schedule", args=[plan.pk])
    bad = manager_client.post(schedule, {"kind": "weekly", "scheduled_on": "soon"}, headers=HTMX)
    assert bad.status_code == 422 and {"kind", "scheduled_on"} <= set(bad.context["form"].errors)
    scheduled = manager_client.post(schedule, {"kind": "qbr", "scheduled_on": today.isoformat()}, headers=HTMX)
    assert scheduled.status_code == 204 and "HX-Refresh" not in scheduled  # from another page: a plain redirect
    review = PlanReview.objects.get(plan=plan)
    record = reverse("web:review_record", args=[review.pk])
    assert manager_client.get(record, headers=HTMX).context["form"].fields["kind"].disabled
    assert manager_client.post(record, _review_data(today, kind="ebr", version=review.version), headers=HTMX).status_code == 204
    review.refresh_from_db()
    assert review.status == "held" and review.kind == "qbr"  # the kind of a scheduled review is kept
    complete = reverse("web:review_complete", args=[review.pk])
    refused = manager_client.post(complete, headers=HTMX)
    assert refused.status_code == 422 and refused["HX-Redirect"].endswith("#plan")
    review.refresh_from_db()
    assert review.status == "held"
    assert manager_client.post(reverse("web:review_recap_sent", args=[review.pk]), headers=HTMX).status_code == 204
    still = manager_client.post(complete, follow=True)  # recap sent, but no next QBR scheduled
    assert "Schedule the next QBR first." in still.text
    plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=today + dt.timedelta(days=90))
    assert manager_client.post(complete, headers=HTMX).status_code == 204
    review.refresh_from_db()
    assert review.status == "complete" and review.recap_sent_at is not None


def test_recording_a_stale_review_is_refused(manager_client, plan):
    today = timezone.localdate()
    review = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=today)
    PlanReview.objects.filter(pk=review.pk).update(version=2)
    response = manager_client.post(reverse("web:review_record", args=[review.pk]), _review_data(today, version=1), headers=HTMX)
    assert response.status_code == 409
    review.refresh_from_db()
    assert review.status == "scheduled"


def test_review_pages_are_a_404_for_another_manager_and_403_for_an_executive(client, plan, other_manager, executive):
    review = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=timezone.localdate())
    gets = [
        reverse("web:review_create", args=[plan.pk]),
        reverse("web:review_schedule", args=[plan.pk]),
        reverse("web:review_record", args=[review.pk]),
    ]
    posts = [*gets, reverse("web:review_recap_sent", args=[review.pk]), reverse("web:review_complete", args=[review.pk])]
    client.force_login(other_manager)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {"kind": "qbr", "scheduled_on": "2026-01-01"}).status_code == 404, url
    client.force_login(executive)
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url).status_code == 403, url
    assert PlanReview.objects.count() == 1


@pytest.mark.parametrize("n", [2, 10])
def test_forms_query_counts_are_constant(manager_client, account, plan, n, django_assert_num_queries):
    now = timezone.now()
    for i in range(n):
        ContactFactory(account=account)
        MeetingFactory(account=account, occurred_at=now - dt.timedelta(days=i + 1))
        TeamMemberFactory(account=account)
        Need.objects.create(account=account, description=f"Need {i}")
    need = Need.objects.filter(account=account).first()
    # session, user, groups; the need (account joined); permissions (2); the unread badge
    with django_assert_num_queries(7):
        assert manager_client.get(reverse("web:need_edit", args=[need.pk])).status_code == 200
    # session, user, groups; the plan (account joined); permissions (2); the unread badge; meetings;
    # customer attendees; colleagues; colleagues and contacts for each of the 4 blank commitment rows
    # (8: constant in the data)
    with django_assert_num_queries(18):
        response = manager_client.get(reverse("web:review_create", args=[plan.pk]))
    assert len(response.context["form"].fields["meeting"].queryset) == n


def test_a_held_ebr_shows_whether_the_executive_sponsor_attended(manager_client, account, plan, account_manager):
    # §7.4: T1's yearly EBR is held with the executive sponsor; the review row says whether they came.
    sponsor = TeamMemberFactory(account=account, role="executive_sponsor").user
    with_sponsor = plan_services.review_schedule(plan=plan, kind="ebr", scheduled_on=dt.date(2026, 1, 10))
    plan_services.review_record(review=with_sponsor, held_on=dt.date(2026, 1, 10), attendees=[sponsor, account_manager])
    without = plan_services.review_schedule(plan=plan, kind="annual_jbp", scheduled_on=dt.date(2026, 1, 20))
    plan_services.review_record(review=without, held_on=dt.date(2026, 1, 20), attendees=[account_manager])
    qbr = plan_services.review_schedule(plan=plan, kind="qbr", scheduled_on=dt.date(2026, 1, 25))
    plan_services.review_record(review=qbr, held_on=dt.date(2026, 1, 25))
    text = manager_client.get(reverse("web:account_detail", args=[account.pk])).text
    rows = {pk: text.split(f'data-review="{pk}"')[1].split("</tr>")[0] for pk in (with_sponsor.pk, without.pk, qbr.pk)}
    assert 'data-sponsor-attended="yes"' in rows[with_sponsor.pk]
    assert 'data-sponsor-attended="no"' in rows[without.pk]
    assert "data-sponsor-attended" not in rows[qbr.pk]  # a QBR is held with the champion
