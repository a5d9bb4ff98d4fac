from django.db import migrations

ROLES = [
    "economic_buyer", "technical_buyer", "user_buyer", "coach_champion", "approver",
    "evaluator", "influencer", "gatekeeper", "blocker",
]  # fmt: skip


def add_roles(apps, schema_editor):
    BuyingRole = apps.get_model("accounts", "BuyingRole")
    for code in ROLES:
        BuyingRole.objects.get_or_create(code=code)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
