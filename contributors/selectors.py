"""Reads about contributors: verification level, qualification, trust, the dashboard."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.rawsql import fetch_joined

from .models import (
    ContributorProfile,
    IdentityDocument,
    Qualification,
    QualificationAttempt,
    QualificationTest,
)

LEVEL_NAMES = {
    0: gettext_lazy("Not verified"),
    1: gettext_lazy("E-mail verified"),
    2: gettext_lazy("Profile complete"),
    3: gettext_lazy("Qualified"),
    4: gettext_lazy("Identity verified"),
}


def profile_for(user) -> ContributorProfile | None:
    if not getattr(user, "is_authenticated", False) or not hasattr(user, "pk"):
        return None
    try:
        return user.contributor
    except ContributorProfile.DoesNotExist:
        return None


def eligibility_flags_sql(profile_alias: str) -> dict[str, str]:
    """The two facts ``verification_level`` needs beside the profile, as SQL over a profile row named
    ``profile_alias``: attributes ``_email_verified`` and ``_qualified`` (see ``profile_with_flags``)."""
    from allauth.account.models import EmailAddress

    return {
        "_email_verified": f"EXISTS (SELECT 1 FROM {EmailAddress._meta.db_table} e"
                           f" WHERE e.user_id = {profile_alias}.user_id AND e.verified)",
        "_qualified": f"EXISTS (SELECT 1 FROM {Qualification._meta.db_table} q WHERE q.profile_id = {profile_alias}.id)",
    }


def profile_with_flags(user) -> ContributorProfile | None:
    """The profile plus the two facts ``verification_level`` needs, in one query (the queue asks on every lease).

    Hand-written SQL (core.rawsql): the ORM spent more CPU compiling the two EXISTS than PostgreSQL running them.
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    flags = eligibility_flags_sql("t")
    row = fetch_joined([(ContributorProfile, "t")], f"FROM {ContributorProfile._meta.db_table} t WHERE t.user_id = %s",
                       [user.pk], extra=flags)
    if row is None:
        return None
    profile, *values = row
    set_eligibility_flags(profile, flags, values)
    profile.user = user
    return profile


def set_eligibility_flags(profile, flags: dict[str, str], values) -> None:
    """Put the values of ``eligibility_flags_sql``'s expressions on the profile, as booleans (SQLite answers
    EXISTS with 0 or 1)."""
    for name, value in zip(flags, values, strict=True):
        setattr(profile, name, bool(value))


def email_verified(user) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, verified=True).exists()


def qualified_task_types(user) -> set[str]:
    return set(Qualification.objects.filter(profile__user=user).values_list("task_type", flat=True))


def verification_level(user, profile: ContributorProfile | None = None) -> int:
    """A ladder, each rung unlocking more work: 0 nothing, 1 e-mail verified, 2 profile complete,
    3 qualified for at least one task type (campaigns check their own type with ``is_qualified``),
    4 identity verified by staff on top of 3. One query (the queue calls it on every lease)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, OuterRef

    if not getattr(user, "pk", None):
        return 0
    if profile is not None and hasattr(profile, "_email_verified"):  # from profile_with_flags: no query
        flags = {"verified": profile._email_verified, "qualified": profile._qualified}
    else:
        flags = (
            get_user_model().objects.filter(pk=user.pk)
            .annotate(
                verified=Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)),
                qualified=Exists(Qualification.objects.filter(profile__user=OuterRef("pk"))),
            )
            .values("verified", "qualified")
            .first()
        )
    if not flags or not flags["verified"]:
        return 0
    profile = profile or profile_for(user)
    if profile is None or not profile.is_complete:
        return 1
    if not flags["qualified"]:
        return 2
    return 4 if profile.identity_verified_at else 3


def is_qualified(user, task_type: str) -> bool:
    """Whether the contributor passed the qualification test of this task type (or staff granted it).

    Interface used by the queue (tasks.selectors) when a campaign requires qualification.
    """
    return Qualification.objects.filter(profile__user=user, task_type=task_type).exists()


def trust_score(user, task_type: str) -> float:
    """The contributor's trust for a task type, in [0, 1] (0.5 for newcomers)."""
    from .models import TrustScore

    score = TrustScore.objects.filter(contributor__user=user, task_type=task_type).values_list("score", flat=True).first()
    return 0.5 if score is None else score


