"""Disputes: a contributor contests a rejected answer or their suspension; staff uphold or overturn it.

Who answers: an answer's dispute, the campaign's reviewers (``review.selectors.can_review_campaign``: the
organisation's admins and managers, appointed reviewers; their admin access is ``Action.REVIEW`` in the one
permission model); a suspension's dispute, trust-and-safety staff (``Action.CONTRIBUTOR_MODERATE``).

An overturned answer is accepted through ``decide_review`` (so trust, consensus and pay follow the same path as a
reviewer's acceptance): ``payments.earnings.on_review`` pays it once (the ledger keys make a second call a no-op).
An overturned suspension reinstates the contributor through ``contributors.services.change_status``.
Every opening and decision is audited.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.models import Annotation
from audit.services import Action as AuditAction
from audit.services import record as audit
from contributors.models import ContributorProfile
from contributors.services import change_status
from core.schema import SchemaError
from organizations.access import Action, allows
from payments.models import Earning

from .history import contest_ground
from .models import Dispute, ReviewDecision
from .selectors import can_review_campaign, reviewable_campaigns

MIN_REASON = 10


def _reason(text: str) -> str:
    text = " ".join((text or "").split())
    if len(text) < MIN_REASON:
        raise SchemaError("reason", _("Explain in a sentence why the decision is wrong (at least %(n)s characters).")
                          % {"n": MIN_REASON})
    return text[:2000]


def open_answer_dispute(*, user, annotation_id: int, reason: str) -> Dispute:
    """Contest one of the user's own answers that was rejected (review, gold, consensus) or reversed, paid or not
    (``review.history.contest_ground`` says which)."""
    text = _reason(reason)
    annotation = Annotation.objects.select_related("campaign").filter(pk=annotation_id, contributor=user).first()
    ground = None
    if annotation is not None:
        ground = contest_ground(
            annotation=annotation,
            decision=ReviewDecision.objects.filter(annotation=annotation, is_current=True).first(),
            earning=Earning.objects.filter(annotation_id=annotation_id, contributor=user).first())
    if ground is None:
        raise SchemaError("annotation", _("Only your own rejected answers can be contested."))
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(kind=Dispute.Kind.ANSWER, contributor=user, campaign=annotation.campaign,
                                             annotation=annotation, reason=text, decision_reason=ground)
    except IntegrityError:
        raise SchemaError("annotation", _("You already contested this answer.")) from None
    audit(action=AuditAction.DISPUTE_OPENED, by=user, organization=annotation.campaign.organization_id,
          target=f"answer {annotation_id}", detail={"dispute": dispute.pk, "kind": dispute.kind})
    return dispute


def open_suspension_dispute(*, user, reason: str) -> Dispute:
    """Contest the user's own suspension (trust and safety answer)."""
    text = _reason(reason)
    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None or profile.status != ContributorProfile.Status.SUSPENDED:
        raise SchemaError("status", _("Your account is not suspended."))
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(kind=Dispute.Kind.SUSPENSION, contributor=user, reason=text,
                                             decision_reason=profile.status_reason)
    except IntegrityError:
        raise SchemaError("status", _("Your contest of this suspension is already waiting for staff.")) from None
    audit(action=AuditAction.DISPUTE_OPENED, by=user, target=f"contributor {profile.pseudonym}",
          subject=user, detail={"dispute": dispute.pk, "kind": dispute.kind})
    return dispute


def may_decide(user, dispute: Dispute) -> bool:
    if dispute.kind == Dispute.Kind.SUSPENSION:
        return allows(user, Action.CONTRIBUTOR_MODERATE)
    # the same people the queue lists them to (and decide_review lets accept): the campaign's reviewers
    return can_review_campaign(user, dispute.campaign)


def staff_queue(user):
    """The disputes this user may answer: answers of campaigns they review, suspensions for trust and safety."""
    scope = Q(kind=Dispute.Kind.ANSWER, campaign__in=reviewable_campaigns(user))
    if allows(user, Action.CONTRIBUTOR_MODERATE):
        scope |= Q(kind=Dispute.Kind.SUSPENSION)
    return Dispute.objects.filter(scope)


def open_contests_count(user) -> int:
    """How many contests wait for this user's answer: the review console's link to the queue shows it."""
    return staff_queue(user).filter(state=Dispute.State.OPEN).count()


def decide_dispute(*, dispute: Dispute, by, overturn: bool, answer: str) -> Dispute:
    """Uphold or overturn with an answer to the contributor; an overturn accepts (and pays) or reinstates."""
    if not may_decide(by, dispute):
        raise PermissionDenied(_("You may not answer this dispute."))
    answer = " ".join((answer or "").split())
    if not answer:
        raise SchemaError("staff_answer", _("Write the answer the contributor will read."))
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.state != Dispute.State.OPEN:
            raise SchemaError("state", _("This dispute was already answered."))
        if overturn and locked.kind == Dispute.Kind.ANSWER:
            from .services import decide_review

            decide_review(annotation=locked.annotation, reviewer=by, decision=ReviewDecision.Decision.ACCEPT,
                          reason=_("Dispute overturned: %(answer)s") % {"answer": answer})
        elif overturn:
            profile = ContributorProfile.objects.get(user_id=locked.contributor_id)
            if profile.status == ContributorProfile.Status.SUSPENDED:
                change_status(profile=profile, status=ContributorProfile.Status.ACTIVE, reason=answer, by=by)
        locked.state = Dispute.State.OVERTURNED if overturn else Dispute.State.UPHELD
        locked.staff_answer, locked.decided_by, locked.decided_at = answer[:2000], by, timezone.now()
        locked.save(update_fields=["state", "staff_answer", "decided_by", "decided_at"])
        audit(action=AuditAction.DISPUTE_DECIDED, by=by,
              organization=locked.campaign.organization_id if locked.campaign_id else None,
              target=f"dispute {locked.pk}", subject=locked.contributor if locked.kind == "suspension" else None,
              detail={"kind": locked.kind, "state": locked.state, "annotation": locked.annotation_id})
    return locked


def disputes_of(user, *, limit: int = 50):
    return Dispute.objects.filter(contributor=user).select_related("campaign").order_by("-created_at")[:limit]
