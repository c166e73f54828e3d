"""Writes for annotations: the one submit path used by the page, the API and tests."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from authenticity.telemetry import clean_telemetry
from tasks.models import Assignment, Item
from tasks.types import SchemaError

from .models import Annotation


class SubmissionRefused(Exception):
    """A submission that cannot be accepted; ``code`` maps to an HTTP status in the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SubmitResult:
    annotation: Annotation
    created: bool  # False when an Idempotency-Key replay returned the first result


def submit_annotation(
    *,
    user,
    assignment_id: int,
    payload,
    telemetry=None,
    time_spent_ms: int = 0,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Store one contributor's answer exactly once and schedule consensus when the item is full.

    Raises Assignment.DoesNotExist for someone else's assignment (a 404), SchemaError for a
    payload that does not fit the task type, SubmissionRefused for a closed assignment.
    """
    key = (idempotency_key or "").strip()[:100] or None
    if key:
        existing = Annotation.objects.filter(contributor=user, idempotency_key=key).first()
        if existing is not None:
            if existing.assignment_id != assignment_id:
                raise SubmissionRefused("conflict", _("This Idempotency-Key was used for another assignment."))
            return SubmitResult(existing, created=False)
    try:
        with transaction.atomic():
            assignment = (
                # of=("self",): lock only the assignment; locking the joined campaign row would
                # serialise every submission in the campaign.
                Assignment.objects.select_for_update(of=("self",))
                .select_related("campaign")
                .get(pk=assignment_id, contributor=user)
            )
            if assignment.state == Assignment.State.SUBMITTED:
                previous = Annotation.objects.filter(assignment=assignment).first()
                if key and previous is not None and previous.idempotency_key == key:
                    return SubmitResult(previous, created=False)
                raise SubmissionRefused("already_submitted", _("This task was already submitted."))
            if assignment.state in (Assignment.State.SKIPPED, Assignment.State.REPORTED):
                raise SubmissionRefused("closed", _("This task was skipped or reported and can no longer be submitted."))
            campaign = assignment.campaign
            item = Item.objects.select_for_update().get(pk=assignment.item_id)
            cleaned = campaign.task.validate_annotation(
                payload, config=campaign.config, item_payload=item.payload, view=assignment.view
            )
            if assignment.state == Assignment.State.EXPIRED:
                # The lease was reclaimed: accept the late answer only if the item still needs one
                # (gold items are never full: every contributor may answer each once).
                if item.open_slots <= 0 and not item.is_gold:
                    raise SubmissionRefused(
                        "lease_expired",
                        _("Your time for this task ran out and other contributors have completed it."),
                    )
                Item.objects.filter(pk=item.pk).update(done_count=F("done_count") + 1, open_slots=F("open_slots") - 1)
                if assignment.region:
                    from tasks.models import RegionTally

                    # The answer counts toward its region's quota again (the expiry gave it back).
                    RegionTally.objects.filter(campaign=campaign, region=assignment.region).update(
                        taken=F("taken") + 1
                    )
            else:
                Item.objects.filter(pk=item.pk).update(done_count=F("done_count") + 1, leased_count=F("leased_count") - 1)
            gold_correct = None
            if item.is_gold and item.gold_answer is not None:
                gold_correct = campaign.task.is_correct(cleaned, item.gold_answer, config=campaign.config)
            annotation = Annotation.objects.create(
                assignment=assignment,
                item=item,
                campaign=campaign,
                contributor=user,
                payload=cleaned,
                is_gold=item.is_gold,
                gold_correct=gold_correct,
                time_spent_ms=max(0, min(int(time_spent_ms or 0), 24 * 3600 * 1000)),
                telemetry=clean_telemetry(telemetry),
                idempotency_key=key,
            )
            campaign.task.on_submit(annotation)  # type-specific follow-up, same transaction
            if gold_correct is not None:
                from contributors.services import record_gold_answer

                # Exactly once per answer: inside this transaction, which a replay never reaches.
                record_gold_answer(user=user, task_type=campaign.task_type, correct=gold_correct)
            assignment.state = Assignment.State.SUBMITTED
            assignment.finished_at = timezone.now()
            assignment.save(update_fields=["state", "finished_at"])
            done = item.done_count + 1
            if done >= item.target_overlap:
                from .tasks import schedule_item_scoring

                transaction.on_commit(lambda: schedule_item_scoring(item.pk))
    except IntegrityError:
        # A concurrent retry with the same key won the race: return its result.
        existing = Annotation.objects.filter(contributor=user, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return SubmitResult(existing, created=False)
    return SubmitResult(annotation, created=True)


__all__ = ["SchemaError", "SubmissionRefused", "SubmitResult", "submit_annotation"]


def score_item_consensus(item_id: int):
    """Recompute one item's consensus from all its answers; idempotent, safe to re-run.

    After ``target_overlap`` answers: finalised when confident enough, else one more answer is
    requested (dynamic overlap) until ``max_overlap``, then the item is disputed (expert review).
    """
    from tasks.services import request_more_answers

    from .models import Consensus

    item = Item.objects.select_related("campaign").filter(pk=item_id).first()
    if item is None:
        return None
    campaign = item.campaign
    answers = list(
        Annotation.objects.filter(item=item).order_by("id").values_list("payload", flat=True)
    )
    with transaction.atomic():
        consensus, _created = Consensus.objects.select_for_update().get_or_create(
            item=item, defaults={"campaign": campaign}
        )
        consensus.n_answers = len(answers)
        if not answers:
            consensus.state = Consensus.State.COLLECTING
            consensus.save()
            return consensus
        try:
            aggregate = campaign.task.aggregate(answers, config=campaign.config)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            # Legacy data that no longer fits the schema must not crash the worker.
            consensus.method = "error"
            consensus.result = {"error": str(exc)[:500]}
            consensus.save()
            return consensus
        consensus.result = aggregate.result
        consensus.confidence = aggregate.confidence
        consensus.agreement = aggregate.agreement
        consensus.method = aggregate.method
        consensus.algorithm_version = aggregate.version
        if len(answers) < item.target_overlap:
            consensus.state = Consensus.State.COLLECTING
        elif aggregate.confidence >= campaign.confidence_threshold:
            consensus.state = Consensus.State.FINALISED
        elif request_more_answers(item_id=item.pk, up_to=campaign.max_overlap):
            consensus.state = Consensus.State.NEEDS_MORE
        else:
            consensus.state = Consensus.State.DISPUTED
        consensus.save()
    return consensus
