"""RLHF export layouts: DPO pairs (TRL's DPOTrainer) and per-response reward scores."""

from __future__ import annotations

from exports.layouts import (
    UNIT_ITEM,
    Layout,
    LayoutContext,
    json_field,
    pa,
    text_of,
)


def dpo_schema():
    return pa.schema([
    ("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()), ("margin", pa.float64()),
    ("agreement", pa.float64()), ("n_annotations", pa.int64()), ("item_id", pa.int64()),
    ("external_id", pa.string()),
])


def dpo(rec, ctx: LayoutContext) -> list[dict]:
    """TRL's DPOTrainer columns: prompt, chosen, rejected (+ margin). Ties and 'both bad' are skipped."""
    result = json_field(rec.result)
    chosen, rejected = result.get("chosen"), result.get("rejected")
    if not isinstance(chosen, int) or not isinstance(rejected, int) or chosen == rejected:
        return []
    item = json_field(rec.item_payload)
    responses = item.get("responses") or []
    if max(chosen, rejected) >= len(responses):
        return []
    return [{
        "prompt": item.get("prompt", ""), "chosen": text_of(responses[chosen]),
        "rejected": text_of(responses[rejected]), "margin": float(result.get("chosen_margin", result.get("margin")) or 0.0),
        "agreement": rec.agreement, "n_annotations": rec.n_answers, "item_id": rec.item_id,
        "external_id": rec.external_id,
    }]


def reward_schema():
    return pa.schema([
    ("prompt", pa.string()), ("response", pa.string()), ("score", pa.float64()), ("rank", pa.int64()),
    ("item_id", pa.int64()), ("response_index", pa.int64()), ("agreement", pa.float64()),
])


def reward(rec, ctx: LayoutContext) -> list[dict]:
    """One row per response with its consensus score (Bradley-Terry or rubric median) and rank."""
    result = json_field(rec.result)
    item = json_field(rec.item_payload)
    responses = item.get("responses") or []
    scores = result.get("overall") or result.get("scores") or []
    ranking = result.get("ranking") or []
    if len(scores) != len(responses):
        return []
    rank_of = {idx: place + 1 for place, idx in enumerate(ranking)}
    return [{
        "prompt": item.get("prompt", ""), "response": text_of(resp), "score": float(scores[i]),
        "rank": rank_of.get(i), "item_id": rec.item_id, "response_index": i, "agreement": rec.agreement,
    } for i, resp in enumerate(responses)]


DPO = Layout("dpo", UNIT_ITEM, dpo_schema, dpo, description="prompt / chosen / rejected / margin (TRL DPO).")
REWARD = Layout("reward", UNIT_ITEM, reward_schema, reward, description="prompt / response / score per response.")
