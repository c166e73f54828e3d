"""Writes for expert review: decisions on answers, which feed trust and the item's consensus.

- accept: the answer stands; the contributor's trust counts it as agreeing.
- reject (with a reason): the answer leaves the consensus (``excluded_annotation_ids``), one more answer is
  requested so the item still gets its overlap, the item is re-scored; trust counts a disagreement.
- correct: the reviewer's answer becomes the item's consensus (``expert_answer``, method
  ``expert_review``); trust counts a disagreement unless the answer already equalled the correction.

Trust is fed once per answer: a later decision replaces the earlier one but does not count again.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.models import Annotation, Consensus
from authenticity.models import AuthenticityScore
from authenticity.services import review_score
from consensus.tasks import score_item
from contributors.services import record_consensus_agreement
from core.schema import SchemaError
from exports.services import request_export
from organizations.access import Action, allows
from payments.earnings import on_review
from workqueue.counters import request_more_answers, request_more_answers_bulk

from .models import DashboardSummary, QualitySnapshot, ReviewDecision, ReviewerAppointment, ReviewRequest
from .selectors import alpha_of_report, can_review_campaign


def excluded_annotation_ids(item_id: int) -> set[int]:
    """Answers of an item a reviewer rejected: consensus is computed without them."""
    return set(
        ReviewDecision.objects.filter(item_id=item_id, is_current=True, decision=ReviewDecision.Decision.REJECT)
        .values_list("annotation_id", flat=True)
    )


def expert_answer(item_id: int) -> dict | None:
    """The latest reviewer correction of an item, which overrides any computed consensus."""
    decision = (
        ReviewDecision.objects.filter(item_id=item_id, is_current=True, decision=ReviewDecision.Decision.CORRECT)
        .order_by("-id").first()
    )
    return decision.corrected_payload if decision else None


def apply_expert_answer(item_id: int) -> Consensus | None:
    """Write the reviewer's correction as the item's final consensus (idempotent)."""
    answer = expert_answer(item_id)
    if answer is None:
        return None
    annotation = Annotation.objects.filter(item_id=item_id).select_related("item").first()
    if annotation is None:
        return None
    with transaction.atomic():
        consensus, _created = Consensus.objects.select_for_update().get_or_create(
            item_id=item_id, defaults={"campaign_id": annotation.campaign_id}
        )
        consensus.result = answer
        consensus.state = Consensus.State.FINALISED
        consensus.confidence = 1.0
        consensus.method = "expert_review"
        consensus.algorithm_version = "review-1"
        consensus.n_answers = Annotation.objects.filter(item_id=item_id).count()
        consensus.save()
    return consensus


def decide_review(*, annotation: Annotation, reviewer, decision: str, reason: str = "",
                  corrected_payload=None) -> ReviewDecision:
    """Record a reviewer's verdict on one answer and let it feed trust and consensus."""
    campaign = annotation.campaign
    if not can_review_campaign(reviewer, campaign):
        raise PermissionDenied(_("You are not a reviewer of this campaign."))
    if decision not in ReviewDecision.Decision.values:
        raise SchemaError("decision", _("Choose accept, reject or correct."))
    reason = (reason or "").strip()[:2000]
    if decision == ReviewDecision.Decision.REJECT and not reason:
        raise SchemaError("reason", _("Say why the answer is rejected."))
    cleaned = None
    if decision == ReviewDecision.Decision.CORRECT:
        if corrected_payload in (None, "", {}):
            raise SchemaError("corrected_payload", _("Enter the corrected answer."))
        cleaned = campaign.task.validate_annotation(
            corrected_payload, config=campaign.config, item_payload=annotation.item.payload,
            view=annotation.assignment.view if annotation.assignment_id else {},
        )
    with transaction.atomic():
        previous = list(
            ReviewDecision.objects.select_for_update().filter(annotation=annotation, is_current=True)
        )
        ReviewDecision.objects.filter(pk__in=[p.pk for p in previous]).update(is_current=False)
        record = ReviewDecision.objects.create(
            annotation=annotation, item_id=annotation.item_id, campaign=campaign, reviewer=reviewer,
            decision=decision, reason=reason, corrected_payload=cleaned,
        )
        agreed = decision == ReviewDecision.Decision.ACCEPT or (
            decision == ReviewDecision.Decision.CORRECT and cleaned == annotation.payload)
        if not previous:
            _feed_trust(annotation, agreed)
        # The answer's pay follows the verdict in the same transaction: paid, rejected, or reversed when the
        # review overturns an acceptance (payments.earnings).
        on_review(annotation=annotation, accepted=agreed,
                  reason=reason or _("A reviewer corrected this answer."))
        # A decision on any of its answers settles an item a manager sent to review.
        ReviewRequest.objects.filter(item_id=annotation.item_id, closed_at__isnull=True).update(closed_at=timezone.now())
        item_id, up_to = annotation.item_id, campaign.max_overlap + len(excluded_annotation_ids(annotation.item_id))
        transaction.on_commit(lambda: _rescore(item_id, decision, up_to))
    return record


