"""Reads about contributors: verification level, qualification, trust, the dashboard."""
from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import (
    ContributorProfile,
    IdentityDocument,
    Qualification,
    QualificationAttempt,
    QualificationTest,
    TrustScore,
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


def email_verified(user) -> bool:

    return EmailAddress.objects.filter(user=user, verified=True).exists()


def qualified_task_types(user) -> set[str]:
    return set(Qualification.objects.filter(profile__user=user).values_list("task_type", flat=True))


def verification_level(user, profile: ContributorProfile | None = None) -> int:
    """A ladder, each rung unlocking more work: 0 nothing, 1 e-mail verified, 2 profile complete,
    3 qualified for at least one task type (campaigns check their own type with ``is_qualified``),
    4 identity verified by staff on top of 3. One query (the queue calls it on every lease)."""

    if not getattr(user, "pk", None):
        return 0
    if profile is not None and hasattr(profile, "_email_verified"):  # from workqueue.selectors.profile_with_flags
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

    Interface used by the queue (workqueue.selectors) when a campaign requires qualification.
    """
    return Qualification.objects.filter(profile__user=user, task_type=task_type).exists()


def trust_score(user, task_type: str) -> float:
    """The contributor's trust for a task type, in [0, 1] (0.5 for newcomers)."""

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
