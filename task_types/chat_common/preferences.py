"""Per-item preference consensus shared by arena and conversation ranking: votes -> Bradley-Terry -> chosen.

An answer names SHOWN positions and carries the order it was shown in (original indices): a pairwise
``choice`` (A, B, tie, both_bad) over the two shown responses, or ``ranks`` per shown response.
``comparisons`` maps it back to original indices; ``aggregate`` fits Bradley-Terry over one item's
responses (consensus.bradley_terry, weighted by trust) and names the chosen and rejected response the DPO
and reward layouts export.
"""
from __future__ import annotations

import numpy as np

from consensus.bradley_terry import bradley_terry_scores
from tasks.types.base import Aggregate


def shown_order(answer: dict, n_shown: int) -> list[int]:
    order = answer.get("order")
    if isinstance(order, list) and len(order) == n_shown and all(isinstance(i, int) for i in order):
        return order
    return list(range(n_shown))


def comparisons(answer: dict) -> list[tuple[int, int, float, bool | None]]:
    """(winner, loser, share, first_shown_won) in original indices; a tie is half a win each way."""
    out: list[tuple[int, int, float, bool | None]] = []
    if "choice" in answer:
        i, j = shown_order(answer, 2)
        choice = answer["choice"]
        if choice == "A":
            out.append((i, j, 1.0, True))
        elif choice == "B":
            out.append((j, i, 1.0, False))
        elif choice in ("tie", "both_bad"):
            out += [(i, j, 0.5, None), (j, i, 0.5, None)]
    elif isinstance(answer.get("ranks"), list):
        ranks = answer["ranks"]
        order = shown_order(answer, len(ranks))
        for a in range(len(ranks)):
            for b in range(a + 1, len(ranks)):
                ra, rb = ranks[a], ranks[b]
                if not isinstance(ra, int) or not isinstance(rb, int):
                    continue
                if ra < rb:
                    out.append((order[a], order[b], 1.0, None))
                elif rb < ra:
                    out.append((order[b], order[a], 1.0, None))
                else:
                    out += [(order[a], order[b], 0.5, None), (order[b], order[a], 0.5, None)]
    return [c for c in out if c[0] != c[1] and c[0] >= 0 and c[1] >= 0]


def aggregate(answers: list[dict], n: int, weights: list[float] | None = None) -> Aggregate:
    """Bradley-Terry over one item's ``n`` responses; agreement is the share of same-pair votes that agree."""
    weights = list(weights) if weights is not None else [1.0] * len(answers)
    winners, losers, wts, votes = [], [], [], {}
    decided: dict[tuple[int, int], list[int]] = {}
    for answer, w in zip(answers, weights, strict=True):
        for win, lose, share, _first in comparisons(answer):
            if win >= n or lose >= n:
                continue
            winners.append(win)
            losers.append(lose)
            wts.append(w * share)
            if share == 1.0:
                decided.setdefault((min(win, lose), max(win, lose)), []).append(win)
        if answer.get("choice"):
            votes[answer["choice"]] = votes.get(answer["choice"], 0) + 1
    scores = np.zeros(n)
    if winners:
        scores = np.asarray(bradley_terry_scores(n, np.asarray(winners, dtype=np.int64),
                                                 np.asarray(losers, dtype=np.int64),
                                                 weights=np.asarray(wts, dtype=np.float64)))
    ranking = sorted(range(n), key=lambda i: -scores[i])
    same = total = 0
    for named in decided.values():
        for a in range(len(named)):
            for b in range(a + 1, len(named)):
                total += 1
                same += named[a] == named[b]
    gap = float(scores[ranking[0]] - scores[ranking[-1]]) if n else 0.0
    decisive = bool(winners) and gap > 1e-9
    result = {"ranking": ranking, "scores": [round(float(s), 6) for s in scores], "n_responses": n,
              "votes": votes, "chosen": ranking[0] if decisive else None,
              "rejected": ranking[-1] if decisive else None, "margin": round(gap, 4)}
    confidence = 1.0 / (1.0 + np.exp(-gap)) if decisive else 0.0
    return Aggregate(result=result, confidence=round(float(confidence), 6),
                     agreement=round(same / total, 6) if total else 1.0, method="bradley_terry")


def agrees(answer: dict, result: dict) -> bool | None:
    """A decisive vote agrees when the item's consensus puts its winner above its loser."""
    ranking = result.get("ranking")
    if not isinstance(ranking, list):
        return None
    place = {idx: k for k, idx in enumerate(ranking)}
    pairs = [(w, lo) for w, lo, share, _f in comparisons(answer) if share == 1.0 and w in place and lo in place]
    if not pairs:
        return None
    return all(place[w] < place[lo] for w, lo in pairs)


def contradicts(answer: dict, gold: dict) -> bool:
    """Whether an answer reverses a preference the gold answer states (other pairs give no signal)."""
    theirs = {(w, lo) for w, lo, share, _f in comparisons(gold) if share == 1.0}
    return any((lo, w) in theirs for w, lo, share, _f in comparisons(answer) if share == 1.0)
