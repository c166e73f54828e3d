"""Arena leaderboard timing: Bradley-Terry fit plus bootstrap intervals on synthetic judges.

Usage: python bench/arena_leaderboard.py [models] [prompts] [votes_per_prompt] [rounds]
Prints the seconds for the point fit and for the whole board (point fit + bootstrap), and whether the
true order was recovered. No database: the judgements are built in memory as the page builds them.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(n_models: int = 10, n_prompts: int = 2000, votes: int = 3, rounds: int = 200, seed: int = 0) -> dict:
    from task_types.arena import leaderboard

    rng = np.random.default_rng(seed)
    strength = np.linspace(1.5, -1.5, n_models)
    models = [f"model-{k:02d}" for k in range(n_models)]
    js = []
    for p in range(n_prompts):
        item = {"category": f"c{p % 4}", "responses": [{"model": m, "text": "x" * (40 + k)} for k, m in enumerate(models)]}
        for _ in range(votes):
            i, j = (int(x) for x in rng.choice(n_models, 2, replace=False))
            choice = "A" if rng.random() < 1 / (1 + np.exp(strength[j] - strength[i])) else "B"
            js += leaderboard.judgements(p, item, {"choice": choice, "order": [i, j]})
    t0 = time.perf_counter()
    leaderboard.fit(js, sorted(models))
    t1 = time.perf_counter()
    board = leaderboard.board(js, rounds=rounds, seed=seed)
    t2 = time.perf_counter()
    out = {"models": n_models, "prompts": n_prompts, "judgements": len(js), "rounds": rounds,
           "fit_s": round(t1 - t0, 4), "board_s": round(t2 - t1, 3),
           "order_recovered": [r["model"] for r in board.rows] == models}
    print(out)
    return out


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
