"""Moderation export layout: the text with its consensus policy categories."""

from __future__ import annotations

import orjson

from exports.layouts import (
    UNIT_ITEM,
    Layout,
    LayoutContext,
    json_field,
    pa,
)


def moderation_schema():
    return pa.schema([
    ("text", pa.string()), ("categories", pa.list_(pa.string())), ("severity", pa.string()),
    ("needs_escalation", pa.bool_()), ("agreement", pa.float64()), ("confidence", pa.float64()),
    ("item_id", pa.int64()), ("external_id", pa.string()),
])


def moderation(rec, ctx: LayoutContext) -> list[dict]:
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    categories = result.get("categories")
    if not isinstance(categories, list):
        return []
    severity = result.get("severity")
    return [{
        "text": item.get("text", ""), "categories": [str(c) for c in categories],
        "severity": orjson.dumps(severity).decode() if isinstance(severity, dict) else (severity or None),
        "needs_escalation": result.get("needs_escalation"), "agreement": rec.agreement,
        "confidence": rec.confidence, "item_id": rec.item_id, "external_id": rec.external_id,
    }]


MODERATION = Layout("moderation", UNIT_ITEM, moderation_schema, moderation,
                    description="Text with its consensus policy categories.")
