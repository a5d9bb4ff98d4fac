"""The alert lifecycle of DOMAIN.md §5.3: dedup, priority escalation, auto-close, snooze, cool-down,
closing, escalation to the manager, playbooks, notifications and events."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from kam.events import event_published, publish
from service_plans.models import (
    AccountTeamMember,
    Alert,
    AlertEvent,
    AlertStatus,
    AlertTask,
    Notification,
    ReportingLine,
)
from service_plans.services import alerts as services
from tests.factories import AccountFactory, ContactFactory, InvoiceFactory, TeamMemberFactory, UserFactory
from tests.service_plans.conftest import NOW, TODAY, run
from tests.tiering.conftest import scoring_model  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def days(n):
    return dt.timedelta(days=n)


def overdue(account, overdue_days, amount="1000"):
    """An unpaid invoice ``overdue_days`` past due as of NOW (plus revenue so the share stays small)."""
    InvoiceFactory(
        account=account,
        issued_on=TODAY - days(300),
        due_on=TODAY - days(270),
        amount=Decimal("1000000"),
        paid_on=TODAY - days(270),
    )
    return InvoiceFactory(
        account=account,
        issued_on=TODAY - days(overdue_days + 30),
        due_on=TODAY - days(overdue_days),
        amount=Decimal(amount),
    )


@pytest.fixture
def events():
    seen = []

    def receiver(sender, name, payloads, **kwargs):
        seen.extend((name, p) for p in payloads)

    event_published.connect(receiver, dispatch_uid="test-lifecycle")
    yield seen
    event_published.disconnect(dispatch_uid="test-lifecycle")


def test_a_rerun_changes_nothing(django_capture_on_commit_callbacks):
    account = AccountFactory()
    overdue(account, 40)
    first = run()
    assert first["opened"] == 1
    snapshot = list(Alert.objects.values())
    counts = (AlertTask.objects.count(), AlertEvent.objects.count(), Notification.objects.count())
    second = run()
    assert {k: v for k, v in second.items() if isinstance(v, int) and k != "hits"} == dict.fromkeys(
        ["opened", "raised", "updated", "closed", "woken", "escalated", "sponsor_notified", "cooldown_skipped", "notifications"],
        0,
    )
    assert list(Alert.objects.values()) == snapshot
    assert (AlertTask.objects.count(), AlertEvent.objects.count(), Notification.objects.count()) == counts


def test_one_open_alert_per_key_and_the_database_enforces_it():
    from django.db import IntegrityError, transaction

    account = AccountFactory()
    overdue(account, 40)
    run()
    run(NOW + days(1))
    assert Alert.objects.filter(account=account, rule="R3", reason="overdue").count() == 1
    alert = Alert.objects.get()
    alert.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        alert.save()


def test_retrigger_raises_priority_and_never_lowers_it(events, django_capture_on_commit_callbacks):
    account = AccountFactory()
    late = overdue(account, 31)
    run()
    alert = Alert.objects.get()
    assert alert.priority == "medium"
    run(NOW + days(30))  # now 61 days overdue
    alert.refresh_from_db()
    assert alert.priority == "high"
    assert alert.events.filter(kind="priority_raised", data={"from": "medium", "to": "high"}).exists()
    # The old invoice is paid; a newer one is 31 days overdue (medium): the alert stays high.
    late.paid_on = TODAY + days(30)
    late.save()
    InvoiceFactory(account=account, issued_on=TODAY - days(30), due_on=TODAY - days(1), amount=Decimal("50"))
    run(NOW + days(31))
    alert.refresh_from_db()
    assert (alert.priority, alert.status) == ("high", "open")


def test_auto_close_after_two_clear_days_not_two_runs(events, django_capture_on_commit_callbacks):
    account = AccountFactory()
    invoice = overdue(account, 40)
    run()
    alert = Alert.objects.get()
    assert alert.tasks.count() == 3  # "Collections with relationship care"
    invoice.paid_on = TODAY
    invoice.save()
    run(NOW + days(1))
    run(NOW + days(1) + dt.timedelta(hours=2))  # a rerun the same day does not count twice
    alert.refresh_from_db()
    assert (alert.status, alert.clear_runs) == ("open", 1)
    with django_capture_on_commit_callbacks(execute=True):
        run(NOW + days(2))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED_RESOLVED
    assert (alert.closure_note, alert.outcome) == ("auto: condition cleared", "n/a")
    assert set(alert.tasks.values_list("status", flat=True)) == {"cancelled"}
    assert ("alert.closed", {"alert_id": alert.pk, "account_id": account.pk, "rule": "R3", "outcome": "n/a"}) in events


def test_a_retrigger_between_clear_runs_resets_the_counter():
    account = AccountFactory()
    invoice = overdue(account, 40)
    run()
    invoice.paid_on = TODAY
    invoice.save()
    run(NOW + days(1))
    invoice.paid_on = None
    invoice.save()
    run(NOW + days(2))
    invoice.paid_on = TODAY
    invoice.save()
    run(NOW + days(3))
    alert = Alert.objects.get()
    assert (alert.status, alert.clear_runs) == ("open", 1)


def _closed_alert(account):
    invoice = overdue(account, 40)
    run()
    invoice.paid_on = TODAY
    invoice.save()
    run(NOW + days(1))
    run(NOW + days(2))
    assert Alert.objects.get().status == "closed_resolved"


def test_cool_down_before_the_same_key_reopens():
    account = AccountFactory()
    _closed_alert(account)
    overdue(account, 40, amount="7")
    run(NOW + days(10))  # closed 8 days ago: within the 14-day cool-down
    assert Alert.objects.count() == 1
    run(NOW + days(17))
    assert Alert.objects.open().count() == 1
    assert Alert.objects.count() == 2


def test_a_critical_trigger_ignores_the_cool_down():
    account = AccountFactory()
    _closed_alert(account)
    overdue(account, 95, amount="7")
    run(NOW + days(3))
    assert Alert.objects.open().get().priority == "critical"


def test_snooze_limits_and_expiry(account_manager):
    account = AccountFactory(owner=account_manager)
    overdue(account, 40)
    run()
    alert = services.alert_acknowledge(alert=Alert.objects.get(), actor=account_manager)
    with pytest.raises(ValidationError) as exc:
        services.alert_snooze(alert=alert, until=TODAY + days(31), reason="waiting", actor=account_manager, today=TODAY)
    assert "until" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.alert_snooze(alert=alert, until=TODAY + days(3), reason=" ", actor=account_manager, today=TODAY)
    assert "reason" in exc.value.message_dict
    alert = services.alert_snooze(
        alert=alert, until=TODAY + days(3), reason="Customer on holiday", actor=account_manager, today=TODAY
    )
    assert alert.status == "snoozed"
    run(NOW + days(2))
    alert.refresh_from_db()
    assert alert.status == "snoozed"
    run(NOW + days(3))
    alert.refresh_from_db()
    assert (alert.status, alert.snoozed_until) == ("in_progress", None)  # back to where it was
    assert alert.events.filter(kind="woken").count() == 1


def test_closing_needs_a_note_and_an_outcome(account_manager, events, django_capture_on_commit_callbacks):
    account = AccountFactory(owner=account_manager)
    overdue(account, 40)
    run()
    alert = Alert.objects.get()
    with pytest.raises(ValidationError) as exc:
        services.alert_close(alert=alert, actor=account_manager, note="", outcome="bogus")
    assert set(exc.value.message_dict) == {"note", "outcome"}
    alert.refresh_from_db()
    assert alert.status == "open"
    with django_capture_on_commit_callbacks(execute=True):
        alert = services.alert_close(
            alert=alert, actor=account_manager, note="Paid after a call.", outcome="retained",
            saved_value_amount=Decimal("1000.00"), currency="CNY",
        )  # fmt: skip
    assert (alert.status, alert.closed_by, alert.version) == ("closed_resolved", account_manager, 2)
    assert set(alert.tasks.values_list("status", flat=True)) == {"cancelled"}
    assert ("alert.closed", {"alert_id": alert.pk, "account_id": account.pk, "rule": "R3", "outcome": "retained"}) in events
    with pytest.raises(ValidationError):
        services.alert_close(alert=alert, actor=account_manager, note="again", outcome="retained")


def test_overdue_alerts_escalate_to_the_owners_manager_once():
    manager = UserFactory(username="boss", email="boss@example.com")
    account = AccountFactory()
    ReportingLine.objects.create(user=account.owner, manager=manager)
    overdue(account, 40)
    run()
    alert = Alert.objects.get()
    # R3 is due in 3 business days, but never before its playbook's last task (d+7): Wednesday 24th.
    assert alert.due_on == dt.date(2026, 6, 24)
    run(dt.datetime.combine(dt.date(2026, 6, 26), NOW.timetz()))  # two business days late: not yet
    assert not Notification.objects.filter(user=manager).exists()
    run(dt.datetime.combine(dt.date(2026, 6, 29), NOW.timetz()))  # three business days late (over a weekend)
    run(dt.datetime.combine(dt.date(2026, 6, 30), NOW.timetz()))
    assert Notification.objects.filter(user=manager, kind="alert.escalated").count() == 1
    alert.refresh_from_db()
    assert alert.escalated_at is not None


def test_loss_of_champion_playbook_tasks_get_owners_and_dates(events, django_capture_on_commit_callbacks):
    account = AccountFactory()
    sponsor = UserFactory(username="sponsor")
    AccountTeamMember.objects.create(account=account, user=sponsor, role="executive_sponsor")
    ContactFactory(account=account, buying_roles=["coach_champion"], is_active=False, left_on=TODAY - days(2))
    with django_capture_on_commit_callbacks(execute=True):
        run()
    alert = Alert.objects.get()
    assert (alert.rule, alert.priority, alert.owner, alert.playbook.code) == ("R4", "critical", account.owner, "loss-of-champion")
    tasks = list(alert.tasks.order_by("order").values_list("title", "owner_id", "due_on"))
    assert tasks == [
        ("Confirm the departure and the successor", account.owner_id, TODAY + days(2)),
        ("Executive-sponsor outreach to the economic buyer", sponsor.pk, TODAY + days(5)),
        ("Meet the new owner and re-baseline objectives and ROI", account.owner_id, TODAY + days(15)),
        ("Re-map stakeholders and set target relationship levels", account.owner_id, TODAY + days(15)),
        ("Update the account plan risks", account.owner_id, TODAY + days(20)),
    ]
    assert alert.due_on == TODAY + days(20)  # never earlier than its tasks (§5.3)
    assert ("alert.opened", {"alert_id": alert.pk, "account_id": account.pk, "rule": "R4", "priority": "critical"}) in events


def test_a_new_playbook_version_leaves_created_tasks_alone():
    from service_plans.models import PlaybookTemplate
    from service_plans.services.standards import playbook_new_version

    account = AccountFactory()
    ContactFactory(account=account, buying_roles=["economic_buyer"], is_active=False, left_on=TODAY - days(2))
    run()
    old = PlaybookTemplate.objects.get(code="loss-of-champion", is_active=True)
    new = playbook_new_version(playbook=old)
    new.tasks.filter(order=1).update(title="Changed")
    assert (new.version, old.is_used) == (2, True)
    assert Alert.objects.get().tasks.get(order=1).title == "Confirm the departure and the successor"
    old.refresh_from_db()
    assert not old.is_active


def test_one_digest_mail_per_user_per_run(django_capture_on_commit_callbacks):
    owner = UserFactory(username="kam1", email="kam1@example.com")
    for _ in range(2):
        overdue(AccountFactory(owner=owner), 40)
    silent = UserFactory(username="kam2", email="")
    overdue(AccountFactory(owner=silent), 40)
    with django_capture_on_commit_callbacks(execute=True):
        run()
    assert [m.to for m in mail.outbox] == [["kam1@example.com"]]
    assert "2" in mail.outbox[0].subject
    assert Notification.objects.filter(user=owner, emailed_at__isnull=False).count() == 2
    assert Notification.objects.filter(user=silent).count() == 1  # in-app only without an address


def test_nothing_is_mailed_when_the_run_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    overdue(AccountFactory(owner=UserFactory(username="kam3", email="k3@example.com")), 40)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run()
        transaction.set_rollback(True)
    assert mail.outbox == []


def test_unread_count_and_mark_read(account_manager, other_manager):
    from service_plans.notifications import notification_mark_read, notification_unread_count

    for _ in range(2):
        overdue(AccountFactory(owner=account_manager), 40)
    overdue(AccountFactory(owner=other_manager), 40)
    run()
    assert notification_unread_count(user=account_manager) == 2
    mine = Notification.objects.filter(user=account_manager).first()
    theirs = Notification.objects.get(user=other_manager)
    assert notification_mark_read(user=account_manager, ids=[mine.pk, theirs.pk]) == 1
    assert notification_unread_count(user=account_manager) == 1
    assert notification_unread_count(user=other_manager) == 1


# --- R8: the health-band contract with the tiering app -----------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "delta", "expected"),
    [
        ("green", "yellow", -5, "medium"),
        ("yellow", "red", -8, "high"),
        ("green", "green", -15, "medium"),
        ("green", "green", -14, None),
        ("yellow", "yellow", -25, "high"),
        ("red", "yellow", 10, None),
    ],
)
def test_r8_from_the_health_band_changed_event(old, new, delta, expected, django_capture_on_commit_callbacks):
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        publish(
            "account.health_band_changed",
            {"account_id": account.pk, "old_band": old, "new_band": new, "score": 60, "delta_30d": delta},
        )
    alerts = list(Alert.objects.filter(account=account, rule="R8").values_list("priority", flat=True))
    assert alerts == ([expected] if expected else [])


def test_r8_raises_on_a_second_drop_and_closes_after_recovery(django_capture_on_commit_callbacks):
    from accounts.models import Account

    account = AccountFactory()

    def band(old, new, score, delta):
        Account.objects.filter(pk=account.pk).update(health_band=new, health_score=score)
        with django_capture_on_commit_callbacks(execute=True):
            publish(
                "account.health_band_changed",
                {"account_id": account.pk, "old_band": old, "new_band": new, "score": score, "delta_30d": delta},
            )

    band("green", "yellow", 70, -8)
    band("yellow", "red", 45, -25)
    alert = Alert.objects.get(rule="R8")
    assert alert.priority == "high"
    run()  # still red: stays open
    alert.refresh_from_db()
    assert alert.clear_runs == 0
    Account.objects.filter(pk=account.pk).update(health_band="yellow", health_score=Decimal("66"))
    run(NOW + days(1))
    run(NOW + days(2))
    alert.refresh_from_db()
    assert alert.status == "closed_resolved"


def test_critical_t1_alert_open_over_five_business_days_notifies_the_sponsor():
    from tests.service_plans.conftest import set_tier

    account = set_tier(AccountFactory(), "T1")
    sponsor = UserFactory(username="sponsor2")
    AccountTeamMember.objects.create(account=account, user=sponsor, role="executive_sponsor")
    ContactFactory(account=account, buying_roles=["economic_buyer"], is_active=False, left_on=TODAY - days(1))
    run()
    run(dt.datetime.combine(dt.date(2026, 6, 24), NOW.timetz()))  # 5 business days: not more than 5
    assert not Notification.objects.filter(user=sponsor, kind="alert.sponsor").exists()
    run(dt.datetime.combine(dt.date(2026, 6, 25), NOW.timetz()))
    run(dt.datetime.combine(dt.date(2026, 6, 26), NOW.timetz()))
    assert Notification.objects.filter(user=sponsor, kind="alert.sponsor").count() == 1


def test_reassign_moves_open_tasks_and_evidence_is_required_to_complete(account_manager):
    account = AccountFactory(owner=account_manager)
    ContactFactory(account=account, buying_roles=["economic_buyer"], is_active=False, left_on=TODAY - days(1))
    run()
    alert = Alert.objects.get()
    task = alert.tasks.get(order=1)
    AlertTask.objects.filter(pk=task.pk).update(evidence_required=True)
    with pytest.raises(ValidationError) as exc:
        services.alert_task_complete(task=task, actor=account_manager)
    assert "evidence" in exc.value.message_dict
    done = services.alert_task_complete(task=task, actor=account_manager, evidence="Call notes 2026-06-18")
    assert done.status == "done"
    stranger = UserFactory(username="stranger")
    with pytest.raises(ValidationError) as exc:  # the new owner must be able to see the account
        services.alert_reassign(alert=alert, owner=stranger, actor=account_manager)
    assert "owner" in exc.value.message_dict
    colleague = TeamMemberFactory(account=account, user=UserFactory(username="colleague")).user
    alert = services.alert_reassign(alert=alert, owner=colleague, actor=account_manager)
    assert alert.owner == colleague
    assert set(alert.tasks.filter(status="open").values_list("owner", flat=True)) == {colleague.pk}  # open ones moved
    assert alert.tasks.get(order=1).owner == account_manager  # done work keeps its owner


@pytest.mark.parametrize(("priority", "due"), [("critical", 2), ("high", 5), ("medium", 10)])
def test_manual_alert_is_due_after_its_prioritys_business_days(priority, due, time_machine):
    # DOMAIN.md §8 cta.due_offsets_bd {Critical: 2, High: 5, Medium: 10}; Wednesday 2026-06-17.
    from service_plans.sla import default_clock

    time_machine.move_to(NOW, tick=False)
    alert = services.alert_create_manual(account=AccountFactory(), rule="R2", reason="call", priority=priority, actor=None)
    assert alert.due_on == default_clock().add_business_days(TODAY, due)
    assert default_clock().business_days_between(TODAY, alert.due_on) == due


def test_manual_alert_is_deduplicated_and_never_auto_closed(account_manager):
    account = AccountFactory(owner=account_manager)
    alert = services.alert_create_manual(
        account=account, rule="R2", reason="call_feedback", priority="high", actor=account_manager
    )
    with pytest.raises(ValidationError) as exc:
        services.alert_create_manual(account=account, rule="R2", reason="call_feedback", priority="high", actor=account_manager)
    assert "reason" in exc.value.message_dict
    run(NOW + days(1))
    run(NOW + days(2))
    alert.refresh_from_db()
    assert alert.status == "open"


def test_account_managers_cannot_change_configuration_in_the_admin(client, account_manager, admin_user):
    from django.urls import reverse

    from service_plans.models import RuleConfig

    row = RuleConfig.objects.get(rule="R1", tier="")
    client.force_login(account_manager)
    url = reverse("admin:service_plans_ruleconfig_change", args=[row.pk])
    client.post(url, {"rule": "R1", "tier": "", "is_enabled": "", "params": "{}"})
    row.refresh_from_db()
    assert row.is_enabled is True
    client.force_login(admin_user)
    response = client.post(url, {"rule": "R1", "tier": "", "params": '{"drop_pct": "lots"}'})
    assert response.status_code == 200  # the form shows the error
    assert "must be a number" in response.text


def test_an_alert_notification_opens_the_alert_in_the_workspace_for_its_owner(client, account_manager):
    overdue(AccountFactory(owner=account_manager), 40)
    run()
    note = Notification.objects.get(user=account_manager, kind="alert.opened")
    assert note.link == f"/alerts/{note.alert_id}/"  # not the admin, which account managers cannot open
    client.force_login(account_manager)
    response = client.get(note.link)
    assert response.status_code == 200
    assert f"/alerts/{note.alert_id}/acknowledge/" in response.content.decode()


def test_reassigning_a_team_role_moves_its_open_alerts_and_tasks():
    """§5.3: rules resolve owners by role, and reassigning a role moves open tasks [S-92]."""
    from accounts import services as account_services

    account = AccountFactory()
    sponsor = UserFactory(username="sponsor")
    sponsor_member = AccountTeamMember.objects.create(account=account, user=sponsor, role="executive_sponsor")
    overdue(account, 40)  # R3: a finance alert; nobody holds finance, so the account manager has it
    ContactFactory(account=account, buying_roles=["coach_champion"], is_active=False, left_on=TODAY - days(2))
    run()
    r3, r4 = Alert.objects.get(rule="R3"), Alert.objects.get(rule="R4")
    assert r3.owner == account.owner and r3.owner_role == "finance"
    sponsor_task = r4.tasks.get(owner_role="executive_sponsor")
    assert sponsor_task.owner == sponsor

    finance = UserFactory(username="finance")
    account_services.team_member_add(account=account, user=finance, role="finance", actor=account.owner)
    r3.refresh_from_db()
    assert r3.owner == finance  # the finance role now resolves to someone
    assert r3.events.filter(kind="reassigned").exists()
    assert set(r3.tasks.filter(status="open", owner_role="finance").values_list("owner", flat=True)) == {finance.pk}
    # The account manager's own tasks on the R3 alert stay with them.
    assert r3.tasks.get(owner_role="account_manager").owner == account.owner

    successor = UserFactory(username="successor")
    account_services.team_member_remove(member=sponsor_member, actor=account.owner)
    sponsor_task.refresh_from_db()
    assert sponsor_task.owner == account.owner  # back to the fallback, not left with someone off the team
    account_services.team_member_add(account=account, user=successor, role="executive_sponsor", actor=account.owner)
    sponsor_task.refresh_from_db()
    assert sponsor_task.owner == successor

    new_manager = UserFactory(username="new_manager")
    account_services.account_update(account=account, owner=new_manager, actor=new_manager)
    r4.refresh_from_db()
    assert r4.owner == new_manager
    assert set(r4.tasks.filter(status="open", owner_role="account_manager").values_list("owner", flat=True)) == {new_manager.pk}
    assert Alert.objects.get(rule="R3").owner == finance  # held by the finance member, not the manager


@pytest.mark.parametrize(("priority", "due"), [("critical", 19), ("high", 24), ("medium", 1)])
def test_a_manual_alert_is_due_by_its_priority(account_manager, time_machine, priority, due):
    """§5.3 due_offset_by_priority: Critical +2, High +5, Medium +10 business days (from Wed 17 June)."""
    time_machine.move_to(NOW, tick=False)
    account = AccountFactory(owner=account_manager)
    alert = services.alert_create_manual(account=account, rule="R2", reason="call", priority=priority, actor=account_manager)
    expected = dt.date(2026, 6, due) if due > 1 else dt.date(2026, 7, due)
    assert alert.due_on == expected


def test_rescheduling_moves_open_tasks_and_the_alert_is_never_due_before_them(account_manager):
    """§5.1 [S-92]: when the due date changes, open tasks move with it; §5.3: cta.due ≥ max(open task.due)."""
    account = AccountFactory(owner=account_manager)
    ContactFactory(account=account, buying_roles=["coach_champion"], is_active=False, left_on=TODAY - days(2))
    run()
    alert = Alert.objects.get()
    assert alert.due_on == TODAY + days(20)
    first = alert.tasks.get(order=1)
    services.alert_task_complete(task=first, actor=account_manager)
    alert = services.alert_reschedule(alert=alert, due_on=TODAY + days(27), actor=account_manager, today=TODAY)
    assert alert.due_on == TODAY + days(27) and alert.version == 2
    assert list(alert.tasks.order_by("order").values_list("due_on", flat=True)) == [
        TODAY + days(2),  # done: stays
        TODAY + days(12),
        TODAY + days(22),
        TODAY + days(22),
        TODAY + days(27),
    ]
    assert alert.events.filter(kind="rescheduled", actor=account_manager).get().data == {
        "from": (TODAY + days(20)).isoformat(),
        "to": (TODAY + days(27)).isoformat(),
        "tasks_shifted": 4,
    }
    # Without moving the tasks, the alert cannot fall before the last open one; nothing changes then.
    with pytest.raises(ValidationError) as exc:
        services.alert_reschedule(alert=alert, due_on=TODAY + days(26), shift_tasks=False, actor=account_manager, today=TODAY)
    assert "due_on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.alert_reschedule(alert=alert, due_on=TODAY - days(1), actor=account_manager, today=TODAY)
    assert "due_on" in exc.value.message_dict
    alert.refresh_from_db()
    assert alert.due_on == TODAY + days(27) and alert.tasks.get(order=5).due_on == TODAY + days(27)
    # Earlier, with the tasks: they all move back together.
    alert = services.alert_reschedule(alert=alert, due_on=TODAY + days(20), actor=account_manager, today=TODAY)
    assert alert.tasks.get(order=5).due_on == TODAY + days(20)
    services.alert_close(alert=alert, actor=account_manager, note="Successor met", outcome="retained")
    with pytest.raises(ValidationError):
        services.alert_reschedule(alert=alert, due_on=TODAY + days(30), actor=account_manager, today=TODAY)


def _alert_with_tasks(owner, n_open, *, due_in=20):
    """A manual alert with ``n_open`` open tasks due 1, 2, … days before it, and one done and one
    cancelled task (neither moves)."""
    alert = services.alert_create_manual(
        account=AccountFactory(owner=owner), rule="R2", reason="call", priority="high", actor=owner, due_on=TODAY + days(due_in)
    )
    for i in range(n_open):
        AlertTask.objects.create(alert=alert, order=i + 1, title=f"Step {i}", owner=owner, owner_role="account_manager",
                                 due_on=TODAY + days(due_in - n_open + i))  # fmt: skip
    AlertTask.objects.create(alert=alert, order=90, title="Done", owner_role="account_manager", due_on=TODAY, status="done")
    AlertTask.objects.create(
        alert=alert, order=91, title="Dropped", owner_role="account_manager", due_on=TODAY, status="cancelled"
    )
    return Alert.objects.get(pk=alert.pk)


@pytest.mark.parametrize("n", [2, 10])
def test_rescheduling_is_set_based(account_manager, n, django_assert_num_queries, events):
    """The open tasks move in one UPDATE: the query count does not grow with the number of tasks."""
    alert = _alert_with_tasks(account_manager, n)
    before = dict(alert.tasks.values_list("pk", "due_on"))
    open_ids = set(alert.tasks.filter(status="open").values_list("pk", flat=True))
    notifications = Notification.objects.count()
    # savepoint; the alert locked; the last open task's due date (the §5.3 check); the tasks' UPDATE;
    # the event; the alert's UPDATE and its reload; release
    with django_assert_num_queries(8):
        alert = services.alert_reschedule(alert=alert, due_on=TODAY + days(25), actor=account_manager, today=TODAY)
    assert (alert.due_on, alert.version) == (TODAY + days(25), 2)
    assert dict(alert.tasks.values_list("pk", "due_on")) == {
        pk: due + days(5) if pk in open_ids else due for pk, due in before.items()
    }
    assert alert.events.get(kind="rescheduled").data == {
        "from": (TODAY + days(20)).isoformat(),
        "to": (TODAY + days(25)).isoformat(),
        "tasks_shifted": n,
    }
    assert events == [] and Notification.objects.count() == notifications  # a reschedule tells no one
    # Refused (before the last open task, tasks kept in place): no write; savepoint, lock, the check,
    # rollback to and release of the savepoint.
    with django_assert_num_queries(5), pytest.raises(ValidationError) as exc:
        services.alert_reschedule(alert=alert, due_on=TODAY + days(23), shift_tasks=False, actor=account_manager, today=TODAY)
    last = TODAY + days(24)
    assert exc.value.message_dict["due_on"] == [
        f"An alert can be due no earlier than its open tasks; the last one is due on {last:%m/%d/%Y}."
    ]
    alert.refresh_from_db()
    assert alert.due_on == TODAY + days(25) and alert.tasks.filter(status="open").order_by("-due_on")[0].due_on == last
    # Without moving the tasks: nothing moves, the event says so.
    alert = services.alert_reschedule(alert=alert, due_on=TODAY + days(30), shift_tasks=False, actor=account_manager, today=TODAY)
    assert alert.tasks.filter(status="open").order_by("-due_on")[0].due_on == last
    assert alert.events.filter(kind="rescheduled").order_by("-id")[0].data["tasks_shifted"] == 0


def test_rescheduling_an_alert_without_open_tasks(account_manager):
    alert = _alert_with_tasks(account_manager, 0)
    alert = services.alert_reschedule(alert=alert, due_on=TODAY + days(1), actor=account_manager, today=TODAY)
    assert alert.due_on == TODAY + days(1)
    assert alert.events.get(kind="rescheduled").data["tasks_shifted"] == 0
    assert set(alert.tasks.values_list("due_on", flat=True)) == {TODAY}  # done and cancelled stay


def _health_snapshot(account, *, delta, band="green", score=80, as_of=TODAY, status="done"):
    """A finished scoring run's health snapshot of the account's group, as the nightly scoring writes."""
    from tiering.models import HealthSnapshot, ScoringModel, ScoringRun

    run_ = ScoringRun.objects.create(model=ScoringModel.objects.get(is_active=True), config_hash="x", as_of=as_of, status=status)
    return HealthSnapshot.objects.create(
        run=run_, account_id=account.group_root_id, as_of=as_of, score=score, status="ok", coverage_pct=100,
        raw_band=band, band=band, effective_score=score, effective_band=band,
        score_before=None if delta is None else score - delta, delta=delta,
    )  # fmt: skip


@pytest.mark.usefixtures("scoring_model")
@pytest.mark.parametrize(("delta", "expected"), [(-15, "medium"), (-14, None), (-25, "high")])
def test_r8_a_score_drop_within_the_band_opens_an_alert_in_the_nightly_run(delta, expected):
    """§5.2 R8 "or Δ30 ≤ −15": the band events only fire on a band change, so 95 → 80 (still Green)
    comes from the latest health snapshot; a practitioner's ≥ 25-point drop is High."""
    account = AccountFactory()
    _health_snapshot(account, delta=Decimal(delta), band="green", score=80)
    run()
    alerts = list(Alert.objects.filter(account=account, rule="R8").values_list("priority", "evidence"))
    if expected is None:
        assert alerts == []
        return
    [(priority, evidence)] = alerts
    assert priority == expected
    assert evidence == {
        "old_band": "green", "new_band": "green", "score": 80.0, "delta_30d": float(delta), "score_before": 80.0 - delta,
    }  # fmt: skip


@pytest.mark.usefixtures("scoring_model")
def test_r8_score_drops_ignore_stale_and_failed_runs_and_clear_on_recovery():
    from accounts.models import Account

    stale, failed, member_group = AccountFactory(), AccountFactory(), AccountFactory()
    member = AccountFactory(parent=member_group)
    _health_snapshot(stale, delta=Decimal(-20), as_of=TODAY - days(7))
    _health_snapshot(failed, delta=Decimal(-20), status="failed")
    _health_snapshot(member_group, delta=Decimal(-20), score=78)
    run()
    assert set(Alert.objects.filter(rule="R8").values_list("account", flat=True)) == {member_group.pk, member.pk}
    # Back to where it was 30 days before the drop: clear, then closed after two clear days.
    Account.objects.filter(pk__in=[member_group.pk, member.pk]).update(health_band="green", health_score=Decimal("98"))
    _health_snapshot(member_group, delta=Decimal(0), score=98, as_of=TODAY + days(1))
    run(NOW + days(1))
    run(NOW + days(2))
    assert not Alert.objects.filter(rule="R8").open().exists()
