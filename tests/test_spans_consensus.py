"""Span consensus on synthetic crowds with known truth, and planted bugs that must make a check fail.

Items are sequences of one-character tokens with random non-overlapping true spans; a contributor of
accuracy p keeps each true span with probability p and otherwise shifts a boundary, mislabels or drops
it, and adds a spurious span with probability (1 - p) / 2. Each planted bug monkeypatches the real
function (task_types.spans.core, which the type calls through the module) with a wrong variant; the
suite passes only if every check passes unplanted and every bug breaks at least the check it names.
"""
from __future__ import annotations

import random

import pytest

from task_types.spans import core
from tasks.types import get_task_type

SPANS = get_task_type("spans")
LABELS = ["PER", "LOC", "ORG"]
CONFIG = SPANS.validate_config({"labels": [{"value": v} for v in LABELS]})
OVERLAP = {**CONFIG, "match": "overlap"}


def truth_spans(rng: random.Random, length: int = 40) -> list[dict]:
    spans, at = [], rng.randint(0, 3)
    while at < length - 4:
        width = rng.randint(1, 4)
        spans.append({"start": at, "end": at + width, "label": rng.choice(LABELS)})
        at += width + rng.randint(2, 6)
    return spans


def noisy(rng: random.Random, truth: list[dict], p: float) -> list[dict]:
    out = []
    for span in truth:
        roll = rng.random()
        if roll < p:
            out.append(dict(span))
        elif roll < p + (1 - p) / 3:
            shift = rng.choice([("start", -1), ("end", 1), ("end", -1)] if span["end"] - span["start"] > 1
                               else [("start", -1), ("end", 1)])
            out.append({**span, shift[0]: max(0, span[shift[0]] + shift[1])})
        elif roll < p + 2 * (1 - p) / 3:
            out.append({**span, "label": rng.choice([x for x in LABELS if x != span["label"]])})
    if rng.random() < (1 - p) / 2:
        start = rng.randint(0, 60)
        out.append({"start": start, "end": start + 2, "label": rng.choice(LABELS)})
    return [{**s, "id": f"s{i}"} for i, s in enumerate(out)]


def crowd(seed: int, p: float, n_items: int = 40, n_people: int = 5):
    rng = random.Random(seed)
    truths = [truth_spans(rng) for _ in range(n_items)]
    return truths, [[noisy(rng, t, p) for _ in range(n_people)] for t in truths]


def f1(found: list[dict], truth: list[dict]) -> float:
    return core.span_f1([{**s} for s in found], truth, mode="exact")


# --- the checks ----------------------------------------------------------------------------------------------

CHECKS: dict = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


@check
def check_f1_needs_labels_and_a_one_to_one_matching():
    a = [{"start": 0, "end": 4, "label": "PER"}]
    assert core.span_f1(a, [{"start": 0, "end": 4, "label": "LOC"}]) == 0.0
    # Two spans overlap one: only one of them may be matched (F1 = 2*1/3).
    two = [{"start": 0, "end": 3, "label": "PER"}, {"start": 1, "end": 4, "label": "PER"}]
    assert core.span_f1(two, a, mode="overlap", threshold=0.5) == pytest.approx(2 / 3)
    tokens = [[i, i + 1] for i in range(6)]
    assert core.token_f1(a, [{"start": 0, "end": 2, "label": "PER"}], tokens) == pytest.approx(2 * 2 / 6)


@check
def check_consensus_recovers_the_truth_from_a_noisy_crowd():
    truths, answers = crowd(seed=1, p=0.75)
    scores, spurious = [], 0
    for truth, people in zip(truths, answers, strict=True):
        result = SPANS.aggregate([{"spans": a} for a in people], config=CONFIG).result["spans"]
        scores.append(f1(result, truth))
        spurious += sum(1 for s in result if not any((s["start"], s["end"]) == (t["start"], t["end"]) for t in truth))
    assert sum(scores) / len(scores) >= 0.93, sum(scores) / len(scores)
    assert spurious <= 1, spurious  # of ~240 kept spans


@check
def check_agreement_rises_with_accuracy():
    means = []
    for p in (0.5, 0.7, 0.9):
        _truths, answers = crowd(seed=2, p=p)
        agreements = [SPANS.aggregate([{"spans": a} for a in people], config=CONFIG).agreement for people in answers]
        means.append(sum(agreements) / len(agreements))
    assert means[0] < means[1] < means[2], means
    assert means[2] > 0.8


