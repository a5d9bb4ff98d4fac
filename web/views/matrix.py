"""The KAM portfolio matrix page (DOMAIN.md §1.2): a 2×2 grid of the visible groups and a scatter.

Everything comes from ``tiering.matrix_selectors.portfolio_matrix`` (six queries whatever the size
of the portfolio); executives see every group, a manager the groups they own or serve.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kam.roles import sees_all_accounts
from tiering import matrix
from tiering.matrix_selectors import MatrixRow, portfolio_matrix

CELL_ACCOUNTS = 8  # accounts listed in each quadrant (largest current sales first)
MAX_POINTS = 500  # points on the scatter (largest current sales first)
PLOT = 300  # the scatter's plotting area, in SVG units (0–100 on both axes)
MARGIN = 40


def _cell(code: str | None, rows: list[MatrixRow], config: matrix.MatrixConfig) -> dict[str, Any]:
    return {
        "code": code or "insufficient",
        "label": config.label(code),
        "count": len(rows),
        "rows": rows[:CELL_ACCOUNTS],
        "more": max(len(rows) - CELL_ACCOUNTS, 0),
    }


def _point(row: MatrixRow) -> dict[str, Any]:
    # High strength on the left, as in McDonald's matrix and the grid; high attractiveness at the top.
    return {
        "row": row,
        "x": round(MARGIN + (100 - row.strength) / 100 * PLOT, 1),
        "y": round(10 + (100 - row.attractiveness) / 100 * PLOT, 1),
    }


@login_required
@require_GET
def portfolio_matrix_page(request: HttpRequest) -> HttpResponse:
    result = portfolio_matrix(user=request.user)
    config = result.config
    by_quadrant: dict[str | None, list[MatrixRow]] = {code: [] for code in [*matrix.QUADRANTS, None]}
    for row in result.rows:  # already largest current sales first
        by_quadrant[row.quadrant].append(row)
    placed = [row for row in result.rows if row.quadrant is not None]
    cut_x = round(MARGIN + (100 - config.cut_strength) / 100 * PLOT, 1)
    cut_y = round(10 + (100 - config.cut_attractiveness) / 100 * PLOT, 1)
    context = {
        "result": result,
        "sees_all": sees_all_accounts(request.user),
        # High attractiveness on top, high strength on the left (DOMAIN.md §1.2's table).
        "grid": [
            [_cell(code, by_quadrant[code], config) for code in pair] for pair in (matrix.QUADRANTS[:2], matrix.QUADRANTS[2:])
        ],
        "insufficient": _cell(None, by_quadrant[None], config),
        "points": [_point(row) for row in placed[:MAX_POINTS]],
        "points_truncated": len(placed) > MAX_POINTS,
        "plot": {"size": PLOT, "margin": MARGIN, "cut_x": cut_x, "cut_y": cut_y, "right": MARGIN + PLOT, "bottom": 10 + PLOT},
    }
    return render(request, "web/matrix/page.html", context)
