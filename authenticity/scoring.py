"""The human-likeness score of one free-text answer: pure functions, no database.

Evidence, strongest first:
1. the writing process (authenticity/process.py): the page's edit log, replayed on the server to the exact
   submitted text; a log that does not replay is itself a reason and sends the answer to a reviewer;
2. without a log, the page's counters (pastes, speed, bursts): weaker, since nothing binds them to the text,
   so a typed answer without a log scores at most NO_LOG_CAP;
3. copies: similarity to the campaign's reference LLM outputs or another answer caps the score, and so does
   a match (near-duplicate or paraphrase, authenticity/paraphrase.py) with an answer an LLM gave to the same
   item's prompt, named with its model for the reviewer.
The text's style is computed and shown to reviewers but weighs TEXT_WEIGHT = 0 by default: on texts this
project did not write it sat near chance (issue 24: ROC AUC 0.68; README, "Data authenticity"). A campaign's
policy may turn it on (``text_weight``), e.g. for a register where it was measured to help.
Every number that went in is returned in ``components`` so a reviewer sees why an answer was flagged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from annotations.telemetry import clean_telemetry, has_evidence

from . import process
from . import text as textmod

ALGORITHM_VERSION = "2"
TEXT_WEIGHT = 0.0  # the text-only signal is off: not measured to help on others' text (README)
NO_LOG_CAP = 0.7  # counters without an edit log never vouch for an answer more than this
# Reasons that send an answer to a reviewer whatever its score: an honest page never produces them.
REVIEW_ALWAYS = frozenset({"mixed_script", "impossible_telemetry", "edit_log_mismatch", "edit_log_invalid"})
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


def evidence_of(kind: str, pasted_share: float | None) -> str:
    if kind == "none" or pasted_share is None:
        return "none"
    if pasted_share >= 0.5:
        return "pasted"
    if pasted_share >= 0.1:
        return "mixed"
    return "typed"


def not_scored(why: str) -> Result:
    """An answer no signal applies to (no typed text, a recording, a transcription): never a flag."""
    return Result(score=None, flagged=False, evidence="not_applicable",
                  components={"applicable": False, "not_scored_because": why})


def _process(edit_log: dict | None, field_texts: list[str], item_text: str) -> tuple[dict | None, list[str]]:
    """The replayed writing process of the answer's fields, or None, with the reasons it gave."""
    if not edit_log:
        return None, []
    status = edit_log.get("status")
    if status == "truncated":
        return {"status": "truncated", "summary": "edit log cut at the page's cap: not replayed"}, []
    if status != "ok":
        return {"status": status, "problem": edit_log.get("problem", "")}, ["edit_log_invalid"]
    names, problem = process.match(edit_log["fields"], field_texts)
    if names is None:
        return {"status": "mismatch", "problem": problem}, ["edit_log_mismatch"]
    described = [process.describe(edit_log["fields"][n], t, item_text=item_text)
                 for n, t in zip(names, field_texts, strict=True)]
    weights = [max(len(t), 1) for t in field_texts]
    value = sum(d["value"] * w for d, w in zip(described, weights, strict=True)) / sum(weights)
    pasted = sum(d["pasted_share"] * w for d, w in zip(described, weights, strict=True)) / sum(weights)
    reasons = sorted({r for d in described for r in d["reasons"]})
    summary = " | ".join(f"{n}: {d['summary']}" if len(names) > 1 else d["summary"]
                         for n, d in zip(names, described, strict=True))
    return {"status": "replayed", "value": round(value, 4), "pasted_share": round(pasted, 4),
            "fields": dict(zip(names, described, strict=True)), "summary": summary}, reasons


