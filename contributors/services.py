"""Writes about contributors: profile, trust evidence, status.

The two ``record_*`` functions are the interface the consensus workers call to feed trust.
"""
from __future__ import annotations


def record_gold_answer(*, user, task_type: str, correct: bool) -> None:
    """A contributor answered a gold (honeypot) item; feeds trust and the suspension rule."""
    from .models import ContributorProfile, TrustScore

    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None:
        return
    trust, _ = TrustScore.objects.get_or_create(contributor=profile, task_type=task_type)
    trust.gold_seen += 1
    trust.gold_correct += int(bool(correct))
    trust.save(update_fields=["gold_seen", "gold_correct", "updated_at"])


def record_consensus_agreement(*, user, task_type: str, agreed: bool) -> None:
    """A contributor's answer matched (or not) a finalised consensus; feeds trust."""
    from .models import ContributorProfile, TrustScore

    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None:
        return
    trust, _ = TrustScore.objects.get_or_create(contributor=profile, task_type=task_type)
    trust.consensus_seen += 1
    trust.consensus_agreed += int(bool(agreed))
    trust.save(update_fields=["consensus_seen", "consensus_agreed", "updated_at"])
