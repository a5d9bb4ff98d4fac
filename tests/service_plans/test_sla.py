"""SLA clocks on business hours with pauses (DOMAIN.md §4.11), and the shipped standards."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from service_plans.models import BusinessCalendar, Holiday, ServiceRequest, ServiceStandard, SlaTarget
from service_plans.services import sla as services
from service_plans.services.standards import service_standard_revise
from service_plans.sla import BusinessClock
from tests.factories import AccountFactory
from tests.service_plans.conftest import set_tier

pytestmark = pytest.mark.django_db

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day, hour, minute=0):
    return dt.datetime(2026, 6, day, hour, minute, tzinfo=TZ)


CLOCK = BusinessClock(time_zone="Asia/Shanghai", holidays=frozenset({dt.date(2026, 6, 19)}))  # Dragon Boat Festival


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (at(15, 10), 30, at(15, 10, 30)),  # Monday morning
        (at(15, 17, 45), 30, at(16, 9, 15)),  # across the night
        (at(15, 20), 30, at(16, 9, 30)),  # opened after hours: the clock starts next morning
        (at(18, 17), 240, at(22, 12)),  # Thursday 17:00 + 4 h: Friday is a holiday, then the weekend
        (at(13, 11), 540, at(15, 18)),  # Saturday: one business day = Monday 09:00–18:00
    ],
)
def test_business_minutes_skip_nights_weekends_and_holidays(start, minutes, due):
    assert CLOCK.add_business_minutes(start, minutes) == due


def test_pauses_push_the_due_time_and_an_open_pause_holds_it():
    start = at(15, 10)
    assert CLOCK.add_business_minutes(start, 120, [(at(15, 11), at(15, 11, 30))]) == at(15, 12, 30)
    assert CLOCK.add_business_minutes(start, 120, [(at(15, 11), None)]) is None
    # A pause after the target was reached changes nothing.
    assert CLOCK.add_business_minutes(start, 60, [(at(15, 11, 30), None)]) == at(15, 11)
    assert CLOCK.business_minutes_between(at(15, 17), at(16, 10), [(at(16, 9), at(16, 9, 30))]) == 90


def test_business_days():
    assert CLOCK.add_business_days(dt.date(2026, 6, 17), 3) == dt.date(2026, 6, 23)  # skips Fri 19 holiday + weekend
    assert CLOCK.business_days_between(dt.date(2026, 6, 17), dt.date(2026, 6, 23)) == 3


def test_t1_defaults_are_the_domain_targets():
    standard = ServiceStandard.objects.get(tier="T1", is_active=True)
    targets = {t.priority: (t.first_response_minutes, t.resolution_minutes) for t in standard.sla_targets.all()}
    assert targets["p1"] == (30, 240)  # 30 min / 4 business hours
    assert targets["p2"] == (120, 540)  # 2 h / 1 business day
    assert standard.review_cadence == {"qbr": 3, "ebr": 12, "internal_monthly": 1}
    assert standard.required_roles == ["account_manager", "executive_sponsor", "service_lead"]
    assert ServiceStandard.objects.filter(is_active=True).count() == 4


def test_review_cadence_of_every_tier_is_the_domain_table():
    # DOMAIN.md §7.4 v1 cadence: T2 a semi-annual business review; T3/T4 on demand (no schedule).
    cadence = {s.tier: s.review_cadence for s in ServiceStandard.objects.filter(is_active=True)}
    assert cadence == {
        "T1": {"qbr": 3, "ebr": 12, "internal_monthly": 1},
        "T2": {"business_review": 6},
        "T3": {},
        "T4": {},
    }


def test_request_due_times_follow_the_tier_and_the_calendar():
    Holiday.objects.create(calendar=BusinessCalendar.objects.get(is_default=True), date=dt.date(2026, 6, 19))
    account = set_tier(AccountFactory(), "T1")
    request = services.service_request_create(account=account, priority="p1", opened_at=at(18, 17))
    assert request.first_response_due_at == at(18, 17, 30)
    assert request.resolution_due_at == at(22, 12)
    assert request.sla_standard.tier == "T1"
    untiered = services.service_request_create(account=AccountFactory(), priority="p1", opened_at=at(15, 10))
    assert untiered.sla_standard.tier == "T4"  # not tiered yet: the basic standard
    assert untiered.first_response_due_at == at(15, 14)


def test_breach_flags_with_a_pause_waiting_on_the_customer():
    account = set_tier(AccountFactory(), "T1")
    with time_machine.travel(at(15, 10), tick=False):
        request = services.service_request_create(account=account, priority="p1")
    with time_machine.travel(at(15, 10, 20), tick=False):
        request = services.service_request_respond(service_request=request)
        assert request.first_response_breached is False
        request = services.service_request_update(service_request=request, status="waiting")
        assert request.resolution_due_at is None  # the clock stands still while we wait
    with time_machine.travel(at(16, 10, 20), tick=False):  # one business day paused
        request = services.service_request_update(service_request=request, status="open")
        # 20 minutes ran before the pause; the other 220 run from Tuesday 10:20.
        assert request.resolution_due_at == at(16, 14)
        assert request.paused_minutes == 540
    with time_machine.travel(at(16, 14, 1), tick=False):
        assert services.sla_refresh_breaches() == 1
        request.refresh_from_db()
        assert (request.first_response_breached, request.resolution_breached) == (False, True)
        request = services.service_request_resolve(service_request=request)
        assert request.resolution_breached is True
        assert request.status == "resolved"


def test_resolving_late_without_any_run_is_flagged_by_the_service():
    account = set_tier(AccountFactory(), "T2")
    with time_machine.travel(at(15, 9), tick=False):
        request = services.service_request_create(account=account, priority="p2", title="Label printer")
    with time_machine.travel(at(15, 13, 1), tick=False):  # T2 P2 first response: 4 business hours
        request = services.service_request_respond(service_request=request)
    assert request.first_response_breached is True
    assert request.version == 2


def test_refresh_breaches_is_set_based_and_idempotent(django_assert_num_queries):
    account = AccountFactory()
    with time_machine.travel(at(1, 10), tick=False):
        for _ in range(3):
            services.service_request_create(account=account, priority="p1")
    with django_assert_num_queries(2):
        assert services.sla_refresh_breaches(now=at(15, 10)) == 6
    assert services.sla_refresh_breaches(now=at(15, 10)) == 0


def test_pause_errors_name_the_field():
    request = services.service_request_create(account=AccountFactory(), priority="p3", opened_at=at(15, 10))
    with pytest.raises(ValidationError) as exc:
        services.service_request_resume(service_request=request, at=at(15, 11))
    assert "status" in exc.value.message_dict
    services.service_request_pause(service_request=request, at=at(15, 11), reason="Waiting for logs")
    with pytest.raises(ValidationError) as exc:
        services.service_request_pause(service_request=request, at=at(15, 12))
    assert "status" in exc.value.message_dict


def test_revising_a_standard_creates_a_new_version_and_keeps_the_old_one_for_its_requests():
    account = set_tier(AccountFactory(), "T1")
    request = services.service_request_create(account=account, priority="p1", opened_at=at(15, 10))
    old = ServiceStandard.objects.get(tier="T1", is_active=True)
    new = service_standard_revise(standard=old, sla_targets={"p1": (15, 120)})
    old.refresh_from_db()
    assert (old.is_active, new.is_active, new.version) == (False, True, 2)
    assert SlaTarget.objects.get(standard=new, priority="p1").first_response_minutes == 15
    assert SlaTarget.objects.get(standard=new, priority="p2").first_response_minutes == 120  # copied
    request.refresh_from_db()
    assert request.sla_standard == old
    with pytest.raises(ValidationError) as exc:
        service_standard_revise(standard=new, review_cadence={"qbr": 99})
    assert "review_cadence" in exc.value.message_dict


def test_servicerequest_fields_the_kpi_engine_reads_still_exist():
    names = {f.name for f in ServiceRequest._meta.fields}
    assert {
        "priority",
        "status",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "first_response_due_at",
        "resolution_due_at",
    } <= names
