"""The platform's survey form (JSON), its checks, and the validation of one submission against it.

A form is ``{"title", "languages", "questions": [...]}``; a question is ``{"name", "type", "label":
{"vi", "en"}, "hint", "required", "required_message", "relevant", "constraint", "constraint_message",
"calculation", "choices", "choice_filter", "appearance", "children", "repeat_count"}``. XLSForms
become this shape in ``xlsform.py``; a manager may also write it by hand. Checking a form refuses
unknown question types, selects without choices, references to unknown questions, bad expressions
and circular dependencies (relevance, constraints and calculations together), each naming the
question. ``validate_answers`` applies the same rules as the page (``survey.js``): calculations are
recomputed, answers to questions that are not relevant are dropped (as ODK does), and a required,
type, choice or constraint failure raises ``SchemaError`` naming the question (``answers.<name>``,
``answers.<repeat>[i].<name>``).
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, time

from django.utils.translation import gettext

from core.schema import SchemaError

from . import media, xpath

SELECTS = {"select_one", "select_multiple", "rank"}
MEDIA = {"image", "audio", "video"}
VALUE_TYPES = {"integer", "decimal", "text", "date", "time", "datetime", "geopoint", "barcode", "calculate",
               "acknowledge"} | SELECTS | MEDIA
CONTAINERS = {"group", "repeat"}
QUESTION_TYPES = VALUE_TYPES | CONTAINERS | {"note"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
MAX_REPEATS = 200
MEDIA_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


def label_of(question: dict, lang: str = "vi") -> str:
    labels = question.get("label") or {}
    if isinstance(labels, str):
        return labels
    return labels.get(lang) or labels.get("vi") or labels.get("en") or next(iter(labels.values()), "") or question["name"]


def walk(questions: list[dict], repeat: str | None = None):
    """Every question in document order with the repeat it sits in (None: top level)."""
    for q in questions:
        yield q, repeat
        if q["type"] in CONTAINERS:
            yield from walk(q.get("children") or [], q["name"] if q["type"] == "repeat" else repeat)


def value_questions(form: dict) -> list[tuple[dict, str | None]]:
    return [(q, r) for q, r in walk(form["questions"]) if q["type"] in VALUE_TYPES]


# --- checking a form ------------------------------------------------------------------------------------


def check_form(form) -> dict:
    """Refuse a malformed form, naming the question; return it with defaults filled in."""
    if not isinstance(form, dict) or not isinstance(form.get("questions"), list) or not form["questions"]:
        raise SchemaError("form.questions", gettext("The form needs a list of questions."))
    seen: dict[str, dict] = {}
    for q, _repeat in walk(_checked_list(form["questions"], "form.questions")):
        name = q.get("name")
        where = f"form.questions.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SchemaError("form.questions", gettext("Invalid question name %(name)r.") % {"name": name})
        if name in seen:
            raise SchemaError(where, gettext("Two questions are named %(name)s.") % {"name": name})
        seen[name] = q
        qtype = q.get("type")
        if qtype not in QUESTION_TYPES:
            raise SchemaError(where, gettext("Question %(name)s has an unknown type %(type)r.") % {
                "name": name, "type": qtype})
        if qtype in CONTAINERS:
            q["children"] = _checked_list(q.get("children") or [], where)
        if qtype in SELECTS:
            choices = q.get("choices")
            if not isinstance(choices, list) or not choices:
                raise SchemaError(where, gettext("Question %(name)s has no choice list.") % {"name": name})
            for c in choices:
                if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
                    raise SchemaError(where, gettext("A choice of %(name)s has no name.") % {"name": name})
        if qtype == "calculate" and not q.get("calculation"):
            raise SchemaError(where, gettext("Calculation %(name)s has no expression.") % {"name": name})
        q["required"] = bool(q.get("required"))
    graph: dict[str, set[str]] = {}
    for name, q in seen.items():
        deps: set[str] = set()
        for key in ("relevant", "constraint", "calculation", "choice_filter", "repeat_count"):
            expr = q.get(key)
            if expr in (None, ""):
                continue
            if not isinstance(expr, str):
                raise SchemaError(f"form.questions.{name}.{key}", gettext("An expression must be text."))
            try:
                refs = xpath.references(expr)
            except xpath.XPathError as exc:
                raise SchemaError(f"form.questions.{name}.{key}", str(exc)) from exc
            unknown = sorted(refs - seen.keys())
            if unknown:
                raise SchemaError(f"form.questions.{name}.{key}", gettext(
                    "Question %(name)s refers to ${%(ref)s}, which is not in the form.") % {
                    "name": name, "ref": unknown[0]})
            # A constraint may read its own answer through ${name}; that is not a cycle.
            deps |= refs - ({name} if key == "constraint" else set())
        graph[name] = deps
    cycle = find_cycle(graph)
    if cycle:
        raise SchemaError(f"form.questions.{cycle[0]}", gettext(
            "Circular logic: %(path)s depend on each other.") % {"path": " → ".join(cycle)})
    form.setdefault("languages", ["vi", "en"])
    return form


def _checked_list(value, where: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(q, dict) for q in value):
        raise SchemaError(where, gettext("Expected a list of questions."))
    return value


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A dependency cycle as a path (first name repeated last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


# --- validating answers --------------------------------------------------------------------------------


class _Scope:
    """Name lookup for expressions: the current repeat instance first, then the top level."""

    def __init__(self, top: dict, local: dict | None = None):
        self.top, self.local = top, local

    def __call__(self, name: str):
        if self.local is not None and name in self.local:
            return self.local[name]
        return self.top.get(name)


def visible_choices(q: dict, scope: _Scope) -> list[dict]:
    expr = q.get("choice_filter")
    if not expr:
        return q["choices"]
    return [c for c in q["choices"]
            if xpath.to_bool(xpath.evaluate(expr, lookup=scope, names=lambda col, c=c: c.get(col, "")))]


def _message(q: dict, key: str, default: str) -> str:
    text = q.get(key)
    if isinstance(text, dict):
        text = text.get("vi") or text.get("en") or next(iter(text.values()), "")
    return str(text) if text else default


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _coerce(q: dict, value, field: str, scope: _Scope):
    """The answer as stored for this question's type, or SchemaError naming it."""
    qtype = q["type"]
    bad = SchemaError(field, gettext("%(label)s: this answer is not a valid %(type)s.") % {
        "label": label_of(q), "type": qtype})
    if qtype == "integer":
        if isinstance(value, bool):
            raise bad
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if isinstance(value, (int, float)) and float(value).is_integer():
            return int(value)
        raise bad
    if qtype == "decimal":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise bad
        return number
    if qtype in ("text", "barcode"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise bad
        text = str(value).strip()
        if len(text) > 10000:
            raise SchemaError(field, gettext("%(label)s: the answer is too long.") % {"label": label_of(q)})
        return text
    if qtype == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad from None
    if qtype == "time":
        try:
            return time.fromisoformat(str(value)).isoformat(timespec="minutes" if len(str(value)) <= 5 else "seconds")
        except ValueError:
            raise bad from None
    if qtype == "datetime":
        try:
            return datetime.fromisoformat(str(value)).isoformat(timespec="seconds")
        except ValueError:
            raise bad from None
    if qtype == "acknowledge":
        if value not in ("OK", True):
            raise bad
        return "OK"
    if qtype == "geopoint":
        if isinstance(value, str):
            parts = value.split()
            value = dict(zip(("lat", "lon", "alt", "accuracy"), parts, strict=False))
        try:
            point = {k: float(v) for k, v in value.items() if k in ("lat", "lon", "alt", "accuracy")}
            if not (-90 <= point["lat"] <= 90 and -180 <= point["lon"] <= 180):
                raise ValueError
        except (AttributeError, KeyError, TypeError, ValueError):
            raise bad from None
        return point
    if qtype in MEDIA:
        if media.is_data_url(value) and qtype in ("image", "audio"):
            try:  # decoded by content; stored by the type's on_submit
                media.check_inline(value, field, qtype)
            except SchemaError as exc:
                raise SchemaError(field, f"{label_of(q)}: {exc.message}") from exc
            return value
        if not isinstance(value, str) or not MEDIA_KEY_RE.match(value) or ".." in value.split("/"):
            raise bad
        return value
    if qtype in SELECTS:
        allowed = [c["name"] for c in visible_choices(q, scope)]
        if qtype == "select_one":
            if not isinstance(value, str) or value not in allowed:
                raise SchemaError(field, gettext("%(label)s: %(value)r is not one of the choices.") % {
                    "label": label_of(q), "value": str(value)[:60]})
            return value
        values = value.split() if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise SchemaError(field, gettext("%(label)s: %(value)r is not one of the choices.") % {
                "label": label_of(q), "value": unknown[0][:60]})
        if len(set(values)) != len(values):
            raise SchemaError(field, gettext("%(label)s: a choice is given twice.") % {"label": label_of(q)})
        if qtype == "rank" and sorted(values) != sorted(allowed):
            raise SchemaError(field, gettext("%(label)s: rank every choice once.") % {"label": label_of(q)})
        return values if qtype == "rank" else [c for c in allowed if c in values]  # choice order
    raise bad


def validate_answers(form: dict, answers) -> dict:
    """Check one submission's answers against the form; return them cleaned (see the module docstring)."""
    if not isinstance(answers, dict):
        raise SchemaError("answers", gettext("The answers must be a JSON object."))
    known = {q["name"] for q, _r in walk(form["questions"])}
    extra = sorted(set(answers) - known)
    if extra:
        raise SchemaError(f"answers.{extra[0]}", gettext("%(name)s is not a question of this form.") % {
            "name": extra[0]})
    out: dict = {}
    _fill(form["questions"], answers, out, _Scope(out), "answers", relevant=True)
    return out


def _fill(questions: list[dict], given: dict, out: dict, scope: _Scope, prefix: str, *, relevant: bool):
    for q in questions:
        name, qtype = q["name"], q["type"]
        field = f"{prefix}.{name}"
        here = relevant and (not q.get("relevant") or xpath.to_bool(xpath.evaluate(q["relevant"], lookup=scope)))
        if qtype == "group":
            _fill(q.get("children") or [], given, out, scope, prefix, relevant=here)
            continue
        if qtype == "note":
            continue
        if qtype == "repeat":
            instances = given.get(name) or []
            if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
                raise SchemaError(field, gettext("%(label)s: expected a list of entries.") % {"label": label_of(q)})
            if not here:
                continue
            if q.get("repeat_count"):
                wanted = xpath.to_number(xpath.evaluate(q["repeat_count"], lookup=scope))
                if not math.isnan(wanted) and len(instances) != int(wanted):
                    raise SchemaError(field, gettext("%(label)s: expected %(n)d entries, got %(got)d.") % {
                        "label": label_of(q), "n": int(wanted), "got": len(instances)})
            if len(instances) > MAX_REPEATS:
                raise SchemaError(field, gettext("%(label)s: too many entries.") % {"label": label_of(q)})
            children = {c["name"] for c, _r in walk(q.get("children") or [])}
            rows = []
            for i, instance in enumerate(instances):
                extra = sorted(set(instance) - children)
                if extra:
                    raise SchemaError(f"{field}[{i}].{extra[0]}", gettext(
                        "%(name)s is not a question of this form.") % {"name": extra[0]})
                row: dict = {}
                _fill(q.get("children") or [], instance, row, _Scope(out, row), f"{field}[{i}]", relevant=True)
                rows.append(row)
            out[name] = rows
            continue
        if not here:
            continue  # not relevant: any answer is dropped, as ODK clears it
        if qtype == "calculate":
            value = xpath.evaluate(q["calculation"], lookup=scope)
            out[name] = _clean_number(value)
            continue
        value = given.get(name)
        if _empty(value):
            if q.get("required"):
                raise SchemaError(field, _message(q, "required_message", gettext(
                    "%(label)s: this question is required.") % {"label": label_of(q)}))
            continue
        value = _coerce(q, value, field, scope)
        if q.get("constraint"):
            ok = xpath.to_bool(xpath.evaluate(q["constraint"], lookup=lambda n, v=value, nm=name: v if n == nm
                                              else scope(n), current=value))
            if not ok:
                raise SchemaError(field, _message(q, "constraint_message", gettext(
                    "%(label)s: this answer is not allowed (%(rule)s).") % {"label": label_of(q),
                                                                           "rule": q["constraint"]}))
        out[name] = value


def _clean_number(value):
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if value.is_integer() else round(value, 6)
    return value
