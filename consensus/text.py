"""Consensus for free text (OCR, speech transcriptions, hallucination corrections).

Two aggregators, both trust-weighted:

- ``medoid_text``: the answer with the largest weighted similarity to all answers (its own weight
  included, so with two answers the more trusted contributor's text wins).
- ``rover_text``: ROVER-class word-level alignment and vote (Fiscus 1997). The tokens are the
  syllables and punctuation marks of the NFC text (Vietnamese writes one syllable per word); every
  answer is aligned to the weighted medoid by token edit distance (rapidfuzz, in C), then each
  medoid slot and each gap between slots is decided by a weighted vote over the answers (a missing
  token and "nothing inserted" are votes too). Ties go to the medoid's own reading.

``text_consensus`` picks: the vote at 3+ answers, the medoid below (two answers cannot outvote each
other token by token; the more trusted one stands). The character error rate (CER) between two texts
is their Levenshtein distance divided by the longer length, so it is symmetric and in [0, 1];
similarity is ``1 - CER``; agreement of a set of texts is ``1 - mean pairwise CER``.
"""
from __future__ import annotations

import re

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.vietnamese import clean

ROVER_MIN_ANSWERS = 3  # below this the medoid stands (two answers cannot outvote each other)
_TOKEN_RE = re.compile(r"(\s*)([^\W_]+(?:['’][^\W_]+)*|\S)", re.UNICODE)
_TIE = 1e-9  # weighted totals this close count as equal


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


def _weights(weights, n: int) -> np.ndarray:
    if weights is None or len(weights) == 0:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError("text consensus needs one weight per text.")
    return np.fmax(w, 1e-9)  # a zero (or missing) trust still counts a little, never negatively


def _medoid(texts: list[str], weights: np.ndarray) -> tuple[int, np.ndarray]:
    """Index of the weighted medoid and the similarity matrix (diagonal 1)."""
    similarity = 1.0 - cer_matrix(texts)
    scores = similarity @ weights  # row i: sum over j of w_j * sim(i, j); j = i adds w_i (own weight counts)
    best = int(np.flatnonzero(scores >= scores.max() - _TIE)[0])  # near-equal sums are a tie: the first text
    return best, similarity


def _agreement(similarity: np.ndarray) -> float:
    """1 - mean pairwise CER from the (symmetric, unit-diagonal) similarity matrix."""
    n = similarity.shape[0]
    return float(np.clip((similarity.sum() - n) / (n * (n - 1)), 0.0, 1.0))


def medoid_text(texts: list[str], weights: list[float] | None = None) -> tuple[str, float, float]:
    """The weighted medoid, its confidence, and the set's agreement.

    The medoid maximises ``sum_j w_j * sim(i, j)`` over all texts j, itself included (``sim(i, i) = 1``),
    so a text's own trust counts; ties go to the first text. Confidence is the medoid's mean similarity
    to the others; agreement is ``1 - mean pairwise CER``. Empty input gives ``("", 0.0, 0.0)``; one text
    gives itself with 1.0 and 1.0.
    """
    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    if n == 0:
        return "", 0.0, 0.0
    if n == 1:
        return texts[0], 1.0, 1.0
    best, similarity = _medoid(texts, _weights(weights, n))
    confidence = float((similarity[best].sum() - 1.0) / (n - 1))
    agreement = _agreement(similarity)
    return texts[best], float(np.clip(confidence, 0.0, 1.0)), float(np.clip(agreement, 0.0, 1.0))


def tokenize(text: str) -> tuple[list[str], list[str]]:
    """(tokens, the whitespace before each): syllables/words and single punctuation marks of the NFC text.

    The whitespace is kept as "", " " or "\\n" so the voted text can be written back with its line breaks.
    """
    pairs = _TOKEN_RE.findall(clean(text or ""))
    return [token for _space, token in pairs], [_gap(space) for space, _token in pairs]


def _gap(space: str) -> str:
    return ("\n" if "\n" in space else " ") if space else ""


def _add(votes: dict, key, weight: float, gap) -> None:
    entry = votes.get(key)
    if entry is None:
        votes[key] = [weight, {gap: weight}]
    else:
        entry[0] += weight
        entry[1][gap] = entry[1].get(gap, 0.0) + weight


def _winner(votes: dict, default):
    """The key with the largest weighted total; ties go to ``default`` (the medoid's reading), else first seen."""
    top = max(entry[0] for entry in votes.values())
    tied = [key for key, entry in votes.items() if entry[0] >= top - _TIE]
    key = default if default in tied else tied[0]
    gaps = votes[key][1]
    return key, max(gaps, key=gaps.get)


