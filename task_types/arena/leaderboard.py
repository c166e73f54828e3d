"""The arena leaderboard: Bradley-Terry strengths of models over every judged pair, with bootstrap intervals.

Each answer names SHOWN positions; ``judgements`` maps them back to the models behind them (the page never
sees model names). All of a campaign's judgements feed one Bradley-Terry fit over models (consensus's
``bradley_terry_scores``, the same fit RLHF items use); the interval of a model is the 2.5-97.5 percentile
of its strength over fits on prompts resampled with replacement (a prompt's judgements stay together, so
correlated votes on one prompt do not narrow the interval). Strengths are shown on the Elo-like scale
Chatbot Arena uses: 400 / ln(10) points per unit of log-strength, centred on 1000.

Two checks ride along: position bias (how often the response shown first wins a decisive pairwise vote; 50 %
when contributors read both) and length bias (how often the longer response wins).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from consensus.bradley_terry import bradley_terry_scores
from task_types.chat_common.preferences import comparisons

ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0
OVERALL = ""  # the category key of the overall board


@dataclass
class Judgement:
    """One comparison of two models on one prompt: ``share`` of a win for ``winner`` (0.5 = tie)."""

    prompt: int  # the item id (the bootstrap resamples prompts)
    category: str
    winner: str
    loser: str
    share: float
    first_shown_won: bool | None = None  # decisive pairwise votes only
    longer_won: bool | None = None  # decisive votes between responses of different lengths


@dataclass
class Board:
    category: str
    rows: list[dict] = field(default_factory=list)  # model, rating, low, high, wins, losses, ties, n
    n_judgements: int = 0
    n_prompts: int = 0
    position_bias: dict = field(default_factory=dict)
    length_bias: dict = field(default_factory=dict)


def judgements(item_id: int, item: dict, answer: dict) -> list[Judgement]:
    """The model-vs-model comparisons one answer makes (ties and 'both bad' count half a win each way)."""
    responses = item.get("responses") or []
    models = [str(r.get("model", "")) for r in responses]
    lengths = [len(str(r.get("text", ""))) for r in responses]
    category = str(item.get("category") or "")
    out: list[Judgement] = []
    for i, j, share, first in comparisons(answer):
        if i >= len(models) or j >= len(models):
            continue
        longer = lengths[i] > lengths[j] if share == 1.0 and lengths[i] != lengths[j] else None
        out.append(Judgement(item_id, category, models[i], models[j], share, first, longer))
    return out


def fit(js: list[Judgement], models: list[str]) -> np.ndarray:
    """Log-strength per model (mean 0) from judgements."""
    index = {m: k for k, m in enumerate(models)}
    winners = np.fromiter((index[j.winner] for j in js), dtype=np.int64, count=len(js))
    losers = np.fromiter((index[j.loser] for j in js), dtype=np.int64, count=len(js))
    weights = np.fromiter((j.share for j in js), dtype=np.float64, count=len(js))
    return bradley_terry_scores(len(models), winners, losers, weights=weights)


def board(js: list[Judgement], *, category: str = OVERALL, rounds: int = 200, seed: int = 0) -> Board:
    """One leaderboard: ratings, 95 % bootstrap intervals (prompts resampled), records and bias checks."""
    out = Board(category=category, n_judgements=len(js))
    if not js:
        return out
    models = sorted({j.winner for j in js} | {j.loser for j in js})
    index = {m: k for k, m in enumerate(models)}
    winners = np.fromiter((index[j.winner] for j in js), dtype=np.int64, count=len(js))
    losers = np.fromiter((index[j.loser] for j in js), dtype=np.int64, count=len(js))
    shares = np.fromiter((j.share for j in js), dtype=np.float64, count=len(js))
    prompts = sorted({j.prompt for j in js})
    where = {p: k for k, p in enumerate(prompts)}
    prompt_of = np.fromiter((where[j.prompt] for j in js), dtype=np.int64, count=len(js))
    out.n_prompts = len(prompts)
    point = bradley_terry_scores(len(models), winners, losers, weights=shares)
    # Resampling prompts with replacement = weighting each prompt's judgements by how often it was drawn.
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(models)))
    for r in range(rounds):
        drawn = np.bincount(rng.integers(0, len(prompts), len(prompts)), minlength=len(prompts))
        samples[r] = bradley_terry_scores(len(models), winners, losers, weights=shares * drawn[prompt_of])
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    record = {m: {"wins": 0.0, "losses": 0.0, "ties": 0.0} for m in models}
    for j in js:
        if j.share == 1.0:
            record[j.winner]["wins"] += 1
            record[j.loser]["losses"] += 1
        else:
            record[j.winner]["ties"] += 0.5  # a tie is two half-judgements, one each way
            record[j.loser]["ties"] += 0.5
    for k, m in enumerate(models):
        out.rows.append({
            "model": m, "rating": round(ELO_BASE + ELO_SCALE * float(point[k]), 1),
            "low": round(ELO_BASE + ELO_SCALE * float(low[k]), 1),
            "high": round(ELO_BASE + ELO_SCALE * float(high[k]), 1),
            "wins": int(record[m]["wins"]), "losses": int(record[m]["losses"]), "ties": int(record[m]["ties"]),
        })
    out.rows.sort(key=lambda row: -row["rating"])
    for place, row in enumerate(out.rows, start=1):
        row["rank"] = place
    out.position_bias = _share([j.first_shown_won for j in js if j.first_shown_won is not None])
    out.length_bias = _share([j.longer_won for j in js if j.longer_won is not None])
    return out


def _share(flags: list[bool]) -> dict:
    """How often the flagged side won, with a 95 % Wilson interval and whether 50 % lies outside it."""
    n = len(flags)
    if not n:
        return {"n": 0, "share": None, "low": None, "high": None, "biased": False}
    k = sum(flags)
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = centre - half, centre + half
    return {"n": n, "share": round(p, 4), "low": round(low, 4), "high": round(high, 4),
            "biased": not (low <= 0.5 <= high)}


def boards(js: list[Judgement], *, rounds: int = 200, seed: int = 0) -> list[Board]:
    """The overall board first, then one per category (prompts without a category only count overall)."""
    out = [board(js, rounds=rounds, seed=seed)]
    for category in sorted({j.category for j in js if j.category}):
        out.append(board([j for j in js if j.category == category], category=category, rounds=rounds, seed=seed))
    return out


def campaign_boards(campaign, *, rounds: int | None = None) -> list[Board]:
    """Every stored answer of an arena campaign (gold items left out) turned into leaderboards."""
    from annotations.models import Annotation  # the type package is imported before apps are ready

    js: list[Judgement] = []
    rows = (Annotation.objects.filter(campaign=campaign, is_gold=False)
            .values_list("item_id", "item__payload", "payload").order_by("id").iterator(chunk_size=2000))
    for item_id, item, answer in rows:
        js.extend(judgements(item_id, item or {}, answer or {}))
    return boards(js, rounds=rounds or int(campaign.config.get("bootstrap_rounds", 200)))
