"""Evaluate authenticity flagging on tests/data/authenticity/ and print precision, recall and false positives.

    .venv/bin/python bench/authenticity_eval.py            # full evaluation set, default threshold
    .venv/bin/python bench/authenticity_eval.py --sweep    # plus a threshold sweep
    .venv/bin/python bench/authenticity_eval.py --json     # machine-readable

Texts: human_vi.txt / human_en.txt (one answer per line, casual) and human_formal.jsonl (careful answers with
numbers, lists and connectives), written by people for this set, and llm_*.jsonl
(answers in the style of chat assistants). Telemetry traces are simulated with a fixed seed from typing
profiles (desktop, phone keyboard, swipe keyboard, voice dictation, fast typist, a quoted paste, a distracted
typist) and pasting profiles
(whole answer, paste then edit, pasted in chunks, typed intro then paste) and a keyboard-injection tool
"typing" a prepared answer at machine speed, with the numbers (and typing bursts) the labelling
page records (static/label/labeler.js). Each sample goes through the same function the Celery task uses
(authenticity.scoring.score_answer) at the default threshold.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "authenticity"
sys.path.insert(0, str(ROOT))

TYPING_PROFILES = ["desktop", "phone", "swipe", "dictation", "fast", "quote_paste", "distracted"]
PASTING_PROFILES = ["full_paste", "paste_then_edit", "chunked", "intro_then_paste"]


def load_texts() -> dict[str, list[str]]:
    out = {}
    for name in ("human_vi", "human_en"):
        out[name] = [line.strip() for line in (DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    for name in ("llm_vi", "llm_en", "human_formal"):
        lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        out[name] = [json.loads(line)["text"] for line in lines if line.strip()]
    return out


def text_is_vietnamese(value: str) -> bool:
    from core.vietnamese import is_vietnamese

    return is_vietnamese(value)


def _base(rng: random.Random) -> dict:
    return {"schema": 1, "deletions": 0, "pastes": [], "focus_losses": 0, "first_key_ms": None,
            "started_at": "2026-01-01T00:00:00Z"}


def typing_trace(text: str, rng: random.Random, profile: str, vietnamese: bool) -> dict:
    """What the page records when a person types ``text`` (Telex/VNI diacritics cost extra keys)."""
    n = len(text)
    t = _base(rng)
    if profile == "phone":
        cps, kpc = rng.uniform(1.2, 3.5), rng.uniform(0.45, 1.1)
    elif profile == "swipe":  # gesture typing: one key event per word or fewer
        cps, kpc = rng.uniform(2, 5), rng.uniform(0.1, 0.35)
    elif profile == "dictation":  # voice typing: text arrives without key events, at speaking speed
        cps, kpc = rng.uniform(5, 11), rng.uniform(0.0, 0.08)
    elif profile == "fast":
        cps, kpc = rng.uniform(7, 10), rng.uniform(1.05, 1.3)
    else:
        cps, kpc = rng.uniform(2.5, 6), rng.uniform(1.25, 1.6) if vietnamese else rng.uniform(1.05, 1.25)
    typed = n
    if profile == "quote_paste":
        quote = int(n * rng.uniform(0.05, 0.15))
        t["pastes"] = [{"at_ms": rng.randint(3000, 20000), "length": quote, "field": "response"}]
        typed = n - quote
    pause = rng.uniform(1.1, 1.6)
    t["active_ms"] = int(typed / cps * 1000 * pause)
    t["keystrokes"] = int(typed * kpc)
    t["deletions"] = int(t["keystrokes"] * rng.uniform(0.02, 0.12))
    t["first_key_ms"] = rng.randint(1500, 20000) if t["keystrokes"] else None
    t["focus_losses"] = rng.randint(1, 4) if profile == "distracted" else rng.choice([0, 0, 0, 1])
    if profile == "distracted":
        t["active_ms"] = int(t["active_ms"] * rng.uniform(1.2, 2.0))
    t["bursts"] = _human_bursts(t["keystrokes"], cps * kpc, rng)
    t["chars_final"] = n
    return t


def _human_bursts(keys: int, keys_per_second: float, rng: random.Random) -> list[dict]:
    """Runs of keys as the page records them; now and then a held-down Backspace (auto-repeat ~30/s)."""
    bursts, at, left = [], rng.randint(1000, 5000), keys
    while left > 0 and len(bursts) < 300:
        if rng.random() < 0.05:
            length, kps = rng.randint(20, 70), rng.uniform(25, 33)  # a held key
        else:
            length, kps = min(left, rng.randint(5, 80)), keys_per_second * rng.uniform(0.7, 1.6)
        duration = int(length / kps * 1000)
        bursts.append({"at_ms": at, "length": length, "field": "response", "duration_ms": duration})
        at += duration + rng.randint(1600, 8000)
        left -= length
    return bursts


def autotyped_trace(text: str, rng: random.Random) -> dict:
    """A keyboard-injection tool "typing" a prepared answer: no paste, every character a key event."""
    n = len(text)
    t = _base(rng)
    kps = rng.uniform(60, 300)
    t["keystrokes"] = n
    t["first_key_ms"] = rng.randint(2000, 20000)
    t["active_ms"] = int(n / kps * 1000) + rng.randint(2000, 15000)
    t["bursts"] = [{"at_ms": t["first_key_ms"], "length": n, "field": "response", "duration_ms": int(n / kps * 1000)}]
    t["chars_final"] = n
    return t


def pasting_trace(text: str, rng: random.Random, profile: str) -> dict:
    """What the page records when an answer is pasted from elsewhere (a chatbot, a document)."""
    n = len(text)
    t = _base(rng)
    t["focus_losses"] = rng.randint(0, 3)
    if profile == "full_paste":
        t["pastes"] = [{"at_ms": rng.randint(2000, 60000), "length": n, "field": "response"}]
        t["keystrokes"] = rng.randint(0, 8)
        t["active_ms"] = rng.randint(2000, 30000)
    elif profile == "paste_then_edit":
        share = rng.uniform(0.8, 1.0)
        t["pastes"] = [{"at_ms": rng.randint(2000, 60000), "length": int(n * share), "field": "response"}]
        typed = n * (1 - share)
        t["keystrokes"] = int(typed * rng.uniform(1.1, 1.6)) + rng.randint(5, 40)
        t["active_ms"] = int(max(typed / 4, 1) * 1000) + rng.randint(5000, 40000)
    elif profile == "chunked":
        parts = rng.randint(2, 4)
        total = int(n * rng.uniform(0.9, 1.0))
        cuts = sorted(rng.sample(range(1, max(total, parts + 1)), parts - 1))
        lengths = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        t["pastes"] = [{"at_ms": 5000 * (i + 1), "length": length, "field": "response"} for i, length in enumerate(lengths)]
        t["keystrokes"] = rng.randint(0, 30)
        t["active_ms"] = rng.randint(8000, 60000)
    else:  # intro_then_paste
        intro = int(n * rng.uniform(0.1, 0.2))
        t["pastes"] = [{"at_ms": rng.randint(20000, 60000), "length": n - intro, "field": "response"}]
        t["keystrokes"] = int(intro * rng.uniform(1.1, 1.5))
        t["active_ms"] = int(intro / 4 * 1000) + rng.randint(3000, 20000)
    if t["keystrokes"]:
        t["first_key_ms"] = rng.randint(1000, 30000)
        t["deletions"] = min(t["keystrokes"], rng.randint(0, 10))
    t["chars_final"] = n
    return t


def build_samples(seed: int = 11, limit: int | None = None) -> list[dict]:
    """Every (text, telemetry, category, expected) pair of the evaluation, deterministic for a seed."""
    rng = random.Random(seed)
    texts = load_texts()
    human = [(t, k == "human_vi") for k in ("human_vi", "human_en") for t in texts[k]]
    human += [(t, text_is_vietnamese(t)) for t in texts["human_formal"]]
    llm = [(t, k == "llm_vi") for k in ("llm_vi", "llm_en") for t in texts[k]]
    if limit:
        human, llm = human[:limit], llm[:limit]
    samples = []
    for text, vi in human:
        for profile in rng.sample(TYPING_PROFILES, 4):
            samples.append({"category": "typed_human", "profile": profile, "text": text, "llm": False,
                            "telemetry": typing_trace(text, rng, profile, vi)})
        samples.append({"category": "human_no_telemetry", "profile": "none", "text": text, "llm": False,
                        "telemetry": None})
        samples.append({"category": "pasted_human", "profile": "full_paste", "text": text, "llm": False,
                        "telemetry": pasting_trace(text, rng, "full_paste")})
    for text, vi in llm:
        for profile in PASTING_PROFILES:
            samples.append({"category": "pasted_llm", "profile": profile, "text": text, "llm": True,
                            "telemetry": pasting_trace(text, rng, profile)})
        samples.append({"category": "typed_llm", "profile": "desktop", "text": text, "llm": True,
                        "telemetry": typing_trace(text, rng, "desktop", vi)})
        samples.append({"category": "llm_no_telemetry", "profile": "none", "text": text, "llm": True,
                        "telemetry": None})
        samples.append({"category": "autotyped_llm", "profile": "injected", "text": text, "llm": True,
                        "telemetry": autotyped_trace(text, rng)})
    return samples


def evaluate(samples: list[dict], threshold: float = 0.5) -> dict:
    from authenticity.scoring import score_answer

    per: dict[str, dict] = {}
    started = time.perf_counter()
    for s in samples:
        result = score_answer(s["text"], s["telemetry"], threshold=threshold)
        s["score"], s["flagged"] = result.score, result.flagged
        row = per.setdefault(s["category"], {"n": 0, "flagged": 0})
        row["n"] += 1
        row["flagged"] += int(result.flagged)
    elapsed = time.perf_counter() - started
    for row in per.values():
        row["flag_rate"] = round(row["flagged"] / row["n"], 4) if row["n"] else 0.0

    def pr(pos: list[str], neg: list[str]) -> dict:
        tp = sum(per.get(c, {}).get("flagged", 0) for c in pos)
        p = sum(per.get(c, {}).get("n", 0) for c in pos)
        fp = sum(per.get(c, {}).get("flagged", 0) for c in neg)
        n = sum(per.get(c, {}).get("n", 0) for c in neg)
        return {
            "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
            "recall": round(tp / p, 4) if p else 0.0,
            "false_positive_rate": round(fp / n, 4) if n else 0.0,
            "positives": p, "negatives": n,
        }

    misses = [
        {"category": s["category"], "profile": s["profile"], "score": s["score"], "text": s["text"][:80]}
        for s in samples
        if (s["category"] == "pasted_llm" and not s["flagged"]) or (s["category"] == "typed_human" and s["flagged"])
    ]
    return {
        "threshold": threshold,
        "samples": len(samples),
        "categories": per,
        "pasted_llm_vs_typed_human": pr(["pasted_llm"], ["typed_human"]),
        "all_llm_vs_all_human_unpasted": pr(
            ["pasted_llm", "autotyped_llm", "typed_llm", "llm_no_telemetry"], ["typed_human", "human_no_telemetry"]
        ),
        "text_only_llm_vs_human": pr(["llm_no_telemetry"], ["human_no_telemetry"]),
        "errors_on_targets": misses,
        "ms_per_answer": round(elapsed * 1000 / max(len(samples), 1), 3),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="texts per class (smoke runs)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from authenticity.models import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    samples = build_samples(limit=args.limit)
    report = evaluate(samples, threshold)
    if args.sweep:
        report["sweep"] = {
            str(t): {k: evaluate(samples, t)[k] for k in ("pasted_llm_vs_typed_human", "text_only_llm_vs_human")}
            for t in (0.3, 0.4, 0.5, 0.6, 0.7)
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return report
    print(f"threshold {threshold}, {report['samples']} samples, {report['ms_per_answer']} ms per answer")
    print(f"{'category':<22}{'n':>6}{'flagged':>9}{'rate':>8}")
    for cat, row in sorted(report["categories"].items()):
        print(f"{cat:<22}{row['n']:>6}{row['flagged']:>9}{row['flag_rate']:>8.3f}")
    for key in ("pasted_llm_vs_typed_human", "all_llm_vs_all_human_unpasted", "text_only_llm_vs_human"):
        m = report[key]
        print(f"{key:<32} precision {m['precision']:.3f}  recall {m['recall']:.3f}  FP rate {m['false_positive_rate']:.3f}")
    for miss in report["errors_on_targets"]:
        print("  miss:", miss)
    if args.sweep:
        for t, row in report["sweep"].items():
            a, b = row["pasted_llm_vs_typed_human"], row["text_only_llm_vs_human"]
            print(f"  threshold {t}: pasted-LLM recall {a['recall']:.3f} typed-human FP {a['false_positive_rate']:.3f} | "
                  f"text-only recall {b['recall']:.3f} FP {b['false_positive_rate']:.3f}")
    return report


if __name__ == "__main__":
    main()
