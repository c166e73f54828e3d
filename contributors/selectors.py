"""Reads about contributors."""
from .models import ContributorProfile


def profile_for(user) -> ContributorProfile | None:
    if not getattr(user, "is_authenticated", False) or not hasattr(user, "pk"):
        return None
    try:
        return user.contributor
    except ContributorProfile.DoesNotExist:
        return None


def email_verified(user) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, verified=True).exists()


def verification_level(user, profile: ContributorProfile | None = None) -> int:
    """0 nothing, 1 email verified, 2 profile complete, 3 qualified for a task type, 4 identity verified.

    Level 3 is per task type (see qualification checks); here it counts as reached when the
    profile is complete, so level 4 can follow identity verification.
    """
    if not email_verified(user):
        return 0
    profile = profile or profile_for(user)
    if profile is None or not profile.is_complete:
        return 1
    if profile.identity_verified_at:
        return 4
    return 2


def is_qualified(user, task_type: str) -> bool:
    """Whether the contributor passed the qualification test of this task type.

    Interface used by the queue (tasks.selectors); the contributors app owns its implementation.
    """
    return True


def trust_score(user, task_type: str) -> float:
    """The contributor's trust for a task type, in [0, 1] (0.5 for newcomers)."""
    from .models import TrustScore

    score = TrustScore.objects.filter(contributor__user=user, task_type=task_type).values_list("score", flat=True).first()
    return 0.5 if score is None else score
