"""Answers submitted faster than anyone can read an item: measured by the server (lease to submit) and turned
into the contributor's fraud signal. Runs from beat (annotations.tasks.scan_task_speeds)."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min
from django.utils import timezone

from contributors.models import ContributorProfile, FraudSignal
from contributors.services import raise_fraud_signal

from .models import Annotation

SPEED_SCAN_KEY = "contributors:speed-scan:last-annotation-id"


def scan_task_speeds(*, after_id: int | None = None) -> int:
    """Flag answers submitted faster than anyone can read an item, measured by the server (lease to submit).

    Runs from beat over annotations newer than the last scan (high-water mark in the cache), so the
    submit path pays nothing; one grouped query per run. Returns how many contributors were flagged.
    """
    if after_id is None:
        after_id = cache.get(SPEED_SCAN_KEY)
    if after_id is None:  # first run or cache lost: look at the last day only
        since = timezone.now() - timedelta(days=1)
        after_id = Annotation.objects.filter(created_at__lt=since).aggregate(m=Max("id"))["m"] or 0
    newest = Annotation.objects.aggregate(m=Max("id"))["m"] or after_id
    fast = (
        Annotation.objects.filter(id__gt=after_id, id__lte=newest)
        .annotate(took=ExpressionWrapper(F("created_at") - F("assignment__leased_at"), output_field=DurationField()))
        .filter(took__lt=timedelta(milliseconds=settings.CONTRIBUTOR_MIN_TASK_MS))
        .values("contributor_id")
        .annotate(n=Count("id"), fastest=Min("took"), last=Max("id"))
    )
    flagged = 0
    for row in fast:
        profile = ContributorProfile.objects.filter(user_id=row["contributor_id"]).first()
        if profile is None:
            continue
        raise_fraud_signal(profile, FraudSignal.Kind.IMPOSSIBLE_SPEED, {
            "last_annotation": row["last"], "fastest_ms": int(row["fastest"].total_seconds() * 1000),
            "min_ms": settings.CONTRIBUTOR_MIN_TASK_MS,
        }, count=row["n"])
        flagged += 1
    cache.set(SPEED_SCAN_KEY, newest, timeout=None)
    return flagged
