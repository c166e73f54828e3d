"""Submit: store one contributor's answer exactly once, count it on its item and schedule the follow-ups.

The page, the API, the fast lane and the tests all call ``submit_annotation``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import orjson
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.models import Annotation
from annotations.telemetry import clean_telemetry
from contributors.services import record_gold_answer
from core import metrics
from core.batching import one_round_trip
from core.rawsql import fetch_prepared, jsonb
from core.schema import SchemaError
from tasks.models import Assignment
from tasks.types import TaskType, get_task_type

from . import counters, followups
from .selectors import LEASE_COLUMNS, LEASE_JOINS


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
    lease: tuple | None = None,
) -> SubmitResult:
    """Store one contributor's answer exactly once and schedule its follow-ups (followups.py).

    Raises Assignment.DoesNotExist for someone else's assignment (a 404), SchemaError for a
    payload that does not fit the task type, SubmissionRefused for a closed assignment. ``lease``: the
    row of ``LEASE_COLUMNS`` a caller read already (selectors.submit_context), not re-read.
    """
    key = (idempotency_key or "").strip()[:100] or None
    # No look-up of the key up front (this is the platform's hottest write): a replay finds its
    # assignment submitted below, and a key reused for another assignment trips the unique index.
    time_spent_ms = max(0, min(int(time_spent_ms or 0), 24 * 3600 * 1000))
    # The follow-ups (authenticity scoring, consensus once the item is full) go to Redis in one round trip.
    with one_round_trip():
        result = _submit(user, assignment_id, payload, telemetry, time_spent_ms, key, lease)
    metrics.count_submit(replayed=not result.created)
    return result


def _submit(user, assignment_id, payload, telemetry, time_spent_ms, key, lease) -> SubmitResult:
    db = connections[DEFAULT_DB_ALIAS]
    try:
        if db.vendor == "postgresql":
            # Its one write is a statement of its own (a savepoint inside a caller's transaction, so a
            # duplicate key does not break that transaction).
            with transaction.atomic() if db.in_atomic_block else contextlib.nullcontext():
                annotation = _submit_open_lease_postgres(
                    user, assignment_id, payload, telemetry, time_spent_ms, key, lease
                )
            if annotation is not None:
                return SubmitResult(annotation, created=True)
        with transaction.atomic():
            assignment = (
                # One statement locks the assignment and its item; not the joined campaign row,
                # which would serialise every submission in the campaign.
                Assignment.objects.select_for_update(of=("self", "item"))
                .select_related("campaign", "item")
                .get(pk=assignment_id, contributor=user)
            )
            if assignment.state == Assignment.State.SUBMITTED:
                previous = Annotation.objects.filter(assignment=assignment).first()
                if key and previous is not None and previous.idempotency_key == key:
                    return SubmitResult(previous, created=False)
                if key and Annotation.objects.filter(contributor=user, idempotency_key=key).exists():
                    raise SubmissionRefused("conflict", _("This Idempotency-Key was used for another assignment."))
                raise SubmissionRefused("already_submitted", _("This task was already submitted."))
            if assignment.state in (Assignment.State.SKIPPED, Assignment.State.REPORTED):
                raise SubmissionRefused("closed", _("This task was skipped or reported and can no longer be submitted."))
            campaign = assignment.campaign
            item = assignment.item
            cleaned = campaign.task.validate_annotation(
                payload, config=campaign.config, item_payload=item.payload, view=assignment.view
            )
            late = assignment.state == Assignment.State.EXPIRED
            # A reclaimed lease's late answer is accepted only if the item still needs one
            # (gold items are never full: every contributor may answer each once).
            if late and item.open_slots <= 0 and not item.is_gold:
                raise SubmissionRefused(
                    "lease_expired",
                    _("Your time for this task ran out and other contributors have completed it."),
                )
            if late and campaign.budget is not None and not counters.reserve_budget(campaign.pk):
                # The expiry gave this lease's cost back and the budget has been committed since.
                raise SubmissionRefused("lease_expired", _("Your time for this task ran out and the campaign's "
                                                           "budget is now fully committed."))
            counters.count_answer(item.pk, late=late, campaign_id=campaign.pk, region=assignment.region)
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
                time_spent_ms=time_spent_ms,
                telemetry=clean_telemetry(telemetry),
                idempotency_key=key,
            )
            campaign.task.on_submit(annotation)  # type-specific follow-up, same transaction
            if gold_correct is not None:
                # Exactly once per answer: inside this transaction, which a replay never reaches.
                record_gold_answer(user=user, task_type=campaign.task_type, correct=gold_correct)
            assignment.state = Assignment.State.SUBMITTED
            assignment.finished_at = timezone.now()
            assignment.save(update_fields=["state", "finished_at"])
            followups.after_submit(annotation_id=annotation.pk, item_id=item.pk,
                                   item_full=item.done_count + 1 >= item.target_overlap)
    except IntegrityError:
        # A concurrent retry with the same key won the race: return its result.
        existing = Annotation.objects.filter(contributor=user, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        if existing.assignment_id != assignment_id:
            raise SubmissionRefused("conflict", _("This Idempotency-Key was used for another assignment.")) from None
        return SubmitResult(existing, created=False)
    return SubmitResult(annotation, created=True)


# The common submission (an open lease on a regular item of a type without an on_submit step) in two
# statements and no transaction: a plain read, then one write that closes the lease only if it is still
# open (state = 'leased': a concurrent submit, skip or expiry sweep makes it match nothing) and, in the
# same statement, counts the answer on its item and stores it. The ORM path above does the same in four
# statements plus BEGIN and COMMIT, and spends more CPU building them than PostgreSQL spends running them
# (README, "The queue"); every other case (replays, expired leases, gold items, types with on_submit, a
# lease that changed under the read) takes the ORM path, under row locks.
_SUBMIT_READ_SQL = (
    f"SELECT {', '.join(LEASE_COLUMNS.values())} FROM {LEASE_JOINS}"
    " WHERE a.id = %(assignment)s AND a.contributor_id = %(user)s"
)
_SUBMIT_WRITE_SQL = f"""
WITH closed AS (
    UPDATE tasks_assignment SET state = %(submitted)s, finished_at = %(now)s
    WHERE id = %(assignment)s AND contributor_id = %(user)s AND state = %(leased)s
    RETURNING item_id
), counted AS (
    UPDATE tasks_item i SET {counters.set_sql(counters.ANSWERED, "i")}
    FROM closed WHERE i.id = closed.item_id
    RETURNING i.done_count, i.target_overlap
), stored AS (
    INSERT INTO annotations_annotation (assignment_id, item_id, campaign_id, contributor_id, payload, is_gold,
        gold_correct, time_spent_ms, telemetry, idempotency_key, created_at)
    SELECT %(assignment)s, closed.item_id, %(campaign)s, %(user)s, %(payload)s::jsonb, false, NULL, %(time)s,
        %(telemetry)s::jsonb, %(key)s, %(now)s
    FROM closed
    RETURNING id
)
SELECT stored.id, counted.done_count, counted.target_overlap FROM stored, counted
"""


def _submit_open_lease_postgres(user, assignment_id, payload, telemetry, time_spent_ms, key,
                                lease=None) -> Annotation | None:
    """The common submission on PostgreSQL; None: nothing was written, take the general path."""
    row = lease if lease is not None else fetch_prepared(_SUBMIT_READ_SQL, {"assignment": assignment_id, "user": user.pk})
    if row is None:
        raise Assignment.DoesNotExist("no such assignment for this contributor")
    state, view, item_id, item_payload, is_gold, campaign_id, task_type, config = row
    if state != Assignment.State.LEASED or is_gold:
        return None
    task = get_task_type(task_type)  # what Campaign.task gives, without building the campaign
    if type(task).on_submit is not TaskType.on_submit:
        return None
    cleaned = task.validate_annotation(payload, config=jsonb(config), item_payload=jsonb(item_payload),
                                      view=jsonb(view))
    now = timezone.now()
    clean = clean_telemetry(telemetry)
    params = {
        "submitted": Assignment.State.SUBMITTED, "leased": Assignment.State.LEASED, "now": now,
        "assignment": assignment_id, "campaign": campaign_id, "user": user.pk,
        "payload": orjson.dumps(cleaned).decode(), "time": time_spent_ms, "telemetry": orjson.dumps(clean).decode(),
        "key": key,
    }
    written = fetch_prepared(_SUBMIT_WRITE_SQL, params)
    if written is None:
        return None  # the lease closed between the read and the write
    annotation_id, done_count, target = written
    annotation = Annotation(
        pk=annotation_id, assignment_id=assignment_id, item_id=item_id, campaign_id=campaign_id, contributor=user,
        payload=cleaned, is_gold=False, gold_correct=None, time_spent_ms=time_spent_ms, telemetry=clean,
        idempotency_key=key, created_at=now,
    )
    annotation._state.adding = False
    annotation._state.db = DEFAULT_DB_ALIAS
    followups.after_submit(annotation_id=annotation_id, item_id=item_id, item_full=done_count >= target)
    return annotation


__all__ = ["SchemaError", "SubmissionRefused", "SubmitResult", "submit_annotation"]
