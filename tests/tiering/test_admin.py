"""Tiering in the admin: scoring models edited through the versioning service, read-only records
that obey the visibility rule, overrides created through the services."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from tests.factories import AccountFactory
from tiering.models import ScoreSnapshot, ScoringModel, TierOverride
from tiering.recompute import scores_recompute

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2025, 6, 30)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _value(value):
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def change_form_data(response):
    """The POST data the change form would send unchanged: main form plus the factor formset."""
    form = response.context["adminform"].form
    data = {name: _value(form.initial.get(name)) for name in form.fields}
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        management = fs.management_form
        for name in management.fields:
            data[f"{fs.prefix}-{name}"] = _value(management.initial.get(name))
        for factor_form in fs.forms:
            for name in factor_form.fields:
                value = factor_form.initial.get(name)
                if name == "id" and factor_form.instance.pk:
                    value = factor_form.instance.pk
                if name == "model":
                    value = factor_form.instance.model_id
                data[factor_form.add_prefix(name)] = _value(value)
    return data, response.context["inline_admin_formsets"][0].formset


def factor_index(formset, code):
    return next(i for i, f in enumerate(formset.forms) if f.instance.code == code)


@pytest.mark.parametrize(
    "model", ["scoringmodel", "scoringrun", "scoresnapshot", "healthsnapshot", "tierassignment", "tieroverride", "healthoverride"]
)
def test_every_tiering_changelist_opens(admin_client, scoring_model, account_manager, model):
    AccountFactory(owner=account_manager)
    scores_recompute(as_of=AS_OF)
    assert admin_client.get(reverse(f"admin:tiering_{model}_changelist")).status_code == 200


def test_editing_a_used_model_saves_a_new_active_version(admin_client, scoring_model):
    scores_recompute(part="health", as_of=AS_OF)
    url = reverse("admin:tiering_scoringmodel_change", args=[scoring_model.pk])
    data, formset = change_form_data(admin_client.get(url))
    data["max_t1"] = "25"
    data[f"factors-{factor_index(formset, 'F1')}-weight"] = "30"
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "saved as version" in response.text
    new = ScoringModel.objects.get(is_active=True)
    assert (new.version, new.based_on_id, new.max_t1) == (scoring_model.version + 1, scoring_model.pk, 25)
    assert new.factors.get(code="F1").weight == Decimal("30")
    old = ScoringModel.objects.get(pk=scoring_model.pk)
    assert (old.max_t1, old.factors.get(code="F1").weight, old.is_active) == (30, Decimal("25"), False)


def test_editing_an_unused_model_changes_it_in_place(admin_client, scoring_model):
    url = reverse("admin:tiering_scoringmodel_change", args=[scoring_model.pk])
    data, _ = change_form_data(admin_client.get(url))
    data["band_gap"] = "4"
    assert admin_client.post(url, data).status_code == 302
    assert ScoringModel.objects.get().band_gap == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"t2_entry": "80"}, "Entry scores must be ordered"),
        ({"weight:F1": "-5"}, "Ensure this value is greater than or equal to 0"),
        ({"params:F2": '{"poor": 1}'}, "A linear band needs exactly two numbers"),
        ({"code:F2": "F1"}, "Factor codes must be unique"),
    ],
)
def test_invalid_edits_are_form_errors_and_change_nothing(admin_client, scoring_model, change, message):
    url = reverse("admin:tiering_scoringmodel_change", args=[scoring_model.pk])
    data, formset = change_form_data(admin_client.get(url))
    for key, value in change.items():
        if ":" in key:
            name, code = key.split(":")
            data[f"factors-{factor_index(formset, code)}-{name}"] = value
        else:
            data[key] = value
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert message in response.text
    assert ScoringModel.objects.get().config_hash() == scoring_model.config_hash()


def test_activate_action(admin_client, scoring_model):
    from tiering import services

    draft = services.scoring_model_copy(model=scoring_model)
    response = admin_client.post(
        reverse("admin:tiering_scoringmodel_changelist"), {"action": "activate", "_selected_action": [draft.pk]}, follow=True
    )
    assert "is now active" in response.text
    assert ScoringModel.objects.get(is_active=True).pk == draft.pk


def test_managers_see_only_their_groups_snapshots(client, scoring_model, account_manager, other_manager):
    mine = AccountFactory(owner=account_manager, name="Mine Co")
    theirs = AccountFactory(owner=other_manager, name="Theirs Co")
    scores_recompute(as_of=AS_OF)
    client.force_login(account_manager)
    response = client.get(reverse("admin:tiering_scoresnapshot_changelist"))
    assert response.status_code == 200
    assert "Mine Co" in response.text and "Theirs Co" not in response.text
    snapshot = ScoreSnapshot.objects.get(account=theirs)
    assert client.get(reverse("admin:tiering_scoresnapshot_change", args=[snapshot.pk])).status_code == 404
    assert (
        client.get(reverse("admin:tiering_scoresnapshot_change", args=[ScoreSnapshot.objects.get(account=mine).pk])).status_code
        == 200
    )


def test_an_override_added_in_the_admin_goes_through_the_service(admin_client, ratings_model, account_manager, executive):
    ratings_model()
    account = AccountFactory(owner=account_manager, market_influence=2)
    scores_recompute(as_of=timezone.localdate())
    url = reverse("admin:tiering_tieroverride_add")
    data = {
        "account": account.pk, "tier": "T1", "reason": "Committee decision", "approved_by": executive.pk,
        "starts_on": "", "expires_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
    }  # fmt: skip
    assert admin_client.post(url, data).status_code == 302
    assert Account.objects.get(pk=account.pk).tier == "T1"
    assert TierOverride.objects.get().created_by.username == "admin_user"


def test_an_override_with_a_bad_approver_is_a_form_error(admin_client, scoring_model, account_manager):
    account = AccountFactory(owner=account_manager)
    data = {
        "account": account.pk, "tier": "T1", "reason": "x", "approved_by": account_manager.pk, "starts_on": "",
        "expires_on": (timezone.localdate() + dt.timedelta(days=400)).isoformat(),
    }  # fmt: skip
    response = admin_client.post(reverse("admin:tiering_tieroverride_add"), data)
    assert response.status_code == 200
    assert "allowed to approve overrides" in response.text and "at most 365 days" in response.text
    assert not TierOverride.objects.exists()
