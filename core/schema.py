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


class SchemaError(ValueError):
    """A payload does not fit a schema; ``field`` names where (e.g. ``claims[2].evidence_url``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

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


def check_schema(instance: Any, schema: dict) -> None:
    """Validate against a JSON Schema, raising SchemaError naming the first offending field.

    Validators are kept per schema (a campaign's schemas repeat on every submission; building one cost more
    than validating an answer)."""
    try:
        validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # not plain JSON (a lazy translation in a description): build it for this call
        validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        where = json_path(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            if missing:
                where = f"{where}.{missing[0]}" if where else missing[0]
                raise SchemaError(where, "This field is required.")
        if error.validator == "additionalProperties":
            raise SchemaError(where, error.message)
        raise SchemaError(where, error.message)


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
