"""The writing process bound to the text: replay a page's edit log and describe how the text was made.

Pure functions, no database. ``replay`` rebuilds every field from its operations
(annotations.telemetry.clean_edit_log documents the format); the scorer trusts the process only when a
replayed field equals the submitted text exactly, so timing cannot be borrowed from another text.
``features`` measures what tells composing from copying or a script (Kundu et al., arXiv:2511.12468;
Condrey, arXiv:2601.17280): how steady the inter-key gaps are, whether longer gaps fall before words (people
plan words; a script drawing gaps at random puts them anywhere), revisions and cursor moves back, and what
arrived by paste, with when and how much was revised after it. What it cannot tell apart: a person carefully
copy-typing someone else's text types like a person (README, "Data authenticity").
"""
from __future__ import annotations

import statistics

from django.utils import translation
from django.utils.translation import gettext, ngettext

from core.vietnamese import clean

TYPED = frozenset("tc")  # typed keys and committed IME compositions (Telex, VNI, phone keyboards)
PASTED = frozenset("pd")
BURST_GAP_MS = 2000  # gaps longer than this are pauses, left out of the rhythm measures
MIN_GAPS = 30  # fewer typed gaps than this: too little typing to judge its rhythm
# Quartile coefficient of dispersion of the gaps, (Q3 - Q1) / (Q3 + Q1): robust to the few long gaps a busy
# browser adds to a script. People's gaps spread (~0.25-0.45); a metronome script's sit within a few %.
STEADY_QCD = 0.12
WORD_RATIO_MIN = 1.3  # median gap before a word / inside a word: people ~1.5-2.5, random gaps ~1.0 (seed 11)
MACHINE_GAP_MS = 25  # a median gap this short is keyboard injection, not fingers
BLOCK_CHARS = 20  # a paste or drop at least this long is a "block"


class ReplayError(ValueError):
    """The log cannot be applied (a position beyond the text): it is not the record of this text."""


def _apply(text: str, op: list) -> str:
    _t, pos, deleted, inserted, _kind = op[:5]
    if pos > len(text) or pos + deleted > len(text):
        raise ReplayError(f"operation at {pos} (-{deleted}) beyond a text of {len(text)} characters")
    return text[:pos] + inserted + text[pos + deleted:]


def replay(fields: dict[str, list]) -> dict[str, str]:
    """Each field's final text (NFC, invisible characters removed, as the server stores answers)."""
    out = {}
    for name, ops in fields.items():
        text = ""
        for op in ops:
            text = _apply(text, op)
        out[name] = clean(text).strip()
    return out


def match(fields: dict[str, list], texts: list[str]) -> tuple[list[str] | None, str]:
    """The log fields whose replay gives each submitted text exactly, or None with the reason."""
    try:
        replayed = replay(fields)
    except ReplayError as exc:
        return None, str(exc)
    names = []
    for wanted in texts:
        found = [n for n, value in replayed.items() if value == clean(wanted).strip() and n not in names]
        if not found:
            return None, "no field of the log replays to the submitted text"
        names.append(found[0])
    return names, ""


def _boundary(prev_char: str, char: str) -> bool:
    """A key that starts a word or separates words (where people pause to plan the next word)."""
    return not char.isalnum() or not prev_char or not prev_char.isalnum()


def _words_in(text: str) -> int:
    return len(text.split())


