"""Known-answer checks for the consensus algorithms, and proof that they can fail.

Each ``check_*`` builds a synthetic crowd whose right answer is known and asserts the real algorithm
finds it. Each planted bug (a parametrised fixture that monkeypatches the real function, everywhere it
was imported, with a buggy variant) must make at least the named check fail: a suite that passes with
the bug planted could not have seen it.
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import ROVER, DawidSkene
from scipy.stats import spearmanr

from bench.consensus import (
    reference_bradley_terry,
    simulate_comparisons,
    simulate_crowd,
    simulate_transcriptions,
)
from consensus import bradley_terry, dawid_skene, text, voting
from consensus.text import tokenize

# --- the checks ----------------------------------------------------------------------------------

CHECKS: dict = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


@check
def check_bradley_terry_matches_a_reference_solve():
    # Strong and weak items meet unevenly, so a raw win share misranks them; the fit must not.
    strength = simulate_comparisons(30, 1, seed=4)[0] * 2.0
    rng = np.random.default_rng(5)
    a = rng.integers(0, 30, 600)
    b = (a + rng.integers(1, 30, 600)) % 30
    a_wins = rng.random(600) < 1 / (1 + np.exp(strength[b] - strength[a]))
    winners, losers = np.where(a_wins, a, b), np.where(a_wins, b, a)
    weights = rng.choice([0.5, 1.0], 600)
    ours = bradley_terry.bradley_terry_scores(30, winners, losers, weights=weights)
    reference = reference_bradley_terry(30, winners, losers, weights)
    assert np.max(np.abs(ours - reference)) < 1e-4, np.max(np.abs(ours - reference))
    assert spearmanr(ours, strength)[0] > 0.9


@check
def check_bradley_terry_schedule_strength():
    # Item 0 beat the strongest item 2 of 4 times; item 1 beat the weakest 3 of 4 times.
    # A win share prefers item 1; the model knows whom each played.
    # Item 2 beat item 3 eight times of nine.
    winners = [2] * 8 + [3] + [0, 0, 2, 2] + [1, 1, 1, 3]
    losers = [3] * 8 + [2] + [2, 2, 0, 0] + [3, 3, 3, 1]
    scores = bradley_terry.bradley_terry_scores(4, np.array(winners), np.array(losers))
    assert scores[0] > scores[1], scores


@check
def check_vote_follows_trust():
    assert voting.weighted_vote(["a", "a", "b"], [0.1, 0.1, 0.9])[0] == "b"
    data = dawid_skene.clean_labels([0, 0, 0], [0, 1, 2], [1, 1, 2], 1, 3, 3)
    assert dawid_skene.majority_vote(data, np.array([0.1, 0.1, 0.9]))[0][0] == 2


@check
def check_tie_rule_is_first_answered_and_shared():
    assert voting.weighted_vote(["b", "a"], [1.0, 1.0])[0] == "b"
    assert voting.weighted_vote(["c", "a", "a", "c"])[0] == "c"
    data = dawid_skene.clean_labels([0, 0], [0, 1], [2, 0], 1, 2, 3)
    assert dawid_skene.majority_vote(data)[0][0] == 2
    # The per-item vote (stored result) and the vectorised vote (trust bookkeeping) agree on every item,
    # ties included (trust 0.5 + 0.5 ties 1.0).
    truth, items, workers, labels, _acc = simulate_crowd(600, 12, 3, 2, seed=6)
    trust = np.random.default_rng(6).choice([0.5, 1.0], 12)
    data = dawid_skene.clean_labels(items, workers, labels, 600, 12, 3)
    vectorised = dawid_skene.majority_vote(data, trust)[0]
    per_item = [voting.weighted_vote(labels[items == i].tolist(), trust[workers[items == i]].tolist())[0]
                for i in range(600)]
    assert np.array_equal(vectorised, per_item)


def _text_crowd(per_item: int, n_items: int = 300, seed: int = 7):
    truth, items, workers, texts, trust = simulate_transcriptions(n_items, 60, per_item, seed=seed)
    groups = [(texts[i * per_item:(i + 1) * per_item], trust[workers[i * per_item:(i + 1) * per_item]].tolist())
              for i in range(n_items)]
    return truth, items, workers, texts, groups


def _exact(outputs, truth) -> float:
    return float(np.mean([tokenize(o)[0] == tokenize(t)[0] for o, t in zip(outputs, truth, strict=True)]))


@check
def check_medoid_follows_trust():
    assert text.medoid_text(["con chào mẹ", "con chao me"], [0.3, 0.9])[0] == "con chao me"
    truth, _items, _workers, _texts, groups = _text_crowd(2)
    # With two answers, the more trusted contributor's text stands wherever they differ.
    for answers, weights in groups:
        if answers[0] != answers[1] and weights[0] != weights[1]:
            assert text.medoid_text(answers, weights)[0] == answers[int(np.argmax(weights))]
    weighted = _exact([text.medoid_text(a, w)[0] for a, w in groups], truth)
    first = _exact([a[0] for a, _w in groups], truth)
    assert weighted > first + 0.05, (weighted, first)


@check
def check_text_vote_follows_trust():
    assert text.rover_text(["a b c", "a y c", "a z c"], [0.1, 0.2, 0.9])[0] == "a z c"
    assert text.rover_text(["a b c", "a b c", "a z c"], [0.1, 0.1, 0.9])[0] == "a z c"
    assert text.rover_text(["a b c", "a b c", "a z c"])[0] == "a b c"


@check
def check_text_vote_beats_crowd_kit_rover():
    for per_item in (3, 5):
        truth, items, workers, texts, groups = _text_crowd(per_item, seed=per_item)
        ours = _exact([text.text_consensus(a, w)[0] for a, w in groups], truth)
        frame = pd.DataFrame({"task": items, "worker": workers, "text": texts})
        theirs = ROVER(tokenizer=lambda s: tokenize(s)[0], detokenizer=" ".join).fit_predict(frame)
        theirs = _exact(theirs.reindex(range(len(truth))).fillna("").tolist(), truth)
        medoid = _exact([text.medoid_text(a, w)[0] for a, w in groups], truth)
        assert ours >= theirs and ours > medoid, (per_item, ours, theirs, medoid)


@check
def check_dawid_skene_beats_majority_vote():
    truth, items, workers, labels, _acc = simulate_crowd(1500, 60, 4, 5, seed=8, spammers=0.4)
    data = dawid_skene.clean_labels(items, workers, labels, 1500, 60, 4)
    fit = dawid_skene.dawid_skene(data)
    mv = dawid_skene.majority_vote(data)[0]
    ds_acc, mv_acc = np.mean(fit.labels == truth), np.mean(mv == truth)
    assert ds_acc > mv_acc + 0.02, (ds_acc, mv_acc)
    theirs = DawidSkene(n_iter=100, tol=1e-5).fit_predict(
        pd.DataFrame({"task": items, "worker": workers, "label": labels})).reindex(range(1500)).to_numpy()
    assert np.mean(fit.labels == theirs) >= 0.99


@pytest.mark.parametrize("name", list(CHECKS))
def test_the_real_algorithms_pass(name):
    CHECKS[name]()


# --- the planted bugs ----------------------------------------------------------------------------


def _bt_win_share(n_items, winners, losers, *, weights=None, **_kwargs):
    w = np.ones(len(winners)) if weights is None else np.asarray(weights, dtype=float)
    wins = np.bincount(winners, w, n_items)
    games = wins + np.bincount(losers, w, n_items)
    share = np.log((wins + 0.5) / (games + 1.0))
    return share - share.mean()


def _bt_one_step(n_items, winners, losers, **kwargs):
    return REAL["bradley_terry_scores"](n_items, winners, losers, **{**kwargs, "max_iter": 1})


def _vote_without_trust(labels, weights=None):
    return REAL["weighted_vote"](labels)


def _majority_without_trust(data, weights=None):
    return REAL["majority_vote"](data)


def _medoid_without_trust(texts, weights=None):
    return REAL["medoid_text"](texts)


def _medoid_without_own_weight(texts, weights=None):
    """The medoid before issue 19: a candidate's own weight did not count."""
    texts = ["" if t is None else str(t) for t in texts]
    if len(texts) < 2:
        return REAL["medoid_text"](texts, weights)
    w = np.ones(len(texts)) if not weights else np.asarray(weights, dtype=float)
    similarity = 1.0 - text.cer_matrix(texts)
    np.fill_diagonal(similarity, 0.0)
    scores = similarity @ w
    best = int(np.flatnonzero(scores >= scores.max() - 1e-9)[0])
    return texts[best], float(similarity[best].sum() / (len(texts) - 1)), 1.0 - text.mean_pairwise_cer(texts)


