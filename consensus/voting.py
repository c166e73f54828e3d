"""Majority and weighted votes for one item's categorical answers.

The tie rule, everywhere: weighted totals within ``TIE_TOLERANCE`` of the largest are a tie, and a tie
goes to the label answered first (answers in annotation id order). ``dawid_skene.majority_vote``, the
vectorised vote the campaign re-score decides with and feeds trust from, follows the same rule given
the answers in item, id order, so the stored result and the trust bookkeeping never disagree on a tie.
A weight below ``MIN_WEIGHT`` (a zero trust) counts as ``MIN_WEIGHT`` in both.
"""
from collections import Counter
from itertools import combinations

TIE_TOLERANCE = 1e-9
MIN_WEIGHT = 1e-9


def weighted_vote(labels: list, weights: list[float] | None = None) -> tuple[object, float, dict]:
    """Winner, its weighted share (the confidence) and the raw counts; ties go to the first answered."""
    if not labels:
        return None, 0.0, {}
    weights = weights or [1.0] * len(labels)
    totals: dict = {}  # insertion order = the order the labels were first answered
    for label, weight in zip(labels, weights, strict=True):
        totals[label] = totals.get(label, 0.0) + max(weight, MIN_WEIGHT)
    top = max(totals.values())
    winner = next(label for label, total in totals.items() if total >= top - TIE_TOLERANCE)
    share = totals[winner] / sum(totals.values())
    return winner, share, dict(Counter(labels))


def pairwise_agreement(labels: list) -> float:
    """Share of contributor pairs that gave the same answer (1.0 for a single answer)."""
    if len(labels) < 2:
        return 1.0
    pairs = list(combinations(labels, 2))
    return sum(a == b for a, b in pairs) / len(pairs)
