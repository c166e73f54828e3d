"""Consensus for free text (OCR, speech transcriptions, hallucination corrections): the medoid.

The character error rate between two texts is their Levenshtein distance divided by the longer
length, so it is symmetric and in [0, 1]; similarity is ``1 - CER``. Agreement of a set of
transcriptions is ``1 - mean pairwise CER``.
"""
from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


def cer_matrix(texts: list[str]) -> np.ndarray:
    """Pairwise normalised edit distance (0 = identical, 1 = nothing in common), computed in C."""
    texts = ["" if t is None else str(t) for t in texts]
    if not texts:
        return np.zeros((0, 0))
    # rapidfuzz's normalized_distance divides by max(len(a), len(b)); two empty strings give 0.
    return process.cdist(texts, texts, scorer=Levenshtein.normalized_distance, dtype=np.float64, workers=1)


def mean_pairwise_cer(texts: list[str]) -> float:
    """Mean CER over all unordered pairs; 0.0 for fewer than two texts."""
    n = len(texts)
    if n < 2:
        return 0.0
    matrix = cer_matrix(texts)
    upper = matrix[np.triu_indices(n, k=1)]
    return float(upper.mean())


def text_similarity(a: str, b: str) -> float:
    """1 - normalised character edit distance (1.0 = identical)."""
    return Levenshtein.normalized_similarity(a or "", b or "")


def medoid_text(texts: list[str], weights: list[float] | None = None) -> tuple[str, float, float]:
    """The text closest to all others (the medoid), its confidence, and the set's agreement.

    The medoid maximises the (``weights``-weighted) sum of its similarities to the other texts; ties go
    to the first text so the result is deterministic. Confidence is the medoid's mean similarity to the
    others; agreement is ``1 - mean pairwise CER``. Empty input gives ``("", 0.0, 0.0)``; one text gives
    itself with 1.0 and 1.0.
    """
    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    if n == 0:
        return "", 0.0, 0.0
    if n == 1:
        return texts[0], 1.0, 1.0
    weights = np.ones(n) if not weights else np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError("medoid_text needs one weight per text.")
    similarity = 1.0 - cer_matrix(texts)
    np.fill_diagonal(similarity, 0.0)
    scores = similarity @ weights  # row i: sum over j != i of w_j * sim(i, j)
    best = int(np.flatnonzero(scores >= scores.max() - 1e-9)[0])  # near-equal sums are a tie
    confidence = float(similarity[best].sum() / (n - 1))
    agreement = float(similarity[np.triu_indices(n, k=1)].mean())
    return texts[best], float(np.clip(confidence, 0.0, 1.0)), float(np.clip(agreement, 0.0, 1.0))
