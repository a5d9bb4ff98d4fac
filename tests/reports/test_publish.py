"""Publishing a run: all or nothing, idempotent, stale scopes removed, an event on commit, and the
status of every value against its target."""

from dataclasses import replace
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from kam.errors import StaleVersion
from kam.events import event_published
from reports import services
from reports.engine import FAMILIES
from reports.models import KpiRun, KpiTarget, KpiValue, RunStatus
from reports.services import kpi_target_create, kpi_target_delete, kpi_target_update
from tests.reports.builders import account, contract, invoice, owner, run, snapshot, value

pytestmark = pytest.mark.django_db
M = 1_000_000


@pytest.fixture
def portfolio():
    a = account(owner_name="am_a", tier="T1")
    contract(a, "2024-01-01", "2025-06-30", 2 * M)
    invoice(a, "2025-02-01", M, paid="2025-03-01")
    b = account(owner_name="am_b", region="North China", tier="T3")
    contract(b, "2024-01-01", "2026-12-31", M)
    invoice(b, "2025-02-01", 3 * M)
    return a, b


def _boom(*args, **kwargs):
    raise RuntimeError("injected failure")


def test_a_family_failing_mid_run_leaves_the_previous_snapshot_intact(portfolio, monkeypatch):
    run(["2025-Q1", "2025"], "2026-02-01")
    before = snapshot()
    invoice(portfolio[0], "2025-02-15", 5 * M)  # new data the failed run would have shown
    # Retention, renewals, satisfaction and receivables succeed; concentration fails.
    monkeypatch.setitem(FAMILIES, "concentration", replace(FAMILIES["concentration"], measure=_boom))
    with pytest.raises(RuntimeError, match="injected failure"):
        run(["2025-Q1", "2025"], "2026-02-01")
    assert snapshot() == before
    failed = KpiRun.objects.first()
    assert (failed.status, failed.value_count) == (RunStatus.FAILED, 0)
    assert "injected failure" in failed.error


def test_a_failure_while_publishing_rolls_the_whole_publication_back(portfolio, monkeypatch):
    run(["2025-Q1"], "2026-02-01")
    before = snapshot()
    invoice(portfolio[1], "2025-03-01", 7 * M)
    monkeypatch.setattr(services, "publish", _boom)  # the last step, after the upsert and the delete
    with pytest.raises(RuntimeError):
        run(["2025-Q1"], "2026-02-01")
    assert snapshot() == before


def test_recomputing_is_idempotent_and_keeps_rows(portfolio):
    first = run(["2025-Q1"], "2026-02-01")
    rows = {(v.code, v.period, v.scope): (v.pk, v.value) for v in KpiValue.objects.all()}
    second = run(["2025-Q1"], "2026-02-01")
    assert {(v.code, v.period, v.scope): (v.pk, v.value) for v in KpiValue.objects.all()} == rows
    assert set(KpiValue.objects.values_list("run", flat=True)) == {second.pk}
    assert first.value_count == second.value_count == len(rows)


def test_a_scope_that_disappears_loses_its_values_for_the_recomputed_periods_only(portfolio):
    run(["2025-Q1", "2025-Q2"], "2026-02-01")
    from accounts.services import account_update

    account_update(account=portfolio[1], owner=owner("am_a"))
    run(["2025-Q1"], "2026-02-01")
    assert not KpiValue.objects.filter(scope="owner:am_b", period="2025-Q1").exists()
    assert KpiValue.objects.filter(scope="owner:am_b", period="2025-Q2").exists()  # not recomputed


def test_a_run_of_some_families_touches_only_their_kpis(portfolio):
    run(["2025-Q1"], "2026-02-01")
    grr_before = value("grr", "2025-Q1")
    invoice(portfolio[0], "2025-02-20", M)
    new = run(["2025-Q1"], "2026-02-01", families=["receivables"])
    assert value("dso", "2025-Q1").run_id == new.pk
    assert value("grr", "2025-Q1").run_id == grr_before.run_id
    assert (new.families, new.is_full) == (["receivables"], False)


