"""Notifications stored before links pointed at the workspace took their readers to the admin, which
account managers cannot open: point them at the alert's page and at the plan on the account's page."""

from django.db import migrations
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse

ADMIN_ALERT = "/admin/service_plans/alert/"
ADMIN_PLAN = "/admin/service_plans/accountplan/"


def forwards(apps, schema_editor):
    Notification = apps.get_model("service_plans", "Notification")
    AccountPlan = apps.get_model("service_plans", "AccountPlan")
    db = schema_editor.connection.alias
    alert_before, alert_after = reverse("web:alert_detail", args=[0]).split("0", 1)
    Notification.objects.using(db).filter(link__startswith=ADMIN_ALERT, alert_id__isnull=False).update(
        link=Concat(Value(alert_before), Cast("alert_id", CharField()), Value(alert_after))
    )
    account_before, account_after = reverse("web:account_detail", args=[0]).split("0", 1)
    plan_page = (
        AccountPlan.objects.using(db)
        .annotate(admin_link=Concat(Value(ADMIN_PLAN), Cast("id", CharField()), Value("/change/")))
        .filter(admin_link=OuterRef("link"))
        .annotate(page=Concat(Value(account_before), Cast("account_id", CharField()), Value(account_after + "#plan")))
        .values("page")[:1]
    )
    Notification.objects.using(db).filter(link__startswith=ADMIN_PLAN).update(
        link=Coalesce(Subquery(plan_page), Value(""))
    )  # a plan since deleted: no link


class Migration(migrations.Migration):
    dependencies = [("service_plans", "0007_alert_rescheduled_event")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
