"""Writes of the assist app: backend calls with their circuit breaker, suggestions, the queue's priorities
from uncertainty, stop-when-sure, what the page showed (exposures) and how the answer treated it."""
from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations.models import Annotation, Consensus
from core.schema import SchemaError
from tasks.models import Assignment, Item
from tasks.services import set_item_priorities
from workqueue.counters import stop_collecting

from . import acceptance, uncertainty
from .client import BATCH_SIZE, PROTOCOL, CallFailed, call, parse_suggestions
from .models import AssistSettings, BackendCall, Exposure, ModelBackend, Suggestion
from .tokens import seal

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


# --- configuration ------------------------------------------------------------------------------------------

def settings_for(campaign) -> AssistSettings:
    """The campaign's settings row (the defaults, unsaved, when it has none)."""
    try:
        return campaign.assist_settings
    except AssistSettings.DoesNotExist:
        return AssistSettings(campaign=campaign)


def set_token(*, backend: ModelBackend, token: str) -> None:
    backend.token_encrypted = seal(token.strip())
    backend.save(update_fields=["token_encrypted"])


def primary_backend(campaign_id: int) -> ModelBackend | None:
    """The backend whose suggestion the page shows: the campaign's first enabled one."""
    return ModelBackend.objects.filter(campaign_id=campaign_id, enabled=True).order_by("id").first()


# --- circuit breaker ----------------------------------------------------------------------------------------

def breaker_state(backend: ModelBackend, now=None) -> str:
    """closed (calls go), open (refused until the cool-down ends), half_open (one trial call may go)."""
    if backend.breaker_opened_at is None:
        return CLOSED
    now = now or timezone.now()
    if now - backend.breaker_opened_at < timedelta(seconds=backend.breaker_cooldown_seconds):
        return OPEN
    return HALF_OPEN


def _admit(backend: ModelBackend) -> bool:
    """Whether a call may go now. A half-open breaker lets one caller through: it re-arms the cool-down in a
    guarded UPDATE, so concurrent callers see it open until the trial's result closes or reopens it."""
    state = breaker_state(backend)
    if state == CLOSED:
        return True
    if state == OPEN:
        return False
    claimed = ModelBackend.objects.filter(pk=backend.pk, breaker_opened_at=backend.breaker_opened_at).update(
        breaker_opened_at=timezone.now())
    return bool(claimed)


def _record(backend: ModelBackend, kind: str, outcome: str, *, items: int = 0, suggestions: int = 0,
            refused: int = 0, duration_ms: int = 0, http_status=None, detail: str = "") -> BackendCall:
    now = timezone.now()
    if outcome == BackendCall.Outcome.OK:
        ModelBackend.objects.filter(pk=backend.pk).update(consecutive_failures=0, breaker_opened_at=None,
                                                          last_success_at=now)
    elif outcome != BackendCall.Outcome.BREAKER_OPEN:
        with transaction.atomic():
            row = ModelBackend.objects.select_for_update().get(pk=backend.pk)
            row.consecutive_failures += 1
            if row.consecutive_failures >= row.breaker_threshold or row.breaker_opened_at is not None:
                row.breaker_opened_at = now  # opened, or a failed half-open trial: open again
            row.save(update_fields=["consecutive_failures", "breaker_opened_at"])
    return BackendCall.objects.create(backend=backend, kind=kind, outcome=outcome, items=items,
                                      suggestions=suggestions, refused=refused, duration_ms=duration_ms,
                                      http_status=http_status, detail=detail[:500])


def _campaign_block(campaign) -> dict:
    return {"id": campaign.pk, "task_type": campaign.task_type, "config": campaign.config}


# --- predict ------------------------------------------------------------------------------------------------

class BreakerOpen(Exception):
    """The call was not made: the backend's breaker is open."""


