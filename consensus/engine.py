"""Consensus engine: per-item scoring after submissions and campaign re-scores (Dawid-Skene), trust feeding.

Reads answers and writes Consensus/ConsensusJob/CampaignScoring rows (annotations app's models).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.models import Annotation, CampaignScoring, Consensus, ConsensusJob
from consensus import dawid_skene as ds
from consensus import tasks as jobs  # the module: the jobs call back into the engine
from consensus.dawid_skene import VERSION
from consensus.krippendorff import alpha, counts_from_labels
from contributors.models import TrustScore
from contributors.services import record_consensus_agreements
from core import metrics
from tasks.models import Campaign, Item
from tasks.types.base import TaskType
from workqueue.counters import request_more_answers, request_more_answers_bulk

logger = logging.getLogger(__name__)




# --- consensus scoring --------------------------------------------------------------------------
# One item at a time on submission (debounced), the whole campaign by the re-score job. Both use
# the same state rule (``decide_states``), the same trust bookkeeping (each answer feeds trust at
# most once: ``Consensus.counted_answers`` lists the answers already counted; it is re-read under the
# consensus rows' lock and written in the same transaction as the trust increments) and the same
# aggregation: the task type's ``aggregate`` with trust weights, or Dawid-Skene for types that
# declare categorical questions once the campaign has enough answers per contributor.
# See docs/architecture.md, "Consensus".

STATE_CODES = ("collecting", "needs_more", "finalised", "disputed")
SCORER_VERSION = "2"
AGGREGATION_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError)


def decide_states(*, n_answers, target_overlap, max_overlap: int, confidence, threshold: float,
                  previous_needs_more, is_gold):
    """Vectorised state rule; returns (state code per item, whether one more answer is wanted).

    No answer: collecting. Gold: finalised (the truth is known). Fewer answers than the item's
    target: collecting (needs_more while a requested extra answer is awaited). Then finalised when
    confident enough, else one more answer until ``max_overlap``, then disputed (expert review).
    """
    n = np.asarray(n_answers)
    target = np.asarray(target_overlap)
    conf = np.asarray(confidence, dtype=float)
    state = np.full(n.shape, 3, dtype=np.int8)
    wants_more = (n >= target) & (conf < threshold) & (target < max_overlap)
    state[wants_more] = 1
    state[(n >= target) & (conf >= threshold)] = 2
    waiting = n < target
    state[waiting] = np.where(np.asarray(previous_needs_more)[waiting], 1, 0)
    gold = np.asarray(is_gold, dtype=bool) & (n > 0)
    state[gold] = 2
    wants_more &= ~gold
    state[n == 0] = 0
    wants_more &= n > 0
    return state, wants_more


# Who may take answers out of consensus: the review app registers its expert rejections at start-up
# (review/apps.py). A registry rather than an import: review sits above consensus in the layer order.
_EXCLUSION_SOURCES: list[Callable[..., set[int]]] = []


def register_exclusion_source(source: Callable[..., set[int]]) -> None:
    """``source(item_id=..., campaign_id=...)`` returns answer ids consensus must be computed without."""
    if source not in _EXCLUSION_SOURCES:
        _EXCLUSION_SOURCES.append(source)


def _excluded_answers(*, item_id: int | None = None, campaign_id: int | None = None) -> set[int]:
    """Answers an expert reviewer rejected: consensus is computed without them."""
    out: set[int] = set()
    for source in _EXCLUSION_SOURCES:
        out |= source(item_id=item_id, campaign_id=campaign_id)
    return out


# Who hears that items' consensus is final (payments pays the agreeing answers, payments/apps.py): a registry
# rather than an import, as payments sits above consensus. Handlers get the item ids, on commit; one that
# raises is logged (payments' beat sweep settles what a lost call missed).
_OUTCOME_LISTENERS: list[Callable[[list[int]], object]] = []


def register_outcome_listener(listener: Callable[[list[int]], object]) -> None:
    """``listener(item_ids)`` runs after the consensus of those items was finalised (on commit)."""
    if listener not in _OUTCOME_LISTENERS:
        _OUTCOME_LISTENERS.append(listener)


def _announce_outcomes(item_ids: list[int]) -> None:
    if not item_ids or not _OUTCOME_LISTENERS:
        return

    def run() -> None:
        for listener in _OUTCOME_LISTENERS:
            try:
                listener(item_ids)
            except Exception:  # noqa: BLE001 - the consensus is stored; the listener's sweep repairs
                logger.warning("consensus outcome listener %r failed", listener, exc_info=True)

    transaction.on_commit(run)


def _trust_weights(task_type: str, user_ids) -> dict[int, float]:

    return dict(
        TrustScore.objects.filter(task_type=task_type, contributor__user_id__in=list(user_ids))
        .values_list("contributor__user_id", "score")
    )


DEFAULT_TRUST = 0.5  # a newcomer's trust (contributors.selectors.trust_score)


def _record_trust(task_type: str, flags: list[tuple[int, bool]]) -> None:
    """Feed trust with answers just recorded as counted: ``flags`` = (contributor id, agreed)."""
    if not flags:
        return

    counts: dict[int, list[int]] = {}
    for user_id, agreed in flags:
        entry = counts.setdefault(user_id, [0, 0])
        entry[0] += 1
        entry[1] += int(bool(agreed))
    record_consensus_agreements(task_type=task_type, counts={u: (s, a) for u, (s, a) in counts.items()})


# --- the fitted campaign model, reused between re-scores --------------------------------------
_MODEL_CACHE: dict[tuple[int, str], dict] = {}


def _load_campaign_model(campaign_id: int) -> dict | None:
    """The last Dawid-Skene fit of a campaign (worker ids, log confusion and prior per question)."""


    row = CampaignScoring.objects.filter(campaign_id=campaign_id).values_list("method", "fitted_at").first()
    if row is None or row[0] != "dawid_skene":
        return None
    key = (campaign_id, row[1].isoformat())
    if key not in _MODEL_CACHE:
        blob = CampaignScoring.objects.filter(campaign_id=campaign_id).values_list("parameters", flat=True).first()
        if not blob:
            return None
        with np.load(io.BytesIO(bytes(blob))) as npz:
            arrays = {name: npz[name] for name in npz.files}
        model = {"workers": {int(u): i for i, u in enumerate(arrays.pop("workers"))}, "questions": {}}
        for name in list(arrays):
            if name.startswith("log_conf::"):
                q = name.split("::", 1)[1]
                log_conf = arrays[name].astype(np.float64)
                model["questions"][q] = {
                    "log_conf": log_conf,
                    "log_conf_unknown": np.log(np.exp(log_conf).mean(axis=0)),  # a contributor the fit never saw
                    "log_prior": arrays[f"log_prior::{q}"].astype(np.float64),
                }
        if len(_MODEL_CACHE) > 16:
            _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = model
    return _MODEL_CACHE[key]


def _item_posteriors(model: dict, space: dict[str, list[str]], labels: list[dict[str, int]],
                     user_ids: list[int]) -> dict[str, tuple[str, float]]:
    """One E-step of the campaign's Dawid-Skene fit for a single item's answers."""
    out = {}
    for q, classes in space.items():
        fit = model["questions"].get(q)
        if fit is None or fit["log_prior"].size != len(classes):
            continue
        log_post = fit["log_prior"].copy()
        seen = False
        for user_id, answer in zip(user_ids, labels, strict=True):
            label = answer.get(q, -1)
            if not 0 <= label < len(classes):
                continue
            row = model["workers"].get(user_id)
            log_post += fit["log_conf"][row][:, label] if row is not None else fit["log_conf_unknown"][:, label]
            seen = True
        if not seen:
            continue
        post = np.exp(log_post - log_post.max())
        post /= post.sum()
        best = int(np.argmax(post))
        out[q] = (classes[best], float(post[best]))
    return out


def score_item_consensus(item_id: int):
    """Recompute one item's consensus from all its answers; idempotent, safe to re-run.

    After ``target_overlap`` answers: finalised when confident enough, else one more answer is
    requested (dynamic overlap) until ``max_overlap``, then the item is disputed (expert review).
    Uses the campaign's last Dawid-Skene fit when there is one, else the trust-weighted vote.
    Legacy answers that no longer fit the task type never crash the worker (method "error").
    """

    item = Item.objects.select_related("campaign").filter(pk=item_id).first()
    if item is None:
        return None
    campaign = item.campaign
    task, config = campaign.task, campaign.config
    excluded = _excluded_answers(item_id=item_id)
    rows = [
        r for r in Annotation.objects.filter(item=item).order_by("id")
        .values_list("id", "contributor_id", "payload")
        if r[0] not in excluded
    ]
    answers = [r[2] for r in rows]
    user_ids = [r[1] for r in rows]
    with transaction.atomic():
        consensus, _created = Consensus.objects.select_for_update().get_or_create(
            item=item, defaults={"campaign": campaign}
        )
        if consensus.method == "expert_review":
            return consensus  # a reviewer's correction overrides any computed consensus
        item = Item.objects.get(pk=item_id)  # fresh counters (the target may have grown)
        consensus.n_answers = len(answers)
        if not answers:
            consensus.state = Consensus.State.COLLECTING
            consensus.save()
            return consensus
        try:
            aggregate = _aggregate_one(task, config, answers, user_ids, campaign)
        except AGGREGATION_ERRORS as exc:
            logger.warning("consensus of item %s failed on legacy data: %s", item_id, exc)
            consensus.method = "error"
            consensus.result = {"error": str(exc)[:500]}
            consensus.save()
            return consensus
        consensus.result = aggregate.result
        consensus.confidence = float(aggregate.confidence)
        consensus.agreement = float(aggregate.agreement)
        consensus.method = aggregate.method
        consensus.algorithm_version = f"{SCORER_VERSION}/{aggregate.version}"
        states, wants_more = decide_states(
            n_answers=[len(answers)], target_overlap=[item.target_overlap], max_overlap=campaign.max_overlap,
            confidence=[consensus.confidence], threshold=campaign.confidence_threshold,
            previous_needs_more=[consensus.state == Consensus.State.NEEDS_MORE], is_gold=[item.is_gold],
        )
        state = STATE_CODES[int(states[0])]
        newly_finalised = state == Consensus.State.FINALISED and consensus.state != Consensus.State.FINALISED
        if wants_more[0] and not request_more_answers(item_id=item.pk, up_to=campaign.max_overlap):
            state = Consensus.State.DISPUTED
        consensus.state = state
        flags = []
        verdicts: dict[bool, list[int]] = {True: [], False: []}
        if state == Consensus.State.FINALISED and not item.is_gold:
            counted = set(consensus.counted_answers or [])
            for annotation_id, user_id, payload in rows:
                if annotation_id in counted:
                    continue
                agreed = task.agrees_with_consensus(payload, consensus.result, config=config)
                if agreed is not None:
                    counted.add(annotation_id)
                    flags.append((user_id, bool(agreed)))
                    verdicts[bool(agreed)].append(annotation_id)
            consensus.counted_answers = sorted(counted)
        consensus.save()
        for agreed, ids in verdicts.items():
            if ids:
                Annotation.objects.filter(pk__in=ids).update(agrees_with_consensus=agreed)
        _record_trust(campaign.task_type, flags)
        if state == Consensus.State.FINALISED:
            _announce_outcomes([item.pk])
        if newly_finalised and not item.is_gold:
            _observe_lag(item.pk)
    return consensus


def _observe_lag(item_id: int) -> None:
    """Consensus lag: the item's last answer to this finalisation (after the commit, one indexed read)."""
    def observe() -> None:
        last = Annotation.objects.filter(item_id=item_id).aggregate(last=Max("created_at"))["last"]
        if last is not None:
            metrics.observe_consensus_lag((timezone.now() - last).total_seconds())

    transaction.on_commit(observe)


