"""Preference export layouts shared by rlhf, conversation and arena: DPO pairs and per-response rewards.

TRL's conversational preference format: ``prompt`` is the whole conversation before the answer (every
earlier turn, as role/content messages), ``chosen`` and ``rejected`` are one assistant message each;
``DPOTrainer`` and ``RewardTrainer`` apply the tokenizer's chat template to exactly these columns. The
other columns (models, ratings of earlier turns, authenticity of contributor-written replies, agreement)
are extra and ignored by the trainers.
"""

from __future__ import annotations

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, json_field, pa, text_of

from . import prompt_messages


def message_type():
    return pa.struct([("role", pa.string()), ("content", pa.string())])


def turn_rating_type():
    return pa.struct([("turn", pa.int64()), ("score", pa.float64()), ("flags", pa.list_(pa.string()))])


def dpo_schema():
    return pa.schema([
        ("prompt", pa.list_(message_type())), ("chosen", pa.list_(message_type())),
        ("rejected", pa.list_(message_type())), ("chosen_model", pa.string()), ("rejected_model", pa.string()),
        ("margin", pa.float64()), ("turn_ratings", pa.list_(turn_rating_type())),
        ("chosen_authenticity", pa.float64()), ("chosen_flagged", pa.bool_()),
        ("rejected_authenticity", pa.float64()), ("rejected_flagged", pa.bool_()),
        ("agreement", pa.float64()), ("n_annotations", pa.int64()), ("item_id", pa.int64()),
        ("external_id", pa.string()),
    ])


def _model_of(response) -> str:
    return str(response.get("model") or "") if isinstance(response, dict) else ""


def turn_ratings(item: dict) -> list[dict]:
    """Ratings of earlier assistant turns the item carries (a conversation item's ``ratings``)."""
    out = []
    for r in item.get("ratings") or []:
        if isinstance(r, dict) and isinstance(r.get("turn"), int):
            out.append({"turn": r["turn"], "score": float(r.get("score") or 0.0),
                        "flags": [str(f) for f in r.get("flags") or []]})
    return out


def rated_turns(rec, item: dict, ctx: LayoutContext) -> list[dict]:
    """Ratings of the conversation's earlier turns: the item's own ``ratings``, else the consensus of every
    conversation rating item of the organisation in the same tree (matched by message id; one query per tree)."""
    explicit = turn_ratings(item)
    tree_id, messages = item.get("tree_id"), item.get("messages")
    if explicit or not tree_id or not isinstance(messages, list):
        return explicit
    cache = ctx.__dict__.setdefault("tree_ratings", {})
    if tree_id not in cache:
        from annotations.models import Consensus
        from tasks.models import Item

        organization = Item.objects.filter(pk=rec.item_id).values("campaign__organization_id")
        rows = Consensus.objects.filter(
            item__campaign__organization_id__in=organization, item__campaign__task_type="conversation",
            item__payload__tree_id=tree_id,
        ).values_list("item__payload", "result")
        by_id: dict[str, dict] = {}
        for payload, result in rows:
            turns = (payload or {}).get("messages") or []
            for r in (result or {}).get("turn_ratings") or []:
                t = r.get("turn")
                if isinstance(t, int) and 0 <= t < len(turns) and turns[t].get("id"):
                    by_id[turns[t]["id"]] = {"score": float(r.get("score") or 0.0),
                                             "flags": [str(f) for f in r.get("flags") or []]}
        cache[tree_id] = by_id
    known = cache[tree_id]
    return [{"turn": k, **known[m["id"]]} for k, m in enumerate(messages)
            if isinstance(m, dict) and m.get("id") in known]


