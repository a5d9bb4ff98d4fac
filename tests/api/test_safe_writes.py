"""ETag / If-Match, Idempotency-Key, 409 on integrity conflicts, renewals through the API."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Contract
from integrations.models import IdempotencyKey
from tests.api.conftest import token_client
from tests.factories import AccountFactory, ContactFactory, ContractFactory, MeetingFactory

pytestmark = pytest.mark.django_db

CONTRACT = {"number": "C-100", "start_date": "2025-01-01", "end_date": "2025-12-31", "annual_value": "1000.00", "currency": "CNY"}


# --- ETag and If-Match ------------------------------------------------------------------------------


def test_every_object_answer_carries_an_etag(manager_api, account_manager):
    created = manager_api.post("/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json")
    assert created.headers["ETag"] == '"1"'
    url = created.headers["Location"]
    assert manager_api.get(url).headers["ETag"] == '"1"'
    assert manager_api.patch(url, {"name": "B"}, format="json").headers["ETag"] == '"2"'


def test_stale_if_match_is_412_and_changes_nothing(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    url = f"/api/v1/accounts/{account.pk}/"
    assert manager_api.patch(url, {"name": "First"}, format="json", headers={"If-Match": '"1"'}).status_code == 200
    response = manager_api.patch(url, {"name": "Lost update"}, format="json", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert (response.json()["current_version"], response.headers["ETag"]) == (2, '"2"')
    account.refresh_from_db()
    assert (account.name, account.version) == ("First", 2)


@pytest.mark.parametrize(("header", "status"), [('"1"', 200), ("*", 200), ('"0", "1"', 200), ('W/"1"', 412), ("1", 412)])
def test_if_match_forms(manager_api, account_manager, header, status):
    account = AccountFactory(owner=account_manager)
    response = manager_api.put(
        f"/api/v1/accounts/{account.pk}/", {"name": "N", "currency": "CNY"}, format="json", headers={"If-Match": header}
    )
    assert response.status_code == status


def test_objects_without_a_version_get_a_content_etag(manager_api, account_manager):
    meeting = MeetingFactory(account=AccountFactory(owner=account_manager))
    url = f"/api/v1/meetings/{meeting.pk}/"
    etag = manager_api.get(url).headers["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    changed = manager_api.patch(url, {"summary": "Changed"}, format="json", headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = manager_api.patch(url, {"summary": "Lost"}, format="json", headers={"If-Match": etag})
    assert stale.status_code == 412
    meeting.refresh_from_db()
    assert meeting.summary == "Changed"


def test_delete_honours_if_match(manager_api, account_manager):
    contact = ContactFactory(account=AccountFactory(owner=account_manager))
    assert manager_api.delete(f"/api/v1/contacts/{contact.pk}/", headers={"If-Match": '"9"'}).status_code == 412
    assert manager_api.delete(f"/api/v1/contacts/{contact.pk}/", headers={"If-Match": '"1"'}).status_code == 204


# --- Idempotency-Key ----------------------------------------------------------------------------------


def test_repeat_with_the_same_key_replays_and_creates_nothing(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    body = {**CONTRACT, "account": account.pk}
    first = manager_api.post("/api/v1/contracts/", body, format="json", headers={"Idempotency-Key": "k-1"})
    again = manager_api.post("/api/v1/contracts/", body, format="json", headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (again.headers["ETag"], again.headers["Location"]) == (first.headers["ETag"], first.headers["Location"])
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert Contract.objects.count() == 1


def test_same_key_with_another_body_is_422(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    manager_api.post("/api/v1/contracts/", {**CONTRACT, "account": account.pk}, format="json", headers={"Idempotency-Key": "k-2"})
    response = manager_api.post(
        "/api/v1/contracts/",
        {**CONTRACT, "account": account.pk, "number": "C-101"},
        format="json",
        headers={"Idempotency-Key": "k-2"},
    )
    assert response.status_code == 422
    assert Contract.objects.count() == 1


def test_keys_belong_to_one_user(manager_api, admin_api, account_manager):
    account = AccountFactory(owner=account_manager)
    manager_api.post("/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "shared"})
    response = admin_api.post(
        "/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "shared"}
    )
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert Account.objects.exclude(pk=account.pk).count() == 2


def test_an_error_does_not_use_up_the_key(manager_api, account_manager):
    bad = manager_api.post(
        "/api/v1/accounts/", {"name": "A", "currency": "XXX"}, format="json", headers={"Idempotency-Key": "k-3"}
    )
    assert bad.status_code == 400 and not IdempotencyKey.objects.exists()
    good = manager_api.post(
        "/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "k-3"}
    )
    assert good.status_code == 201


def test_keys_expire(manager_api, settings):
    start = timezone.now()
    with time_machine.travel(start):
        manager_api.post("/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "k-4"})
    with time_machine.travel(start + dt.timedelta(hours=settings.KAM_API_IDEMPOTENCY_HOURS, minutes=1)):
        response = manager_api.post(
            "/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "k-4"}
        )
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert Account.objects.count() == 2


def test_overlong_key_is_refused(manager_api):
    response = manager_api.post(
        "/api/v1/accounts/", {"name": "A", "currency": "CNY"}, format="json", headers={"Idempotency-Key": "x" * 256}
    )
    assert response.status_code == 422
    assert not Account.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_create_one_object(account_manager):
    """Ten clients send the same keyed POST at once: one insert, nine replays of its answer."""
    account = AccountFactory(owner=account_manager)
    client_key = token_client(account_manager)._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(10)
    results: list[tuple[int, str]] = []

    def post() -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=client_key)
        barrier.wait(10)
        response = client.post(
            "/api/v1/contracts/", {**CONTRACT, "account": account.pk}, format="json", headers={"Idempotency-Key": "race"}
        )
        results.append((response.status_code, response.json().get("id")))
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Contract.objects.count() == 1
    assert {status for status, _ in results} == {201}
    assert {pk for _, pk in results} == {Contract.objects.get().pk}


# --- Conflicts: 409 -------------------------------------------------------------------------------------


def test_duplicate_contract_number_is_409_naming_the_field(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    ContractFactory(account=account, number="C-100")
    response = manager_api.post("/api/v1/contracts/", {**CONTRACT, "account": account.pk}, format="json")
    assert response.status_code == 409
    assert list(response.json()) == ["number"]


def test_duplicate_contact_email_in_another_case_is_409(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    ContactFactory(account=account, email="li.wei@example.com")
    response = manager_api.post(
        "/api/v1/contacts/", {"account": account.pk, "name": "Li", "email": "LI.WEI@example.com"}, format="json"
    )
    assert response.status_code == 409
    assert list(response.json()) == ["email"]


def test_a_bad_field_and_a_duplicate_together_are_a_400(manager_api, account_manager):
    account = AccountFactory(owner=account_manager)
    ContractFactory(account=account, number="C-100")
    response = manager_api.post(
        "/api/v1/contracts/", {**CONTRACT, "account": account.pk, "end_date": "2024-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"number", "end_date"}


@pytest.mark.django_db(transaction=True)
def test_duplicate_number_raced_by_two_clients_is_409_not_500(account_manager, monkeypatch):
    """Both requests pass validation before either inserts; PostgreSQL's unique index decides."""
    account = AccountFactory(owner=account_manager)
    credentials = token_client(account_manager)._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(2)
    original_full_clean = Contract.full_clean

    def full_clean_then_wait(self, *args, **kwargs):
        original_full_clean(self, *args, **kwargs)
        barrier.wait(10)  # both have validated; now both insert

    monkeypatch.setattr(Contract, "full_clean", full_clean_then_wait)
    results: list[tuple[int, dict]] = []

    def post() -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=credentials)
        response = client.post("/api/v1/contracts/", {**CONTRACT, "account": account.pk}, format="json")
        results.append((response.status_code, response.json()))
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [201, 409]
    conflict = next(body for status, body in results if status == 409)
    assert conflict == {"number": ["Another record already has this number."]}
    assert Contract.objects.count() == 1