def _rover_without_trust(texts, weights=None):
    return REAL["rover_text"](texts)


def _vote_ties_to_last(labels, weights=None):
    weights = weights or [1.0] * len(labels)
    totals: dict = {}
    for label, weight in zip(labels, weights, strict=True):
        totals[label] = totals.get(label, 0.0) + weight
    top = max(totals.values())
    winner = [label for label, total in totals.items() if total >= top - 1e-9][-1]
    return winner, totals[winner] / sum(totals.values()), {}


def _majority_ties_to_lowest_class(data, weights=None):
    """The vectorised vote before issue 19: ties to the lowest class index."""
    counts = dawid_skene.vote_counts(data, weights)
    totals = counts.sum(axis=1)
    winner = np.argmax(counts, axis=1)
    share = np.divide(counts[np.arange(data.n_items), winner], totals, out=np.zeros(data.n_items), where=totals > 0)
    return np.where(totals > 0, winner, -1), share


def _ds_is_majority_vote(data, *, gold=None, **_kwargs):
    labels, share = REAL["majority_vote"](data)
    k = data.n_classes
    post = np.eye(k)[np.maximum(labels, 0)] * share[:, None] + (1 - share[:, None]) / k
    return dawid_skene.DawidSkeneResult(post, labels, np.tile(np.eye(k), (data.n_workers, 1, 1)),
                                        np.full(k, 1.0 / k), 1, True, data.dropped)


