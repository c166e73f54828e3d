"""Evaluate authorship evidence per condition, with 95 % intervals: writing-process logs and the text signal.

    .venv/bin/python bench/authenticity_eval.py            # evaluation seed, default threshold
    .venv/bin/python bench/authenticity_eval.py --json     # machine-readable
    .venv/bin/python bench/authenticity_eval.py --seed 11  # the seed the process cut-offs were set on

Texts (tests/data/authenticity/): human_vi.txt, human_en.txt (casual answers), human_formal.jsonl (careful,
edited answers) written by people for this set; llm_vi.jsonl, llm_en.jsonl in the style of chat assistants,
and the same LLM texts made *plain* (assistant openings, closings, lists and Markdown removed) for the text
signal. These texts were written for this project, so any text-only figure on them is optimistic.

Writing-process logs are SIMULATED here (no recorded keystroke corpus is available offline): edit logs in
the page's format (annotations/telemetry.py) for people composing (log-normal key gaps, longer before words
and after clauses, typos fixed, phone-IME compositions, revisions earlier in the text), people copy-typing an
LLM answer, people pasting their own draft then revising, LLM answers pasted, scripts typing at a steady
rate, scripts drawing gaps at random from human composing gaps, and keyboard injection. Each sample goes
through authenticity.scoring.score_answer (what the Celery job calls). The cut-offs in
authenticity/process.py were set on seed 11; the default report uses seed 29 (fresh logs, same texts).
Rates come with Wilson 95 % intervals; the text signal's ROC AUC with a bootstrap interval.

Per-prompt references (per_prompt.jsonl): 12 prompts, each with 3 LLM reference answers, 1 LLM answer not
uploaded and 3 answers in people's registers, all written for this set by the session that built it (an LLM;
the "human" answers imitate casual people and are not collected from real people). Paraphrases are generated
programmatically (``paraphrase``: sentences shuffled, one dropped, word swaps). The match level was chosen on
prompts 1-6 (TUNING_PROMPTS); 7-12 are reported apart as held out.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "authenticity"
sys.path.insert(0, str(ROOT))

EVAL_SEED = 29
# (condition, text source, should be flagged): the rows of the report.
CONDITIONS = [
    ("composing_human", "human", False),
    ("composing_human_phone_ime", "human", False),
    ("copy_typing_llm", "llm", True),  # expected to be missed: a person copy-typing types like a person
    ("paste_own_draft_then_revise", "human", None),  # flagged for review with its evidence; reported, not a target
    ("pasted_llm", "llm", True),
    ("steady_script_7kps", "llm", True),
    ("resampled_human_gaps_script", "llm", True),
    ("keyboard_injection", "llm", True),
]


def load_texts() -> dict[str, list[str]]:
    out = {}
    for name in ("human_vi", "human_en"):
        out[name] = [line.strip() for line in (DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    for name in ("llm_vi", "llm_en", "human_formal"):
        lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        out[name] = [json.loads(line)["text"] for line in lines if line.strip()]
    return out


_OPENERS = re.compile(r"^\W*(chắc chắn rồi|tất nhiên rồi|câu hỏi rất hay|certainly|sure|absolutely|great question"
                      r"|of course)[!,.]\s*|^(dưới đây là|sau đây là|here(?:'s| is| are))[^\n:]*:\s*",
                      re.IGNORECASE | re.MULTILINE)
_CLOSERS = re.compile(r"(hy vọng|nếu bạn (?:có|còn)|i hope|let me know|feel free)[^\n]*$", re.IGNORECASE | re.MULTILINE)


def plain(text: str) -> str:
    """An LLM answer as a plain paragraph: no assistant opening or closing, no list marks or Markdown."""
    text = _OPENERS.sub("", text)
    text = _CLOSERS.sub("", text)
    text = re.sub(r"\*\*|^#+\s*|^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", text, flags=re.MULTILINE)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


# --- simulated writing processes ----------------------------------------------------------------------------


def _boundary(prev: str, ch: str) -> bool:
    return not ch.isalnum() or not prev or not prev.isalnum()


class Log:
    """Builds an edit log the way static/label/labeler.js records one."""

    def __init__(self, start_ms: int):
        self.t, self.text, self.ops = start_ms, "", []

    def key(self, ch: str, gap: int, kind: str = "t") -> None:
        self.t += gap
        last = self.ops[-1] if self.ops else None
        if (kind == "t" and last and last[4] == "t" and last[2] == 0 and len(last[3]) < 200
                and len(last) >= 5 and last[1] + len(last[3]) == len(self.text)):
            last.append([]) if len(last) == 5 else None
            last[5].append(gap)
            last[3] += ch
        else:
            self.ops.append([self.t, len(self.text), 0, ch, kind])
        self.text += ch

    def edit(self, pos: int, deleted: int, inserted: str, kind: str, gap: int) -> None:
        self.t += gap
        self.ops.append([self.t, pos, deleted, inserted, kind])
        self.text = self.text[:pos] + inserted + self.text[pos + deleted:]

    def telemetry(self) -> dict:
        return {"edit_log": {"schema": 1, "fields": {"response": [list(op) for op in self.ops]}}}


def _gap(rng: random.Random, prev: str, ch: str, word_factor: float, mu: float) -> int:
    g = rng.lognormvariate(mu, 0.5)
    if _boundary(prev, ch):
        g *= word_factor
    if prev in ".,;:!?\n" and ch == " ":
        g += rng.uniform(600, 5000)  # thinking at a clause
    return int(g)


def compose(text: str, rng: random.Random, *, ime: bool = False, copy: bool = False) -> dict:
    """A person writing ``text`` (or copy-typing it when ``copy``): gaps, typos fixed, revisions."""
    log = Log(rng.randint(2000, 20000))
    word_factor = rng.uniform(1.3, 2.0) if copy else rng.uniform(1.5, 2.8)
    mu = rng.uniform(4.7, 5.4)
    typo_rate = rng.uniform(0.005, 0.02) if copy else rng.uniform(0.02, 0.06)
    prev = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ime and ch.isalpha() and _boundary(prev, ch):
            # A phone IME commits a whole syllable at once (Telex/VNI marks composed before the commit).
            j = i
            while j < len(text) and text[j].isalpha():
                j += 1
            log.edit(len(log.text), 0, text[i:j], "c", _gap(rng, prev, ch, word_factor, mu) * (j - i))
            prev, i = text[j - 1], j
            continue
        if ch.isalpha() and rng.random() < typo_rate:
            log.key(rng.choice("asdfghjkl"), _gap(rng, prev, ch, word_factor, mu))
            log.edit(len(log.text) - 1, 1, "", "x", int(rng.lognormvariate(5.5, 0.4)))
        log.key(ch, _gap(rng, prev, ch, word_factor, mu))
        prev, i = ch, i + 1
    if not copy and len(text) > 60 and rng.random() < 0.5:
        # Went back to change a word and put it back (a revision earlier in the text).
        pos = rng.randint(0, len(text) // 2)
        log.edit(pos, 0, "rất ", "t", rng.randint(2000, 9000))
        log.edit(pos, 4, "", "x", rng.randint(1000, 4000))
    return log.telemetry()


def paste_then_revise(text: str, rng: random.Random) -> dict:
    """A person pasting their own draft, then revising some words (the final text is ``text``)."""
    words = text.split(" ")
    draft_words = list(words)
    changed = rng.sample(range(len(words)), k=min(len(words), rng.randint(3, 12)))
    for k in changed:
        draft_words[k] = draft_words[k][::-1] or "x"
    draft = " ".join(draft_words)
    return _rebuild_revisions(text, draft, sorted(changed), words, draft_words, rng)


def _rebuild_revisions(text, draft, changed, words, draft_words, rng) -> dict:
    log = Log(rng.randint(3000, 20000))
    log.edit(0, 0, draft, "p", 0)
    for k in changed:
        pos = sum(len(w) + 1 for w in words[:k])
        log.edit(pos, len(draft_words[k]), "", "x", rng.randint(3000, 20000))
        for offset, ch in enumerate(words[k]):
            log.edit(pos + offset, 0, ch, "t", int(rng.lognormvariate(5.0, 0.5)))
    assert log.text == text
    return log.telemetry()


def pasted(text: str, rng: random.Random) -> dict:
    log = Log(rng.randint(2000, 60000))
    log.edit(0, 0, text, "p", 0)
    return log.telemetry()


def script(text: str, rng: random.Random, gaps: list[int] | None = None, *, rate: float = 7.0,
           jitter: float = 0.08) -> dict:
    """A script typing ``text``: a steady rate with a little jitter, or gaps drawn from ``gaps``."""
    log = Log(rng.randint(2000, 20000))
    for ch in text:
        gap = rng.choice(gaps) if gaps else int(1000 / rate * rng.uniform(1 - jitter, 1 + jitter))
        log.key(ch, gap)
    return log.telemetry()


def sample(condition: str, text: str, rng: random.Random, pool: list[int]) -> dict:
    if condition == "composing_human":
        return compose(text, rng)
    if condition == "composing_human_phone_ime":
        return compose(text, rng, ime=True)
    if condition == "copy_typing_llm":
        return compose(text, rng, copy=True)
    if condition == "paste_own_draft_then_revise":
        return paste_then_revise(text, rng)
    if condition == "pasted_llm":
        return pasted(text, rng)
    if condition == "steady_script_7kps":
        return script(text, rng, rate=rng.uniform(5, 9))
    if condition == "resampled_human_gaps_script":
        return script(text, rng, pool)
    return script(text, rng, rate=rng.uniform(60, 200), jitter=0.3)  # keyboard_injection


def human_gap_pool(texts: list[str], rng: random.Random) -> list[int]:
    """Inter-key gaps of simulated composing (what a resampling script would learn from)."""
    pool: list[int] = []
    for text in texts[:20]:
        for op in compose(text, rng)["edit_log"]["fields"]["response"]:
            if len(op) == 6:
                pool.extend(g for g in op[5] if g < 2000)
    return pool


# --- statistics --------------------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a positive scores higher than a negative), ties half."""
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg)) if pos and neg else float("nan")


