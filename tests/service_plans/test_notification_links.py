"""Notifications stored with admin links (before they pointed at the workspace) are moved to the
workspace by migration service_plans 0008."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from service_plans.models import Notification
from service_plans.services.alerts import alert_create_manual
from service_plans.services.plans import plan_create
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("service_plans.migrations.0008_notification_links_to_workspace")


def test_admin_links_are_rewritten_to_the_workspace():
    account = AccountFactory()
    alert = alert_create_manual(account=account, rule="R3", reason="overdue", priority="high", actor=account.owner)
    plan = plan_create(account=account, fiscal_year=2026)
    user = account.owner
    stored = [
        Notification.objects.create(
            user=user, kind="alert.opened", text="a", link=f"/admin/service_plans/alert/{alert.pk}/change/", alert=alert
        ),
        Notification.objects.create(
            user=user, kind="account.tier_changed", text="b", link=f"/admin/service_plans/accountplan/{plan.pk}/change/"
        ),
        Notification.objects.create(
            user=user, kind="account.tier_changed", text="c", link="/admin/service_plans/accountplan/999999/change/"
        ),
        Notification.objects.create(user=user, kind="other", text="d", link="/renewals/"),
    ]

    migration.forwards(apps, SimpleNamespace(connection=connection))

    links = [Notification.objects.get(pk=n.pk).link for n in stored]
    assert links == [f"/alerts/{alert.pk}/", f"/accounts/{account.pk}/#plan", "", "/renewals/"]
