"""Installs the v1 scoring model of DOMAIN.md §8 as the active version."""

from django.db import migrations


def install(apps, schema_editor):
    from tiering.defaults import install_default_model

    ScoringModel = apps.get_model("tiering", "ScoringModel")
    ScoringFactor = apps.get_model("tiering", "ScoringFactor")
    if not ScoringModel.objects.exists():
        install_default_model(ScoringModel, ScoringFactor)


def remove(apps, schema_editor):
    ScoringModel = apps.get_model("tiering", "ScoringModel")
    ScoringModel.objects.filter(runs__isnull=True, based_on__isnull=True, version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("tiering", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
