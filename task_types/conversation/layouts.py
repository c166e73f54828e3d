"""Open Assistant-style message trees: one JSONL row per conversation tree of a campaign.

A tree's messages are spread over items (imported paths, grown branches) and answers (written turns), and
its rankings and ratings over consensus rows, so the row is built when the export meets the tree's first
item (records arrive in item order) by reading every item of the tree from the database. The nested tree
(``{"message_id", "role": "prompter"|"assistant", "text", "rank", "labels", "replies": [...]}``, Open
Assistant's names) is recursive, which a fixed Arrow schema cannot hold: it is the JSON text in ``tree``.
"""
from __future__ import annotations

import orjson

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, json_field, pa


def oasst_schema():
    return pa.schema([("message_tree_id", pa.string()), ("n_messages", pa.int64()), ("tree", pa.string())])


OA_ROLE = {"user": "prompter", "assistant": "assistant", "system": "system"}


def build_tree(organization_id: int, tree_id: str) -> tuple[dict | None, int]:
    """The nested tree of one tree id and its message count, from the items of every conversation campaign
    of the organisation (writing, ranking and rating campaigns share the tree), written turns and consensus."""
    from annotations.models import Annotation, Consensus
    from tasks.models import Item

    items = list(Item.objects.filter(campaign__organization_id=organization_id, campaign__task_type="conversation",
                                     payload__tree_id=tree_id)
                 .values_list("pk", "campaign_id", "campaign__config", "payload").order_by("pk"))
    nodes: dict[str, dict] = {}
    parent: dict[str, str | None] = {}

    def node(mid: str, role: str, text: str, parent_id: str | None, **extra) -> dict:
        if mid not in nodes:
            nodes[mid] = {"message_id": mid, "parent_id": parent_id, "role": OA_ROLE.get(role, role), "text": text,
                          "replies": []}
            parent[mid] = parent_id
        nodes[mid].update({k: v for k, v in extra.items() if v is not None})
        return nodes[mid]

    def path_ids(item_pk: int, messages: list[dict]) -> list[str]:
        ids, prev = [], None
        for k, m in enumerate(messages):
            mid = m.get("id") or (f"{prev}/{k}" if prev else f"{tree_id}/{k}")
            node(mid, m["role"], m["content"], prev, model_name=m.get("model"))
            ids.append(mid)
            prev = mid
        return ids

    consensus = {c.item_id: c.result for c in Consensus.objects.filter(item_id__in=[i[0] for i in items])}
    for pk, _campaign, config, payload in items:
        ids = path_ids(pk, payload.get("messages") or [])
        last = ids[-1] if ids else None
        result = consensus.get(pk) or {}
        ranking = result.get("ranking") if isinstance(result.get("ranking"), list) else None
        for k, r in enumerate(payload.get("responses") or []):
            rank = ranking.index(k) if ranking and k in ranking else None
            node(r.get("id") or f"{last}/r{k}", "assistant", r["text"], last, rank=rank, model_name=r.get("model"))
        for rating in result.get("turn_ratings") or []:
            if 0 <= rating["turn"] < len(ids):
                nodes[ids[rating["turn"]]]["labels"] = {"score": rating["score"], "flags": rating["flags"]}
        if (config or {}).get("mode") == "write":
            for apk, answer in Annotation.objects.filter(item_id=pk).values_list("pk", "payload"):
                node(f"a{apk}", answer.get("role", "assistant"), answer.get("text", ""), last)
    roots = [n for mid, n in nodes.items() if parent[mid] is None]
    for mid, n in nodes.items():
        if parent[mid] is not None and parent[mid] in nodes:
            nodes[parent[mid]]["replies"].append(n)
    return (roots[0] if roots else None), len(nodes)


def oasst_tree(rec, ctx: LayoutContext) -> list[dict]:
    item = json_field(rec.item_payload)
    tree_id = item.get("tree_id")
    seen = ctx.__dict__.setdefault("oasst_trees", set())  # per-export state: one row per tree
    if not tree_id or tree_id in seen:
        return []
    seen.add(tree_id)
    from tasks.models import Item

    organization_id = Item.objects.filter(pk=rec.item_id).values_list("campaign__organization_id", flat=True).first()
    root, count = build_tree(organization_id, tree_id)
    if root is None:
        return []
    return [{"message_tree_id": tree_id, "n_messages": count, "tree": orjson.dumps(root).decode()}]


OASST_TREE = Layout("oasst_tree", UNIT_ITEM, oasst_schema, oasst_tree,
                    description="Open Assistant message trees: one row per tree, the nested tree as JSON text.")
