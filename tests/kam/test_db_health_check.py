"""``kam.postgresql``: the per-request health check polls the socket and sends ``SELECT 1`` only when
the server has said something (a terminated backend, a restart), so a dead connection is still
replaced before the request's first query and a healthy one costs no round trip."""

from __future__ import annotations

import select

import psycopg2
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper
from django.test import Client
from django.urls import reverse

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def select_one_checks(monkeypatch):
    """How many times Django's ``SELECT 1`` check ran."""
    calls = []
    original = DjangoWrapper.is_usable

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DjangoWrapper, "is_usable", counted)
    return calls


def _terminate(pid: int) -> None:
    params = settings.DATABASES["default"]
    admin = psycopg2.connect(host=params["HOST"], port=params["PORT"], user=params["USER"], dbname=params["NAME"])
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    admin.close()


def _get(client: Client, path: str):
    # What the WSGI handler does at each request's start (the test client leaves it out, so that
    # its requests keep the test's connection): the health check is due again.
    close_old_connections()
    return client.get(path)


def test_the_backend_is_kams():
    assert settings.DATABASES["default"]["ENGINE"] == "kam.postgresql"
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    assert connection.vendor == "postgresql"


def test_a_healthy_connection_is_not_pinged(account_manager, select_one_checks):
    client = Client()
    client.force_login(account_manager)
    for _ in range(3):
        assert _get(client, reverse("home")).status_code == 200
    assert connection.connection is not None  # the connection persisted between the requests
    assert select_one_checks == []


def test_a_connection_terminated_between_requests_is_replaced_before_the_next(account_manager, select_one_checks):
    AccountFactory(owner=account_manager, name="Still here")
    client = Client()
    client.force_login(account_manager)
    assert _get(client, reverse("home")).status_code == 200
    old_pid = connection.connection.info.backend_pid
    socket_fd = connection.connection.fileno()
    _terminate(old_pid)
    # The server's goodbye arrives on the socket (wait for it rather than sleep).
    poller = select.poll()
    poller.register(socket_fd, select.POLLIN)
    assert poller.poll(10_000)

    response = _get(client, reverse("home"))
    assert response.status_code == 200  # not a 503: the check found the dead connection first
    assert "Still here" in response.text
    assert select_one_checks == [1]
    assert connection.connection.info.backend_pid != old_pid