REAL = {
    "bradley_terry_scores": bradley_terry.bradley_terry_scores,
    "weighted_vote": voting.weighted_vote,
    "majority_vote": dawid_skene.majority_vote,
    "medoid_text": text.medoid_text,
    "rover_text": text.rover_text,
    "dawid_skene": dawid_skene.dawid_skene,
}

# bug -> (replacements, the check that must catch it)
PLANTED = {
    "bradley_terry_is_win_share": ({"bradley_terry_scores": _bt_win_share}, "check_bradley_terry_schedule_strength"),
    "bradley_terry_stops_after_one_step": ({"bradley_terry_scores": _bt_one_step},
                                           "check_bradley_terry_matches_a_reference_solve"),
    "vote_ignores_trust": ({"weighted_vote": _vote_without_trust, "majority_vote": _majority_without_trust},
                           "check_vote_follows_trust"),
    "medoid_ignores_trust": ({"medoid_text": _medoid_without_trust}, "check_medoid_follows_trust"),
    "medoid_ignores_own_weight": ({"medoid_text": _medoid_without_own_weight}, "check_medoid_follows_trust"),
    "text_vote_ignores_trust": ({"rover_text": _rover_without_trust}, "check_text_vote_follows_trust"),
    "vote_ties_to_last_answer": ({"weighted_vote": _vote_ties_to_last}, "check_tie_rule_is_first_answered_and_shared"),
    "majority_vote_ties_to_lowest_class": ({"majority_vote": _majority_ties_to_lowest_class},
                                           "check_tie_rule_is_first_answered_and_shared"),
    "dawid_skene_is_majority_vote": ({"dawid_skene": _ds_is_majority_vote}, "check_dawid_skene_beats_majority_vote"),
}


def plant(monkeypatch, replacements: dict) -> int:
    """Replace each real function by its buggy variant in every loaded module of ours that bound it."""
    planted = 0
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if not name.startswith(("consensus", "task_types", "bench", "tests")) or name == __name__:
            continue
        for attr, buggy in replacements.items():
            if getattr(module, attr, None) is REAL[attr]:
                monkeypatch.setattr(module, attr, buggy)
                planted += 1
    return planted


@pytest.fixture(params=list(PLANTED))
def planted_bug(request, monkeypatch):
    replacements, _catcher = PLANTED[request.param]
    assert plant(monkeypatch, replacements) > 0
    return request.param


def test_each_planted_bug_fails_its_check(planted_bug):
    with pytest.raises(AssertionError):
        CHECKS[PLANTED[planted_bug][1]]()


@pytest.mark.parametrize("bug", ["dawid_skene_is_majority_vote", "bradley_terry_stops_after_one_step",
                                 "medoid_ignores_own_weight"])
def test_the_bench_exits_non_zero_on_a_planted_bug(bug, monkeypatch, capsys):
    from bench import consensus as bench  # the bench module the plant reaches

    assert plant(monkeypatch, PLANTED[bug][0]) > 0
    with pytest.raises(SystemExit) as exc:
        bench.main(["--smoke", "--skip-db"])
    assert exc.value.code == 1
    assert "CHECK FAILED" in capsys.readouterr().err