def _aggregate_one(task, config: dict, answers: list[dict], user_ids: list[int], campaign):
    space = task.label_space(config)
    model = _load_campaign_model(campaign.pk) if space else None
    if model is not None:
        labels = [_safe_labels(task, a, config) for a in answers]
        decided = _item_posteriors(model, space, labels, user_ids)
        if decided:
            aggregate = task.aggregate(answers, config=config)
            aggregate = task.apply_campaign_labels(aggregate, decided, config=config)
            aggregate.method = "dawid_skene"

            aggregate.version = VERSION
            return aggregate
    trust = _trust_weights(campaign.task_type, set(user_ids))
    weights = [float(trust.get(u, DEFAULT_TRUST)) for u in user_ids]
    return task.aggregate(answers, config=config, weights=weights)


# --- whole-campaign re-score ------------------------------------------------------------------


def start_campaign_rescore(*, campaign, trigger: str = "manual", user=None):
    """Create a re-score job for a campaign and enqueue it; an already queued/running job is returned."""

    with transaction.atomic():
        Campaign = type(campaign)
        # Serialise concurrent starts, and against a delete: a campaign deleted meanwhile is not found (404).
        if Campaign.objects.select_for_update().filter(pk=campaign.pk).first() is None:
            raise Campaign.DoesNotExist(f"Campaign {campaign.pk} was deleted.")
        job = ConsensusJob.objects.filter(
            campaign=campaign, status__in=[ConsensusJob.Status.PENDING, ConsensusJob.Status.RUNNING]
        ).first()
        if job is not None:
            return job
        job = ConsensusJob.objects.create(campaign=campaign, trigger=trigger, created_by=user)
        transaction.on_commit(lambda: jobs.run_consensus_job.delay(job.pk))
    return job


