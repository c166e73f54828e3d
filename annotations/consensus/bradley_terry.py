"""Bradley-Terry strengths from pairwise comparisons (RLHF preferences, A/B votes).

Newton's method on the L2-regularised log-likelihood: the Hessian is a weighted graph
Laplacian plus ``alpha * I`` (always positive definite, so items that never lost or never won
still get finite scores). Small problems are solved densely, large ones with sparse
preconditioned conjugate gradients; every step is vectorised over the comparison arrays.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import cg

DENSE_LIMIT = 400  # below this many items a dense solve is faster than CG


def _clean(n_items: int, winners, losers, weights):
    w = np.asarray(winners, dtype=np.int64).ravel()
    l = np.asarray(losers, dtype=np.int64).ravel()  # noqa: E741
    if w.shape != l.shape:
        raise ValueError("winners and losers must have the same length")
    wt = np.ones(w.shape, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if wt.shape != w.shape:
        raise ValueError("weights must have the same length as winners")
    # Legacy or malformed comparisons (out of range, self-comparisons, non-positive weight) are dropped.
    ok = (w >= 0) & (w < n_items) & (l >= 0) & (l < n_items) & (w != l) & np.isfinite(wt) & (wt > 0)
    return w[ok], l[ok], wt[ok]


def _loss(theta, w, l, wt, alpha):  # noqa: E741
    return float(np.sum(wt * np.logaddexp(0.0, theta[l] - theta[w])) + 0.5 * alpha * theta @ theta)


def bradley_terry_scores(
    n_items: int,
    winners: np.ndarray,
    losers: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    alpha: float = 0.01,
    tol: float = 1e-8,
    max_iter: int = 100,
) -> np.ndarray:
    """Log-strength per item (mean 0): P(i beats j) = sigmoid(s_i - s_j).

    ``winners[c]`` beat ``losers[c]`` in comparison ``c``; ``weights`` (default 1) lets a tie count
    as half a win each way. ``alpha`` is the L2 prior that keeps undefeated items finite.
    Comparisons with indices outside ``[0, n_items)`` or an item against itself are ignored.
    """
    n_items = int(n_items)
    if n_items <= 0:
        return np.zeros(0, dtype=np.float64)
    w, l, wt = _clean(n_items, winners, losers, weights)  # noqa: E741
    theta = np.zeros(n_items, dtype=np.float64)
    if w.size == 0:
        return theta
    alpha = max(float(alpha), 1e-9)
    loss = _loss(theta, w, l, wt, alpha)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[l] - theta[w]))  # P(winner beats loser)
        r = wt * (1.0 - p)
        grad = np.bincount(l, r, n_items) - np.bincount(w, r, n_items) + alpha * theta
        h = wt * p * (1.0 - p)
        diag = np.bincount(w, h, n_items) + np.bincount(l, h, n_items) + alpha
        if n_items <= DENSE_LIMIT:
            hess = np.zeros((n_items, n_items))
            np.add.at(hess, (w, l), -h)
            np.add.at(hess, (l, w), -h)
            hess[np.diag_indices(n_items)] += diag
            step = np.linalg.solve(hess, grad)
        else:
            rows = np.concatenate([w, l, np.arange(n_items)])
            cols = np.concatenate([l, w, np.arange(n_items)])
            vals = np.concatenate([-h, -h, diag])
            hess = sparse.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items))
            precond = sparse.diags(1.0 / diag)
            step, _info = cg(hess, grad, rtol=1e-10, atol=0.0, maxiter=500, M=precond)
        # Backtracking keeps every step a descent step (Newton is not globally convergent alone).
        t = 1.0
        while True:
            candidate = theta - t * step
            new_loss = _loss(candidate, w, l, wt, alpha)
            if new_loss <= loss + 1e-12 or t < 1e-6:
                break
            t *= 0.5
        theta = candidate
        converged = abs(loss - new_loss) <= tol * max(1.0, abs(loss)) and np.max(np.abs(t * step)) < 1e-6
        loss = new_loss
        if converged:
            break
    return theta - theta.mean()


def win_probability(scores: np.ndarray, i: int, j: int) -> float:
    """P(item i is preferred to item j) under the fitted model."""
    return float(1.0 / (1.0 + np.exp(scores[j] - scores[i])))