def predict(*, backend: ModelBackend, item_ids: list[int]) -> int:
    """Ask one backend about up to BATCH_SIZE items; store the valid suggestions. Returns how many were stored.
    Raises CallFailed (the caller retries the transient ones) or BreakerOpen."""
    campaign = backend.campaign
    items = list(Item.objects.filter(campaign=campaign, pk__in=item_ids[:BATCH_SIZE]).only("id", "payload"))
    if not items:
        return 0
    if not _admit(backend):
        _record(backend, BackendCall.Kind.PREDICT, BackendCall.Outcome.BREAKER_OPEN, items=len(items))
        raise BreakerOpen
    task = campaign.task
    body = {"protocol": PROTOCOL, "campaign": _campaign_block(campaign),
            "items": [{"id": it.pk, "data": task.contributor_payload(it.payload)} for it in items]}
    try:
        data, duration = call(backend, "POST", "/predict", body)
        found, malformed = parse_suggestions(data, {it.pk for it in items})
    except CallFailed as failure:
        _record(backend, BackendCall.Kind.PREDICT, failure.outcome, items=len(items), http_status=failure.http_status,
                duration_ms=failure.duration_ms, detail=failure.detail)
        raise
    version = str(data.get("model_version") or "")[:200]
    by_id = {it.pk: it for it in items}
    strategy = settings_for(campaign).strategy
    measure = strategy if strategy in uncertainty.STRATEGIES else "least_confident"
    now = timezone.now()
    rows, refused = [], malformed
    for entry in found:
        item = by_id[entry["item"]]
        try:
            answer = task.validate_annotation(entry["answer"], config=campaign.config, item_payload=item.payload,
                                              view={})
        except (SchemaError, ValueError, TypeError, KeyError):
            refused += 1  # never stored, never shown: the page could not hold it, nor could an answer
            continue
        rows.append(Suggestion(item_id=item.pk, backend=backend, campaign_id=campaign.pk, answer=answer,
                               score=entry["score"], distribution=entry["distribution"],
                               uncertainty=uncertainty.uncertainty(entry["distribution"], entry["score"], measure),
                               model_version=version, updated_at=now))
    Suggestion.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["item", "backend"],
        update_fields=["answer", "score", "distribution", "uncertainty", "model_version", "updated_at"])
    outcome = BackendCall.Outcome.WRONG_SCHEMA if refused and not rows else BackendCall.Outcome.OK
    _record(backend, BackendCall.Kind.PREDICT, outcome, items=len(items), suggestions=len(rows), refused=refused,
            duration_ms=duration, detail=f"{refused} suggestion(s) refused: wrong schema" if refused else "")
    if version:
        ModelBackend.objects.filter(pk=backend.pk).update(model_version=version)
    if rows:
        rerank(campaign=campaign, item_ids=[r.item_id for r in rows])
    return len(rows)


def items_needing_suggestions(backend: ModelBackend, *, only_missing: bool) -> list[int]:
    """Open items (and gold items, which measure the backend) the backend should be asked about."""
    qs = Item.objects.filter(campaign_id=backend.campaign_id).filter(open_slots__gt=0) | Item.objects.filter(
        campaign_id=backend.campaign_id, is_gold=True)
    if only_missing:
        qs = qs.exclude(suggestions__backend=backend)
    return list(qs.order_by("id").values_list("id", flat=True).distinct())


# --- train --------------------------------------------------------------------------------------------------

def train(*, backend: ModelBackend) -> int:
    """Send the campaign's finalised consensus answers to /train. Returns how many examples went."""
    campaign = backend.campaign
    if not _admit(backend):
        _record(backend, BackendCall.Kind.TRAIN, BackendCall.Outcome.BREAKER_OPEN)
        raise BreakerOpen
    rows = (Consensus.objects.filter(campaign=campaign, state=Consensus.State.FINALISED)
            .select_related("item").order_by("item_id"))
    task = campaign.task
    examples = [{"item": c.item_id, "data": task.contributor_payload(c.item.payload), "answer": c.result}
                for c in rows]
    body = {"protocol": PROTOCOL, "campaign": _campaign_block(campaign), "examples": examples}
    try:
        data, duration = call(backend, "POST", "/train", body)
    except CallFailed as failure:
        _record(backend, BackendCall.Kind.TRAIN, failure.outcome, items=len(examples),
                http_status=failure.http_status, duration_ms=failure.duration_ms, detail=failure.detail)
        raise
    version = str(data.get("model_version") or "")[:200]
    _record(backend, BackendCall.Kind.TRAIN, BackendCall.Outcome.OK, items=len(examples), duration_ms=duration,
            detail=f"trained on {data.get('trained_on', len(examples))}")
    if version:
        ModelBackend.objects.filter(pk=backend.pk).update(model_version=version)
    return len(examples)


