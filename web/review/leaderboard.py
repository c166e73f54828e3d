"""The arena leaderboard page for managers: ratings with 95 % intervals per category, a chart, bias checks."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from task_types.arena.leaderboard import campaign_boards
from web.review.views import _campaign_or_404, _context

CHART_WIDTH = 640
ROW_HEIGHT = 28
LABEL_WIDTH = 150


def chart(board) -> dict:
    """Positions for an SVG interval chart: each model's rating as a dot, its interval as a bar."""
    if not board.rows:
        return {}
    low = min(r["low"] for r in board.rows)
    high = max(r["high"] for r in board.rows)
    span = (high - low) or 1.0
    plot = CHART_WIDTH - LABEL_WIDTH - 20

    def x(value):
        return round(LABEL_WIDTH + (value - low) / span * plot, 1)

    rows = [{"model": r["model"], "y": 20 + k * ROW_HEIGHT, "x": x(r["rating"]), "x1": x(r["low"]),
             "x2": x(r["high"]), "rating": r["rating"]} for k, r in enumerate(board.rows)]
    return {"width": CHART_WIDTH, "height": 30 + len(rows) * ROW_HEIGHT, "rows": rows, "low": low, "high": high,
            "label_x": LABEL_WIDTH - 8}


@login_required
def leaderboard(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    if campaign.task_type != "arena":
        raise Http404("Only model-comparison campaigns have a leaderboard.")
    boards = campaign_boards(campaign)
    return render(request, "review/leaderboard.html", _context(
        request, _("Leaderboard: %(name)s") % {"name": campaign.name}, campaign=campaign,
        boards=[{"board": b, "chart": chart(b)} for b in boards],
    ))