def qualification_state(profile: ContributorProfile | None, test: QualificationTest, *, now=None) -> dict:
    """Whether the contributor may start the test now, and if not why; attempts left; the last result."""
    now = now or timezone.now()
    attempts = list(QualificationAttempt.objects.filter(test=test, profile=profile)) if profile else []
    done = [a for a in attempts if a.state != QualificationAttempt.State.OPEN]
    open_attempt = next((a for a in attempts if a.state == QualificationAttempt.State.OPEN), None)
    qualified = bool(profile) and Qualification.objects.filter(profile=profile, task_type=test.task_type).exists()
    last = max(done, key=lambda a: a.submitted_at) if done else None
    state = {
        "test": test, "qualified": qualified, "attempts_used": len(done), "open_attempt": open_attempt,
        "attempts_left": max(0, test.max_attempts - len(done)), "last": last, "next_allowed_at": None,
        "can_start": False, "code": "", "reason": "",
    }
    if qualified:
        state.update(code="qualified", reason=_("You are already qualified for this task type."))
    elif open_attempt is not None:
        state.update(can_start=True, code="open")
    elif len(done) >= test.max_attempts:
        state.update(code="no_attempts", reason=_("You have used all %(n)d attempts at this test.") % {"n": test.max_attempts})
    elif last is not None and last.submitted_at + timedelta(minutes=test.cooldown_minutes) > now:
        state["next_allowed_at"] = last.submitted_at + timedelta(minutes=test.cooldown_minutes)
        minutes = max(1, int((state["next_allowed_at"] - now).total_seconds() // 60) + 1)
        state.update(code="cooldown", reason=_("You can try again in %(m)d minutes.") % {"m": minutes})
    else:
        state.update(can_start=True, code="ok")
    return state


def next_step(user, profile: ContributorProfile | None, level: int) -> dict:
    """What the contributor should do to unlock more work, with a link."""
    if profile is not None and profile.status != ContributorProfile.Status.ACTIVE:
        return {"text": _("Your account is %(status)s: %(reason)s") % {
            "status": profile.get_status_display(), "reason": profile.status_reason or "-"}, "url": ""}
    if level == 0:
        return {"text": _("Confirm your e-mail address with the link we sent you."), "url": reverse("account_email")}
    if level == 1:
        return {"text": _("Complete your profile to start working."), "url": reverse("contributor-profile")}
    if level == 2:
        return {"text": _("Pass a qualification test to unlock campaigns."), "url": reverse("contributor-qualifications")}
    if level == 3:
        pending = IdentityDocument.objects.filter(profile=profile, state=IdentityDocument.State.PENDING).exists()
        if pending:
            return {"text": _("Your identity document is waiting for review."), "url": reverse("contributor-identity")}
        return {"text": _("Verify your identity to unlock the best-paid campaigns."), "url": reverse("contributor-identity")}
    return {"text": _("You have reached the highest verification level."), "url": ""}


def campaign_blocker(user, campaign, *, profile=None, level: int | None = None) -> dict | None:
    """Why this contributor cannot work in the campaign (the queue's own rule), with a link to fix it."""
    from tasks.selectors import contributor_block_reason

    block = contributor_block_reason(user, campaign)
    if not block:
        return None
    code, text = block
    url = ""
    if code == "no_profile":
        url = reverse("contributor-profile")
    elif code == "verification":
        profile = profile or profile_for(user)
        url = next_step(user, profile, verification_level(user, profile) if level is None else level)["url"]
    elif code == "qualification":
        url = reverse("contributor-qualification", args=[campaign.task_type])
    return {"code": code, "text": text, "url": url}


def dashboard(user) -> dict:
    """Everything the contributor dashboard shows, in a handful of queries."""
    from annotations.models import Annotation
    from tasks.selectors import active_campaigns_for

    from .models import TrustScore

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
    from annotations.models import Annotation

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
