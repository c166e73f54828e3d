"""The human-likeness score of one free-text answer: pure functions, no database.

score = 0.55 x behaviour + 0.45 x text when the telemetry is valid, text alone otherwise, then capped by
1 - similarity to a known LLM output or to another submission. Every number that went in is returned in
``components`` so a reviewer sees why an answer was flagged. The weights and cut-offs are the ones measured
by bench/authenticity_eval.py on tests/data/authenticity/ (figures in the README).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from annotations.telemetry import clean_telemetry, has_evidence

from . import text as textmod

ALGORITHM_VERSION = "1"
BEHAVIOUR_WEIGHT = 0.55
# Faster than this many characters per second of active time cannot be typed by hand.
MAX_TYPING_CPS = 12.0
# A run of this many keys above MAX_BURST_KPS keys per second is not typed by a hand. Held-down keys
# auto-repeat at up to ~33/s (a long Backspace), so the bar sits above that.
MIN_BURST_KEYS = 40
MAX_BURST_KPS = 40.0
MIN_TEXT_CHARS = 20  # below this an answer is a label, not free text: nothing to score
ITEM_COPY_OVERLAP = 0.5  # pasting the item's own text (corrections) is part of the task, not a chatbot


@dataclass
class Result:
    score: float | None
    flagged: bool
    evidence: str
    reasons: list[str] = field(default_factory=list)
    components: dict = field(default_factory=dict)
    pasted_share: float | None = None
    stripped_vietnamese: bool = False
    mixed_script: bool = False


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def behaviour(telemetry: dict, text_chars: int, *, item_overlap: float = 0.0) -> dict:
    """Human-likeness of how the text was produced, from validated telemetry (status ``ok``)."""
    pasted = sum(p["length"] for p in telemetry.get("pastes", []))
    pasted_share = _clip(pasted / max(text_chars, 1))
    effective_paste = pasted_share * (1 - item_overlap) if item_overlap >= ITEM_COPY_OVERLAP else pasted_share
    typed_chars = text_chars * (1 - pasted_share)
    active_s = telemetry["active_ms"] / 1000
    typing_cps = typed_chars / active_s if active_s > 0 else (0.0 if typed_chars < 1 else 1e6)
    keys_per_char = telemetry["keystrokes"] / typed_chars if typed_chars >= 1 else None
    # Typing bursts (runs of keys): a long run faster than any hand types is a keyboard-injection tool
    # "typing" a prepared answer to dodge paste detection.
    burst_kps = max(
        (b["length"] / max(b.get("duration_ms", 0), 1) * 1000 for b in telemetry.get("bursts", [])
         if b["length"] >= MIN_BURST_KEYS and "duration_ms" in b),
        default=0.0,
    )

    b_paste = 1 - effective_paste
    if effective_paste >= 0.3 and telemetry.get("focus_losses", 0) > 0:
        b_paste *= 0.8  # left the page, came back, pasted: the classic chatbot round trip
    b_speed = 1.0 if typing_cps <= MAX_TYPING_CPS else _clip(1 - (typing_cps - MAX_TYPING_CPS) / MAX_TYPING_CPS)
    b_burst = 1.0 if burst_kps <= MAX_BURST_KPS else _clip(1 - (burst_kps - MAX_BURST_KPS) / 10)
    # Phone keyboards with suggestions insert whole words per key event, so few keys per character is only
    # weak evidence; text with no keys and no paste at all (drag and drop, scripts) halves the score.
    if keys_per_char is None or typed_chars < 40:
        b_keys = 1.0
    else:
        b_keys = 0.5 + 0.5 * _clip(keys_per_char / 0.35)
    value = min(b_paste, b_speed, b_burst) * b_keys
    return {
        "value": round(value, 4),
        "pasted_share": round(pasted_share, 4),
        "item_overlap": round(item_overlap, 4),
        "typing_cps": round(min(typing_cps, 1e6), 2),
        "keys_per_char": None if keys_per_char is None else round(keys_per_char, 3),
        "max_burst_keys_per_second": round(min(burst_kps, 1e6), 1),
        "focus_losses": telemetry.get("focus_losses", 0),
        "first_key_ms": telemetry.get("first_key_ms"),
    }


def text_component(analysis: dict) -> dict:
    style = analysis["style"]
    value = 1 - style["llm_style"]
    if analysis["diversity"]["repetition"] > 0.3:
        value -= 0.2  # looping or copy-padded text
    return {"value": round(_clip(value), 4), **style, "diversity": analysis["diversity"]}


def evidence_of(telemetry_ok: bool, pasted_share: float | None) -> str:
    if not telemetry_ok or pasted_share is None:
        return "none"
    if pasted_share >= 0.5:
        return "pasted"
    if pasted_share >= 0.1:
        return "mixed"
    return "typed"


def score_answer(
    answer_text: str,
    telemetry,
    *,
    threshold: float = 0.5,
    near_duplicate: float = 0.6,
    reference_similarity: float = 0.0,
    duplicate_similarity: float = 0.0,
    item_overlap: float = 0.0,
) -> Result:
    """Score one answer's free text. ``telemetry`` may be raw (it is validated here) or already cleaned."""
    answer_text = textmod.clean(answer_text)
    if not isinstance(telemetry, dict) or "status" not in telemetry:
        telemetry = clean_telemetry(telemetry)
    if len(answer_text.strip()) < MIN_TEXT_CHARS:
        return Result(score=None, flagged=False, evidence="not_applicable", components={"applicable": False})
    analysis = textmod.analyse(answer_text)
    text_part = text_component(analysis)
    components: dict = {
        "applicable": True,
        "text": text_part,
        "telemetry_status": telemetry.get("status"),
        "telemetry_problems": telemetry.get("problems", []),
        "reference_similarity": round(reference_similarity, 4),
        "duplicate_similarity": round(duplicate_similarity, 4),
        "weights": {"behaviour": BEHAVIOUR_WEIGHT, "text": round(1 - BEHAVIOUR_WEIGHT, 2)},
        "algorithm_version": ALGORITHM_VERSION,
    }
    reasons: list[str] = []
    ok = has_evidence(telemetry)
    pasted_share = None
    if ok:
        beh = behaviour(telemetry, analysis["chars"], item_overlap=item_overlap)
        components["behaviour"] = beh
        pasted_share = beh["pasted_share"]
        value = BEHAVIOUR_WEIGHT * beh["value"] + (1 - BEHAVIOUR_WEIGHT) * text_part["value"]
        if beh["value"] < 0.5:
            reasons.append("pasted" if beh["pasted_share"] >= 0.5 else "implausible_typing")
        if beh["max_burst_keys_per_second"] > MAX_BURST_KPS:
            reasons.append("injected_keystrokes")
    else:
        components["behaviour"] = None
        value = text_part["value"]
        if telemetry.get("status") == "impossible":
            # Scored without behaviour, but an honest page never sends these numbers: tampering or
            # keystrokes injected at machine speed. A reviewer looks; the score itself is not lowered.
            reasons.append("impossible_telemetry")
    if text_part["value"] < 0.6:
        reasons.append("llm_style")
    if reference_similarity >= near_duplicate:
        reasons.append("copies_reference_llm_output")
    if duplicate_similarity >= near_duplicate:
        reasons.append("near_duplicate")
    value = min(value, 1 - reference_similarity, 1 - duplicate_similarity if duplicate_similarity >= near_duplicate else 1)
    if analysis["stripped_vietnamese"]:
        reasons.append("stripped_vietnamese")
    if analysis["mixed_script"]:
        reasons.append("mixed_script")
    score = round(_clip(value), 4)
    flagged = score < threshold or "mixed_script" in reasons or "impossible_telemetry" in reasons
    return Result(
        score=score,
        flagged=flagged,
        evidence=evidence_of(ok, pasted_share),
        reasons=reasons,
        components=components,
        pasted_share=pasted_share,
        stripped_vietnamese=analysis["stripped_vietnamese"],
        mixed_script=analysis["mixed_script"],
    )
