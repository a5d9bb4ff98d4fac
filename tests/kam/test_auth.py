"""Login, logout, password change and the failed-login lockout."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_page_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_and_logout(client, account_manager):
    response = client.post(reverse("login"), {"username": "am_owner", "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_an_error(client, account_manager):
    response = client.post(reverse("login"), {"username": "am_owner", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_password_change(client, account_manager):
    client.force_login(account_manager)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw",
            "new_password1": "a-much-longer-passphrase-2026",
            "new_password2": "a-much-longer-passphrase-2026",
        },
    )
    assert response.status_code == 302
    account_manager.refresh_from_db()
    assert account_manager.check_password("a-much-longer-passphrase-2026")


def test_repeated_failures_lock_the_account_even_with_the_right_password(client):
    UserFactory(username="target")
    for _ in range(5):
        client.post(reverse("login"), {"username": "target", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "target", "password": "pw"})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.text
    assert client.get(reverse("home")).status_code == 302
