"""Dawid-Skene: EM over per-contributor confusion matrices, vectorised over (item, worker, class) arrays.

Labels are three integer arrays of equal length: ``items`` (row of the item), ``workers`` (row of
the contributor) and ``labels`` (class index). They become one sparse count matrix
(item x worker*K+said); both EM steps are then a sparse-times-dense product, so an iteration on
1M labels costs a few tens of milliseconds and no Python loop runs over labels or items. Gold items are clamped to
their known class in every E-step; the start is the (soft) majority vote; iteration stops when the
marginal log-likelihood per label improves by less than ``tol`` (crowd-kit's criterion), or after ``max_iter``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consensus.voting import MIN_WEIGHT, TIE_TOLERANCE

VERSION = "ds-1"


@dataclass
class LabelArrays:
    """Cleaned label arrays: out-of-range rows (legacy data) dropped and counted."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_workers: int
    n_classes: int
    dropped: int = 0


def clean_labels(items, workers, labels, n_items: int, n_workers: int, n_classes: int) -> LabelArrays:
    """Drop rows with an index outside its range (a label not in the set, an unknown worker)."""
    items = np.asarray(items, dtype=np.int64).ravel()
    workers = np.asarray(workers, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if not (items.shape == workers.shape == labels.shape):
        raise ValueError("items, workers and labels must have the same length")
    ok = (
        (items >= 0) & (items < n_items) & (workers >= 0) & (workers < n_workers)
        & (labels >= 0) & (labels < n_classes)
    )
    dropped = int(ok.size - np.count_nonzero(ok))
    if dropped:
        items, workers, labels = items[ok], workers[ok], labels[ok]
    return LabelArrays(items, workers, labels, int(n_items), int(n_workers), int(n_classes), dropped)


def vote_counts(data: LabelArrays, weights: np.ndarray | None = None) -> np.ndarray:
    """(n_items, K) (weighted) vote totals; ``weights`` is one weight per worker."""
    k = data.n_classes
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[data.workers]
    flat = np.bincount(data.items * k + data.labels, weights=w, minlength=data.n_items * k)
    return flat.reshape(data.n_items, k).astype(np.float64, copy=False)


def majority_vote(data: LabelArrays, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label per item (-1 when it has no answer) and the winner's share of the (weighted) votes.

    The tie rule of ``consensus.voting``: totals within ``TIE_TOLERANCE`` tie, and a tie goes to the class
    answered first on that item (the label arrays' order; the engine passes answers in item, id order).
    """
    if weights is not None:
        weights = np.maximum(np.asarray(weights, dtype=np.float64), MIN_WEIGHT)
    counts = vote_counts(data, weights)
    totals = counts.sum(axis=1)
    winner = np.argmax(counts, axis=1)
    tied = counts >= counts.max(axis=1, keepdims=True) - TIE_TOLERANCE
    tied &= counts > 0
    tie_rows = np.flatnonzero(tied.sum(axis=1) > 1)
    if tie_rows.size:
        # First position of each (item, class) among the tied items' answers; the tied class seen first wins.
        k = data.n_classes
        rows = np.flatnonzero(np.isin(data.items, tie_rows))
        keys, first = np.unique(data.items[rows] * k + data.labels[rows], return_index=True)
        position = np.full(data.n_items * k, np.iinfo(np.int64).max)
        position[keys] = rows[first]
        position = position.reshape(data.n_items, k)[tie_rows]
        position[~tied[tie_rows]] = np.iinfo(np.int64).max
        winner[tie_rows] = np.argmin(position, axis=1)
    share = np.divide(counts[np.arange(data.n_items), winner], totals, out=np.zeros(data.n_items), where=totals > 0)
    winner = np.where(totals > 0, winner, -1)
    return winner, share


@dataclass
class DawidSkeneResult:
    posteriors: np.ndarray  # (n_items, K); the class prior for an item without answers
    labels: np.ndarray  # (n_items,), -1 for an item without answers (and not gold)
    confusion: np.ndarray  # (n_workers, K, K): P(worker says l | truth k)
    priors: np.ndarray  # (K,)
    n_iter: int
    converged: bool
    dropped: int

    @property
    def confidence(self) -> np.ndarray:
        return self.posteriors.max(axis=1)

    def worker_accuracy(self) -> np.ndarray:
        """Expected probability that each worker answers correctly, under the fitted class priors."""
        diag = np.diagonal(self.confusion, axis1=1, axis2=2)
        return diag @ self.priors


def dawid_skene(
    data: LabelArrays,
    *,
    gold: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.01,
    init: np.ndarray | None = None,
) -> DawidSkeneResult:
    """Fit Dawid-Skene by EM and return posteriors, hard labels and confusion matrices.

    ``gold``: class index per item, -1 where unknown; those items keep a one-hot posterior.
    ``smoothing`` is a pseudo-count added to every confusion cell (keeps logs finite for workers
    who never used a class). ``init``: starting posteriors, default the majority-vote shares.
    """
    from scipy import sparse  # loaded on first use: web processes import this module but rarely score

    n, m, k = data.n_items, data.n_workers, data.n_classes
    if k <= 0 or n <= 0:
        return DawidSkeneResult(np.zeros((n, max(k, 0))), np.full(n, -1), np.zeros((m, max(k, 0), max(k, 0))),
                                np.zeros(max(k, 0)), 0, True, data.dropped)
    gold = np.full(n, -1, dtype=np.int64) if gold is None else np.asarray(gold, dtype=np.int64)
    gold_rows = np.flatnonzero((gold >= 0) & (gold < k))
    gold_onehot = np.eye(k)[gold[gold_rows]]

    # The answers as a sparse (item x worker*K+said) count matrix: the M-step is A.T @ posteriors and
    # the E-step A @ log-confusion, both sparse-times-dense products in C.
    wl_key = data.workers * k + data.labels
    answers = sparse.csr_matrix(
        (np.ones(wl_key.size), (data.items, wl_key)), shape=(n, m * k), dtype=np.float64
    )
    answers_t = answers.T.tocsr()
    has_answers = np.diff(answers.indptr) > 0

    # Posteriors are kept as (K, n_items): reductions over the K classes then run along the first
    # axis, which NumPy does ~10x faster than along a short last axis.
    if init is None:
        counts = vote_counts(data).T
        totals = counts.sum(axis=0)
        post = np.divide(counts, totals, out=np.full((k, n), 1.0 / k), where=totals > 0)
    else:
        post = np.array(np.asarray(init, dtype=np.float64).T, order="C")
    gold_cols = gold_onehot.T
    post[:, gold_rows] = gold_cols

    converged = False
    previous = -np.inf
    log_conf = np.zeros((m, k, k))
    priors = np.full(k, 1.0 / k)
    n_iter = 0
    all_answered = bool(has_answers.all())
    n_labels = max(data.items.size, 1)
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - reported in the result
        # M-step: priors and confusion counts C[w, true k, said l] = sum of P(item is k) over w's "l" labels.
        priors = (post.sum(axis=1) if all_answered else post[:, has_answers].sum(axis=1)) + smoothing
        priors /= priors.sum()
        conf_counts = answers_t @ np.ascontiguousarray(post.T)  # rows: worker*K + said l; columns: true k
        conf = conf_counts.reshape(m, k, k).transpose(0, 2, 1) + smoothing  # (worker, true, said)
        conf /= conf.sum(axis=2, keepdims=True)
        log_conf = np.log(conf)
        # E-step: log P(item is k) = log prior_k + sum over its labels of log conf[w, k, l].
        per_key = np.ascontiguousarray(log_conf.transpose(0, 2, 1).reshape(m * k, k))
        log_post = np.ascontiguousarray((answers @ per_key).T)
        log_post += np.log(priors)[:, None]
        top = log_post.max(axis=0)
        post = np.exp(log_post - top)
        norm = post.sum(axis=0)
        post /= norm
        post[:, gold_rows] = gold_cols
        # Marginal log-likelihood of the answers (items with answers only), per label.
        ll_terms = top + np.log(norm)
        loglik = float(ll_terms.sum() if all_answered else ll_terms[has_answers].sum()) / n_labels
        if loglik - previous < tol:
            converged = True
            break
        previous = loglik

    labels = np.argmax(post, axis=0)
    labels[~has_answers] = -1
    labels[gold_rows] = gold[gold_rows]
    post = post.T
    return DawidSkeneResult(post, labels, np.exp(log_conf), priors, n_iter, converged, data.dropped)
