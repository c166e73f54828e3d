"""Whether a contributor accepted a suggestion unchanged, edited it or rejected it, decided by the server
from the stored answer and the suggestion it showed (never from the page's word).

Both answers are flattened into leaves (``path -> value``). A leaf is *text* when either side is a string with
whitespace (a sentence, a transcript), else *categorical* (a label, a flag, a number, a single word).

- accepted: every leaf equal;
- rejected: more than half of the categorical leaves changed and at least half of the text's characters
  (``chars_changed >= 0.5 *`` the longer text, summed over text leaves); a part the answer lacks counts as
  met, so a one-label answer is rejected when its label changed, a text-only one when half its text did;
- edited: anything in between.

A leaf only the answer has and that is empty (None, "", [], {}, false) is ignored: the widget's default.
Distances: ``fields_changed`` counts leaves that differ (missing on one side counts); ``chars_changed`` and
``words_changed`` are Levenshtein distances summed over the text leaves (words: whitespace tokens).
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from core.schema import normalize_text


@dataclass(frozen=True)
class Verdict:
    outcome: str  # accepted | edited | rejected
    fields_changed: int
    chars_changed: int
    words_changed: int


def flatten(value, prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b[0]": 1, "a.b[1]": 2}``; empty containers are kept as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _is_text(a, b) -> bool:
    return any(isinstance(v, str) and any(c.isspace() for c in v.strip()) for v in (a, b))


def classify(suggested, submitted) -> Verdict:
    """The outcome of one answer against the suggestion shown with it (see the module's docstring)."""
    left, right = flatten(normalize_text(suggested)), flatten(normalize_text(submitted))
    fields = chars = words = 0
    categorical_total = categorical_changed = 0
    text_total = 0
    # A leaf only the answer has and that holds nothing (a blank rationale, an unticked flag) is the widget's
    # default, not a change the contributor made.
    right = {k: v for k, v in right.items() if k in left or v not in (None, "", [], {}, False)}
    for path in sorted(set(left) | set(right)):
        a, b = left.get(path), right.get(path)
        if _is_text(a, b):
            sa, sb = a if isinstance(a, str) else "", b if isinstance(b, str) else ""
            text_total += max(len(sa), len(sb))
            if sa != sb:
                fields += 1
                chars += Levenshtein.distance(sa, sb)
                words += Levenshtein.distance(sa.split(), sb.split())
        else:
            categorical_total += 1
            if a != b or (path in left) != (path in right):
                fields += 1
                categorical_changed += 1
    if fields == 0:
        return Verdict("accepted", 0, 0, 0)
    rejected = (categorical_total == 0 or categorical_changed * 2 > categorical_total) and (text_total == 0 or chars * 2 >= text_total)
    return Verdict("rejected" if rejected else "edited", fields, chars, words)
