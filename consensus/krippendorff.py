"""Krippendorff's alpha from per-item value counts (nominal, ordinal, interval), vectorised.

Works from an (items x values) count matrix, so a campaign of a million answers is one sparse
product instead of the dense (contributors x items) reliability matrix the reference package
needs. Checked against the ``krippendorff`` package in the tests.
"""
from __future__ import annotations

import numpy as np

METRICS = ("nominal", "ordinal", "interval")


def coincidences(counts) -> np.ndarray:
    """The (V x V) coincidence matrix: o_ck = sum over items of (n_uc n_uk - [c=k] n_uc) / (n_u - 1)."""
    # scipy loads on first use: web processes import this module but rarely score (-36 MB each).
    from scipy import sparse  # heavy library: loaded on first use, not in every web process

    counts = sparse.csr_matrix(counts, dtype=np.float64)
    n_u = np.asarray(counts.sum(axis=1)).ravel()
    pairable = n_u >= 2
    counts = counts[pairable]
    inv = 1.0 / (n_u[pairable] - 1.0)
    scaled = sparse.diags(inv) @ counts
    o = (counts.T @ scaled).toarray()
    o -= np.diag(np.asarray(scaled.sum(axis=0)).ravel())
    return o


def _delta2(metric: str, n_c: np.ndarray, values: np.ndarray) -> np.ndarray:
    v = n_c.size
    if metric == "nominal":
        return 1.0 - np.eye(v)
    if metric == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if metric == "ordinal":
        cum = np.cumsum(n_c)
        lo = np.minimum.outer(np.arange(v), np.arange(v))
        hi = np.maximum.outer(np.arange(v), np.arange(v))
        between = cum[hi] - np.where(lo > 0, cum[lo - 1], 0.0)  # sum of n_g for g in [lo, hi]
        return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2 * (lo != hi)
    raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")


def alpha(counts, *, metric: str = "nominal", values=None) -> float | None:
    """Krippendorff's alpha; ``counts[u, c]`` = how many answers gave value c to item u.

    Value columns must be in their natural order for ordinal data; ``values`` are the numbers the
    columns stand for (interval; default 0..V-1). Returns None when it is undefined: fewer than
    two pairable answers, or every answer the same value (no variation to agree on).
    """
    o = coincidences(counts)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return None
    values = np.arange(o.shape[0], dtype=np.float64) if values is None else np.asarray(values, dtype=np.float64)
    d2 = _delta2(metric, n_c, values)
    expected = float(n_c @ d2 @ n_c)
    if expected <= 0:
        return None
    observed = float((o * d2).sum())
    return 1.0 - (n - 1.0) * observed / expected


def counts_from_labels(items: np.ndarray, labels: np.ndarray, n_items: int, n_values: int):
    """The (items x values) scipy.sparse CSR count matrix from label arrays (rows out of range are dropped)."""
    from scipy import sparse  # heavy library: loaded on first use, not in every web process

    items = np.asarray(items, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    ok = (items >= 0) & (items < n_items) & (labels >= 0) & (labels < n_values)
    return sparse.csr_matrix(
        (np.ones(int(ok.sum())), (items[ok], labels[ok])), shape=(n_items, n_values), dtype=np.float64
    )
