"""The "Portfolio matrix" page and the ``portfolio-matrix/`` API (DOMAIN.md §1.2): visibility, content, queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from tests.tiering.test_matrix import build_portfolio
from tiering.defaults import install_default_model
from tiering.models import ScoringFactor, ScoringModel
from web.views import matrix as matrix_view

URL = reverse("web:portfolio_matrix")
API = "/api/v1/portfolio-matrix/"


@pytest.fixture
def portfolio(db, account_manager, other_manager):
    if not ScoringModel.objects.filter(is_active=True).exists():
        install_default_model(ScoringModel, ScoringFactor)
    return build_portfolio(ScoringModel.objects.get(is_active=True), account_manager, other_manager)


def test_manager_sees_their_groups_in_the_grid(portfolio, client, account_manager):
    client.force_login(account_manager)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for code in ("invest_for_growth", "invest_selectively", "maintain", "manage_for_cash", "insufficient"):
        assert f'id="count-{code}">1<' in html
    grid = response.context["grid"]
    assert [[c["label"] for c in row] for row in grid] == [
        ["Invest for growth", "Invest selectively"],
        ["Maintain", "Manage for cash"],
    ]
    assert [r.name for r in grid[0][0]["rows"]] == ["Star"]
    assert reverse("web:account_detail", args=[portfolio["star"].pk]) in html
    assert "Elsewhere" not in html  # another manager's group
    assert reverse("web:account_detail", args=[portfolio["other"].pk]) not in html
    assert "¥900,000" in html and "¥3,000,000" in html  # current sales and 3-year wallet beside the account
    assert html.count('class="kam-matrix-point') == 4  # the four placed groups on the scatter
    assert 'id="nav-portfolio-matrix"' in html


def test_executive_sees_every_group(portfolio, client, executive):
    client.force_login(executive)
    html = client.get(URL).content.decode()
    assert "Elsewhere" in html
    assert 'id="count-invest_for_growth">2<' in html  # Star and the other manager's group (stage 5, NPS +100, 90)


def test_cells_list_the_largest_and_count_the_rest(portfolio, client, account_manager, monkeypatch):
    monkeypatch.setattr(matrix_view, "CELL_ACCOUNTS", 0)
    client.force_login(account_manager)
    html = client.get(URL).content.decode()
    assert "and 1 more" in html


def test_page_in_chinese(portfolio, client, account_manager):
    client.force_login(account_manager)
    with translation.override("zh-hans"):
        html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "组合矩阵" in html and "增长投资" in html and "数据不足" in html


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302


@pytest.mark.parametrize("extra", [0, 12])
def test_page_query_count_is_fixed(portfolio, client, account_manager, extra):
    from tests.tiering.test_matrix import _grow

    if extra:
        _grow(ScoringModel.objects.get(is_active=True), account_manager, extra)
    client.force_login(account_manager)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert len(queries) == 10  # session, user, role, unread notifications, and 6 for the matrix whatever the portfolio's size


# --- API ------------------------------------------------------------------------------------------


def test_api_lists_the_visible_groups(portfolio, manager_api):
    body = manager_api.get(API).json()
    names = {row["name"]: row for row in body["results"]}
    assert set(names) == {"Star", "Hopeful", "Steady", "Small", "Unknown"}
    star = names["Star"]
    assert star["quadrant"] == "invest_for_growth" and star["attractiveness"] == 80 and star["share_of_wallet"] == 90
    assert star["current_sales"] == 900000 and star["wallet_3y"] == 3000000
    assert names["Unknown"]["quadrant"] is None and names["Unknown"]["quadrant_label"] == "Insufficient data"
    assert body["counts"] == {
        "invest_for_growth": 1,
        "invest_selectively": 1,
        "maintain": 1,
        "manage_for_cash": 1,
        "insufficient": 1,
    }
    assert body["cut_attractiveness"] == 50 and body["cut_strength"] == 50


def test_api_filters_by_quadrant(portfolio, manager_api):
    assert [r["name"] for r in manager_api.get(API, {"quadrant": "maintain"}).json()["results"]] == ["Steady"]
    assert [r["name"] for r in manager_api.get(API, {"quadrant": "insufficient"}).json()["results"]] == ["Unknown"]
    response = manager_api.get(API, {"quadrant": "stars"})
    assert response.status_code == 400
    assert "quadrant" in response.json()


def test_api_detail_follows_the_visibility_rule(portfolio, manager_api, executive_api):
    own = manager_api.get(f"{API}{portfolio['star'].pk}/")
    assert own.status_code == 200 and own.json()["quadrant"] == "invest_for_growth"
    assert manager_api.get(f"{API}{portfolio['other'].pk}/").status_code == 404
    assert manager_api.get(f"{API}999999999/").status_code == 404
    assert executive_api.get(f"{API}{portfolio['other'].pk}/").json()["name"] == "Elsewhere"
    assert "Elsewhere" in {r["name"] for r in executive_api.get(API).json()["results"]}


def test_api_is_read_only(portfolio, manager_api, admin_api):
    assert manager_api.post(API, {}, format="json").status_code == 403
    assert admin_api.post(API, {}, format="json").status_code == 405