def auc_ci(pos: list[float], neg: list[float], rng: random.Random, draws: int = 500) -> list[float]:
    values = sorted(auc(rng.choices(pos, k=len(pos)), rng.choices(neg, k=len(neg))) for _ in range(draws))
    return [round(values[int(0.025 * draws)], 4), round(values[int(0.975 * draws) - 1], 4)]


# --- the evaluation ----------------------------------------------------------------------------------------


def build_samples(seed: int = EVAL_SEED, limit: int | None = None) -> list[dict]:
    rng = random.Random(seed)
    texts = load_texts()
    human = texts["human_vi"] + texts["human_en"] + texts["human_formal"]
    llm = texts["llm_vi"] + texts["llm_en"]
    if limit:
        human, llm = human[:limit], llm[:limit]
    pool = human_gap_pool(human, random.Random(seed + 1))
    samples = []
    for condition, source, expected in CONDITIONS:
        for text in (human if source == "human" else llm):
            if len(text) < 20:
                continue
            samples.append({"condition": condition, "text": text, "expected": expected,
                            "telemetry": sample(condition, text, rng, pool)})
    return samples


def text_signal(limit: int | None = None, seed: int = EVAL_SEED) -> dict:
    """ROC AUC of the text-only style score (off by default in scoring): people vs LLM, as written and plain."""
    from authenticity.text import stylometry

    texts = load_texts()
    rng = random.Random(seed)
    human = texts["human_vi"] + texts["human_en"] + texts["human_formal"]
    llm = texts["llm_vi"] + texts["llm_en"]
    if limit:
        human, llm = human[:limit], llm[:limit]
    h = [stylometry(t)["llm_style"] for t in human]
    out = {}
    for name, group in (("llm_as_written", llm), ("llm_plain_paragraphs", [plain(t) for t in llm])):
        p = [stylometry(t)["llm_style"] for t in group]
        out[name] = {"auc": round(auc(p, h), 4), "ci95": auc_ci(p, h, rng), "llm_texts": len(p), "human_texts": len(h)}
    formal = [stylometry(t)["llm_style"] for t in texts["human_formal"]]
    plain_llm = [stylometry(plain(t))["llm_style"] for t in llm]
    out["llm_plain_vs_edited_human_prose"] = {"auc": round(auc(plain_llm, formal), 4),
                                              "ci95": auc_ci(plain_llm, formal, rng)}
    return out


