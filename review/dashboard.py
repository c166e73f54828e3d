"""The campaign dashboard as pages and polls read it: stored figures and a stored authenticity panel.

Computing the figures reads every answer of the campaign (0.7 s at 300,000 answers on PostgreSQL) and the
authenticity panel every score (about 1 s): neither may run on a page view of a big campaign. Both are stored
per campaign and language (``DashboardSummary``, ``authenticity.CampaignReport``); a view reads the stored rows
and a few index probes (``selectors.dashboard_stamp``). When the data changed, a small campaign recomputes
inline (fresh figures after each answer, as managers expect in a pilot), a big one serves what is stored,
at most ``STALE_SECONDS`` old for the figures, and asks a job to refresh it.
"""
from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language

from authenticity import tasks as authenticity_tasks
from authenticity.selectors import stored_report
from authenticity.services import refresh_report

from . import tasks
from .models import DashboardSummary
from .selectors import compute_dashboard_figures, dashboard_stamp
from .services import store_dashboard_summary

# Campaigns with at least this many answers are refreshed by a job, never on the page.
DASHBOARD_BIG = 20000
STALE_SECONDS = 60


def campaign_dashboard(campaign, *, now=None, include_authenticity: bool = True) -> dict:
    """Every number of the campaign dashboard (the page, its JSON poll); the authenticity report if asked."""
    now = now or timezone.now()
    language = get_language() or settings.LANGUAGE_CODE
    figures = _figures(campaign, now, language)
    if not include_authenticity:
        return figures
    big = figures["progress"]["annotations"] >= DASHBOARD_BIG
    return {**figures, "authenticity": _authenticity(campaign, now, language, big=big)}


def _once(kind: str, campaign_id: int, language: str) -> bool:
    """True for the first caller in STALE_SECONDS: one refresh job per campaign and language at a time."""
    return cache.add(f"console:refresh:{kind}:{campaign_id}:{language}", 1, STALE_SECONDS)


def _figures(campaign, now, language: str) -> dict:
    stamp = dashboard_stamp(campaign)
    summary = DashboardSummary.objects.filter(campaign=campaign, language=language).first()
    if summary is not None and summary.stamp != stamp and summary.answers >= DASHBOARD_BIG:
        if (now - summary.computed_at).total_seconds() >= STALE_SECONDS and _once("figures", campaign.pk, language):
            tasks.refresh_dashboard.delay(campaign.pk, language)
        return summary.figures
    if summary is not None and summary.stamp == stamp:
        return summary.figures
    figures = compute_dashboard_figures(campaign, now)
    store_dashboard_summary(campaign=campaign, language=language, stamp=stamp, figures=figures)
    return figures


def _authenticity(campaign, now, language: str, *, big: bool) -> dict | None:
    stored = stored_report(campaign.pk, language)
    if stored is not None:
        fresh = not stored.stale and (now - stored.computed_at).total_seconds() < STALE_SECONDS
        if fresh:
            return stored.report
        if big:
            if _once("authenticity", campaign.pk, language):
                authenticity_tasks.refresh_report_task.delay(campaign.pk, language)
            return stored.report
    try:
        return refresh_report(campaign, language=language)
    except Exception:  # noqa: BLE001 - an optional panel: the dashboard renders without it
        return stored.report if stored is not None else None