def written_by_contributors(responses: list) -> dict[str, tuple[float | None, bool]]:
    """Authenticity (human-likeness score, flagged) of responses contributors wrote (ids ``a<annotation id>``,
    as conversation growth names them); model responses have none."""
    ids = {}
    for r in responses:
        rid = r.get("id") if isinstance(r, dict) else None
        if isinstance(rid, str) and rid[:1] == "a" and rid[1:].isdigit():
            ids[int(rid[1:])] = rid
    if not ids:
        return {}
    from authenticity.models import AuthenticityScore

    rows = AuthenticityScore.objects.filter(annotation_id__in=list(ids)).values_list("annotation_id", "score", "flagged")
    return {ids[a]: (score, flagged) for a, score, flagged in rows}


def authenticity_of(response, authored: dict) -> tuple[float | None, bool | None]:
    """(score, flagged) of one response from ``written_by_contributors``; (None, None) for a model's."""
    rid = response.get("id") if isinstance(response, dict) else None
    return authored.get(rid, (None, None))


def dpo(rec, ctx: LayoutContext) -> list[dict]:
    """One preference pair per item whose consensus chose a response; ties and 'both bad' are skipped."""
    result = json_field(rec.result)
    chosen, rejected = result.get("chosen"), result.get("rejected")
    if not isinstance(chosen, int) or not isinstance(rejected, int) or chosen == rejected:
        return []
    item = json_field(rec.item_payload)
    responses = item.get("responses") or []
    if max(chosen, rejected) >= len(responses):
        return []
    authored = written_by_contributors([responses[chosen], responses[rejected]])
    (chosen_score, chosen_flagged), (rejected_score, rejected_flagged) = (
        authenticity_of(responses[chosen], authored), authenticity_of(responses[rejected], authored))
    return [{
        "prompt": prompt_messages(item),
        "chosen": [{"role": "assistant", "content": text_of(responses[chosen])}],
        "rejected": [{"role": "assistant", "content": text_of(responses[rejected])}],
        "chosen_model": _model_of(responses[chosen]), "rejected_model": _model_of(responses[rejected]),
        "margin": float(result.get("chosen_margin", result.get("margin")) or 0.0),
        "turn_ratings": rated_turns(rec, item, ctx),
        "chosen_authenticity": chosen_score, "chosen_flagged": chosen_flagged,
        "rejected_authenticity": rejected_score, "rejected_flagged": rejected_flagged,
        "agreement": rec.agreement, "n_annotations": rec.n_answers, "item_id": rec.item_id,
        "external_id": rec.external_id,
    }]


def reward_schema():
    return pa.schema([
        ("messages", pa.list_(message_type())), ("response", pa.string()), ("model", pa.string()),
        ("score", pa.float64()), ("rank", pa.int64()), ("item_id", pa.int64()), ("response_index", pa.int64()),
        ("agreement", pa.float64()), ("authenticity", pa.float64()), ("flagged", pa.bool_()),
    ])


def reward(rec, ctx: LayoutContext) -> list[dict]:
    """One row per response: the whole conversation ending with it, its consensus score and rank."""
    result = json_field(rec.result)
    item = json_field(rec.item_payload)
    responses = item.get("responses") or []
    scores = result.get("overall") or result.get("scores") or []
    ranking = result.get("ranking") or []
    if len(scores) != len(responses):
        return []
    rank_of = {idx: place + 1 for place, idx in enumerate(ranking)}
    prompt = prompt_messages(item)
    authored = written_by_contributors(responses)
    return [{
        "messages": [*prompt, {"role": "assistant", "content": text_of(resp)}], "response": text_of(resp),
        "model": _model_of(resp), "score": float(scores[i]), "rank": rank_of.get(i), "item_id": rec.item_id,
        "response_index": i, "agreement": rec.agreement,
        **dict(zip(("authenticity", "flagged"), authenticity_of(resp, authored), strict=True)),
    } for i, resp in enumerate(responses)]


DPO = Layout("dpo", UNIT_ITEM, dpo_schema, dpo,
             description="TRL conversational preference: prompt (all earlier turns) / chosen / rejected messages.")
REWARD = Layout("reward", UNIT_ITEM, reward_schema, reward,
                description="Per response: the conversation ending with it as messages, score, rank, model, "
                            "authenticity of a contributor-written response.")