def test_unknown_family_is_refused_with_the_field_named():
    with pytest.raises(ValidationError) as error:
        run(["2025-Q1"], "2026-02-01", families=["astrology"])
    assert "astrology" in error.value.message_dict["families"][0]


def test_bad_period_is_refused_with_the_field_named():
    with pytest.raises(ValidationError) as error:
        run(["2025-Q5"], "2026-02-01")
    assert "2025-Q5" in error.value.message_dict["period"][0]
    for label in ("0000", "0000-Q1", "0000-03"):  # no year 0 in the calendar
        with pytest.raises(ValidationError) as error:
            run([label], "2026-02-01")
        assert label in error.value.message_dict["period"][0]
    with pytest.raises(ValidationError, match="has not started"):
        run(["2027"], "2026-02-01")


def test_kpis_recomputed_is_published_after_commit_with_job_and_periods(portfolio, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, name, payloads, **kwargs):
        seen.append((name, payloads))

    event_published.connect(receiver, dispatch_uid="test-kpis")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run(["2025-Q1", "2025"], "2026-02-01")
    finally:
        event_published.disconnect(dispatch_uid="test-kpis")
    assert seen == [("kpis.recomputed", [{"job_id": None, "periods": ["2025-Q1", "2025"]}])]


# --- targets ------------------------------------------------------------------------------------


def test_values_carry_their_status_against_the_most_specific_target(portfolio):
    kpi_target_create(code="dso", target_value=D(65))  # general: lower is better (the KPI's default)
    kpi_target_create(code="dso", scope="owner:am_b", target_value=D(30), tolerance=D(100))
    kpi_target_create(code="dso", scope="owner:am_b", period="2025-Q1", target_value=D(10))
    run(["2025-Q1", "2025-Q2"], "2026-02-01")
    company = value("dso", "2025-Q1")  # AR 3,000,000 / sales 4,000,000 × 90 = 67.5 days
    # 2.5 days over 65, within the default tolerance of 5% of the target (3.25 days): at risk.
    assert (company.value, company.target_value, company.target_status) == (D("67.5"), 65, "at_risk")
    am_b = value("dso", "2025-Q1", "owner:am_b")  # 90 days, against the scope-and-period target 10
    assert (am_b.target_value, am_b.target_status) == (10, "missed")
    assert value("dso", "2025-Q1", "owner:am_a").target_status == "met"  # 0 days
    assert value("dso", "2025-Q2", "owner:am_b").target_status == ""  # no revenue in Q2: no value


def test_setting_changing_and_removing_a_target_updates_published_statuses(portfolio, executive):
    run(["2025"], "2026-02-01")
    target = kpi_target_create(code="grr", target_value=D("0.9"), actor=executive)
    assert target.direction == "higher"
    assert target.created_by == executive
    grr = value("grr", "2025")  # 1,000,000 of 3,000,000 kept: a's contract ended in June
    assert (grr.target_value, grr.target_status) == (D("0.9"), "missed")
    target = kpi_target_update(target=target, target_value=D("0.3"), expected_version=1)
    assert value("grr", "2025").target_status == "met"
    with pytest.raises(StaleVersion):
        kpi_target_update(target=target, target_value=D("0.7"), expected_version=1)
    kpi_target_delete(target=target)
    assert (value("grr", "2025").target_value, value("grr", "2025").target_status) == (None, "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "happiness", "target_value": D(1)}, "code"),
        ({"code": "grr", "scope": "team:red", "target_value": D(1)}, "scope"),
        ({"code": "grr", "scope": "tier:T9", "target_value": D(1)}, "scope"),
        ({"code": "grr", "period": "FY25", "target_value": D(1)}, "period"),
        ({"code": "grr", "target_value": D(1), "tolerance": D(-1)}, "tolerance"),
    ],
)
def test_a_bad_target_is_refused_naming_the_field(fields, field):
    with pytest.raises(ValidationError) as error:
        kpi_target_create(**fields)
    assert field in error.value.message_dict
    assert not KpiTarget.objects.exists()


def test_one_target_per_kpi_scope_and_period():
    kpi_target_create(code="nps", target_value=D(30))
    with pytest.raises(ValidationError) as error:
        kpi_target_create(code="nps", target_value=D(40))
    assert error.value.message_dict