def score_answer(
    answer_text: str,
    telemetry,
    *,
    threshold: float = 0.5,
    near_duplicate: float = 0.6,
    reference_similarity: float = 0.0,
    duplicate_similarity: float = 0.0,
    item_overlap: float = 0.0,
    field_texts: list[str] | None = None,
    item_text: str = "",
    reference_answer: dict | None = None,
    reference_match: float = 0.5,
    text_weight: float = TEXT_WEIGHT,
) -> Result:
    """Score one answer's free text. ``telemetry`` may be raw (it is validated here) or already cleaned;
    ``field_texts`` are the answer's hand-written fields one by one (the edit log is replayed against them);
    ``reference_answer`` is the closest LLM answer to the same prompt (paraphrase.best_reference) and
    ``reference_match`` the containment from which it counts; ``text_weight`` > 0 turns the text signal on."""
    answer_text = textmod.clean(answer_text)
    if not isinstance(telemetry, dict) or "status" not in telemetry:
        telemetry = clean_telemetry(telemetry)
    if len(answer_text.strip()) < MIN_TEXT_CHARS:
        return not_scored("no free text")
    analysis = textmod.analyse(answer_text)
    text_part = text_component(analysis)
    components: dict = {
        "applicable": True,
        "text": text_part,
        "telemetry_status": telemetry.get("status"),
        "telemetry_problems": telemetry.get("problems", []),
        "reference_similarity": round(reference_similarity, 4),
        "duplicate_similarity": round(duplicate_similarity, 4),
        "weights": {"process": round(1 - text_weight, 2), "text": text_weight},
        "algorithm_version": ALGORITHM_VERSION,
    }
    proc, reasons = _process(telemetry.get("edit_log"), field_texts or [answer_text], item_text)
    components["process"] = proc
    components["behaviour"] = None
    pasted_share = None
    kind = "none"
    value = None
    if proc is not None and proc["status"] == "replayed":
        kind, value, pasted_share = "process", proc["value"], proc["pasted_share"]
    elif has_evidence(telemetry):
        beh = behaviour(telemetry, analysis["chars"], item_overlap=item_overlap)
        components["behaviour"] = beh
        kind, pasted_share = "counters", beh["pasted_share"]
        value = min(beh["value"], NO_LOG_CAP)
        if beh["value"] < 0.5:
            reasons.append("pasted" if beh["pasted_share"] >= 0.5 else "implausible_typing")
        if beh["max_burst_keys_per_second"] > MAX_BURST_KPS:
            reasons.append("injected_keystrokes")
    elif telemetry.get("status") == "impossible":
        # An honest page never sends these numbers: tampering or keystrokes injected at machine speed.
        reasons.append("impossible_telemetry")
    if text_weight:
        # The campaign turned the text-only signal on: blended with the process, or alone without one.
        value = text_part["value"] if value is None else (1 - text_weight) * value + text_weight * text_part["value"]
        if value < threshold and text_part["value"] < 0.5:
            reasons.append("llm_style_text")
    if text_part["phrases"]:
        reasons.append("assistant_phrases")  # shown to the reviewer; does not move the score
    if reference_similarity >= near_duplicate:
        reasons.append("copies_reference_llm_output")
    if duplicate_similarity >= near_duplicate:
        reasons.append("near_duplicate")
    caps = [1 - reference_similarity] if reference_similarity >= near_duplicate else []
    if reference_answer is not None:
        components["reference_answer"] = reference_answer
        if reference_answer["match"] >= reference_match:
            reasons.append("matches_reference_answer")
            caps.append(1 - reference_answer["match"])
    if duplicate_similarity >= near_duplicate:
        caps.append(1 - duplicate_similarity)
    if caps:
        value = min([value if value is not None else 1.0, *caps])
    if analysis["stripped_vietnamese"]:
        reasons.append("stripped_vietnamese")
    if analysis["mixed_script"]:
        reasons.append("mixed_script")
    score = None if value is None else round(_clip(value), 4)
    components["evidence_kind"] = kind
    flagged = (score is not None and score < threshold) or bool(REVIEW_ALWAYS & set(reasons))
    return Result(
        score=score,
        flagged=flagged,
        evidence=evidence_of(kind, pasted_share),
        reasons=reasons,
        components=components,
        pasted_share=pasted_share,
        stripped_vietnamese=analysis["stripped_vietnamese"],
        mixed_script=analysis["mixed_script"],
    )
