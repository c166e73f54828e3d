"""What a contributor's own pages show: the dashboard, why a campaign is closed to them, their data export.

These reads compose the contributor with the queue's rule and their answers, so they live above both.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation
from contributors.models import ContributorProfile, QualificationTest, TrustScore
from contributors.selectors import (
    LEVEL_NAMES,
    next_step,
    profile_for,
    qualification_state,
    verification_level,
)
from workqueue.selectors import active_campaigns_for, contributor_block_reason


def campaign_blocker(user, campaign, *, profile=None, level: int | None = None) -> dict | None:
    """Why this contributor cannot work in the campaign (the queue's own rule), with a link to fix it."""
    block = contributor_block_reason(user, campaign)
    if not block:
        return None
    code, text = block
    url = ""
    if code in ("no_profile", "profile"):
        url = reverse("contributor-profile")
    elif code == "verification":
        profile = profile or profile_for(user)
        url = next_step(user, profile, verification_level(user, profile) if level is None else level)["url"]
    elif code == "qualification":
        url = reverse("contributor-qualification", args=[campaign.task_type])
    return {"code": code, "text": text, "url": url}


def dashboard(user) -> dict:
    """Everything the contributor dashboard shows, in a handful of queries."""
    profile = profile_for(user)
    level = verification_level(user, profile)
    campaigns, blocked = [], []
    for campaign in active_campaigns_for(user):
        blocker = campaign_blocker(user, campaign, profile=profile, level=level)
        (blocked if blocker else campaigns).append({"campaign": campaign, "blocker": blocker})
    now = timezone.localtime()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    mine = Annotation.objects.filter(contributor=user)
    per_campaign = list(
        mine.values("campaign_id", "campaign__name", "campaign__pay_per_task")
        .annotate(tasks=Count("id")).order_by("-tasks")
    )
    for row in per_campaign:
        row["earned"] = row["tasks"] * (row["campaign__pay_per_task"] or 0)
    trust = list(TrustScore.objects.filter(contributor__user=user).order_by("task_type"))
    tests = QualificationTest.objects.filter(is_active=True).order_by("task_type")
    return {
        "profile": profile,
        "level": level,
        "level_name": LEVEL_NAMES[level],
        "levels": [(n, LEVEL_NAMES[n]) for n in range(1, 5)],
        "next_step": next_step(user, profile, level),
        "campaigns": campaigns,
        "blocked_campaigns": blocked,
        "done_today": mine.filter(created_at__gte=today).count(),
        "done_week": mine.filter(created_at__gte=week).count(),
        "per_campaign": per_campaign,
        "earned_total": sum(row["earned"] for row in per_campaign),
        "trust": trust,
        "qualifications": [qualification_state(profile, test) for test in tests],
    }


def export_personal_data(profile: ContributorProfile) -> dict:
    """Everything stored about one contributor, for a data-subject request (JSON-serialisable)."""
    user = profile.user
    fields = ["pseudonym", "display_name", "birth_year", "gender", "region", "province", "dialect", "languages",
              "device_type", "consent_version", "consent_at", "identity_verified_at", "status", "status_reason",
              "created_at", "erasure_requested_at"]

    def plain(value):
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {
        "account": {"email": user.email, "date_joined": plain(user.date_joined), "last_login": plain(user.last_login)},
        "profile": {name: plain(getattr(profile, name)) for name in fields},
        "profile_history": [
            {"at": plain(c.created_at), "changes": c.changes} for c in profile.changes.all()
        ],
        "status_history": [
            {"at": plain(s.created_at), "from": s.from_status, "to": s.to_status, "reason": s.reason}
            for s in profile.status_changes.all()
        ],
        "qualifications": [
            {"task_type": q.task_type, "score": q.score, "at": plain(q.granted_at)} for q in profile.qualifications.all()
        ],
        "qualification_attempts": [
            {"task_type": a.test.task_type, "number": a.number, "state": a.state, "score": a.score,
             "started_at": plain(a.started_at), "submitted_at": plain(a.submitted_at)}
            for a in profile.qualification_attempts.select_related("test")
        ],
        "trust": [
            {"task_type": t.task_type, "score": t.score, "gold_seen": t.gold_seen, "gold_correct": t.gold_correct,
             "consensus_seen": t.consensus_seen, "consensus_agreed": t.consensus_agreed}
            for t in profile.trust_scores.all()
        ],
        "identity_documents": [
            {"uploaded_at": plain(d.uploaded_at), "state": d.state, "reviewed_at": plain(d.reviewed_at),
             "rejection_reason": d.rejection_reason, "file_deleted_at": plain(d.file_deleted_at)}
            for d in profile.identity_documents.all()
        ],
        "devices": [
            {"event": d.event, "ip": d.ip, "device": d.fingerprint[:16], "at": plain(d.created_at)}
            for d in user.device_sightings.order_by("created_at")
        ],
        "annotations": [
            {"id": a["id"], "campaign": a["campaign_id"], "item": a["item_id"], "created_at": plain(a["created_at"]),
             "payload": a["payload"]}
            for a in Annotation.objects.filter(contributor=user).order_by("id")
            .values("id", "campaign_id", "item_id", "created_at", "payload").iterator(chunk_size=2000)
        ],
    }