def evaluate(samples: list[dict], threshold: float = 0.5) -> dict:
    from authenticity.scoring import score_answer

    per: dict[str, dict] = {}
    misses = []
    for s in samples:
        result = score_answer(s["text"], s["telemetry"], threshold=threshold)
        s["score"], s["flagged"], s["reasons"] = result.score, result.flagged, result.reasons
        process = result.components.get("process") or {}
        row = per.setdefault(s["condition"], {"n": 0, "flagged": 0, "replayed": 0, "expected": s["expected"]})
        row["n"] += 1
        row["flagged"] += int(result.flagged)
        row["replayed"] += int(process.get("status") == "replayed")
        if s["expected"] is not None and result.flagged != s["expected"] and len(misses) < 20:
            misses.append({"condition": s["condition"], "score": result.score, "reasons": result.reasons,
                           "summary": process.get("summary", ""), "text": s["text"][:60]})
    for row in per.values():
        row["flag_rate"] = round(row["flagged"] / row["n"], 4) if row["n"] else 0.0
        row["ci95"] = wilson(row["flagged"], row["n"])
    return {"threshold": threshold, "samples": len(samples), "conditions": per, "errors": misses}


# --- per-prompt references: answers LLMs gave to the same prompt ------------------------------------------

# Word swaps for the programmatic paraphrases (both directions are tried); a stand-in for a person or a second
# model rewording an LLM answer lightly. Heavier rewording is the "fresh LLM answer" condition.
_SWAPS = [
    ("bạn nên", "bạn có thể"), ("giúp", "hỗ trợ"), ("quan trọng", "cần thiết"), ("thường xuyên", "đều đặn"),
    ("ngoài ra", "bên cạnh đó"), ("khoảng", "chừng"), ("hãy", "nên"), ("mỗi ngày", "hằng ngày"),
    ("trước khi", "trước lúc"), ("nhiều", "không ít"), ("ngon", "đậm đà"), ("đơn giản", "dễ dàng"),
    ("important", "essential"), ("helps", "allows"), ("start", "begin"), ("choose", "pick"),
    ("gradually", "step by step"), ("make sure", "ensure"), ("great", "good"), ("several", "a few"),
]


