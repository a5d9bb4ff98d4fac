"""Server time of the pages that exist, as a logged-in demo user, with their query counts."""

from __future__ import annotations

from typing import Any

from bench.measure import count_queries, summary, timed
from bench.registry import case


def _client(username: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _page(username: str, url: str, *, repeat: int = 40) -> dict[str, Any]:
    client = _client(username)

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    durations = timed(get, repeat=repeat, warmup=3)
    return {**summary(durations), "queries": count_queries(get)}


@case("page_home_manager", target="p95 < 150 ms", unit="ms")
def home_manager(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/")


@case("page_home_executive", target="p95 < 150 ms", unit="ms")
def home_executive(*, scale: Any) -> dict[str, Any]:
    return _page("exec", "/")


@case("admin_account_changelist", target="p95 < 150 ms", unit="ms")
def admin_changelist(*, scale: Any) -> dict[str, Any]:
    return _page("manager1", "/admin/accounts/account/", repeat=20)
