"""Alerts (read, and the verbs people act with), their tasks, and the user's own notifications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.currency import validate_currency_code
from kam.api.fields import BlankAsNullChoiceField, BoundedDateField
from kam.api.serializers import ApiModelSerializer
from kam.api.viewsets import ServiceViewSet
from service_plans import notifications
from service_plans.alerts.engine import alert_label
from service_plans.alerts.rules import DETAILED_REASONS
from service_plans.api.common import EmptySerializer, InputSerializer, VerbMixin, active_users
from service_plans.filters import AlertFilterSet, AlertTaskFilterSet, NotificationFilterSet
from service_plans.models import CLOSED_STATUSES, Alert, AlertOutcome, AlertStatus, AlertTask, Notification
from service_plans.services import alerts

# --- Alerts and their tasks ----------------------------------------------------------------------


class AlertTaskSerializer(ApiModelSerializer):
    class Meta:
        model = AlertTask
        fields = [
            "id", "alert", "order", "title", "description", "owner", "owner_role", "due_on", "status", "required",
            "evidence_required", "evidence", "completed_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertSerializer(ApiModelSerializer):
    detail = serializers.SerializerMethodField(help_text="The rule and reason in words, in the request's language.")
    tasks = AlertTaskSerializer(many=True, read_only=True)
    outcome = BlankAsNullChoiceField(choices=AlertOutcome.choices, help_text="Set on close; null while open.")

    class Meta:
        model = Alert
        fields = [
            "id", "account", "rule", "reason", "detail", "priority", "status", "owner", "owner_role", "due_on", "opened_at",
            "evidence", "playbook", "is_manual", "snoozed_until", "snooze_reason", "escalated_at", "sponsor_notified_at",
            "closed_at", "closed_by", "closure_note", "outcome", "saved_value_amount", "currency", "tasks", "version",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_detail(self, alert: Alert) -> str:
        if alert.reason in DETAILED_REASONS:  # E1 names its offerings and NPS mean (from the evidence)
            return f"{alert.get_rule_display()}: {alert.reason_display}"
        return alert_label(alert.rule, alert.reason)


CLOSED_ALERT_STATUS_CHOICES = [(value, label) for value, label in AlertStatus.choices if value in CLOSED_STATUSES]


class AlertSnoozeSerializer(InputSerializer):
    until = BoundedDateField(help_text="The day the alert comes back; at most 30 days ahead.")
    reason = serializers.CharField(max_length=200, help_text="Why the alert is snoozed.")


class AlertCloseSerializer(InputSerializer):
    note = serializers.CharField(help_text="What was done; required.")
    outcome = serializers.ChoiceField(choices=AlertOutcome.choices)
    status = serializers.ChoiceField(choices=CLOSED_ALERT_STATUS_CHOICES, default=AlertStatus.CLOSED_RESOLVED)
    saved_value_amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Revenue kept."
    )
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, validators=[validate_currency_code])


class AlertReassignSerializer(InputSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=active_users(), help_text="User id of the new owner.")
    move_tasks = serializers.BooleanField(default=True, help_text="Move the previous owner's open tasks too.")


class AlertRescheduleSerializer(InputSerializer):
    due_on = BoundedDateField(help_text="The new due date: today or later, and not before an open task's.")
    shift_tasks = serializers.BooleanField(default=True, help_text="Move the open tasks by the same number of days.")


class AlertViewSet(VerbMixin, ServiceViewSet):
    """Risk alerts (CTAs) raised by the rules engine. Read, then act through the verbs; there is no POST.

    Every verb honours ``If-Match`` (the alert's ETag) and answers the changed alert.
    """

    queryset = Alert.objects.all()
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    search_fields = ["reason", "account__name"]
    ordering_fields = ["id", "opened_at", "due_on", "priority", "status", "updated_at"]
    list_prefetch_related = ("tasks",)
    action_permissions = {
        verb: ["service_plans.change_alert"] for verb in ("snooze", "close", "acknowledge", "reassign", "reschedule")
    }

    def _verb(self, request: Request, input_class: type[serializers.Serializer], service: Callable[..., Any]) -> Response:
        return self.object_response(self.run_verb(request, input_class, service, "alert"))

    @extend_schema(request=AlertSnoozeSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Hide an open alert until a later day (at most 30 days ahead); the nightly run re-opens it then."""
        return self._verb(request, AlertSnoozeSerializer, alerts.alert_snooze)

    @extend_schema(request=AlertCloseSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close an open alert with a note and an outcome; its open tasks are cancelled and ``alert.closed`` is published."""
        return self._verb(request, AlertCloseSerializer, alerts.alert_close)

    @extend_schema(request=EmptySerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """The owner works on it: the alert becomes ``in_progress`` (a snooze ends)."""
        return self._verb(request, EmptySerializer, alerts.alert_acknowledge)

    @extend_schema(request=AlertRescheduleSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str | None = None) -> Response:
        """Change the due date of an open alert; its open tasks move with it unless ``shift_tasks`` is false."""
        return self._verb(request, AlertRescheduleSerializer, alerts.alert_reschedule)

    @extend_schema(request=AlertReassignSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        """Give the alert to another user who can see the account (and, by default, the previous owner's open tasks)."""
        return self._verb(request, AlertReassignSerializer, alerts.alert_reassign)


class AlertTaskCompleteSerializer(InputSerializer):
    evidence = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required for some tasks.")


class AlertTaskViewSet(VerbMixin, ServiceViewSet):
    """The playbook tasks of alerts; they are created with the alert and completed with ``complete``."""

    queryset = AlertTask.objects.all()
    serializer_class = AlertTaskSerializer
    filterset_class = AlertTaskFilterSet
    search_fields = ["title"]
    ordering_fields = ["id", "due_on", "order", "status"]
    action_permissions = {"complete": ["service_plans.change_alerttask"]}

    @extend_schema(request=AlertTaskCompleteSerializer, responses={200: AlertTaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Mark an open task done, with evidence when the task asks for it."""
        return self.object_response(self.run_verb(request, AlertTaskCompleteSerializer, alerts.alert_task_complete, "task"))


# --- Notifications --------------------------------------------------------------------------------


class NotificationSerializer(ApiModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "link", "alert", "read_at", "created_at"]
        read_only_fields = fields


class NotificationsMarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many unread notifications were marked read.")


class NotificationViewSet(VerbMixin, ServiceViewSet):
    """Your own in-app notifications (everyone, administrators too, sees only their own); ``read`` marks one
    read, ``read-all`` all of yours."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    ordering_fields = ["id", "created_at"]
    ordering = ("-id",)
    service_takes_actor = False
    action_permissions = {"read": [], "read_all": []}  # one's own notifications: no model permission needed

    def base_queryset(self) -> models.QuerySet:
        return notifications.notification_list(user=self.request.user)

    @extend_schema(request=EmptySerializer, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark the notification read (reading it again changes nothing)."""
        note = self.run_verb(request, EmptySerializer, _notification_read, "notification")
        return self.object_response(note)

    @extend_schema(request=EmptySerializer, responses={200: NotificationsMarkedSerializer})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark every unread notification of yours read (others' are untouched); says how many were."""
        return Response({"marked": notifications.notification_mark_read(user=request.user)})


def _notification_read(*, notification: Notification, actor: Any) -> Notification:
    notifications.notification_mark_read(user=actor, ids=[notification.pk])
    notification.refresh_from_db()
    return notification
