"""Server-side validation of the labelling page's typing telemetry (schema 1).

The page (static/label/labeler.js) sends::

    {"schema": 1, "active_ms": int, "keystrokes": int, "deletions": int,
     "pastes": [{"at_ms": int, "length": int, "field": str}], "focus_losses": int,
     "first_key_ms": int | null, "chars_final": int, "started_at": ISO-8601 str,
     optional "bursts": [{"at_ms": int, "length": keys in the run, "field": str, "duration_ms": int}],
     optional "fields": {name: {"keystrokes": int, "pastes": int, "pasted_chars": int, ...}},
     optional "visible_ms": int, "shortcuts": int}

A burst is a run of keys with gaps under 1.5 s (the page's BURST_GAP_MS).

Optional ``edit_log`` (the writing process bound to the text; authenticity/process.py replays it)::

    {"schema": 1, "truncated": bool, "fields": {name: [[t_ms, pos, deleted, inserted, kind, gaps?], ...]}}

one operation per change of a text field: at ``t_ms`` (since the task started) ``deleted`` characters at
``pos`` were replaced by the string ``inserted``; ``kind`` is t (typed), c (IME composition committed),
r (replacement: autocorrect, suggestion), p (paste), d (drop), x (deletion), s (set by the page: draft
restore, prefill). A typed run merges keys and lists each later key's gap in ms (``gaps``). It is checked
here for shape and size only (cheap, on the submit path); the replay against the text happens at scoring.

``clean_telemetry`` never raises: whatever arrives is stored with ``status`` = ``ok``, ``missing``,
``malformed`` or ``impossible`` and the ``problems`` found, and the scorer treats anything but ``ok`` as
"no behavioural evidence" rather than as evidence either way.
"""
from __future__ import annotations

import json
import math

SCHEMA_VERSION = 1
MAX_BYTES = 64 * 1024
MAX_EVENTS = 500
MAX_ACTIVE_MS = 24 * 3600 * 1000
# Sustained typing above ~15 keys/s is beyond the fastest typists; 20 leaves room for key repeat and IMEs.
MAX_KEYS_PER_SECOND = 20
# A page that just loaded may have counted a few keys before the first 250 ms activity tick.
KEY_SLACK = 40

MAX_EDIT_LOG_BYTES = 256 * 1024
MAX_EDIT_OPS = 20000
EDIT_KINDS = frozenset("tcrpdxs")

_COUNTERS = ("active_ms", "keystrokes", "deletions", "focus_losses", "chars_final")


def _int(value, name: str, problems: list[str], *, nullable: bool = False):
    """An int from JSON (floats with no fraction accepted); records why not."""
    if value is None:
        if not nullable:
            problems.append(f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name}: not a number")
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(f"{name}: not finite")
            return None
        value = int(value)
    if value < 0:
        problems.append(f"{name}: negative (impossible)")
        return None
    if value > 10**12:
        problems.append(f"{name}: too large")
        return None
    return value


def _events(raw, name: str, problems: list[str]) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{name}: not a list")
        return []
    if len(raw) > MAX_EVENTS:
        problems.append(f"{name}: more than {MAX_EVENTS} events")
        raw = raw[:MAX_EVENTS]
    out = []
    for i, event in enumerate(raw):
        if not isinstance(event, dict):
            problems.append(f"{name}[{i}]: not an object")
            continue
        at_ms = _int(event.get("at_ms", 0), f"{name}[{i}].at_ms", problems)
        length = _int(event.get("length"), f"{name}[{i}].length", problems)
        field = event.get("field", "")
        if at_ms is None or length is None:
            continue
        clean = {"at_ms": at_ms, "length": length, "field": str(field)[:100] if field is not None else ""}
        if "duration_ms" in event:
            duration = _int(event.get("duration_ms"), f"{name}[{i}].duration_ms", problems)
            if duration is None:
                continue
            clean["duration_ms"] = duration
        out.append(clean)
    return out


