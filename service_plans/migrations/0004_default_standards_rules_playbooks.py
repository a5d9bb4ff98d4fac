"""Ship the DOMAIN.md defaults: business calendar, service standards per tier with SLA targets (§4.11,
§7.4, §7.5), rule settings R1–R9 (§5.2, T1 tighter) and one playbook per rule (§5.4)."""

import datetime as dt

from django.conf import settings
from django.db import migrations

# Business minutes with a 9-hour working day: 1 business day = 540.
SLA = {
    "T1": {"p1": (30, 240), "p2": (120, 540), "p3": (480, 1620), "p4": (1440, 2700)},
    "T2": {"p1": (60, 480), "p2": (240, 1080), "p3": (960, 2700), "p4": (1440, 4320)},
    "T3": {"p1": (120, 540), "p2": (480, 1620), "p3": (1080, 2700), "p4": (2160, 5400)},
    "T4": {"p1": (240, 1080), "p2": (540, 2700), "p3": (1620, 5400), "p4": (2700, 8100)},
}
CADENCE = {"T1": {"qbr": 3, "ebr": 12, "internal_monthly": 1}, "T2": {"business_review": 6}, "T3": {}, "T4": {}}
ROLES = {"T1": ["account_manager", "executive_sponsor", "service_lead"], "T2": ["account_manager"], "T3": [], "T4": []}
SERVICES = {
    "T1": "Dedicated service lead; 24x7 P1 hotline; quarterly business reviews; annual executive review; customised solution workshops; joint innovation programme.",
    "T2": "Named account manager; semi-annual business review; priority support queue; training days.",
    "T3": "Account manager on demand; standard support.",
    "T4": "Standard support.",
}
TIER_ROWS = {("R1", "T1"): {"drop_pct": 15}, ("R5", "T1"): {"window_days": 180}, ("R5", "T2"): {"window_days": 120}, ("R6", "T1"): {"sla_min_pct": 95}}
PLAYBOOKS = [
    ("volume-decline-diagnosis", "Volume decline diagnosis", "R1", [
        ("Review order history and product mix with the customer's buyer", "account_manager", 3),
        ("Check competitor activity and pricing at the account", "account_manager", 5),
        ("Agree a recovery plan and record it in the account plan", "account_manager", 10),
    ]),
    ("detractor-recovery", "Detractor recovery", "R2", [
        ("Call the respondent to understand the feedback", "account_manager", 2),
        ("Executive sponsor outreach to the customer", "executive_sponsor", 5),
        ("Agree a fix plan with the customer", "service_lead", 10),
        ("Re-survey after the fix", "account_manager", 30),
    ]),
    ("collections-with-care", "Collections with relationship care", "R3", [
        ("Confirm the invoices' status and any dispute", "finance", 1),
        ("Courtesy reminder from the account manager to the customer's payer", "account_manager", 3),
        ("Decide on a payment plan or escalation", "finance", 7),
    ]),
    ("loss-of-champion", "Loss of champion", "R4", [
        ("Confirm the departure and the successor", "account_manager", 2),
        ("Executive-sponsor outreach to the economic buyer", "executive_sponsor", 5),
        ("Meet the new owner and re-baseline objectives and ROI", "account_manager", 15),
        ("Re-map stakeholders and set target relationship levels", "account_manager", 15),
        ("Update the account plan risks", "account_manager", 20),
    ]),
    ("renewal-kick-off", "Renewal kick-off", "R5", [
        ("Health and value review for the renewal", "account_manager", 3),
        ("Book a renewal meeting with the economic buyer", "account_manager", 5),
        ("Draft the renewal proposal", "account_manager", 10),
    ]),
    ("escalation-containment", "Escalation containment", "R6", [
        ("Name the incident owner and update the customer", "service_lead", 1),
        ("Account manager call with the customer's sponsor", "account_manager", 2),
        ("Share the root-cause analysis and prevention steps", "service_lead", 5),
    ]),
    ("executive-re-engagement", "Executive re-engagement", "R7", [
        ("Propose an executive meeting to the customer", "executive_sponsor", 5),
        ("Schedule the overdue business review", "account_manager", 10),
    ]),
    ("health-recovery", "Health recovery", "R8", [
        ("Review the health breakdown and its lowest-scoring group", "account_manager", 2),
        ("Agree corrective actions for the lowest-scoring group", "account_manager", 5),
    ]),
    ("multi-threading", "Multi-threading", "R9", [
        ("Map the stakeholders and the uncovered buying roles", "account_manager", 5),
        ("Get introduced to two more decision makers", "account_manager", 10),
    ]),
]


def forwards(apps, schema_editor):
    Calendar = apps.get_model("service_plans", "BusinessCalendar")
    Standard = apps.get_model("service_plans", "ServiceStandard")
    Target = apps.get_model("service_plans", "SlaTarget")
    RuleConfig = apps.get_model("service_plans", "RuleConfig")
    Playbook = apps.get_model("service_plans", "PlaybookTemplate")
    Task = apps.get_model("service_plans", "PlaybookTaskTemplate")
    calendar, _ = Calendar.objects.get_or_create(
        name="Standard business hours",
        defaults={
            "time_zone": settings.TIME_ZONE,
            "working_days": [1, 2, 3, 4, 5],
            "day_starts_at": dt.time(9, 0),
            "day_ends_at": dt.time(18, 0),
            "is_default": not Calendar.objects.filter(is_default=True).exists(),
        },
    )
    for tier, targets in SLA.items():
        if Standard.objects.filter(tier=tier).exists():
            continue
        standard = Standard.objects.create(
            tier=tier, version=1, is_active=True, calendar=calendar, review_cadence=CADENCE[tier],
            required_roles=ROLES[tier], included_services=SERVICES[tier],
        )
        Target.objects.bulk_create(
            Target(standard=standard, priority=p, first_response_minutes=a, resolution_minutes=b) for p, (a, b) in targets.items()
        )
    for rule in ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"):
        RuleConfig.objects.get_or_create(rule=rule, tier="", defaults={"params": {}})
    for (rule, tier), params in TIER_ROWS.items():
        RuleConfig.objects.get_or_create(rule=rule, tier=tier, defaults={"params": params})
    for code, name, rule, tasks in PLAYBOOKS:
        if Playbook.objects.filter(code=code).exists():
            continue
        playbook = Playbook.objects.create(code=code, name=name, rule=rule, reason="", version=1, is_active=True)
        Task.objects.bulk_create(
            Task(playbook=playbook, order=i, title=title, owner_role=role, due_offset_days=days)
            for i, (title, role, days) in enumerate(tasks, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [("service_plans", "0003_plans_alerts_standards")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