def test_rows_still_referenced_and_foreign_key_races_are_409():
    """No deletable resource is PROTECTed yet, so the handler is checked directly for both cases."""
    from django.db import IntegrityError
    from django.db.models import ProtectedError

    from kam.api.exceptions import exception_handler

    response = exception_handler(ProtectedError("still referenced", set()), {"view": None})
    assert response.status_code == 409 and "non_field_errors" in response.data

    class ForeignKeyViolation(Exception):
        pgcode = "23503"

    error = IntegrityError("insert or update violates foreign key constraint")
    error.__cause__ = ForeignKeyViolation()
    response = exception_handler(error, {"view": None})
    assert response.status_code == 409 and "non_field_errors" in response.data


# --- Renewals through the API -----------------------------------------------------------------------


def test_renew_verb_creates_the_renewal(manager_api, account_manager):
    original = ContractFactory(account=AccountFactory(owner=account_manager), end_date=dt.date(2025, 12, 31))
    response = manager_api.post(
        f"/api/v1/contracts/{original.pk}/renew/", {"number": "C-R1", "annual_value": "1100000.00"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["renewal_of"], body["number"], body["annual_value"], body["start_date"]) == (
        original.pk,
        "C-R1",
        "1100000.00",
        "2026-01-01",
    )
    assert response.headers["Location"].endswith(f"/api/v1/contracts/{body['id']}/")
    assert manager_api.get(f"/api/v1/contracts/{original.pk}/").json()["status"] == "renewed"


def test_second_renewal_is_a_409(manager_api, account_manager):
    original = ContractFactory(account=AccountFactory(owner=account_manager))
    assert manager_api.post(f"/api/v1/contracts/{original.pk}/renew/", {"number": "C-R1"}, format="json").status_code == 201
    response = manager_api.post(f"/api/v1/contracts/{original.pk}/renew/", {"number": "C-R2"}, format="json")
    assert response.status_code == 409
    assert "already been renewed" in response.json()["non_field_errors"][0]


def test_renew_needs_a_number_and_respects_if_match(manager_api, account_manager):
    original = ContractFactory(account=AccountFactory(owner=account_manager))
    url = f"/api/v1/contracts/{original.pk}/renew/"
    assert manager_api.post(url, {}, format="json").json() == {"number": ["This field is required."]}
    assert manager_api.post(url, {"number": "C-R1"}, format="json", headers={"If-Match": '"7"'}).status_code == 412
    assert not Contract.objects.filter(renewal_of=original).exists()


def test_renewing_a_draft_is_a_400(manager_api, account_manager):
    original = ContractFactory(account=AccountFactory(owner=account_manager), status="draft")
    response = manager_api.post(f"/api/v1/contracts/{original.pk}/renew/", {"number": "C-R1"}, format="json")
    assert response.status_code == 400 and "non_field_errors" in response.json()
