"""Bradley-Terry strengths from pairwise comparisons (RLHF preferences, A/B votes).

Newton's method on the L2-regularised log-likelihood: the Hessian is a weighted graph
Laplacian plus ``alpha * I`` (always positive definite, so items that never lost or never won
still get finite scores). Small problems are solved densely, large ones with sparse
preconditioned conjugate gradients; every step is vectorised over the comparison arrays.
"""
from __future__ import annotations

import numpy as np

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


def _pairs(n_items: int, w, l, wt):  # noqa: E741
    """Collapse comparisons to unique unordered pairs (a < b) with the weight of wins each way."""
    a, b = np.minimum(w, l), np.maximum(w, l)
    key = a * n_items + b
    uniq, inverse = np.unique(key, return_inverse=True)
    wins_a = np.bincount(inverse, wt * (w == a), uniq.size)  # the lower index won
    wins_b = np.bincount(inverse, wt * (w != a), uniq.size)
    return uniq // n_items, uniq % n_items, wins_a, wins_b


def _loss(theta, a, b, wins_b, total, alpha):
    """Negative log-likelihood plus the L2 prior; softplus(-d) = softplus(d) - d saves one transcendental."""
    d = theta[b] - theta[a]
    softplus = np.maximum(d, 0.0) + np.log1p(np.exp(-np.abs(d)))
    return float(total @ softplus - wins_b @ d + 0.5 * alpha * theta @ theta)


def bradley_terry_scores(
    n_items: int,
    winners: np.ndarray,
    losers: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    alpha: float = 0.01,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> np.ndarray:
    """Log-strength per item (mean 0): P(i beats j) = sigmoid(s_i - s_j).

    ``winners[c]`` beat ``losers[c]`` in comparison ``c``; ``weights`` (default 1) lets a tie count
    as half a win each way. ``alpha`` is the L2 prior that keeps undefeated items finite.
    Comparisons with indices outside ``[0, n_items)`` or an item against itself are ignored.
    """
    from scipy import sparse  # loaded on first use: web processes import this module but rarely score
    from scipy.sparse.linalg import cg  # heavy library: loaded on first use, not in every web process

    n_items = int(n_items)
    if n_items <= 0:
        return np.zeros(0, dtype=np.float64)
    w, l, wt = _clean(n_items, winners, losers, weights)  # noqa: E741
    theta = np.zeros(n_items, dtype=np.float64)
    if w.size == 0:
        return theta
    a, b, wins_a, wins_b = _pairs(n_items, w, l, wt)
    total = wins_a + wins_b
    alpha = max(float(alpha), 1e-9)
    dense = n_items <= DENSE_LIMIT
    if not dense:
        # The Hessian's sparsity pattern is fixed: build it once and map each pair to its CSR slots.
        rows = np.concatenate([a, b, np.arange(n_items)])
        cols = np.concatenate([b, a, np.arange(n_items)])
        order = np.arange(1, rows.size + 1, dtype=np.float64)
        hess = sparse.csr_matrix((order, (rows, cols)), shape=(n_items, n_items))
        slot = hess.data.astype(np.int64) - 1  # position in the concatenated (rows, cols) list
    loss = _loss(theta, a, b, wins_b, total, alpha)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))  # P(a beats b)
        r = wins_a - total * p  # d loglik / d theta_a for this pair
        grad = np.bincount(b, r, n_items) - np.bincount(a, r, n_items) + alpha * theta
        h = total * p * (1.0 - p)
        diag = np.bincount(a, h, n_items) + np.bincount(b, h, n_items) + alpha
        if dense:
            matrix = np.zeros((n_items, n_items))
            np.add.at(matrix, (a, b), -h)
            np.add.at(matrix, (b, a), -h)
            matrix[np.diag_indices(n_items)] += diag
            step = np.linalg.solve(matrix, grad)
        else:
            hess.data = np.concatenate([-h, -h, diag])[slot]
            step, _info = cg(hess, grad, rtol=1e-6, atol=0.0, maxiter=300, M=sparse.diags(1.0 / diag))
        # Backtracking keeps every step a descent step (Newton is not globally convergent alone).
        t = 1.0
        while True:
            candidate = theta - t * step
            new_loss = _loss(candidate, a, b, wins_b, total, alpha)
            if new_loss <= loss + 1e-12 or t < 1e-6:
                break
            t *= 0.5
        theta = candidate
        moved = float(np.max(np.abs(t * step)))
        loss = new_loss
        if moved < tol:
            break
    return theta - theta.mean()


def win_probability(scores: np.ndarray, i: int, j: int) -> float:
    """P(item i is preferred to item j) under the fitted model."""
    return float(1.0 / (1.0 + np.exp(scores[j] - scores[i])))