def check_health(*, backend: ModelBackend) -> BackendCall:
    """GET /health (the admin's "check now"): recorded like any call, breaker included."""
    try:
        data, duration = call(backend, "GET", "/health")
    except CallFailed as failure:
        return _record(backend, BackendCall.Kind.HEALTH, failure.outcome, http_status=failure.http_status,
                       duration_ms=failure.duration_ms, detail=failure.detail)
    types = data.get("task_types") or []
    detail = "" if backend.campaign.task_type in types else f"does not list {backend.campaign.task_type}"
    return _record(backend, BackendCall.Kind.HEALTH, BackendCall.Outcome.OK, duration_ms=duration, detail=detail)


# --- active learning ----------------------------------------------------------------------------------------

def rerank(*, campaign, item_ids: list[int]) -> int:
    """Re-rank the campaign's open items after new suggestions (strategy "none": the order is left alone),
    then stop collecting on items the model is sure of when the campaign allows it. Returns items re-ranked."""
    conf = settings_for(campaign)
    changed = 0
    if conf.strategy != AssistSettings.Strategy.NONE:
        changed = set_item_priorities(campaign_id=campaign.pk,
                                      priorities=_priorities(campaign.pk, item_ids, conf.strategy))
    if conf.sure_threshold is not None:
        stop_when_sure(campaign=campaign)
    return changed


def _priorities(campaign_id: int, item_ids: list[int], strategy: str) -> dict[int, int]:
    enabled = list(ModelBackend.objects.filter(campaign_id=campaign_id, enabled=True).order_by("id")
                   .values_list("id", flat=True))
    if not enabled:
        return {}
    rows = Suggestion.objects.filter(item_id__in=item_ids, backend_id__in=enabled[:2]).values_list(
        "item_id", "backend_id", "answer", "distribution", "score")
    by_item: dict[int, dict[int, tuple]] = {}
    for item_id, backend_id, answer, distribution, score in rows:
        by_item.setdefault(item_id, {})[backend_id] = (answer, distribution, score)
    out = {}
    for item_id, found in by_item.items():
        if strategy == AssistSettings.Strategy.DISAGREEMENT:
            if len(found) < 2:
                continue
            (a_answer, a_dist, _a), (b_answer, b_dist, _b) = (found[b] for b in enabled[:2])
            value = uncertainty.disagreement(a_answer, a_dist, b_answer, b_dist)
        else:
            first = found.get(enabled[0])
            if first is None:
                continue
            value = uncertainty.uncertainty(first[1], first[2], strategy)
        out[item_id] = uncertainty.priority_of(value)
    return out


def gold_check(campaign) -> dict:
    """Whether the primary backend passes the campaign's gold check: at least ``min_gold_items`` gold items
    have its suggestion and at least ``gold_accuracy_required`` of them match the gold answer by the task
    type's own rule (``is_correct``, the one that scores contributors)."""
    conf = settings_for(campaign)
    backend = primary_backend(campaign.pk)
    result = {"checked": 0, "correct": 0, "accuracy": None, "passed": False,
              "required_items": conf.min_gold_items, "required_accuracy": conf.gold_accuracy_required}
    if backend is None:
        return result
    task = campaign.task
    pairs = Suggestion.objects.filter(backend=backend, item__is_gold=True, item__gold_answer__isnull=False
                                      ).values_list("answer", "item__gold_answer")
    for answer, gold in pairs:
        result["checked"] += 1
        try:
            result["correct"] += bool(task.is_correct(answer, gold, config=campaign.config))
        except Exception:  # noqa: BLE001 - a type's comparison refusing an odd answer counts it as wrong
            pass
    if result["checked"]:
        result["accuracy"] = result["correct"] / result["checked"]
        result["passed"] = (result["checked"] >= conf.min_gold_items
                            and result["accuracy"] >= conf.gold_accuracy_required)
    return result


def stop_when_sure(*, campaign) -> int:
    """Stop collecting answers on open regular items whose primary suggestion scores at least the campaign's
    threshold, once the backend passes the gold check. Returns how many items stopped."""
    conf = settings_for(campaign)
    backend = primary_backend(campaign.pk)
    if conf.sure_threshold is None or backend is None or not gold_check(campaign)["passed"]:
        return 0
    sure = list(Suggestion.objects.filter(backend=backend, score__gte=conf.sure_threshold, item__is_gold=False,
                                          item__open_slots__gt=0, stopped_collecting_at__isnull=True)
                .values_list("item_id", flat=True))
    if not sure:
        return 0
    stopped = stop_collecting(campaign_id=campaign.pk, item_ids=sure)
    Suggestion.objects.filter(backend=backend, item_id__in=stopped).update(stopped_collecting_at=timezone.now())
    return len(stopped)