def paraphrase(text: str, rng: random.Random) -> str:
    """A light programmatic paraphrase: sentences shuffled, one dropped from three or more, and word swaps."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    rng.shuffle(sentences)
    if len(sentences) >= 3:
        sentences.pop(rng.randrange(len(sentences)))
    out = " ".join(sentences)
    for a, b in _SWAPS:
        if rng.random() < 0.8:
            out = re.sub(rf"\b{re.escape(a)}\b", b, out, flags=re.IGNORECASE)
    return out


# Prompts 0-5 were looked at while choosing the default match level (DEFAULT_REFERENCE_MATCH); 6-11 were not.
TUNING_PROMPTS = 6


def per_prompt(threshold: float | None = None, seed: int = EVAL_SEED, limit: int | None = None) -> dict:
    """Recall on LLM answers (uploaded ones copied, programmatic paraphrases of them, fresh LLM answers that
    were not uploaded) against the false-positive rate on people's answers to the same prompts, held-out
    prompts and all prompts, with Wilson 95 % intervals."""
    from authenticity.models import DEFAULT_REFERENCE_MATCH
    from authenticity.paraphrase import best_reference, content_words

    threshold = DEFAULT_REFERENCE_MATCH if threshold is None else threshold
    rng = random.Random(seed)
    rows = [json.loads(line) for line in (DATA / "per_prompt.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if limit:
        rows = rows[:limit]
    counts: dict[str, dict[str, list[int]]] = {"held_out": {}, "all": {}}
    for index, row in enumerate(rows):
        refs = [{"id": i, "model": r["model"], "text": r["text"], "tokens": content_words(r["text"])}
                for i, r in enumerate(row["references"])]
        cases = [("llm_copied", r["text"], True) for r in row["references"]]
        cases += [("llm_paraphrased", paraphrase(r["text"], rng), True) for r in row["references"]]
        cases += [("llm_fresh_not_uploaded", row["llm_fresh"], True)]
        cases += [("human_same_prompt", h, False) for h in row["human"]]
        for condition, text, _llm in cases:
            match = best_reference(text, refs)
            hit = int(bool(match) and match["match"] >= threshold)
            for split in ("all", "held_out") if index >= TUNING_PROMPTS else ("all",):
                k_n = counts[split].setdefault(condition, [0, 0])
                k_n[0] += hit
                k_n[1] += 1
    out = {"threshold": threshold, "prompts": len(rows), "held_out_prompts": max(0, len(rows) - TUNING_PROMPTS)}
    for split, per in counts.items():
        out[split] = {c: {"n": n, "matched": k, "rate": round(k / n, 4), "ci95": wilson(k, n)}
                      for c, (k, n) in per.items()}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="texts per class (smoke runs)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from authenticity.models import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    report = evaluate(build_samples(args.seed, limit=args.limit), threshold)
    report["seed"] = args.seed
    report["text_signal"] = text_signal(args.limit, args.seed)
    report["per_prompt_references"] = per_prompt(seed=args.seed, limit=args.limit)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return report
    print(f"threshold {threshold}, seed {args.seed}, {report['samples']} samples (simulated writing processes)")
    print(f"{'condition':<30}{'n':>5}{'flagged':>9}{'rate':>8}   95% interval   replayed  target")
    for name, row in report["conditions"].items():
        target = {True: "flag", False: "pass", None: "review"}[row["expected"]]
        print(f"{name:<30}{row['n']:>5}{row['flagged']:>9}{row['flag_rate']:>8.3f}   "
              f"[{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}]   {row['replayed']:>5}     {target}")
    for name, row in report["text_signal"].items():
        print(f"text-only style signal, {name}: ROC AUC {row['auc']:.3f} [{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}]")
    refs = report["per_prompt_references"]
    print(f"per-prompt LLM references (containment >= {refs['threshold']}), {refs['prompts']} prompts, "
          f"3 reference answers each; paraphrases are programmatic:")
    for split in ("held_out", "all"):
        for name, row in refs[split].items():
            print(f"  {split:<9}{name:<26}{row['n']:>5}{row['matched']:>6}{row['rate']:>8.3f}   "
                  f"[{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}]")
    for miss in report["errors"]:
        print("  error:", miss)
    return report


if __name__ == "__main__":
    main()
