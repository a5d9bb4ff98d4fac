"""REST endpoints of the service plans app (``ROUTES``, mounted under ``/api/v1/`` by ``kam.api.urls``).

Writes call the app's services (``service_plans.services``; team changes live in
``accounts.services``). A record stays on the account (or plan) it was created for: ``account`` and
``plan`` are read-only on updates, as in the services. Alerts are created by the rules engine, never
by POST; people act on them through verbs (``alerts/{id}/snooze/``…).
"""

from __future__ import annotations

from service_plans.api.alerts import CLOSED_ALERT_STATUS_CHOICES, AlertTaskViewSet, AlertViewSet, NotificationViewSet
from service_plans.api.config import PlaybookViewSet, ServiceStandardViewSet
from service_plans.api.delivery import (
    CaseViewSet,
    EscalationViewSet,
    NeedViewSet,
    ProjectViewSet,
    ServiceRequestViewSet,
    SurveyResponseViewSet,
    TeamMemberViewSet,
)
from service_plans.api.plans import ActionViewSet, ObjectiveViewSet, PlanViewSet, ReviewViewSet, WhitespaceCellViewSet

__all__ = ["CLOSED_ALERT_STATUS_CHOICES", "ROUTES"]

ROUTES = [
    ("team-members", TeamMemberViewSet, "team-member"),
    ("survey-responses", SurveyResponseViewSet, "survey-response"),
    ("service-requests", ServiceRequestViewSet, "service-request"),
    ("projects", ProjectViewSet, "project"),
    ("escalations", EscalationViewSet, "escalation"),
    ("alerts", AlertViewSet, "alert"),
    ("alert-tasks", AlertTaskViewSet, "alert-task"),
    ("plans", PlanViewSet, "plan"),
    ("objectives", ObjectiveViewSet, "objective"),
    ("actions", ActionViewSet, "action"),
    ("reviews", ReviewViewSet, "review"),
    ("whitespace-cells", WhitespaceCellViewSet, "whitespace-cell"),
    ("needs", NeedViewSet, "need"),
    ("cases", CaseViewSet, "case"),
    ("playbooks", PlaybookViewSet, "playbook"),
    ("service-standards", ServiceStandardViewSet, "service-standard"),
    ("notifications", NotificationViewSet, "notification"),
]
