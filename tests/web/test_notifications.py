"""Notifications: the navbar's unread badge (one capped query on every page), the list, mark as read;
another user's notifications do not exist for you."""

import pytest
from django.urls import reverse

from service_plans.models import Notification

pytestmark = pytest.mark.django_db
LIST = reverse("web:notification_list")
READ = reverse("web:notification_read")
HTMX = {"HX-Request": "true"}


def notes(user, n, **fields):
    return [Notification.objects.create(user=user, kind="alert", text=f"Note {i}", link="/alerts/", **fields) for i in range(n)]


def test_the_badge_shows_my_unread_count_on_every_page(manager_client, account_manager, other_manager):
    notes(account_manager, 3)
    notes(other_manager, 5)
    Notification.objects.filter(user=account_manager, text="Note 0").update(read_at="2026-01-01T00:00Z")
    for url in (reverse("home"), reverse("web:account_list"), LIST):
        response = manager_client.get(url)
        assert 'data-unread="2"' in response.text, url


def test_the_badge_stops_counting_at_99(manager_client, account_manager):
    notes(account_manager, 101)
    assert 'data-unread="99"' in manager_client.get(reverse("home")).text
    assert ">99+<" in manager_client.get(reverse("home")).text.replace('<span class="visually-hidden">', "<")


@pytest.mark.parametrize("n", [4, 20])
def test_the_badge_keeps_the_base_templates_cost_constant(manager_client, account_manager, n, django_assert_num_queries):
    notes(account_manager, n)
    # session, user, groups; the page's rows; bounded count of unread (the badge)
    with django_assert_num_queries(5):
        response = manager_client.get(LIST)
    assert len(response.context["page"].rows) == n


def test_list_shows_only_mine_newest_first_and_filters_unread(manager_client, account_manager, other_manager):
    mine = notes(account_manager, 3)
    notes(other_manager, 2)
    Notification.objects.filter(pk=mine[0].pk).update(read_at="2026-01-01T00:00Z")
    response = manager_client.get(LIST)
    assert [n.text for n in response.context["page"].rows] == ["Note 2", "Note 1", "Note 0"]
    assert [n.text for n in manager_client.get(LIST, {"unread": "1"}).context["page"].rows] == ["Note 2", "Note 1"]
    assert manager_client.get(LIST, {"cursor": "xyz"}).status_code == 400


def test_mark_one_read_with_htmx_updates_the_badge(manager_client, account_manager):
    first, second = notes(account_manager, 2)
    response = manager_client.post(READ, {"id": first.pk}, headers=HTMX)
    assert response.status_code == 200
    assert 'data-read="1"' in response.text and 'hx-swap-oob="true"' in response.text and 'data-unread="1"' in response.text
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_anothers_notification_is_a_404_and_stays_unread(manager_client, other_manager):
    (theirs,) = notes(other_manager, 1)
    assert manager_client.post(READ, {"id": theirs.pk}, headers=HTMX).status_code == 404
    assert manager_client.post(READ, {"all": "1"}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_and_redirect_only_to_this_site(manager_client, account_manager):
    notes(account_manager, 3)
    response = manager_client.post(READ, {"all": "1", "next": LIST + "?unread=1"})
    assert response.status_code == 302 and response["Location"] == LIST + "?unread=1"
    assert not Notification.objects.filter(user=account_manager, read_at__isnull=True).exists()
    response = manager_client.post(READ, {"all": "1", "next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get(LIST).status_code == 302
    assert client.post(READ, {"all": "1"}).status_code == 302
