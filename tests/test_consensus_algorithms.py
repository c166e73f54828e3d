"""The aggregation algorithms against crowd-kit, choix and krippendorff on generated data, and bad input."""
import krippendorff
import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene, MajorityVote
from scipy.stats import spearmanr

from consensus import krippendorff as kalpha
from consensus.bradley_terry import bradley_terry_scores
from consensus.dawid_skene import clean_labels, dawid_skene, majority_vote
from consensus.text import mean_pairwise_cer, medoid_text


def simulate(n_items=3000, n_workers=120, k=5, per_item=5, acc=(0.3, 0.95), seed=0, spammers=0.0):
    """A crowd with known truth and known per-worker accuracy (wrong answers uniform over other classes)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    accuracy = rng.uniform(*acc, n_workers)
    n_spam = int(spammers * n_workers)
    accuracy[:n_spam] = 1.0 / k
    items = np.repeat(np.arange(n_items), per_item)
    workers = np.concatenate([rng.choice(n_workers, per_item, replace=False) for _ in range(n_items)])
    right = rng.random(items.size) < accuracy[workers]
    labels = np.where(right, truth[items], (truth[items] + rng.integers(1, k, items.size)) % k)
    return truth, items, workers, labels


def frame(items, workers, labels):
    return pd.DataFrame({"task": items, "worker": workers, "label": labels})


def test_dawid_skene_agrees_with_crowd_kit():
    truth, items, workers, labels = simulate(seed=1)
    data = clean_labels(items, workers, labels, truth.size, 120, 5)
    ours = dawid_skene(data)
    theirs = DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame(items, workers, labels)).reindex(range(truth.size))
    agreement = float(np.mean(ours.labels == theirs.to_numpy()))
    assert agreement >= 0.99, agreement
    assert ours.converged
    assert abs(np.mean(ours.labels == truth) - np.mean(theirs.to_numpy() == truth)) < 0.01


def test_majority_vote_agrees_with_crowd_kit_where_there_is_a_winner():
    truth, items, workers, labels = simulate(seed=2)
    data = clean_labels(items, workers, labels, truth.size, 120, 5)
    ours, share = majority_vote(data)
    theirs = MajorityVote().fit_predict(frame(items, workers, labels)).reindex(range(truth.size)).to_numpy()
    # Both break ties by first appearance; crowd-kit's pandas groupby may differ on a tie, so compare unique winners.
    counts = np.bincount(items * 5 + labels, minlength=truth.size * 5).reshape(-1, 5)
    unique = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1
    assert unique.mean() > 0.7
    assert np.mean(ours[unique] == theirs[unique]) >= 0.99
    assert np.allclose(share, counts.max(axis=1) / 5)


def test_weighted_vote_follows_the_trusted_contributor():
    data = clean_labels([0, 0, 0], [0, 1, 2], [1, 1, 2], 1, 3, 3)
    assert majority_vote(data)[0][0] == 1
    winner, share = majority_vote(data, weights=np.array([0.1, 0.1, 0.9]))
    assert winner[0] == 2 and share[0] == pytest.approx(0.9 / 1.1)


def test_dawid_skene_beats_majority_vote_on_a_crowd_with_spammers():
    truth, items, workers, labels = simulate(n_items=4000, seed=3, per_item=5, acc=(0.55, 0.9), spammers=0.4)
    data = clean_labels(items, workers, labels, truth.size, 120, 5)
    mv_acc = np.mean(majority_vote(data)[0] == truth)
    ds = dawid_skene(data)
    ds_acc = np.mean(ds.labels == truth)
    assert ds_acc > mv_acc + 0.02, (ds_acc, mv_acc)
    # It also finds the spammers: their estimated accuracy is near chance, the others' well above.
    est = ds.worker_accuracy()
    assert est[:48].mean() < 0.3 < 0.6 < est[48:].mean()


def test_gold_items_are_clamped():
    truth, items, workers, labels = simulate(n_items=500, seed=4, acc=(0.2, 0.4))
    gold = np.full(truth.size, -1)
    gold[:50] = truth[:50]
    result = dawid_skene(clean_labels(items, workers, labels, truth.size, 120, 5), gold=gold)
    assert np.array_equal(result.labels[:50], truth[:50])
    assert np.allclose(result.posteriors[np.arange(50), truth[:50]], 1.0)


def test_bad_input_has_defined_results():
    # No answers at all.
    empty = dawid_skene(clean_labels([], [], [], 3, 0, 4))
    assert list(empty.labels) == [-1, -1, -1]
    # One contributor, identical answers, an item without answers, labels outside the set.
    data = clean_labels([0, 1, 2, 2], [0, 0, 0, 0], [2, 2, 7, -1], 4, 1, 3)
    assert data.dropped == 2
    one = dawid_skene(data)
    assert list(one.labels) == [2, 2, -1, -1]
    assert np.all(np.isfinite(one.posteriors))
    mv, share = majority_vote(data)
    assert list(mv) == [2, 2, -1, -1] and list(share) == [1.0, 1.0, 0.0, 0.0]
    # Zero items or zero classes.
    assert dawid_skene(clean_labels([], [], [], 0, 0, 3)).labels.size == 0
    assert dawid_skene(clean_labels([0], [0], [0], 1, 1, 0)).labels.tolist() == [-1]


def test_bradley_terry_matches_choix_and_truth():
    choix = pytest.importorskip("choix")
    rng = np.random.default_rng(5)
    n, m = 150, 6000
    strength = rng.normal(size=n)
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    a, b = a[keep], b[keep]
    a_wins = rng.random(a.size) < 1 / (1 + np.exp(strength[b] - strength[a]))
    winners, losers = np.where(a_wins, a, b), np.where(a_wins, b, a)
    ours = bradley_terry_scores(n, winners, losers)
    reference = choix.ilsr_pairwise(n, np.stack([winners, losers], axis=1), alpha=0.01)
    assert spearmanr(ours, reference)[0] >= 0.99
    assert spearmanr(ours, strength)[0] >= 0.95
    # A tie (half a win each way) and bad indices are handled.
    tie = bradley_terry_scores(2, [0, 1], [1, 0], weights=[0.5, 0.5])
    assert np.allclose(tie, 0.0)
    assert np.allclose(bradley_terry_scores(3, [9, 1], [1, 1]), 0.0)
    assert bradley_terry_scores(0, [], []).size == 0
    undefeated = bradley_terry_scores(3, [0, 0, 1], [1, 2, 2])
    assert np.all(np.isfinite(undefeated)) and undefeated[0] > undefeated[1] > undefeated[2]


def test_medoid_text_and_cer():
    text, confidence, agreement = medoid_text(["Hà Nội mùa thu", "Ha Noi mua thu", "Hà Nội mùa thu.", "Hà Nội mùa thu"])
    assert text == "Hà Nội mùa thu"
    assert 0 < agreement < confidence < 1
    assert medoid_text(["giống nhau"] * 3) == ("giống nhau", 1.0, 1.0)
    assert medoid_text([]) == ("", 0.0, 0.0)
    assert medoid_text(["một"]) == ("một", 1.0, 1.0)
    assert mean_pairwise_cer(["abc", "xyz"]) == 1.0
    assert mean_pairwise_cer(["", ""]) == 0.0
    assert medoid_text(["", "abc"])[1:] == (0.0, 0.0)


def test_medoid_text_weights_and_ties():
    """Weights move the medoid towards trusted contributors; exact ties go to the first text."""
    texts = ["aaaa", "aaab", "abbb", "bbbb"]
    assert medoid_text(texts)[0] == "aaab"
    assert medoid_text(texts, [0.1, 0.1, 0.1, 5.0])[0] == "bbbb"  # a text's own weight counts
    assert medoid_text(texts, [0.1, 0.1, 1.0, 1.2])[0] == "abbb"  # pulled towards the trusted pair
    assert medoid_text(["abc", "abd"], [0.4, 0.9])[0] == "abd"  # two answers: the more trusted one
    assert medoid_text(["abc", "xyz"])[0] == "abc"
    assert medoid_text(["xyz", "abc"], [1.0, 1.0])[0] == "xyz"
    text, confidence, agreement = medoid_text(["a", "a", "b"], [1.0, 1.0, 1.0])
    assert text == "a" and confidence == pytest.approx(0.5) and agreement == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        medoid_text(["a", "b"], [1.0])


@pytest.mark.parametrize("metric", ["nominal", "ordinal", "interval"])
def test_krippendorff_alpha_matches_the_reference_package(metric):
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 4, 60)
    reliability = np.full((7, 60), np.nan)
    for r in range(7):
        seen = rng.random(60) < 0.7
        noise = rng.integers(-1, 2, 60) * (rng.random(60) < 0.3)
        reliability[r, seen] = np.clip(truth + noise, 0, 3)[seen]
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement=metric, value_domain=[0, 1, 2, 3])
    raters, units = np.nonzero(~np.isnan(reliability))
    counts = kalpha.counts_from_labels(units, reliability[raters, units].astype(int), 60, 4)
    assert kalpha.alpha(counts, metric=metric) == pytest.approx(expected, abs=1e-9)


def test_krippendorff_alpha_undefined_cases():
    assert kalpha.alpha(kalpha.counts_from_labels([0, 1], [1, 1], 2, 3)) is None  # no pairable answers
    assert kalpha.alpha(kalpha.counts_from_labels([0, 0, 1, 1], [2, 2, 2, 2], 2, 3)) is None  # no variation
    perfect = kalpha.counts_from_labels([0, 0, 1, 1], [0, 0, 2, 2], 2, 3)
    assert kalpha.alpha(perfect) == pytest.approx(1.0)
