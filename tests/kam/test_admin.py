"""The Django admin obeys the visibility rule: lists, forms, lookups and history."""

import pytest
from django.urls import reverse

from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(account_manager, other_manager):
    return AccountFactory(name="Mine", owner=account_manager), AccountFactory(name="Not mine", owner=other_manager)


def test_changelist_shows_only_visible_accounts(manager_client, accounts):
    response = manager_client.get(reverse("admin:accounts_account_changelist"))
    assert response.status_code == 200
    assert "Mine" in response.text
    assert "Not mine" not in response.text


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_other_managers_account_is_a_404_in_the_admin(manager_client, accounts, view):
    _, theirs = accounts
    response = manager_client.get(reverse(f"admin:accounts_account_{view}", args=[theirs.pk]))
    assert response.status_code == 404


def test_other_managers_contract_is_a_404(manager_client, accounts):
    contract = ContractFactory(account=accounts[1])
    assert manager_client.get(reverse("admin:accounts_contract_change", args=[contract.pk])).status_code == 404


def test_a_contract_cannot_be_moved_to_an_invisible_account(manager_client, accounts):
    mine, theirs = accounts
    contract = ContractFactory(account=mine)
    url = reverse("admin:accounts_contract_change", args=[contract.pk])
    data = {
        "account": theirs.pk, "number": contract.number, "title": "", "start_date": "2025-01-01", "end_date": "2025-12-31",
        "annual_value": "100", "currency": "CNY", "status": "active", "escalator_pct": "0",
    }  # fmt: skip
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    contract.refresh_from_db()
    assert contract.account_id == mine.pk


def test_admin_edit_goes_through_the_service(manager_client, accounts, account_manager):
    mine, _ = accounts
    parent = AccountFactory(name="New parent", owner=account_manager)
    url = reverse("admin:accounts_account_change", args=[mine.pk])
    response = manager_client.get(url)
    form = response.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({"parent": parent.pk, "owner": account_manager.pk, "region": "North China"})
    data.update({"team_members-TOTAL_FORMS": "0", "team_members-INITIAL_FORMS": "0"})
    response = manager_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    mine.refresh_from_db()
    assert (mine.parent_id, mine.group_root_id, mine.region, mine.version) == (parent.pk, parent.pk, "North China", 2)


def test_cycle_in_the_admin_is_a_form_error(manager_client, account_manager):
    group = AccountFactory(name="G", owner=account_manager)
    child = AccountFactory(name="C", owner=account_manager, parent=group)
    url = reverse("admin:accounts_account_change", args=[group.pk])
    form = manager_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {"parent": child.pk, "owner": account_manager.pk, "team_members-TOTAL_FORMS": "0", "team_members-INITIAL_FORMS": "0"}
    )
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "cannot be placed under itself" in response.text
    group.refresh_from_db()
    assert group.parent_id is None


def test_admin_team_changes_go_through_the_services_and_move_open_alert_work(admin_client, account_manager):
    """The account admin's team inline adds, changes and removes members with the services, so a
    role's open alerts follow its holder (DOMAIN.md §5.3)."""
    from service_plans.models import AccountTeamMember, Alert
    from service_plans.services.alerts import alert_create_manual
    from tests.factories import UserFactory

    account = AccountFactory(owner=account_manager)
    alert = alert_create_manual(account=account, rule="R3", reason="overdue", priority="high", actor=None)
    Alert.objects.filter(pk=alert.pk).update(owner_role="finance")  # as the engine gives R3 to finance
    finance = UserFactory(username="finance_admin")
    url = reverse("admin:accounts_account_change", args=[account.pk])
    form = admin_client.get(url).context["adminform"].form
    base = {name: form.initial.get(name) or "" for name in form.fields}
    base.update({"owner": account_manager.pk})
    data = {
        **base,
        "team_members-TOTAL_FORMS": "1",
        "team_members-INITIAL_FORMS": "0",
        "team_members-0-user": finance.pk,
        "team_members-0-role": "finance",
        "team_members-0-since": "",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    alert.refresh_from_db()
    assert alert.owner == finance
    member = AccountTeamMember.objects.get(account=account)
    data = {
        **base,
        "team_members-TOTAL_FORMS": "1",
        "team_members-INITIAL_FORMS": "1",
        "team_members-0-id": member.pk,
        "team_members-0-account": account.pk,
        "team_members-0-user": finance.pk,
        "team_members-0-role": "finance",
        "team_members-0-since": "",
        "team_members-0-DELETE": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert not AccountTeamMember.objects.filter(account=account).exists()
    alert.refresh_from_db()
    assert alert.owner == account_manager  # back to the account manager, the role's fallback