def _op(raw_op, previous_t: int) -> tuple[list | None, str | None]:
    """One edit operation in its compact form, or why it is not one."""
    if not isinstance(raw_op, list) or len(raw_op) not in (5, 6):
        return None, "not a 5- or 6-item list"
    t, pos, deleted, inserted, kind = raw_op[:5]
    for name, value in (("time", t), ("position", pos), ("deleted", deleted)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
            return None, f"{name} is not a non-negative integer"
    if not isinstance(inserted, str) or kind not in EDIT_KINDS:
        return None, "inserted text or kind invalid"
    if t < previous_t:
        return None, "out of order"
    op = [t, pos, deleted, inserted, kind]
    if len(raw_op) == 6:
        gaps = raw_op[5]
        if (not isinstance(gaps, list) or len(gaps) != max(len(inserted) - 1, 0)
                or any(isinstance(g, bool) or not isinstance(g, int) or not 0 <= g <= 10**8 for g in gaps)):
            return None, "gaps do not match the inserted text"
        op.append(gaps)
    return op, None


def clean_edit_log(raw) -> dict:
    """Check an edit log's shape and size; never raises. ``status``: ok, truncated (the page stopped
    recording at its cap: honest but not replayable), oversized or malformed (the ops are dropped)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict) or raw.get("schema") != 1:
        return {"status": "malformed", "problem": "edit_log: not a schema-1 object with fields"}
    try:
        size = len(json.dumps(raw))
    except (TypeError, ValueError, RecursionError):
        return {"status": "malformed", "problem": "edit_log: not serialisable"}
    if size > MAX_EDIT_LOG_BYTES:
        return {"status": "oversized", "problem": f"edit_log: larger than {MAX_EDIT_LOG_BYTES} bytes"}
    fields: dict[str, list] = {}
    count = 0
    for name, ops in list(raw["fields"].items())[:20]:
        if not isinstance(ops, list):
            return {"status": "malformed", "problem": f"edit_log.{str(name)[:40]}: not a list"}
        count += len(ops)
        if count > MAX_EDIT_OPS:
            return {"status": "oversized", "problem": f"edit_log: more than {MAX_EDIT_OPS} operations"}
        clean, previous_t = [], 0
        for i, raw_op in enumerate(ops):
            op, problem = _op(raw_op, previous_t)
            if problem:
                return {"status": "malformed", "problem": f"edit_log.{str(name)[:40]}[{i}]: {problem}"}
            previous_t = op[0]
            clean.append(op)
        fields[str(name)[:100]] = clean
    status = "truncated" if raw.get("truncated") is True else "ok"
    return {"status": status, "fields": fields}


def clean_telemetry(raw) -> dict:
    """Validate telemetry from a submission; never raises. See the module docstring for the schema."""
    if raw is None or raw == {} or raw == "":
        return {"schema": SCHEMA_VERSION, "status": "missing", "problems": []}
    if not isinstance(raw, dict):
        return {"schema": SCHEMA_VERSION, "status": "malformed", "problems": ["telemetry: not an object"]}
    if "edit_log" in raw:
        # Checked on its own (its own cap): a bad log is recorded as such and never spoils the counters.
        raw = dict(raw)
        edit_log = clean_edit_log(raw.pop("edit_log"))
        out = clean_telemetry(raw)
        out["edit_log"] = edit_log
        return out
    try:
        size = len(json.dumps(raw, default=str))
    except (TypeError, ValueError, RecursionError):
        return {"schema": SCHEMA_VERSION, "status": "malformed", "problems": ["telemetry: not serialisable"]}
    if size > MAX_BYTES:
        return {"schema": SCHEMA_VERSION, "status": "malformed", "problems": [f"telemetry: larger than {MAX_BYTES} bytes"]}

    problems: list[str] = []
    schema = raw.get("schema")
    if schema != SCHEMA_VERSION:
        problems.append(f"schema: expected {SCHEMA_VERSION}")
    out: dict = {"schema": SCHEMA_VERSION}
    for name in _COUNTERS:
        out[name] = _int(raw.get(name), name, problems, nullable=name == "chars_final")
    out["first_key_ms"] = _int(raw.get("first_key_ms"), "first_key_ms", problems, nullable=True)
    for name in ("visible_ms", "shortcuts"):
        if name in raw:
            out[name] = _int(raw.get(name), name, problems, nullable=True)
    out["pastes"] = _events(raw.get("pastes", []), "pastes", problems)
    if "bursts" in raw:
        out["bursts"] = _events(raw.get("bursts"), "bursts", problems)
    started = raw.get("started_at")
    out["started_at"] = str(started)[:40] if isinstance(started, str) else None
    if isinstance(raw.get("fields"), dict):
        # Per-field counters the page may add: kept only as small numbers keyed by short names.
        fields = {}
        for key, counters in list(raw["fields"].items())[:20]:
            if isinstance(counters, dict):
                fields[str(key)[:100]] = {
                    str(k)[:40]: v for k, v in list(counters.items())[:20]
                    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                }
        out["fields"] = fields
    if problems:
        # Negative counts and times are well-formed JSON describing something that cannot happen.
        only_negative = all(p.endswith("(impossible)") for p in problems)
        out["status"] = "impossible" if only_negative else "malformed"
        out["problems"] = problems[:20]
        return out

    impossible: list[str] = []
    if out["active_ms"] > MAX_ACTIVE_MS:
        impossible.append("active_ms: longer than a day")
    max_keys = out["active_ms"] / 1000 * MAX_KEYS_PER_SECOND + KEY_SLACK
    if out["keystrokes"] > max_keys:
        impossible.append(f"keystrokes: {out['keystrokes']} in {out['active_ms']} ms of activity")
    if out["deletions"] > out["keystrokes"]:
        impossible.append("deletions: more than keystrokes")
    if out["first_key_ms"] is not None and out["keystrokes"] == 0:
        impossible.append("first_key_ms: set without any keystroke")
    if any(p["length"] > 1_000_000 for p in out["pastes"]):
        impossible.append("pastes: a paste longer than any submission")
    out["status"] = "impossible" if impossible else "ok"
    out["problems"] = impossible
    return out


def has_evidence(telemetry: dict | None) -> bool:
    return bool(telemetry) and telemetry.get("status") == "ok"