def _feed_trust(annotation: Annotation, agreed: bool) -> None:

    record_consensus_agreement(user=annotation.contributor, task_type=annotation.campaign.task_type, agreed=agreed)


def _rescore(item_id: int, decision: str, up_to: int) -> None:

    if decision == ReviewDecision.Decision.REJECT:
        # The rejected answer no longer counts: ask the queue for a replacement answer.
        request_more_answers(item_id=item_id, up_to=up_to)
    if expert_answer(item_id) is not None:
        apply_expert_answer(item_id)
        return
    score_item.delay(item_id)


def review_authenticity(*, annotation: Annotation, reviewer, human: bool):
    """Confirm (or not) that a flagged answer was written by a person (authenticity app's verdict)."""
    if not can_review_campaign(reviewer, annotation.campaign):
        raise PermissionDenied(_("You are not a reviewer of this campaign."))

    score = AuthenticityScore.objects.filter(annotation=annotation).first()
    if score is None:
        raise SchemaError("annotation", _("This answer has no authenticity score."))
    return review_score(score=score, reviewer=reviewer,
                        decision=AuthenticityScore.Review.HUMAN if human else AuthenticityScore.Review.NOT_HUMAN)


def appoint_reviewer(*, campaign, reviewer, appointed_by=None) -> ReviewerAppointment:
    appointment, _created = ReviewerAppointment.objects.get_or_create(
        campaign=campaign, reviewer=reviewer, defaults={"appointed_by": appointed_by, "created_at": timezone.now()}
    )
    return appointment


def record_quality_snapshot(*, campaign_id: int, report: dict, n_answers: int = 0, method: str = "",
                            taken_at=None) -> QualitySnapshot:
    """Keep one point of the agreement trend (called whenever the campaign's consensus is re-fitted)."""
    overall, per_question = alpha_of_report(report or {})
    return QualitySnapshot.objects.create(
        campaign_id=campaign_id, alpha=overall, per_question=per_question,
        mean_agreement=(report or {}).get("mean_agreement"), n_answers=n_answers, method=method,
        taken_at=taken_at or timezone.now(),
    )


# --- the dataset view's selection actions ---------------------------------------------------------------
# The items come from review.dataset.selected_item_ids (already the campaign's); each action checks the
# person's role in the campaign's organisation through the one permission model.

# A manager's explicit "one more answer" is not capped by max_overlap (that caps the automatic requests).
RELABEL_CAP = 32767


def _require(user, action: Action, campaign) -> None:
    if not allows(user, action, campaign.organization_id):
        raise PermissionDenied(_("Your role may not do this."))


def request_review(*, campaign, item_ids: list[int], by) -> int:
    """Send items to the review queue ("Sent to review"); an item already waiting keeps its place, one reviewed
    since is opened again. Returns how many items now wait."""
    _require(by, Action.MANAGE_CAMPAIGNS, campaign)
    now = timezone.now()
    with transaction.atomic():
        existing = set(ReviewRequest.objects.filter(item_id__in=item_ids).values_list("item_id", flat=True))
        ReviewRequest.objects.filter(item_id__in=existing, closed_at__isnull=False).update(
            closed_at=None, requested_at=now, requested_by=by)
        ReviewRequest.objects.bulk_create(
            [ReviewRequest(item_id=i, campaign=campaign, requested_by=by, requested_at=now)
             for i in item_ids if i not in existing], batch_size=5000)
    return len(item_ids)


def request_relabel(*, campaign, item_ids: list[int], by) -> int:
    """Ask the queue for one more answer on each item (workqueue.counters, the one writer of the counters).
    Returns how many items were raised."""
    _require(by, Action.MANAGE_CAMPAIGNS, campaign)
    return len(request_more_answers_bulk(item_ids, up_to=RELABEL_CAP))


def export_selection(*, campaign, item_ids: list[int], fmt: str, layout: str, by, ip: str | None = None):
    """An export of exactly these items through the export engine (filter ``item_ids``), finalised or not."""
    _require(by, Action.EXPORT, campaign)
    return request_export(campaign=campaign, fmt=fmt, layout=layout, created_by=by, ip=ip,
                          filters={"item_ids": item_ids, "finalised_only": False})


def store_dashboard_summary(*, campaign, language: str, stamp: str, figures: dict) -> None:
    """Keep the dashboard's computed figures (review.dashboard serves them while the stamp holds)."""
    DashboardSummary.objects.update_or_create(
        campaign=campaign, language=language,
        defaults={"stamp": stamp, "figures": figures, "answers": figures["progress"]["annotations"],
                  "computed_at": timezone.now()})
