"""Validation errors that name the field, and the JSON Schema check every layer uses.

Lives in core because imports, task types, contributors' qualification tests, media decoding and the API
error format all raise or report it.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

import jsonschema
import orjson
from django.utils.translation import gettext as _


class SchemaError(ValueError):
    """A payload does not fit a schema; ``field`` names where (e.g. ``claims[2].evidence_url``).

    ``errors`` lists every problem found (the first is ``field``/``message``), so a form can mark them all at
    once instead of one per round trip."""

    def __init__(self, field: str, message: str, *, errors: list[dict[str, str]] | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.errors = errors or [{"field": field, "message": message}]

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def json_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@lru_cache(maxsize=1024)
def _validator(schema_json: bytes) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(orjson.loads(schema_json))


MAX_REPORTED = 20  # a form shows at most this many problems at once


def readable(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(field, message) for one schema error, in the reader's language where the kind is known.

    jsonschema's own messages quote the value and the schema ("'' should be non-empty"): fine for a
    developer, not for a contributor on a phone; the kinds a form can hit get a sentence of their own."""
    where = json_path(error.absolute_path)
    kind, expected = error.validator, error.validator_value
    if kind == "required" and isinstance(error.instance, dict):
        missing = [name for name in expected if name not in error.instance]
        if missing:
            return (f"{where}.{missing[0]}" if where else missing[0]), str(_("This field is required."))
    if kind == "minLength":
        if expected <= 1:
            return where, str(_("Please fill this in."))
        return where, _("Write at least %(n)s characters.") % {"n": expected}
    if kind == "maxLength":
        return where, _("Write at most %(n)s characters.") % {"n": expected}
    if kind == "minItems":
        return where, (str(_("Choose at least one.")) if expected <= 1 else _("Choose at least %(n)s.") % {"n": expected})
    if kind == "maxItems":
        return where, _("Choose at most %(n)s.") % {"n": expected}
    if kind in ("enum", "const"):
        return where, str(_("Choose one of the offered options."))
    if kind in ("minimum", "exclusiveMinimum"):
        return where, _("The value must be at least %(n)s.") % {"n": expected}
    if kind in ("maximum", "exclusiveMaximum"):
        return where, _("The value must be at most %(n)s.") % {"n": expected}
    if kind == "type":
        return where, str(_("This value has the wrong type."))
    if kind == "pattern" or kind == "format":
        return where, str(_("This value is not in the expected format."))
    if kind == "additionalProperties":
        return where, error.message  # names the unexpected field: for whoever wrote the payload
    return where, error.message


def check_schema(instance: Any, schema: dict) -> None:
    """Validate against a JSON Schema, raising SchemaError naming the most relevant offending field first
    and listing every other problem in ``errors`` (one per field, at most MAX_REPORTED).

    Validators are kept per schema (a campaign's schemas repeat on every submission; building one cost more
    than validating an answer)."""
    try:
        validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # not plain JSON (a lazy translation in a description): build it for this call
        validator = jsonschema.Draft202012Validator(schema)
    found = list(validator.iter_errors(instance))
    if not found:
        return
    best = jsonschema.exceptions.best_match(iter(found))
    ordered = [best] + sorted((e for e in found if e is not best), key=lambda e: [str(p) for p in e.absolute_path])
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for error in ordered:
        field, message = readable(error)
        if field in seen:
            continue  # one problem per field: the most relevant (best_match first)
        seen.add(field)
        errors.append({"field": field, "message": message})
        if len(errors) >= MAX_REPORTED:
            break
    raise SchemaError(errors[0]["field"], errors[0]["message"], errors=errors)


def normalize_text(value: Any) -> Any:
    """NFC-normalise every string in a JSON value and strip invisible characters (ZWSP, BOM...)."""
    if isinstance(value, str):
        cleaned = unicodedata.normalize("NFC", value)
        for ch in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"):
            cleaned = cleaned.replace(ch, "")
        return cleaned
    if isinstance(value, list):
        return [normalize_text(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize_text(v) for k, v in value.items()}
    return value