# --- the page -----------------------------------------------------------------------------------------------

def is_control(contributor_id: int, item_id: int, share: float) -> bool:
    """Whether this contributor labels this item without a suggestion: a keyed hash of the pair, uniform in
    [0, 1), below ``share``. Deterministic (a reload or a second device gets the same decision) and not
    guessable from the ids without the server's key."""
    if share <= 0:
        return False
    digest = hmac.new(settings.SECRET_KEY.encode(), f"assist-control:{contributor_id}:{item_id}".encode(),
                      hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < share


def expose(*, assignment: Assignment) -> Exposure | None:
    """Decide and record what the page shows for a leased assignment: the primary backend's suggestion, unless
    the item is gold (it would hand out the answer being checked) or a control for this contributor. None
    when the campaign has no enabled backend. A second call returns the first decision."""
    existing = Exposure.objects.filter(assignment=assignment).select_related("suggestion").first()
    if existing is not None:
        return existing
    backend = primary_backend(assignment.campaign_id)
    if backend is None:
        return None
    conf = settings_for(assignment.campaign)
    control = is_control(assignment.contributor_id, assignment.item_id, conf.control_share)
    suggestion = None
    if not control and not assignment.item.is_gold:
        suggestion = Suggestion.objects.filter(item_id=assignment.item_id, backend=backend).first()
    answer = None
    if suggestion is not None:
        try:
            answer = assignment.campaign.task.suggestion_for_view(suggestion.answer, view=assignment.view or {},
                                                                  config=assignment.campaign.config)
        except Exception:  # noqa: BLE001 - a suggestion the type cannot place is not shown
            logger.warning("suggestion %s could not be placed for assignment %s", suggestion.pk, assignment.pk,
                           exc_info=True)
            suggestion = None
    exposure = Exposure(
        assignment=assignment, campaign_id=assignment.campaign_id, item_id=assignment.item_id,
        contributor_id=assignment.contributor_id, shown=suggestion is not None, control=control,
        policy=conf.policy if suggestion else "", suggestion=suggestion,
        answer=answer, score=suggestion.score if suggestion else None,
        model_version=suggestion.model_version if suggestion else "")
    try:
        with transaction.atomic():
            exposure.save()
    except IntegrityError:  # two tabs asked at once: the first decision stands
        return Exposure.objects.get(assignment=assignment)
    return exposure


# --- what the answer did with it ----------------------------------------------------------------------------

def classify_exposures(*, campaign_id: int | None = None, limit: int = 5000) -> int:
    """Classify shown suggestions whose answer has arrived (accepted / edited / rejected, with distances).
    Run by the beat sweep and before any report or export reads them. Returns how many were classified."""
    qs = Exposure.objects.filter(shown=True, classified_at__isnull=True)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    pending = list(qs.order_by("id")[:limit].values_list("id", "assignment_id", "answer"))
    if not pending:
        return 0
    answers = dict(Annotation.objects.filter(assignment_id__in=[p[1] for p in pending])
                   .values_list("assignment_id", "payload"))
    now = timezone.now()
    done = []
    for exposure_id, assignment_id, suggested in pending:
        if assignment_id not in answers:
            continue
        verdict = acceptance.classify(suggested, answers[assignment_id])
        done.append(Exposure(pk=exposure_id, outcome=verdict.outcome, fields_changed=verdict.fields_changed,
                             chars_changed=verdict.chars_changed, words_changed=verdict.words_changed,
                             classified_at=now))
    Exposure.objects.bulk_update(done, ["outcome", "fields_changed", "chars_changed", "words_changed",
                                        "classified_at"])
    return len(done)


def forget_old_calls(*, days: int = 30) -> int:
    """The call log keeps a month: enough for the health report, bounded at millions of calls."""
    return BackendCall.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()[0]


def reset_breaker(*, backend: ModelBackend) -> None:
    ModelBackend.objects.filter(pk=backend.pk).update(consecutive_failures=0, breaker_opened_at=None)
    backend.refresh_from_db(fields=["consecutive_failures", "breaker_opened_at"])


