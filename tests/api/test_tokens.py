"""API tokens: stored as a keyed hash only, shown once, scoped, expiring, revocable, last use recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiToken
from integrations.tokens import token_create, token_hash
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_database_holds_no_usable_key(account_manager):
    token, key = token_create(user=account_manager, name="ERP", scope="write")
    assert key.startswith("kam_") and len(key) > 40
    row = ApiToken.objects.values().get(pk=token.pk)
    assert key not in str(row)
    # Keyed: a dump cannot be matched against guessed keys without SECRET_KEY (a plain hash would be).
    assert row["key_hash"] != hashlib.sha256(key.encode()).hexdigest()
    assert row["key_hash"] == token_hash(key)
    assert row["prefix"] == key[:12]


def test_a_token_authenticates_as_its_user_with_their_visibility(account_manager, other_manager):
    own = AccountFactory(owner=account_manager)
    AccountFactory(owner=other_manager)
    _, key = token_create(user=account_manager, name="ERP")
    response = _client(key).get("/api/v1/accounts/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [own.pk]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Token kam_not-a-real-key", "Invalid token."),
        ("Token", "Invalid token header"),
        ("Token a b", "Invalid token header"),
    ],
)
def test_bad_keys_are_refused_with_401(header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert message in response.json()["detail"]


def test_no_credentials_is_401_with_a_token_challenge():
    response = APIClient().get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Token realm="api"'


def test_revoked_token_is_refused(account_manager, client):
    token, key = token_create(user=account_manager, name="ERP")
    client.force_login(account_manager)
    response = client.post(reverse("integrations:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    response = _client(key).get("/api/v1/accounts/")
    assert (response.status_code, response.json()["detail"]) == (401, "This token has been revoked.")


def test_expired_token_is_refused(account_manager):
    _, key = token_create(user=account_manager, name="ERP", expires_days=1)
    assert _client(key).get("/api/v1/accounts/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1)):
        response = _client(key).get("/api/v1/accounts/")
    assert (response.status_code, response.json()["detail"]) == (401, "This token has expired.")


def test_inactive_users_token_is_refused(account_manager):
    _, key = token_create(user=account_manager, name="ERP")
    account_manager.is_active = False
    account_manager.save()
    assert _client(key).get("/api/v1/accounts/").status_code == 401


def test_expiry_must_be_within_the_maximum(account_manager, settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        token_create(user=account_manager, name="ERP", expires_days=settings.KAM_API_TOKEN_MAX_DAYS + 1)
    assert "expires_days" in exc.value.message_dict


def test_key_hashed_under_the_previous_secret_still_works_after_rotation(account_manager, settings):
    _, key = token_create(user=account_manager, name="ERP")
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789abcdef"
    assert _client(key).get("/api/v1/accounts/").status_code == 401
    settings.SECRET_KEY_FALLBACKS = [old]
    assert _client(key).get("/api/v1/accounts/").status_code == 200


def test_last_use_is_written_at_most_once_a_minute(account_manager):
    token, key = token_create(user=account_manager, name="ERP")
    client = _client(key)

    def token_writes() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/accounts/").status_code == 200
        return sum(1 for q in ctx.captured_queries if q["sql"].startswith('UPDATE "integrations_apitoken"'))

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert token_writes() == 1
        assert [token_writes() for _ in range(5)] == [0] * 5
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert token_writes() == 1
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(seconds=61)


def test_read_only_token_reads_but_cannot_write(account_manager):
    account = AccountFactory(owner=account_manager)
    _, key = token_create(user=account_manager, name="BI", scope="read")
    client = _client(key)
    assert client.get(f"/api/v1/accounts/{account.pk}/").status_code == 200
    for method, url, body in [
        ("post", "/api/v1/accounts/", {"name": "New", "currency": "CNY"}),
        ("patch", f"/api/v1/accounts/{account.pk}/", {"name": "Renamed"}),
        ("put", f"/api/v1/accounts/{account.pk}/", {"name": "Renamed", "currency": "CNY"}),
    ]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, method
        assert "read-only" in response.json()["detail"]
    account.refresh_from_db()
    assert (account.name, account.version) != ("Renamed", 2)


def test_command_prints_the_key_once_and_it_works(account_manager):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "am_owner", "--scope", "write", "--expires-days", "30", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert key.startswith("kam_")
    token = ApiToken.objects.get()
    assert (token.scope, round((token.expires_at - token.created_at).total_seconds() / 86400)) == ("write", 30)
    assert key not in err.getvalue()  # the key goes to stdout only, once
    assert _client(key).post("/api/v1/accounts/", {"name": "Via CLI", "currency": "CNY"}, format="json").status_code == 201


def test_command_refuses_unknown_users_and_bad_expiry(account_manager):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="expires_days"):
        call_command("create_api_token", "am_owner", "--expires-days", "0", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


# --- The tokens page --------------------------------------------------------------------------------


def test_tokens_page_needs_login(client):
    response = client.get(reverse("integrations:tokens"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_tokens_page_lists_only_my_tokens(client, account_manager, other_manager):
    token_create(user=account_manager, name="Mine")
    token_create(user=other_manager, name="Theirs")
    client.force_login(account_manager)
    response = client.get(reverse("integrations:tokens"))
    assert response.status_code == 200
    assert "Mine" in response.text and "Theirs" not in response.text
    assert '<nav class="navbar' in response.text  # extends base.html


def test_creating_a_token_shows_the_key_once(client, account_manager):
    client.force_login(account_manager)
    response = client.post(reverse("integrations:tokens"), {"name": "ERP sync", "scope": "write", "expires_days": 30})
    assert response.status_code == 201
    token = ApiToken.objects.get(user=account_manager)
    key = response.context["new_key"]
    assert key.startswith("kam_") and key in response.text
    assert token.key_hash == token_hash(key) and token.scope == "write"
    again = client.get(reverse("integrations:tokens"))
    assert key not in again.text and token.prefix in again.text


def test_creating_a_token_with_bad_input_names_the_field(client, account_manager):
    client.force_login(account_manager)
    response = client.post(reverse("integrations:tokens"), {"name": "", "scope": "admin", "expires_days": 0})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "scope", "expires_days"}
    assert not ApiToken.objects.exists()


def test_another_users_token_cannot_be_revoked(client, account_manager, other_manager):
    token, _ = token_create(user=other_manager, name="Theirs")
    client.force_login(account_manager)
    assert client.post(reverse("integrations:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_page_is_csp_safe(client, account_manager):
    client.force_login(account_manager)
    response = client.get(reverse("integrations:tokens"))
    # Every script is a file (the policy forbids inline code); no inline event handlers either.
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+=", response.text)


def test_tokens_page_reads_in_chinese(client, account_manager):
    client.force_login(account_manager)
    response = client.get(reverse("integrations:tokens"), headers={"accept-language": "zh-hans"})
    assert "API 令牌" in response.text