@check
def check_trust_weights_outvote_a_colluding_low_trust_majority():
    truth = [{"id": "t", "start": 2, "end": 6, "label": "ORG"}]
    wrong = [{"id": "t", "start": 2, "end": 6, "label": "LOC"}]
    answers = [{"spans": truth}] * 2 + [{"spans": wrong}] * 3
    result = SPANS.aggregate(answers, config=CONFIG, weights=[3.0, 3.0, 0.5, 0.5, 0.5]).result["spans"]
    assert [(s["label"], s["agreement"]) for s in result] == [("ORG", pytest.approx(6 / 7.5))]
    # A span only low-trust contributors drew is not kept.
    extra = [{"id": "x", "start": 10, "end": 12, "label": "PER"}]
    answers = [{"spans": truth}] * 2 + [{"spans": truth + extra}] * 3
    result = SPANS.aggregate(answers, config=CONFIG, weights=[3.0, 3.0, 0.5, 0.5, 0.5]).result["spans"]
    assert [s["start"] for s in result] == [2]


@check
def check_overlap_matching_merges_shifted_boundaries():
    truths, answers = crowd(seed=3, p=0.55, n_items=30)
    exact = overlap = 0.0
    for truth, people in zip(truths, answers, strict=True):
        exact += SPANS.aggregate([{"spans": a} for a in people], config=CONFIG).agreement
        overlap += SPANS.aggregate([{"spans": a} for a in people], config=OVERLAP).agreement
        result = SPANS.aggregate([{"spans": a} for a in people], config=OVERLAP).result["spans"]
        assert len(result) <= len(truth) + 1
    assert overlap > exact


@check
def check_relations_need_both_ends_and_a_majority():
    spans = [{"id": "a", "start": 0, "end": 3, "label": "PER"}, {"id": "b", "start": 5, "end": 9, "label": "ORG"}]
    rel = [{"from": "a", "to": "b", "label": "works_at"}]
    answers = [{"spans": spans, "relations": rel}, {"spans": spans, "relations": rel},
               {"spans": spans, "relations": [{"from": "b", "to": "a", "label": "works_at"}]}]
    result = SPANS.aggregate(answers, config={**CONFIG, "relation_labels": ["works_at"]}).result
    ids = {s["id"]: (s["start"], s["label"]) for s in result["spans"]}
    assert [(ids[r["from"]], ids[r["to"]]) for r in result["relations"]] == [((0, "PER"), (5, "ORG"))]


# --- planted bugs -------------------------------------------------------------------------------------------

_match, _consensus = core.match_spans, core.consensus_spans


def _ignore_labels(a, b, **kw):
    return _match(a, b, **{**kw, "same_label": False})


def _many_to_many(a, b, *, mode="exact", threshold=0.5, same_label=True):
    if mode == "exact":
        return _match(a, b, mode=mode, threshold=threshold, same_label=same_label)
    return [(i, j) for i, s in enumerate(a) for j, t in enumerate(b)
            if (not same_label or s["label"] == t["label"])
            and core.overlap_ratio((s["start"], s["end"]), (t["start"], t["end"])) >= threshold]


def _unweighted(answers, weights=None, **kw):
    return _consensus(answers, None, **kw)


def _low_quorum(answers, weights=None, **kw):
    return _consensus(answers, weights, **{**kw, "quorum": 0.3})


BUGS = {
    "match_ignores_labels": ("match_spans", _ignore_labels, "check_f1_needs_labels_and_a_one_to_one_matching"),
    "match_not_one_to_one": ("match_spans", _many_to_many, "check_f1_needs_labels_and_a_one_to_one_matching"),
    "vote_ignores_trust": ("consensus_spans", _unweighted, "check_trust_weights_outvote_a_colluding_low_trust_majority"),
    "minority_spans_kept": ("consensus_spans", _low_quorum, "check_consensus_recovers_the_truth_from_a_noisy_crowd"),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_passes(name):
    CHECKS[name]()


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_planted_bug_is_caught(bug, monkeypatch):
    attr, buggy, caught_by = BUGS[bug]
    monkeypatch.setattr(core, attr, buggy)
    with pytest.raises(AssertionError):
        CHECKS[caught_by]()
