"""Saved views of the accounts list: saving the filters on screen, opening a view (the visibility rule
still decides the rows), shared views, bad names, deleting, and a constant query count for the menu."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import AccountFactory, UserFactory
from web.models import SavedView

pytestmark = pytest.mark.django_db
MENU = reverse("web:saved_view_menu")
LIST = reverse("web:account_list")
HTMX = {"HX-Request": "true"}


def _save(client, name, current_query="", shared=False):
    headers = {**HTMX, "HX-Current-URL": f"http://testserver{LIST}?{current_query}"}
    data = {"view_name": name, **({"is_shared": "on"} if shared else {})}
    return client.post(MENU, data, headers=headers)


def test_the_list_page_loads_the_menu_after_the_page(manager_client):
    page = manager_client.get(LIST)
    assert f'hx-get="{MENU}"' in page.text and 'hx-trigger="load"' in page.text


def test_saving_keeps_the_filters_and_sort_on_screen_and_drops_the_rest(manager_client, account_manager):
    response = _save(manager_client, "  East T1  ", "tier=T1&tier=T2&region=East+China&sort=-value_score&cursor=abc&evil=1&q=")
    assert response.status_code == 200, response.content
    view = SavedView.objects.get(user=account_manager)
    assert view.name == "East T1" and not view.is_shared
    assert view.query == "region=East+China&sort=-value_score&tier=T1&tier=T2"  # no cursor, no unknown or blank parameter
    assert "Saved “East T1”." in response.text
    assert f'href="{LIST}?{view.query.replace("&", "&amp;")}"' in response.text


def test_opening_a_view_runs_its_filters_within_what_the_user_may_see(manager_client, account_manager, other_manager):
    AccountFactory(owner=account_manager, name="Mine East", region="East")
    AccountFactory(owner=account_manager, name="Mine West", region="West")
    AccountFactory(owner=other_manager, name="Theirs East", region="East")
    other = Client()
    other.force_login(other_manager)
    _save(other, "East", "region=East", shared=True)
    shared = SavedView.objects.get(user=other_manager)
    menu = manager_client.get(MENU)
    author = other_manager.get_full_name() or other_manager.username
    assert "East" in menu.text and author in menu.text  # offered, with its author's name
    names = [a.name for a in manager_client.get(f"{LIST}?{shared.query}").context["page"].rows]
    assert names == ["Mine East"]  # the colleague's view, my accounts only


def test_private_views_are_ones_own(manager_client, account_manager, other_manager):
    SavedView.objects.create(user=other_manager, name="Secret", query="tier=T1")
    assert "Secret" not in manager_client.get(MENU).text


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the view a name."), ("   ", "Give the view a name."), ("x" * 81, "at most 80 characters")],
)
def test_a_bad_name_is_400_naming_the_field_and_saves_nothing(manager_client, name, message):
    response = _save(manager_client, name, "tier=T1")
    assert response.status_code == 400
    assert message in response.text and 'id="id_view_name"' in response.text and "is-invalid" in response.text
    assert not SavedView.objects.exists()


def test_a_duplicate_name_is_400_and_keeps_the_first(manager_client, account_manager, other_manager):
    _save(manager_client, "Renewals", "renewal_due_within=90")
    response = _save(manager_client, "Renewals", "tier=T1")
    assert response.status_code == 400 and "You already have a view called “Renewals”." in response.text
    assert list(SavedView.objects.values_list("query", flat=True)) == ["renewal_due_within=90"]
    other = Client()
    other.force_login(other_manager)
    assert _save(other, "Renewals").status_code == 200  # names are per user


def test_the_menu_reads_in_chinese(manager_client):
    _save(manager_client, "Big ones", "tier=T1")
    response = manager_client.get(MENU, headers={"Accept-Language": "zh-hans"})
    assert "已保存的视图" in response.text and "保存视图" in response.text


def test_only_the_author_deletes_a_view(manager_client, account_manager, other_manager):
    mine = SavedView.objects.create(user=account_manager, name="Mine")
    shared = SavedView.objects.create(user=other_manager, name="Team", is_shared=True)
    private = SavedView.objects.create(user=other_manager, name="Private")
    assert manager_client.post(reverse("web:saved_view_delete", args=[private.pk]), headers=HTMX).status_code == 404
    assert manager_client.post(reverse("web:saved_view_delete", args=[shared.pk]), headers=HTMX).status_code == 403
    response = manager_client.post(reverse("web:saved_view_delete", args=[mine.pk]), headers=HTMX)
    assert response.status_code == 200 and "Mine" not in response.text and "Team" in response.text
    assert set(SavedView.objects.values_list("name", flat=True)) == {"Team", "Private"}
    assert manager_client.get(reverse("web:saved_view_delete", args=[shared.pk])).status_code == 405


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get(MENU).status_code == 302


@pytest.mark.parametrize("n", [2, 10])
def test_menu_query_count_is_constant(manager_client, account_manager, n, django_assert_num_queries):
    for i in range(n):
        SavedView.objects.create(user=account_manager, name=f"Mine {i}")
        SavedView.objects.create(user=UserFactory(), name=f"Shared {i}", is_shared=True)
    manager_client.get(MENU)  # warm the session and the user
    with django_assert_num_queries(4):  # session, user, the layout's per-user data, the views with their authors
        assert manager_client.get(MENU).status_code == 200


def test_administrators_tidy_up_views_in_the_admin(client, admin_user, manager_client, account_manager):
    SavedView.objects.create(user=account_manager, name="Team view", is_shared=True)
    assert manager_client.get(reverse("admin:web_savedview_changelist")).status_code in {302, 403}
    client.force_login(admin_user)
    response = client.get(reverse("admin:web_savedview_changelist"))
    assert response.status_code == 200 and "Team view" in response.text
