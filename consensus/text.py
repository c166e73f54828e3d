"""Consensus for free text (OCR and speech transcriptions): medoid under character edit distance.

The character error rate between two texts is their Levenshtein distance divided by the longer
length, so it is symmetric and in [0, 1]. Agreement of a set of transcriptions is
``1 - mean pairwise CER``.
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


def medoid_text(texts: list[str]) -> tuple[str, float]:
    """The transcription closest to all others and the set's agreement (1 - mean pairwise CER).

    Empty input gives ``("", 0.0)``; one text gives itself with agreement 1.0. Ties go to the
    first text in the list so the result is deterministic.
    """
    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    if n == 0:
        return "", 0.0
    if n == 1:
        return texts[0], 1.0
    matrix = cer_matrix(texts)
    medoid = int(np.argmin(matrix.sum(axis=1)))
    mean_cer = float(matrix[np.triu_indices(n, k=1)].mean())
    return texts[medoid], float(np.clip(1.0 - mean_cer, 0.0, 1.0))
