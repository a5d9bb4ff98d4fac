"""DOMAIN.md §6.3 "Snapshots": what changed on the stakeholder map since the last review, the support
trend and the support index at the baseline, from Contact's history (page and API)."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import Contact
from service_plans.models import AccountPlan, PlanReview
from tests.api.conftest import token_client
from tests.factories import AccountFactory, ContactFactory, TeamMemberFactory, UserFactory
from tests.web.conftest import ensure_buying_roles
from web.selectors.stakeholder_history import stakeholder_history

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=TZ)


def at(y, m, d, hour=10):
    return time_machine.travel(dt.datetime(y, m, d, hour, 0, tzinfo=TZ), tick=False)


def _update(contact, actor, **fields):
    contact = Contact.objects.get(pk=contact.pk)
    return services.contact_update(contact=contact, actor=actor, **fields)


def held_review(account, on, kind="qbr"):
    plan = AccountPlan.objects.create(account=account, fiscal_year=on.year, owner=account.owner)
    return PlanReview.objects.create(plan=plan, kind=kind, scheduled_on=on, held_on=on, status="held")


@pytest.fixture
def world(account_manager, executive):
    """The worked example. Baseline: the QBR held on 2026-03-31 (changes from 2026-04-01 00:00 on count).

    2025-09-01  A created: influence 5, Neutral (0), inner circle, economic buyer
                B created: influence 3, Supporter (+1), political structure
                C created: influence 2, Non-supporter (−1), outside, user buyer
    2026-02-10  A Neutral → Supporter (colleague)            before the baseline: not listed
    2026-03-31  QBR held
    2026-04-15  A Supporter → Mentor (account manager)
    2026-05-10  B Supporter → Non-supporter, + coach/champion (executive)
    2026-05-20  C − user buyer
    2026-06-01  D added: influence 4, Mentor (+2), inner circle
    2026-06-05  C left

    Support index at the baseline (key players A, B): (5·1 + 3·1) / (5·2 + 3·2) = 8/16 = 0.5000.
    Now (A, B, D): (5·2 + 3·(−1) + 4·2) / (10 + 6 + 8) = 15/24 = 0.6250.
    """
    ensure_buying_roles()
    colleague = UserFactory(username="colleague")
    account = AccountFactory(owner=account_manager, name="Acme")
    with at(2025, 9, 1):
        a = ContactFactory(
            account=account, name="Anna", influence=5, support=0, political_status="inner_circle",
            buying_roles=["economic_buyer"], actor=account_manager,
        )  # fmt: skip
        b = ContactFactory(account=account, name="Bo", influence=3, support=1, political_status="political_structure")
        c = ContactFactory(account=account, name="Chen", influence=2, support=-1, buying_roles=["user_buyer"])
    with at(2026, 2, 10):
        _update(a, colleague, support=1)
    held_review(account, dt.date(2026, 3, 31))
    with at(2026, 4, 15):
        _update(a, account_manager, support=2)
    with at(2026, 5, 10):
        _update(b, executive, support=-1, buying_roles=["coach_champion"])
    with at(2026, 5, 20):
        _update(c, account_manager, buying_roles=[])
    with at(2026, 6, 1):
        d = ContactFactory(
            account=account, name="Dai", influence=4, support=2, political_status="inner_circle", actor=account_manager
        )
    with at(2026, 6, 5):
        _update(c, account_manager, is_active=False, left_on=dt.date(2026, 6, 5))
    return {"account": account, "a": a, "b": b, "c": c, "d": d}


def _events(history, contact):
    return next((c.events for c in history.changes if c.contact_id == contact.pk), [])


def _fields(event):
    return {f.name: (str(f.old), str(f.new)) for f in event.fields}


def test_changes_since_the_last_review_with_old_new_and_author(world, account_manager, executive):
    with time_machine.travel(NOW, tick=False):
        history = stakeholder_history(account=world["account"])
    assert (history.baseline.kind, history.baseline.on) == ("review", dt.date(2026, 3, 31))
    (a_event,) = _events(history, world["a"])  # the February change is before the baseline
    assert (a_event.kind, a_event.user, _fields(a_event)) == ("changed", account_manager, {"support": ("Supporter", "Mentor")})
    assert a_event.at == dt.datetime(2026, 4, 15, 10, tzinfo=TZ)
    (b_event,) = _events(history, world["b"])
    assert b_event.user == executive
    assert _fields(b_event) == {"support": ("Supporter", "Non-supporter"), "buying_roles": ("—", "Coach / champion")}
    left, roles_removed = _events(history, world["c"])  # newest first
    assert left.kind == "left"
    assert _fields(left) == {"is_active": ("yes", "no"), "left_on": ("—", "2026-06-05")}
    assert _fields(roles_removed) == {"buying_roles": ("User buyer", "—")}
    (added,) = _events(history, world["d"])
    assert (added.kind, added.user) == ("added", account_manager)
    # Newest change first, per contact.
    assert [c.name for c in history.changes] == ["Chen", "Dai", "Bo", "Anna"]


def test_support_index_at_the_baseline_and_now(world):
    with time_machine.travel(NOW, tick=False):
        history = stakeholder_history(account=world["account"])
    assert history.support_index_at_baseline == Decimal("0.5000")
    assert history.support_index_now == Decimal("0.6250")


def test_support_trend_over_twelve_months(world):
    with time_machine.travel(NOW, tick=False):
        history = stakeholder_history(account=world["account"])
    trends = {t.name: t for t in history.trends}
    assert [(p.at.date(), p.support) for p in trends["Anna"].points] == [
        (dt.date(2025, 9, 1), 0),
        (dt.date(2026, 2, 10), 1),
        (dt.date(2026, 4, 15), 2),
    ]
    assert [(p.at.date(), p.support) for p in trends["Bo"].points] == [(dt.date(2025, 9, 1), 1), (dt.date(2026, 5, 10), -1)]
    assert not trends["Chen"].has_changed
    # A step line, 120 × 24: x = days since 2025-06-30 12:00 / 365 × 120 (created after 62.9 days → 20.7,
    # 224.9 → 73.9, 288.9 → 95.0); y = (2 − support) / 4 × 20 + 2 (Neutral 12, Supporter 7, Mentor 2).
    assert trends["Anna"].sparkline == "20.7,12.0 73.9,12.0 73.9,7.0 95.0,7.0 95.0,2.0 120.0,2.0"
    # A year later the window starts with the value the contact had then.
    with time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=TZ), tick=False):
        later = {t.name: t for t in stakeholder_history(account=world["account"]).trends}
    assert [p.support for p in later["Anna"].points] == [1, 2]


def test_without_a_held_review_the_baseline_is_90_days_ago(account_manager):
    account = AccountFactory(owner=account_manager)
    with at(2026, 3, 1):
        contact = ContactFactory(account=account, name="Eve", support=0)
    with at(2026, 3, 20):  # 102 days before NOW: outside the window
        _update(contact, account_manager, support=1)
    with at(2026, 4, 10):
        _update(contact, account_manager, coverage="brief")
    PlanReview.objects.create(  # scheduled, not held: no baseline
        plan=AccountPlan.objects.create(account=account, fiscal_year=2026, owner=account_manager),
        kind="qbr",
        scheduled_on=dt.date(2026, 5, 1),
    )
    with time_machine.travel(NOW, tick=False):
        history = stakeholder_history(account=account)
    assert (history.baseline.kind, history.baseline.on) == ("default", dt.date(2026, 4, 1))
    (event,) = history.changes[0].events
    assert _fields(event) == {"coverage": ("Unknown", "Brief contact")}


def test_labels_are_translated(world):
    with time_machine.travel(NOW, tick=False), translation.override("zh-hans"):
        history = stakeholder_history(account=world["account"])
        (a_event,) = _events(history, world["a"])
        assert str(a_event.fields[0].label) == "支持度"
        assert str(a_event.kind_label) != "changed"


# --- The page -------------------------------------------------------------------------------------


def _page(account):
    return reverse("web:account_detail", args=[account.pk])


def _card(account):
    return reverse("web:account_stakeholder_changes", args=[account.pk])


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_page_has_a_placeholder_that_loads_the_card(manager_client, world):
    """The card loads on demand: the page has a "Show" link, htmx swaps the card in for it."""
    url = _card(world["account"])
    with time_machine.travel(NOW, tick=False):
        page = manager_client.get(_page(world["account"])).text
        card = manager_client.get(url, **HTMX)
        full = manager_client.get(url)
    placeholder = re.search(
        r'<section class="card" id="stakeholder-changes" data-card-placeholder="stakeholder-changes">.*?</section>', page, re.S
    )
    assert placeholder, "no placeholder for the stakeholder changes card"
    assert f'href="{url}" hx-get="{url}" hx-target="#stakeholder-changes" hx-swap="outerHTML"' in placeholder.group(0)
    assert "data-contact-change=" not in page and "support-index-now" not in page
    assert card.status_code == 200 and card.text.lstrip().startswith('<section class="card" id="stakeholder-changes">')
    assert "<html" not in card.text and f'data-contact-change="{world["a"].pk}"' in card.text
    # without JavaScript: the same card on a page of its own, with the way back to the account
    assert full.status_code == 200 and "<html" in full.text and f'href="{_page(world["account"])}"' in full.text
    assert f'data-contact-change="{world["a"].pk}"' in full.text


def test_the_card_lists_the_changes_and_the_baseline(manager_client, world):
    with time_machine.travel(NOW, tick=False):
        text = manager_client.get(_card(world["account"]), **HTMX).text
    assert 'data-baseline="review"' in text and "since the last held review (QBR" in text
    assert f'data-contact-change="{world["a"].pk}" data-event="changed"' in text
    assert "<del>Supporter</del> → <ins>Mentor</ins>" in text
    assert f'data-contact-change="{world["d"].pk}" data-event="added"' in text
    assert 'id="support-index-baseline">0.50<' in text and 'id="support-index-now">0.63<' in text
    assert f'data-trend="{world["a"].pk}"' in text and "<polyline" in text


@pytest.mark.parametrize("n", [2, 10])
def test_history_is_read_in_a_fixed_number_of_queries(account_manager, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    ensure_buying_roles()
    contacts = [ContactFactory(account=account, name=f"C{i}", buying_roles=["user_buyer"]) for i in range(n)]
    for contact in contacts:
        _update(contact, account_manager, support=2, buying_roles=["economic_buyer"])
    held_review(account, dt.date(2020, 1, 1))
    loaded = list(Contact.objects.filter(account=account))
    # the last held review; history rows in the window; last rows before it; their buying roles
    with django_assert_num_queries(4):
        history = stakeholder_history(account=account, contacts=loaded)
    assert len(history.changes) == n


# --- The API --------------------------------------------------------------------------------------


def _api(account, since=None):
    url = f"/api/v1/accounts/{account.pk}/stakeholder-changes/"
    return url + (f"?since={since}" if since else "")


def test_api_returns_the_same_data(manager_api, world, account_manager):
    with time_machine.travel(NOW, tick=False):
        response = manager_api.get(_api(world["account"]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["baseline"]["kind"] == "review" and body["baseline"]["on"] == "2026-03-31"
    assert body["support_index"] == {"now": 0.625, "at_baseline": 0.5}
    anna = [e for e in body["changes"] if e["contact"] == world["a"].pk]
    assert len(anna) == 1
    assert anna[0]["user"] == account_manager.username
    assert anna[0]["fields"] == [
        {"field": "support", "label": "support", "old": "Supporter", "new": "Mentor", "old_value": 1, "new_value": 2}
    ]
    bo = next(e for e in body["changes"] if e["contact"] == world["b"].pk)
    roles = next(f for f in bo["fields"] if f["field"] == "buying_roles")
    assert (roles["old_value"], roles["new_value"]) == ([], ["coach_champion"])
    trend = next(t for t in body["trend"] if t["contact"] == world["a"].pk)
    assert [p["support"] for p in trend["points"]] == [0, 1, 2]


def test_api_since_moves_the_baseline(manager_api, world):
    with time_machine.travel(NOW, tick=False):
        body = manager_api.get(_api(world["account"], "2026-01-01")).json()
    assert body["baseline"]["kind"] == "date"
    anna = [e for e in body["changes"] if e["contact"] == world["a"].pk]
    assert [e["fields"][0]["new"] for e in anna] == ["Mentor", "Supporter"]  # the February change now counts
    # At 2026-01-01 A was Neutral, B Supporter: (0 + 3) / 16.
    assert body["support_index"]["at_baseline"] == 0.1875


@pytest.mark.parametrize("since", ["2026-13-01", "yesterday", "1899-12-31", "2999-01-01"])
def test_api_bad_since_is_a_400_naming_since(manager_api, account_manager, since):
    account = AccountFactory(owner=account_manager)
    response = manager_api.get(_api(account, since))
    assert response.status_code == 400
    assert "since" in response.json()


def test_api_visibility(account_manager, other_manager, executive, admin_user):
    account = AccountFactory(owner=account_manager)
    ContactFactory(account=account, name="Fei")
    assert token_client(account_manager).get(_api(account)).status_code == 200
    assert token_client(other_manager).get(_api(account)).status_code == 404
    TeamMemberFactory(account=account, user=other_manager)
    assert token_client(other_manager).get(_api(account)).status_code == 200
    assert token_client(executive).get(_api(account)).status_code == 200
    assert token_client(admin_user).get(_api(account)).status_code == 200


def test_page_visibility(client, account_manager, other_manager, executive, admin_user):
    account = AccountFactory(owner=account_manager)
    client.force_login(other_manager)
    assert client.get(_page(account)).status_code == 404
    TeamMemberFactory(account=account, user=other_manager)
    for user in (account_manager, other_manager, executive, admin_user):
        client.force_login(user)
        response = client.get(_page(account))
        assert response.status_code == 200 and 'id="stakeholder-changes"' in response.text


def test_card_visibility(client, account_manager, other_manager, executive, admin_user):
    account = AccountFactory(owner=account_manager)
    ContactFactory(account=account, name="Fei")
    client.force_login(other_manager)
    assert client.get(_card(account), **HTMX).status_code == 404
    assert client.get(_card(account)).status_code == 404
    TeamMemberFactory(account=account, user=other_manager)
    for user in (account_manager, other_manager, executive, admin_user):
        client.force_login(user)
        response = client.get(_card(account), **HTMX)
        assert response.status_code == 200 and 'id="support-index-now"' in response.text


@pytest.mark.parametrize("n", [2, 10])
def test_card_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    account = AccountFactory(owner=account_manager)
    ensure_buying_roles()
    contacts = [ContactFactory(account=account, name=f"C{i}", buying_roles=["user_buyer"]) for i in range(n)]
    for contact in contacts:
        _update(contact, account_manager, support=2, buying_roles=["economic_buyer"])
    # session, user, groups; the account (visibility); the contacts; the last held review, history rows in the
    # window, last rows before it, their buying roles (4)
    with django_assert_num_queries(9):
        response = manager_client.get(_card(account), **HTMX)
    assert response.status_code == 200
    assert len(response.context["stakeholder_history"].changes) == n
    assert response.text.count("data-trend=") == n


def _api_queries(account_manager, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account = AccountFactory(owner=account_manager)
    for i in range(n):
        with at(2025, 1, 1):
            contact = ContactFactory(account=account, name=f"C{i}", buying_roles=["user_buyer"])
        _update(contact, account_manager, support=1, phone=f"+86 {i}")
    client = token_client(account_manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_api(account))
    assert response.status_code == 200 and len(response.json()["changes"]) == n
    return len(queries)


def test_api_query_count_does_not_depend_on_the_contacts(account_manager):
    assert _api_queries(account_manager, 2) == _api_queries(account_manager, 10)


def test_other_fields_are_not_map_changes(account_manager):
    account = AccountFactory(owner=account_manager)
    with at(2025, 1, 1):
        contact = ContactFactory(account=account, name="Gao")
    _update(contact, account_manager, phone="+86 1", title="CFO")
    assert stakeholder_history(account=account).changes == []