def features(ops: list[list], final_text: str, *, item_text: str = "") -> dict:
    """What the log of one field says about how ``final_text`` was produced (see the module docstring)."""
    text = ""
    typed = composed = pasted = replaced = deleted_chars = mid_edits = set_chars = 0
    gaps_word: list[int] = []
    gaps_inside: list[int] = []
    gaps: list[int] = []
    blocks: list[dict] = []
    last_t = None
    after_paste_edits = 0
    after_paste_words: set[int] = set()
    first_paste_t = last_t_after_paste = None
    for op in ops:
        t, pos, deleted, inserted, kind = op[:5]
        run_gaps = op[5] if len(op) == 6 else []
        if pos + deleted < len(text) and kind != "s":
            mid_edits += 1  # the cursor went back into the text
        if first_paste_t is not None and kind not in PASTED and kind != "s":
            after_paste_edits += 1
            after_paste_words.add(len(text[:pos].split()))
            last_t_after_paste = t
        deleted_chars += deleted
        if kind in TYPED:
            # The first key's gap is from the previous operation; later keys carry their own gaps.
            key_gaps = [None if last_t is None else t - last_t, *run_gaps]
            for i, ch in enumerate(inserted):
                g = key_gaps[i] if i < len(key_gaps) else None
                prev = inserted[i - 1] if i else (text[pos - 1] if pos else "")
                if g is not None and 0 <= g < BURST_GAP_MS and kind == "t":
                    gaps.append(g)
                    (gaps_word if _boundary(prev, ch) else gaps_inside).append(g)
            if kind == "t":
                typed += len(inserted)
            else:
                composed += len(inserted)
            last_t = t + sum(run_gaps)
        else:
            last_t = t
            if kind in PASTED:
                pasted += len(inserted)
                if len(inserted) >= BLOCK_CHARS:
                    from_item = bool(item_text) and inserted.strip() and inserted.strip() in item_text
                    blocks.append({"at_ms": t, "chars": len(inserted), "from_item": from_item})
                    if first_paste_t is None and not from_item:
                        first_paste_t = t
            elif kind == "r":
                replaced += len(inserted)
            elif kind == "s" and not (item_text and inserted.strip() and inserted.strip() in item_text):
                set_chars += len(inserted)  # set by a script, not the item's own text: nobody saw it typed
        text = text[:pos] + inserted + text[pos + deleted:]
    n = max(len(final_text), 1)
    own_pasted = sum(b["chars"] for b in blocks if not b["from_item"])
    median = statistics.median(gaps) if gaps else None
    cv = statistics.pstdev(gaps) / statistics.fmean(gaps) if len(gaps) >= 2 and statistics.fmean(gaps) > 0 else None
    qcd = None
    if len(gaps) >= 4:
        q1, _q2, q3 = statistics.quantiles(gaps, n=4)
        qcd = (q3 - q1) / (q3 + q1) if q3 + q1 > 0 else 0.0
    word_ratio = None
    if len(gaps_word) >= 8 and len(gaps_inside) >= 8:
        inside = statistics.median(gaps_inside)
        word_ratio = statistics.median(gaps_word) / inside if inside > 0 else None
    span = (ops[-1][0] - ops[0][0]) if ops else 0
    return {
        "operations": len(ops),
        "typed_chars": typed,
        "composed_chars": composed,
        "pasted_chars": pasted,
        "pasted_share": round(min(own_pasted / n, 1.0), 4),
        "paste_blocks": [b for b in blocks if not b["from_item"]][:10],
        "item_paste_blocks": sum(1 for b in blocks if b["from_item"]),
        "replaced_chars": replaced,
        "set_chars": set_chars,
        "unrecorded_share": round(min(set_chars / n, 1.0), 4),
        "deleted_chars": deleted_chars,
        "cursor_moves_back": mid_edits,
        "gaps": len(gaps),
        "median_gap_ms": median,
        "gap_cv": None if cv is None else round(cv, 3),
        "gap_qcd": None if qcd is None else round(qcd, 3),
        "word_gap_ratio": None if word_ratio is None else round(word_ratio, 3),
        "revised_words_after_paste": len(after_paste_words),
        "revision_ms_after_paste": (last_t_after_paste - first_paste_t)
        if first_paste_t is not None and last_t_after_paste is not None else 0,
        "span_ms": span,
        "words": _words_in(final_text),
    }


