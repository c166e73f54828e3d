"""Majority and weighted votes for one item's categorical answers."""
from collections import Counter
from itertools import combinations


def weighted_vote(labels: list, weights: list[float] | None = None) -> tuple[object, float, dict]:
    """Winner, its weighted share (the confidence) and the raw counts; ties go to the first seen."""
    if not labels:
        return None, 0.0, {}
    weights = weights or [1.0] * len(labels)
    totals: dict = {}
    for label, weight in zip(labels, weights, strict=True):
        totals[label] = totals.get(label, 0.0) + max(weight, 1e-9)
    winner = max(totals, key=lambda k: totals[k])
    share = totals[winner] / sum(totals.values())
    return winner, share, dict(Counter(labels))


def pairwise_agreement(labels: list) -> float:
    """Share of contributor pairs that gave the same answer (1.0 for a single answer)."""
    if len(labels) < 2:
        return 1.0
    pairs = list(combinations(labels, 2))
    return sum(a == b for a, b in pairs) / len(pairs)
