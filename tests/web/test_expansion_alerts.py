"""E1 expansion alerts (DOMAIN.md §5.2) on the pages: the account page counts them apart from the risks
(a green badge, not the red one), the alert page names the offering and shows the seeded playbook in the
reader's language, other managers get a 404, and the calibration page (§5.5) lists the rule."""

import re

import pytest
import time_machine
from django.urls import reverse

from service_plans.models import Alert
from service_plans.services.alerts import alert_create_manual
from tests.service_plans.conftest import NOW, run
from tests.service_plans.test_rule_e1 import PM, account, peers, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def expansion(account_manager):
    with time_machine.travel(NOW, tick=False):
        target = account(owner=account_manager)
        plan(target, {PM: "gap"})
        peers(2)
        run()
    return Alert.objects.get(rule="E1", account=target)


def test_the_account_page_counts_expansion_alerts_apart_from_risks(manager_client, expansion):
    html = manager_client.get(reverse("web:account_detail", args=[expansion.account_id])).text
    assert 'id="open-alert-count"' not in html  # no risk: no red count
    assert re.search(r'id="open-opportunity-count">\s*1 opportunity', html)
    alert_create_manual(account=expansion.account, rule="R2", reason="nps_detractor", priority="high", actor=None)
    html = manager_client.get(reverse("web:account_detail", args=[expansion.account_id])).text
    assert re.search(r'id="open-alert-count">\s*1 open', html) and 'id="open-opportunity-count"' in html


def test_the_alert_page_names_the_offering_and_reads_in_chinese(manager_client, expansion):
    url = reverse("web:alert_detail", args=[expansion.pk])
    html = manager_client.get(url).text
    assert f"peers in its industry use {PM} (2 peers)" in html and "Expansion discovery v1" in html
    assert "Validate the need with the champion" in html
    zh = manager_client.get(url, headers={"accept-language": "zh-hans"}).text
    assert "E1 扩展信号" in zh and f"{PM}（2 家同行）" in zh
    assert "扩展机会探查 v1" in zh and "与支持者或采购中心的决策人确认需求" in zh


def test_other_managers_get_404_on_an_expansion_alert(client, other_manager, expansion):
    client.force_login(other_manager)
    assert client.get(reverse("web:alert_detail", args=[expansion.pk])).status_code == 404


def test_a_playbook_text_an_administrator_typed_shows_as_typed(manager_client, expansion):
    expansion.tasks.filter(order=1).update(title="Call Mr Wang about the new line")
    html = manager_client.get(reverse("web:alert_detail", args=[expansion.pk]), headers={"accept-language": "zh-hans"}).text
    assert "Call Mr Wang about the new line" in html


def test_the_calibration_page_and_api_list_the_expansion_signal(client, executive, executive_api, expansion):
    from reports.periods import quarter_label

    client.force_login(executive)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("web:alert_calibration"), {"quarter": quarter_label(NOW.date())})
        api = executive_api.get("/api/v1/alert-calibration/", {"from": "2026-06-01", "to": "2026-06-30"})
    assert response.status_code == 200 and api.status_code == 200, api.content
    [row] = [r for r in api.json()["results"] if r["rule"] == "E1"]
    assert (row["fired"], row["pending"], row["judged"], row["precision"]) == (1, 1, 0, None)
    row = re.search(r'<tr data-rule="E1">(.*?)</tr>', response.text, re.S).group(1)
    assert "E1 Expansion signal" in row
    assert re.search(r'data-col="fired">\s*1\s*<', row) and re.search(r'data-col="pending">\s*1\s*<', row)