def _progress(job, stage: str, progress: float, **fields) -> None:
    if job is None:
        return

    job.stage, job.progress = stage, progress
    ConsensusJob.objects.filter(pk=job.pk).update(stage=stage, progress=progress, **fields)


def rescore_campaign(*, campaign_id: int, job=None) -> dict:
    """Re-score every item of a campaign from the whole answer matrix; returns the figures.

    Idempotent: a re-run recomputes the same consensus, and answers already counted toward trust
    are never counted again, so a job redelivered after a killed worker is harmless.
    """


    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    campaign = Campaign.objects.get(pk=campaign_id)  # DoesNotExist: deleted before the job ran
    task, config = campaign.task, campaign.config
    space = task.label_space(config)
    _progress(job, "reading", 0.05)

    items = _read_items(campaign_id)
    answers = _read_answers(campaign_id, items["row_of"], _excluded_answers(campaign_id=campaign_id),
                            items["counted"])
    timings["read"] = time.perf_counter() - t0
    n_items, n_workers = items["ids"].size, answers["workers"].size
    _progress(job, "aggregating", 0.3, n_answers=answers["item_rows"].size, n_items=n_items)

    t1 = time.perf_counter()
    parsed = [_parse_payload(text) for text in answers["payloads"]]  # distinct payloads only
    per_payload = [_safe_labels(task, p, config) if space else {} for p in parsed]
    questions = {}
    for q, classes in space.items():
        # -2: the answer leaves the question out (e.g. a claim index beyond its item's claims), which is not
        # an error; -1: a class outside the set (legacy data), dropped and counted by clean_labels.
        lut = np.array([lab.get(q, -2) for lab in per_payload] or [-2], dtype=np.int64)
        labels = lut[answers["payload_ids"]] if answers["payload_ids"].size else np.zeros(0, dtype=np.int64)
        answered = labels != -2
        data = ds.clean_labels(answers["item_rows"][answered], answers["worker_rows"][answered], labels[answered],
                               n_items, n_workers, len(classes))
        questions[q] = {"classes": classes, "labels": np.maximum(labels, -1), "data": data}
    per_worker = answers["item_rows"].size / max(n_workers, 1)
    use_ds = bool(space) and n_workers >= 2 and per_worker >= settings.CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR
    trust = _trust_weights(campaign.task_type, answers["workers"].tolist())
    worker_weights = np.array([trust.get(int(u), DEFAULT_TRUST) for u in answers["workers"]], dtype=np.float64)
    for q, entry in questions.items():
        gold = np.full(n_items, -1, dtype=np.int64)
        for row in np.flatnonzero(items["is_gold"]):
            gold_answer = _parse_payload(items["gold"][row])
            gold[row] = _safe_labels(task, gold_answer, config).get(q, -1)
        if use_ds and entry["data"].items.size == 0:  # a question nobody answered (e.g. a claim index
            # beyond every item's claims): nothing to fit, gold stays clamped
            entry.update(decided=gold, posterior=(gold >= 0).astype(np.float64), fit=None)
        elif use_ds:
            fit = ds.dawid_skene(entry["data"], gold=gold)
            entry.update(decided=fit.labels, posterior=fit.confidence, fit=fit)
        else:
            # The tie rule of consensus.voting (first answered wins), as the type's weighted_vote that shapes the
            # stored result: the answers are in item, id order, so trust is credited to the stored result's voters.
            decided, share = ds.majority_vote(entry["data"], worker_weights)
            clamp = gold >= 0
            decided[clamp], share[clamp] = gold[clamp], 1.0
            entry.update(decided=decided, posterior=share, fit=None)
    timings["fit"] = time.perf_counter() - t1
    _progress(job, "aggregating", 0.5)

    t2 = time.perf_counter()
    whole = None
    # A type may have both: fixed questions (label_space, fitted above) and per-item decisions (campaign
    # aggregates, e.g. an image's whole-image class and its objects' classes); the questions then apply on top.
    if n_workers >= 2 and per_worker >= settings.CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR:
        whole = _campaign_aggregates(task, config, items, answers, parsed, worker_weights)
    results = _item_results(task, config, items, answers, parsed, questions, use_ds, worker_weights, whole)
    timings["aggregate_items"] = time.perf_counter() - t2
    _progress(job, "deciding", 0.65)

    t3 = time.perf_counter()
    counts = np.bincount(answers["item_rows"], minlength=n_items)
    states, wants_more = decide_states(
        n_answers=counts, target_overlap=items["target"], max_overlap=campaign.max_overlap,
        confidence=results["confidence"], threshold=campaign.confidence_threshold,
        previous_needs_more=items["state"] == 1, is_gold=items["is_gold"],
    )
    keep = ~items["expert"] & ((counts > 0) | items["has_consensus"])
    method_ok = results["ok"]
    states = np.where(method_ok, states, np.where(items["has_consensus"], items["state"], 0))
    wants_more &= method_ok & keep
    bumped = request_more_answers_bulk(items["ids"][wants_more], up_to=campaign.max_overlap)
    disputed_now = wants_more & ~np.isin(items["ids"], bumped)
    states[disputed_now] = 3
    finalised = (states == 2) & keep & ~items["is_gold"] & method_ok
    v_rows, v_agreed = _trust_verdicts(task, config, answers, parsed, questions, finalised=finalised,
                                       results=results)
    timings["write"] = time.perf_counter() - t3
    _progress(job, "writing", 0.75)
    t4 = time.perf_counter()
    with transaction.atomic():  # consensus rows, their counted answers and the trust they feed: all or nothing
        hold_campaign(campaign_id)
        counted_before = _lock_counted_answers(campaign_id)
        fresh = ~np.isin(answers["ids"][v_rows], np.fromiter(
            (a for ids in counted_before.values() for a in ids), dtype=np.int64))
        v_rows, v_agreed = v_rows[fresh], v_agreed[fresh]
        counted = _counted_lists(items, answers, keep, counted_before, v_rows)
        _write_consensus(campaign_id, items["ids"], keep, states, counts, results, counted)
        newly_counted = _feed_trust(campaign.task_type, answers, v_rows, v_agreed)
    timings["write_and_trust"] = time.perf_counter() - t4
    _progress(job, "report", 0.9)

    t5 = time.perf_counter()
    report = _quality_report_data(items, answers, questions, states, keep, results, use_ds, task, config)
    with transaction.atomic():
        hold_campaign(campaign_id)
        _save_scoring(campaign, questions, answers, report, use_ds)
    timings["report"] = time.perf_counter() - t5
    timings["total"] = time.perf_counter() - t0
    state_counts = {STATE_CODES[s]: int(np.count_nonzero(states[keep] == s)) for s in range(4)}
    return {
        "method": "dawid_skene" if use_ds or whole is not None else "weighted_vote",
        "algorithm_version": f"{SCORER_VERSION}/{ds.VERSION if use_ds else '1'}",
        "n_answers": int(answers["item_rows"].size),
        "n_items": int(np.count_nonzero(keep)),
        "states": state_counts,
        "more_requested": int(len(bumped)),
        "trust_counted": int(newly_counted),
        "dropped_labels": int(sum(e["data"].dropped for e in questions.values())),
        "errors": int(np.count_nonzero(~method_ok & (counts > 0))),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _safe_labels(task, payload, config) -> dict[str, int]:
    """An answer's class indices; legacy data that does not fit gives none (and the item shows "error")."""
    if not isinstance(payload, dict):
        return {}
    try:
        return task.categorical_labels(payload, config)
    except AGGREGATION_ERRORS:
        return {}


def _parse_payload(text):

    if text is None:
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _read_items(campaign_id: int) -> dict:
    """Every item of the campaign with its counters and current consensus state, as arrays."""


    rows = list(
        Item.objects.filter(campaign_id=campaign_id).order_by("id")
        .values_list("id", "is_gold", Cast("gold_answer", TextField()), "target_overlap")
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    existing, counted = {}, {}
    for item_id, state, method, answered in Consensus.objects.filter(campaign_id=campaign_id).values_list(
            "item_id", "state", "method", "counted_answers"):
        existing[item_id] = (state, method)
        if answered:
            counted[item_id] = answered
    state = np.array([STATE_CODES.index(existing[i][0]) if i in existing else 0 for i in ids.tolist()], dtype=np.int8)
    return {
        "ids": ids,
        "row_of": ids,  # sorted: np.searchsorted maps an item id to its row
        "is_gold": np.array([bool(r[1]) for r in rows], dtype=bool),
        "gold": [r[2] for r in rows],
        "target": np.array([r[3] for r in rows], dtype=np.int64),
        "state": state,
        "has_consensus": np.array([i in existing for i in ids.tolist()], dtype=bool),
        "expert": np.array([existing.get(i, ("", ""))[1] == "expert_review" for i in ids.tolist()], dtype=bool),
        "counted": counted,  # item id -> answer ids already counted toward trust
    }


def _read_answers(campaign_id: int, item_ids_sorted, excluded: set[int], counted_by_item: dict) -> dict:
    """All answers of the campaign as integer arrays (item row, worker row, distinct-payload id), by item."""

    qs = (
        # In id order (the (campaign, id) index, no sort of a million rows in the database); grouped by item
        # below with a stable NumPy sort.
        Annotation.objects.filter(campaign_id=campaign_id).order_by("id")
        .values_list("id", "item_id", "contributor_id", Cast("payload", TextField()), "gold_correct")
    )
    payload_index: dict[str, int] = {}
    ids, item_ids, users, pids, gold = [], [], [], [], []
    for annotation_id, item_id, user_id, text, gold_correct in qs.iterator(chunk_size=20000):
        if annotation_id in excluded:
            continue
        ids.append(annotation_id)
        item_ids.append(item_id)
        users.append(user_id)
        pid = payload_index.get(text)
        if pid is None:
            pid = payload_index[text] = len(payload_index)
        pids.append(pid)
        gold.append(-1 if gold_correct is None else int(gold_correct))
    item_rows = np.searchsorted(item_ids_sorted, np.array(item_ids, dtype=np.int64)).astype(np.int64)
    order = np.argsort(item_rows, kind="stable")
    item_rows = item_rows[order]
    users_arr = np.array(users, dtype=np.int64)[order]
    workers, worker_rows = np.unique(users_arr, return_inverse=True)
    ids_arr = np.array(ids, dtype=np.int64)[order]
    counted_ids = np.fromiter((a for ids in counted_by_item.values() for a in ids), dtype=np.int64)
    return {
        "ids": ids_arr,
        "item_rows": item_rows,
        "worker_rows": worker_rows.astype(np.int64).ravel(),
        "workers": workers,
        "users": users_arr,
        "payload_ids": np.array(pids, dtype=np.int64)[order],
        "payloads": list(payload_index),
        "counted": np.isin(ids_arr, counted_ids),
        "gold_correct": np.array(gold, dtype=np.int8)[order],
    }


def _campaign_aggregates(task, config, items, answers, parsed, worker_weights) -> list | None:
    """The type's campaign-wide aggregates (TaskType.campaign_aggregates), one per item row; None when the type
    has none or the answers do not fit it (legacy data: the per-item vote then names the bad item)."""
    if type(task).campaign_aggregates is TaskType.campaign_aggregates:
        return None  # the type has none: no per-item lists built over a large campaign for nothing
    n_items = items["ids"].size
    bounds = np.searchsorted(answers["item_rows"], np.arange(n_items + 1))
    by_item, weights = [], []
    for row in range(n_items):
        lo, hi = bounds[row], bounds[row + 1]
        pairs = [(int(w), parsed[p]) for w, p in zip(answers["worker_rows"][lo:hi], answers["payload_ids"][lo:hi],
                                                      strict=True)]
        fits = all(isinstance(p, dict) for _w, p in pairs)  # else the per-item path reports the item's error
        by_item.append(pairs if fits else [])
        weights.append([float(worker_weights[w]) for w, _p in pairs] if fits else [])
    try:
        whole = task.campaign_aggregates(by_item, weights, config=config)
    except AGGREGATION_ERRORS:
        logger.warning("campaign aggregates of %s failed; per-item vote", type(task).__name__, exc_info=True)
        return None
    if whole is None:
        return None
    return [agg if by_item[row] else None for row, agg in enumerate(whole)]


def _item_results(task, config, items, answers, parsed, questions, use_ds, worker_weights, whole=None) -> dict:
    """Each item's result dict, confidence, agreement and method from the type and the campaign fit.

    The type's ``aggregate`` shapes each item's result (it knows the payload); the loop is over items,
    the statistics themselves were computed on whole arrays above.
    """

    n_items = items["ids"].size
    item_rows = answers["item_rows"]
    bounds = np.searchsorted(item_rows, np.arange(n_items + 1))
    confidence = np.zeros(n_items)
    agreement = np.zeros(n_items)
    ok = np.ones(n_items, dtype=bool)
    result: list = [None] * n_items
    method: list = [""] * n_items
    version: list = [""] * n_items
    weights_per_answer = worker_weights[answers["worker_rows"]] if worker_weights.size else np.zeros(0)
    cache: dict[tuple, object] = {}
    for row in range(n_items):
        lo, hi = bounds[row], bounds[row + 1]
        if lo == hi:
            continue
        pids = answers["payload_ids"][lo:hi]
        try:
            if use_ds:
                if whole is not None and whole[row] is not None:
                    aggregate = dataclasses.replace(whole[row])  # the type's campaign-wide decisions first
                else:
                    # Items with the same multiset of answers share the type's aggregate (categorical campaigns
                    # have few distinct answers); the campaign-level decision is then applied per item.
                    key = tuple(sorted(pids.tolist()))
                    shared = cache.get(key)
                    if shared is None:
                        payloads = [parsed[p] for p in key]
                        if any(p is None for p in payloads):
                            raise ValueError("an answer is not valid JSON")
                        shared = cache[key] = task.aggregate(payloads, config=config)
                    aggregate = dataclasses.replace(shared)
                decided = {
                    q: (e["classes"][int(e["decided"][row])], float(e["posterior"][row]))
                    for q, e in questions.items() if e["decided"][row] >= 0
                }
                aggregate = task.apply_campaign_labels(aggregate, decided, config=config)
                aggregate.method, aggregate.version = "dawid_skene", ds.VERSION
            elif whole is not None and whole[row] is not None:
                aggregate = whole[row]  # decided from the whole campaign (TaskType.campaign_aggregates)
                aggregate.version = ds.VERSION
            else:
                payloads = [parsed[p] for p in pids]
                if any(p is None for p in payloads):
                    raise ValueError("an answer is not valid JSON")
                aggregate = task.aggregate(payloads, config=config, weights=weights_per_answer[lo:hi].tolist())
                if questions and items["is_gold"][row]:
                    aggregate.confidence = 1.0
        except AGGREGATION_ERRORS as exc:
            ok[row] = False
            result[row] = {"error": str(exc)[:500]}
            method[row] = "error"
            continue
        result[row] = aggregate.result
        confidence[row] = float(aggregate.confidence)
        agreement[row] = float(aggregate.agreement)
        method[row] = aggregate.method
        version[row] = f"{SCORER_VERSION}/{aggregate.version}"
    return {"result": result, "confidence": confidence, "agreement": agreement, "method": method,
            "version": version, "ok": ok}


_COMPARED = ("state", "result", "confidence", "agreement", "method", "algorithm_version", "n_answers",
             "counted_answers")
_CONSENSUS_COLUMNS = ("item_id", "campaign_id", "state", "result", "confidence", "agreement", "method",
                      "algorithm_version", "n_answers", "counted_answers", "updated_at")


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format (JSON from orjson has no raw tabs or newlines)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json(value) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # a type's result holding something orjson does not know

        return json.dumps(value, ensure_ascii=False, default=str)


def _copy_line(r: tuple, stamp: str) -> str:
    item_id, campaign_id, state, res, conf, agr, method, version, n, answered, _now = r
    return (
        f"{item_id}\t{campaign_id}\t{state}\t{_copy_text(_json(res))}\t{conf!r}\t{agr!r}\t"
        f"{_copy_text(method)}\t{_copy_text(version)}\t{n}\t{_json(answered)}\t{stamp}\n"
    )


def _write_consensus(campaign_id: int, item_ids, keep, states, counts, results, counted) -> None:
    """Upsert the consensus rows: COPY into a temporary table then one INSERT ... ON CONFLICT on PostgreSQL."""



    now = timezone.now()
    rows = []
    for row in keep.nonzero()[0].tolist():
        res = results["result"][row]
        rows.append((
            int(item_ids[row]), campaign_id, STATE_CODES[int(states[row])],
            res if res is not None else {}, float(results["confidence"][row]), float(results["agreement"][row]),
            results["method"][row], results["version"][row], int(counts[row]), counted[row] or [], now,
        ))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            columns = ", ".join(_CONSENSUS_COLUMNS)
            cursor.execute("DROP TABLE IF EXISTS consensus_load")  # a caller's outer transaction may hold one
            cursor.execute(
                f"CREATE TEMP TABLE consensus_load ON COMMIT DROP AS SELECT {columns} FROM annotations_consensus "
                "WITH NO DATA"
            )
            with cursor.copy(f"COPY consensus_load ({columns}) FROM STDIN") as copy:
                stamp = now.isoformat()
                for start in range(0, len(rows), 5000):
                    copy.write("".join(_copy_line(r, stamp) for r in rows[start:start + 5000]))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _CONSENSUS_COLUMNS[2:])
            cursor.execute(
                f"INSERT INTO annotations_consensus ({columns}) SELECT {columns} FROM consensus_load "
                f"ON CONFLICT (item_id) DO UPDATE SET {updates} "
                "WHERE annotations_consensus.method <> 'expert_review' AND ("
                + ", ".join(f"annotations_consensus.{c}" for c in _COMPARED) + ") IS DISTINCT FROM ("
                + ", ".join(f"EXCLUDED.{c}" for c in _COMPARED) + ")"  # unchanged rows are not rewritten
            )
        return
    existing = {
        c.item_id: c for c in Consensus.objects.filter(campaign_id=campaign_id).exclude(method="expert_review")
    }
    new, changed = [], []
    for item_id, _campaign, state, res, conf, agr, method, version, n, answered, _now in rows:
        c = existing.get(item_id) or Consensus(item_id=item_id, campaign_id=campaign_id)
        c.state, c.result, c.confidence, c.agreement = state, res, conf, agr
        c.method, c.algorithm_version, c.n_answers, c.counted_answers = method, version, n, answered
        (changed if c.pk else new).append(c)
    with transaction.atomic():
        Consensus.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        Consensus.objects.bulk_update(
            changed, ["state", "result", "confidence", "agreement", "method", "algorithm_version", "n_answers",
                      "counted_answers", "updated_at"], batch_size=2000,
        )


def _trust_verdicts(task, config, answers, parsed, questions, *, finalised, results):
    """(answer rows, agreed) for answers of finalised items not yet counted toward trust."""
    rows = np.flatnonzero(finalised[answers["item_rows"]] & ~answers["counted"])
    if rows.size == 0 or questions:
        agreed = np.ones(rows.size, dtype=bool)
        labelled = np.zeros(rows.size, dtype=bool)
        for q, entry in questions.items():
            mine = entry["labels"][rows]
            decided = entry["decided"][answers["item_rows"][rows]]
            # An ordinal question (a rating scale) agrees within one step, as the types' is_correct does.
            tolerance = 1 if task.label_metric(q, config) == "ordinal" else 0
            agreed &= (mine < 0) | (np.abs(mine - decided) <= tolerance)
            labelled |= mine >= 0
        return rows[labelled], agreed[labelled]  # an answer with no label (an abstention) is not compared
    keep, verdicts = [], []
    for r in rows.tolist():
        payload = parsed[answers["payload_ids"][r]]
        verdict = None
        if payload is not None:
            verdict = task.agrees_with_consensus(payload, results["result"][answers["item_rows"][r]] or {},
                                                 config=config)
        if verdict is not None:
            keep.append(r)
            verdicts.append(bool(verdict))
    return np.array(keep, dtype=np.int64), np.array(verdicts, dtype=bool)


def delete_draft_campaign(*, campaign: Campaign) -> str:
    """Delete a draft campaign without answers; returns "" when deleted, else why not (for a 409).

    Here, with the consensus jobs: a delete must be serialised against a re-score of the same campaign.

    The row is locked first, so a re-score job's writes (which hold it with FOR NO KEY UPDATE,
    hold_campaign below) finish before the delete's cascade or see the campaign gone;
    a queued or running (not stale) re-score refuses the delete.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise Campaign.DoesNotExist(f"Campaign {campaign.pk} was deleted.")
        if locked.status != Campaign.Status.DRAFT or locked.annotations.exists():
            return _("Only a draft campaign without answers can be deleted; archive it instead "
                     "(PATCH status=archived).")
        fresh = timezone.now() - timedelta(seconds=settings.CONSENSUS_JOB_STALE_SECONDS)
        if ConsensusJob.objects.filter(campaign=locked, created_at__gte=fresh,
                                       status__in=[ConsensusJob.Status.PENDING, ConsensusJob.Status.RUNNING]).exists():
            return _("A re-score of this campaign is queued or running; delete it when the job has finished.")
        locked.delete()
    return ""


def hold_campaign(campaign_id: int) -> None:
    """Lock the campaign row against a delete until the transaction ends; DoesNotExist when it is gone.

    FOR NO KEY UPDATE: conflicts with the DELETE's FOR UPDATE (so the job's inserts and the delete's
    cascade never interleave into a foreign-key violation at commit) but not with the key-share locks
    that answers' foreign-key checks take.
    """
    if not Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).values_list("pk").first():
        raise Campaign.DoesNotExist(f"Campaign {campaign_id} was deleted.")


def _lock_counted_answers(campaign_id: int) -> dict[int, list[int]]:
    """Lock the campaign's consensus rows and read which answers already fed trust (a per-item scorer
    may have counted some since the read)."""

    return {
        item_id: answered
        for item_id, answered in Consensus.objects.select_for_update().filter(campaign_id=campaign_id)
        .values_list("item_id", "counted_answers")
        if answered
    }


def _counted_lists(items, answers, keep, counted_before: dict, v_rows) -> list:
    """Per item row: the answer ids counted toward trust after this run (before + newly counted)."""
    n_items = items["ids"].size
    new_item_rows = answers["item_rows"][v_rows]
    new_ids = answers["ids"][v_rows]
    bounds = np.searchsorted(new_item_rows, np.arange(n_items + 1))
    out: list = [None] * n_items
    for row in np.flatnonzero(keep).tolist():
        before = counted_before.get(int(items["ids"][row]), [])
        lo, hi = bounds[row], bounds[row + 1]
        out[row] = sorted(before + new_ids[lo:hi].tolist()) if hi > lo else before
    return out


def _feed_trust(task_type: str, answers, v_rows, v_agreed) -> int:
    """Add the newly counted answers to their contributors' trust (one bulk update)."""
    if v_rows.size == 0:
        return 0

    workers = answers["worker_rows"][v_rows]
    n_workers = answers["workers"].size
    seen = np.bincount(workers, minlength=n_workers)
    agreed = np.bincount(workers, weights=v_agreed, minlength=n_workers)
    record_consensus_agreements(task_type=task_type, counts={
        int(answers["workers"][w]): (int(seen[w]), int(agreed[w])) for w in np.flatnonzero(seen)
    })
    return int(v_rows.size)