def rover_text(texts: list[str], weights: list[float] | None = None) -> tuple[str, float, float]:
    """Token-level alignment to the weighted medoid and a weighted vote per slot; (text, confidence, agreement).

    Confidence is the voted text's mean similarity to the answers; agreement is ``1 - mean pairwise CER``.
    """
    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    if n < 2:
        return medoid_text(texts, weights)
    # Identical answers are one candidate with their weights summed (and counted for the agreement).
    if weights is None or len(weights) == 0:
        weights = [1.0] * n
    elif len(weights) != n:
        raise ValueError("text consensus needs one weight per text.")
    merged: dict[str, list[float]] = {}
    for text, weight in zip(texts, weights, strict=True):
        weight = float(weight)
        weight = weight if weight > 1e-9 else 1e-9  # as _weights: a zero, negative or missing trust counts a little
        entry = merged.setdefault(text, [0.0, 0])
        entry[0] += weight
        entry[1] += 1
    distinct = list(merged)
    if len(distinct) == 1:
        return distinct[0], 1.0, 1.0
    w = np.array([entry[0] for entry in merged.values()])
    count = np.array([entry[1] for entry in merged.values()], dtype=np.float64)
    pivot, similarity = _medoid(distinct, w)
    agreement = float(np.clip((count @ similarity @ count - n) / (n * (n - 1)), 0.0, 1.0))
    tokenized = [_TOKEN_RE.findall(clean(t)) for t in distinct]  # (space, token) pairs
    ref_pairs = tokenized[pivot]
    ref = [token for _space, token in ref_pairs]
    slots: dict[int, dict] = {}  # votes over what stands at medoid token i (only where someone differs)
    inserts: dict[int, dict] = {}  # votes over what is inserted before medoid token i (i = len(ref): at the end)
    inserters: dict[int, float] = {}  # weight that inserted something there
    weight_list = w.tolist()
    for h, pairs in enumerate(tokenized):
        if h == pivot:
            continue
        tokens = [token for _space, token in pairs]
        if tokens == ref:
            continue
        wh = weight_list[h]
        for tag, i1, i2, j1, j2 in Levenshtein.opcodes(ref, tokens).as_list():
            if tag == "equal":
                continue
            common = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for k in range(common):  # substitutions, one to one
                _add(slots.setdefault(i1 + k, {}), tokens[j1 + k], wh, _gap(pairs[j1 + k][0]))
            for i in range(i1 + common, i2):  # this answer has nothing where the medoid has a token
                _add(slots.setdefault(i, {}), "", wh, "")
            if j2 > j1 + common:  # extra tokens: an insertion before medoid token i2
                key = tuple(tokens[j1 + common:j2])
                _add(inserts.setdefault(i2, {}), key, wh, tuple(_gap(space) for space, _t in pairs[j1 + common:j2]))
                inserters[i2] = inserters.get(i2, 0.0) + wh
    if not inserts and not slots:
        out = distinct[pivot]
    else:
        total = float(w.sum())
        parts = [_gap(space) + token for space, token in ref_pairs] + [""]
        for i, slot in slots.items():
            # Every answer covers each medoid token once (equal, substituted or missing): the weight that did not
            # vote for something else read the medoid's token as it is.
            _add(slot, ref[i], total - sum(entry[0] for entry in slot.values()), _gap(ref_pairs[i][0]))
            token, gap = _winner(slot, ref[i])
            parts[i] = gap + token if token else ""
        for i, votes in inserts.items():
            _add(votes, (), total - inserters[i], ())  # who inserted nothing here (the medoid too) votes "nothing"
            key, key_gaps = _winner(votes, ())
            parts[i] = "".join(gap + token for gap, token in zip(key_gaps, key, strict=True)) + parts[i]
        out = "".join(parts).strip()
    confidence = sum(Levenshtein.normalized_similarity(out, t) * c for t, (_w, c) in merged.items()) / n
    return out, confidence, agreement


def text_consensus(texts: list[str], weights: list[float] | None = None) -> tuple[str, float, float, str]:
    """(text, confidence, agreement, method): ``rover_text`` at 3+ answers, else ``medoid_text``."""
    if len(texts) >= ROVER_MIN_ANSWERS:
        return (*rover_text(texts, weights), "rover_text")
    return (*medoid_text(texts, weights), "medoid_text")
