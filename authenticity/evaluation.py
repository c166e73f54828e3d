"""The measured error rates a dataset card quotes: copied from the README's evaluation, never computed here.

Figures from ``bench/authenticity_eval.py`` (seed 29, threshold 0.5), Wilson 95 % intervals. The writing
processes are simulated and the per-prompt paraphrases programmatic (README, "Measured on the evaluation
set"): they show that the mechanism works as designed, not its error rates on real people. Update this table
and the README together when the bench is re-run.
"""
from __future__ import annotations

DATA = ("tests/data/authenticity: 101 answers written for the set in people's registers and 49 LLM answers; "
        "simulated writing-process logs; 12 prompts with 3 LLM reference answers, 1 LLM answer not uploaded "
        "and 3 answers in people's registers each; paraphrases generated programmatically")

# (condition, what counts, n, rate, [low, high])
MEASURED = [
    ("people composing (keyboard)", "flagged (false positive)", 101, 0.010, [0.002, 0.054]),
    ("people composing (phone IME)", "flagged (false positive)", 101, 0.0, [0.0, 0.037]),
    ("script typing at a steady 5-9 keys/s", "flagged", 49, 1.0, [0.927, 1.0]),
    ("script drawing human gaps at random", "flagged", 49, 0.980, [0.893, 0.996]),
    ("LLM answer pasted", "flagged", 49, 1.0, [0.927, 1.0]),
    ("LLM answer copy-typed by a person", "flagged (mostly missed)", 49, 0.082, [0.032, 0.192]),
    ("uploaded LLM answer to the same prompt, copied", "matched", 36, 1.0, [0.904, 1.0]),
    ("uploaded LLM answer, paraphrased programmatically", "matched", 36, 1.0, [0.904, 1.0]),
    ("LLM answer to the same prompt that was not uploaded", "matched (missed)", 12, 0.0, [0.0, 0.242]),
    ("people's answers to the same prompt", "matched (false positive)", 36, 0.0, [0.0, 0.096]),
]


def measured_error_rates() -> dict:
    return {"data": DATA, "threshold": 0.5,
            "rows": [{"condition": c, "counts": what, "n": n, "rate": rate, "ci95": ci}
                     for c, what, n, rate, ci in MEASURED]}