def _quality_report_data(items, answers, questions, states, keep, results, use_ds, task, config) -> dict:
    """Krippendorff's alpha per question, answer-vs-consensus confusion, per-contributor estimates."""

    n_items = items["ids"].size
    n_workers = answers["workers"].size
    report: dict = {"questions": {}, "method": "dawid_skene" if use_ds else "weighted_vote"}
    worker_answers = np.bincount(answers["worker_rows"], minlength=n_workers)
    ds_acc = np.zeros(n_workers)
    ds_weight = np.zeros(n_workers)
    agree = np.zeros(n_workers)
    compared = np.zeros(n_workers)
    for q, e in questions.items():
        data, k = e["data"], len(e["classes"])
        if data.items.size == 0 and not data.dropped:
            continue  # a question nobody answered is not reported
        metric = task.label_metric(q, config)
        counts = counts_from_labels(data.items, data.labels, n_items, k)
        a = alpha(counts, metric=metric)
        decided = e["decided"]
        has = decided[data.items] >= 0
        confusion = np.bincount(decided[data.items][has] * k + data.labels[has], minlength=k * k).reshape(k, k)
        entry = {
            "classes": e["classes"], "metric": metric, "alpha": None if a is None else round(a, 4),
            "n_answers": int(data.items.size), "dropped_answers": int(data.dropped),
            "confusion": confusion.tolist(),  # rows: consensus class, columns: answered class
        }
        matches = (decided[data.items] == data.labels) & has
        agree += np.bincount(data.workers, weights=matches, minlength=n_workers)
        compared += np.bincount(data.workers, weights=has, minlength=n_workers)
        fit = e.get("fit")
        if fit is not None:
            entry["priors"] = [round(float(p), 4) for p in fit.priors]
            entry["iterations"], entry["converged"] = fit.n_iter, bool(fit.converged)
            per = np.bincount(data.workers, minlength=n_workers)
            ds_acc += fit.worker_accuracy() * per
            ds_weight += per
            top = np.argsort(-per)[:20]
            entry["contributor_confusion"] = {
                str(int(answers["workers"][w])): np.round(fit.confusion[w], 3).tolist() for w in top if per[w] > 0
            }
        report["questions"][q] = entry
    gold_seen = np.bincount(answers["worker_rows"], weights=answers["gold_correct"] >= 0, minlength=n_workers)
    gold_right = np.bincount(answers["worker_rows"], weights=answers["gold_correct"] == 1, minlength=n_workers)
    contributors = []
    order = np.argsort(-worker_answers)[:5000]
    for w in order.tolist():
        contributors.append({
            "user_id": int(answers["workers"][w]),
            "answers": int(worker_answers[w]),
            "agreement_with_consensus": round(float(agree[w] / compared[w]), 4) if compared[w] else None,
            "estimated_accuracy": round(float(ds_acc[w] / ds_weight[w]), 4) if ds_weight[w] else None,
            "gold_seen": int(gold_seen[w]), "gold_correct": int(gold_right[w]),
        })
    report["contributors"] = contributors
    kept = keep & (np.bincount(answers["item_rows"], minlength=n_items) > 0)
    report["mean_confidence"] = round(float(results["confidence"][kept].mean()), 4) if kept.any() else None
    report["mean_agreement"] = round(float(results["agreement"][kept].mean()), 4) if kept.any() else None
    report["states"] = {STATE_CODES[s]: int(np.count_nonzero(states[keep] == s)) for s in range(4)}
    return report


def _save_scoring(campaign, questions, answers, report, use_ds) -> None:


    blob = b""
    if use_ds:
        arrays = {"workers": answers["workers"]}
        for q, e in questions.items():
            if e.get("fit") is not None:
                arrays[f"log_conf::{q}"] = np.log(e["fit"].confusion).astype(np.float32)
                arrays[f"log_prior::{q}"] = np.log(e["fit"].priors).astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        blob = buffer.getvalue()
    CampaignScoring.objects.update_or_create(
        campaign=campaign,
        defaults={
            "method": "dawid_skene" if use_ds else "weighted_vote",
            "algorithm_version": f"{SCORER_VERSION}/{ds.VERSION if use_ds else '1'}",
            "n_answers": int(answers["ids"].size), "report": report, "parameters": blob,
            "fitted_at": timezone.now(),
        },
    )
