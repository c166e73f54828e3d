"""Hallucination-audit export layout: the response with each claim's verdict, evidence and correction."""

from __future__ import annotations

import orjson

from exports.layouts import (
    UNIT_ITEM,
    Layout,
    LayoutContext,
    first_text,
    json_field,
    pa,
    text_of,
)


def claim_type():
    return pa.struct([("claim", pa.string()), ("verdict", pa.string()), ("evidence", pa.list_(pa.string())),
                   ("correction", pa.string()), ("confidence", pa.float64())])
def hallucination_schema():
    return pa.schema([
    ("prompt", pa.string()), ("response", pa.string()), ("claims", pa.list_(claim_type())),
    ("hallucinated", pa.bool_()), ("overall", pa.string()), ("severity", pa.string()),
    ("agreement", pa.float64()), ("item_id", pa.int64()),
])
_BAD_VERDICTS = {"contradicted", "false", "unsupported", "hallucinated", "incorrect", "fabricated"}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v if isinstance(v, str) else orjson.dumps(v).decode() for v in value]
    return [value if isinstance(value, str) else orjson.dumps(value).decode()]


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


def hallucination(rec, ctx: LayoutContext) -> list[dict]:
    """The response, each claim with its consensus verdict, evidence and correction."""
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    texts = item.get("claims") or []
    verdicts = result.get("claims") or result.get("verdicts") or []
    claims = []
    for i, verdict in enumerate(verdicts):
        if isinstance(verdict, dict):
            text = verdict.get("claim") or verdict.get("text")
            if text is None and i < len(texts):
                text = text_of(texts[i])
            claims.append({
                "claim": text or "", "verdict": str(verdict.get("verdict") or ""),
                "evidence": _as_list(verdict.get("evidence") or verdict.get("evidence_urls")
                                     or verdict.get("evidence_url")),
                "correction": _str_or_none(verdict.get("correction") or verdict.get("corrected") or None),
                "confidence": float(verdict["confidence"]) if isinstance(verdict.get("confidence"), (int, float))
                else None,
            })
        else:
            text = text_of(texts[i]) if i < len(texts) else ""
            claims.append({"claim": text, "verdict": str(verdict), "evidence": [], "correction": None,
                           "confidence": None})
    return [{
        "prompt": item.get("prompt", ""), "response": first_text(item, ("response", "text", "answer")),
        "claims": claims, "hallucinated": any(c["verdict"].lower() in _BAD_VERDICTS for c in claims),
        "overall": _str_or_none(result.get("overall")), "severity": _str_or_none(result.get("severity")),
        "agreement": rec.agreement, "item_id": rec.item_id,
    }]


HALLUCINATION = Layout("hallucination", UNIT_ITEM, hallucination_schema, hallucination, free_text=True,
                       description="Response with its claims, verdicts, evidence and corrections.")
