"""How unsure a backend is about an item, from its class distribution (protocol ``annotate-ml/1``).

Pure functions: the queue's order (active learning) depends on them, so a planted-bug test guards them
(tests/test_assist_units.py). Every measure is in [0, 1], higher meaning less sure.
"""
from __future__ import annotations

import math

STRATEGIES = ("least_confident", "margin", "entropy")


def _probabilities(distribution: dict | None) -> list[float]:
    """The distribution's probabilities, clipped at 0 and renormalised (a backend's rounding is forgiven)."""
    values = [max(float(v), 0.0) for v in (distribution or {}).values() if isinstance(v, int | float)]
    total = sum(values)
    return sorted((v / total for v in values), reverse=True) if total > 0 else []


def least_confident(distribution: dict | None) -> float | None:
    p = _probabilities(distribution)
    return 1.0 - p[0] if p else None


def margin(distribution: dict | None) -> float | None:
    """1 - (p1 - p2): two classes close together is unsure even when neither is small."""
    p = _probabilities(distribution)
    if not p:
        return None
    return 1.0 - (p[0] - (p[1] if len(p) > 1 else 0.0))


def entropy(distribution: dict | None) -> float | None:
    """Shannon entropy normalised by log K (K classes in the distribution)."""
    p = _probabilities(distribution)
    if len(p) < 2:
        return 0.0 if p else None
    h = -sum(x * math.log(x) for x in p if x > 0)
    return h / math.log(len(p))


MEASURES = {"least_confident": least_confident, "margin": margin, "entropy": entropy}


def uncertainty(distribution: dict | None, score: float, strategy: str = "least_confident") -> float:
    """The strategy's measure of the distribution; without one, ``1 - score``."""
    measure = MEASURES.get(strategy, least_confident)
    value = measure(distribution)
    return round(1.0 - score if value is None else value, 6)


def disagreement(a_answer, a_distribution: dict | None, b_answer, b_distribution: dict | None) -> float:
    """How much two backends disagree on one item: the total variation distance between their distributions
    when both give one, else 1 when their answers differ and 0 when they agree."""
    if a_distribution and b_distribution:
        keys = set(a_distribution) | set(b_distribution)
        pa, pb = _normalised(a_distribution), _normalised(b_distribution)
        return round(0.5 * sum(abs(pa.get(k, 0.0) - pb.get(k, 0.0)) for k in keys), 6)
    return 0.0 if a_answer == b_answer else 1.0


def _normalised(distribution: dict) -> dict:
    values = {k: max(float(v), 0.0) for k, v in distribution.items() if isinstance(v, int | float)}
    total = sum(values.values()) or 1.0
    return {k: v / total for k, v in values.items()}


def priority_of(value: float) -> int:
    """The queue's integer priority for an uncertainty in [0, 1] (the pick orders by priority DESC, then id)."""
    return round(max(0.0, min(1.0, value)) * 10_000)