def judge(f: dict) -> tuple[float, list[str]]:
    """Human-likeness of the process in [0, 1] and the reasons (codes) that lowered it."""
    reasons: list[str] = []
    value = 1 - f["pasted_share"] - f["unrecorded_share"]
    if f["pasted_share"] >= 0.5:
        reasons.append("pasted")
    if f["unrecorded_share"] >= 0.5:
        reasons.append("text_set_without_typing")
    if f["gaps"] >= MIN_GAPS:
        if f["median_gap_ms"] is not None and f["median_gap_ms"] < MACHINE_GAP_MS:
            reasons.append("injected_keystrokes")
            value = min(value, 0.05)
        elif f["gap_qcd"] is not None and f["gap_qcd"] < STEADY_QCD:
            reasons.append("steady_timing")
            value = min(value, 0.1)
        elif f["word_gap_ratio"] is not None and f["word_gap_ratio"] < WORD_RATIO_MIN:
            reasons.append("timing_unrelated_to_words")
            value = min(value, 0.25)
    return round(max(0.0, min(1.0, value)), 4), reasons


def _clock(ms: int) -> str:
    s = int(ms // 1000)
    return f"{s // 60}:{s % 60:02d}"


def summary(f: dict) -> str:
    """One line a reviewer reads, in the active language: what arrived how, and what was revised afterwards.

    Computed again from the stored features when a page shows it (``reviewer_summary``), so a reviewer reads
    it in their own language; the stored copy is English."""
    parts = []
    if f["paste_blocks"]:
        chars = sum(b["chars"] for b in f["paste_blocks"])
        parts.append(ngettext(
            "pasted %(n)d block (%(chars)d characters, first at %(at)s)",
            "pasted %(n)d blocks (%(chars)d characters, first at %(at)s)", len(f["paste_blocks"]),
        ) % {"n": len(f["paste_blocks"]), "chars": chars, "at": _clock(f["paste_blocks"][0]["at_ms"])})
        minutes = f["revision_ms_after_paste"] / 60000
        parts.append(gettext("then revised %(words)d words over %(minutes)s min") % {
            "words": f["revised_words_after_paste"], "minutes": f"{minutes:.1f}"}
            if f["revised_words_after_paste"] else gettext("then no revision"))
    typed = f["typed_chars"] + f["composed_chars"]
    if typed:
        rhythm = ""
        if f["median_gap_ms"]:
            rhythm = gettext(" at a median %(rate)s keys/s") % {"rate": f"{1000 / f['median_gap_ms']:.1f}"}
            if f["gap_qcd"] is not None:
                rhythm += gettext(", gap variation %(pct)s%% (quartile dispersion)") % {
                    "pct": f"{f['gap_qcd'] * 100:.0f}"}
            if f["word_gap_ratio"] is not None:
                rhythm += gettext(", gaps before words %(ratio)sx those inside words") % {
                    "ratio": f"{f['word_gap_ratio']:.1f}"}
        parts.append(gettext("typed %(typed)d characters%(rhythm)s (%(composed)d via IME composition)") % {
            "typed": typed, "rhythm": rhythm, "composed": f["composed_chars"]})
        parts.append(gettext("%(deleted)d characters deleted, %(moves)d edits earlier in the text") % {
            "deleted": f["deleted_chars"], "moves": f["cursor_moves_back"]})
    if f["set_chars"]:
        parts.append(gettext("%(n)d characters set without typing") % {"n": f["set_chars"]})
    if f["item_paste_blocks"]:
        parts.append(gettext("%(n)d paste(s) of the item's own text") % {"n": f["item_paste_blocks"]})
    return "; ".join(parts) or gettext("no typing recorded")


def reviewer_summary(proc: dict | None) -> str:
    """The process summary of a stored score (``components["process"]``) in the active language."""
    if not proc:
        return ""
    fields = proc.get("fields") or {}
    try:
        lines = [(name, summary(f)) for name, f in fields.items()]
    except (KeyError, TypeError):  # stored by an older version: its English line
        return proc.get("summary", "")
    if not lines:
        return proc.get("summary") or ""
    return " | ".join(f"{name}: {line}" if len(lines) > 1 else line for name, line in lines)


def describe(ops: list[list], final_text: str, *, item_text: str = "") -> dict:
    """Features, value, reasons and the reviewer's summary of one field's process."""
    f = features(ops, final_text, item_text=item_text)
    value, reasons = judge(f)
    with translation.override("en"):  # the stored line is English; pages translate (reviewer_summary)
        line = summary(f)
    return {**f, "value": value, "reasons": reasons, "summary": line}
