"""Importing Open Assistant message trees (``message_tree_id``, ``prompt`` with nested ``replies``).

Each tree becomes items for the campaign's mode, keeping Open Assistant's message ids so the tree export
puts answers back on the right messages:
- ``rate``: one item per path ending at an assistant message (the conversation up to it);
- ``rank``: one item per message with two or more assistant replies (the path to it; the replies ranked);
- ``write``: one item per path ending at a prompter message with no reply yet (the assistant writes next)
  and per path ending at an assistant leaf (the user writes next).
Deleted messages are skipped. Every item is validated before any is stored (nothing half-stored).
"""
from __future__ import annotations

import json

from django.db import transaction

from tasks.types.base import SchemaError

ROLE = {"prompter": "user", "assistant": "assistant"}
MAX_DEPTH = 200  # Open Assistant threads are a few dozen turns; deeper is refused before Python's recursion limit


def _message(node: dict, where: str) -> dict:
    role = ROLE.get(node.get("role"))
    if role is None:
        raise SchemaError(f"{where}.role", f"Unknown role {node.get('role')!r} (prompter or assistant).")
    text = node.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SchemaError(f"{where}.text", "A message needs text.")
    out = {"role": role, "content": text, "id": str(node.get("message_id") or "")}
    if node.get("model_name"):
        out["model"] = str(node["model_name"])
    return out


def tree_items(tree: dict, mode: str, where: str = "line 1") -> list[dict]:
    """The item payloads of one tree for a campaign mode."""
    tree_id = str(tree.get("message_tree_id") or "")
    if not tree_id or not isinstance(tree.get("prompt"), dict):
        raise SchemaError(f"{where}.prompt", "An Open Assistant tree needs message_tree_id and prompt.")
    out: list[dict] = []

    def walk(node: dict, path: list[dict], at: str) -> None:
        if len(path) >= MAX_DEPTH:
            raise SchemaError(at, f"A tree deeper than {MAX_DEPTH} messages.")
        message = _message(node, at)
        here = [*path, message]
        raw = node.get("replies") or []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise SchemaError(f"{at}.replies", "Replies must be a list of messages.")
        replies = [r for r in raw if not r.get("deleted")]
        if mode == "rate" and message["role"] == "assistant":
            out.append({"tree_id": tree_id, "messages": here})
        if mode == "rank" and message["role"] == "user":
            alternatives = [_message(r, f"{at}.replies[{k}]") for k, r in enumerate(replies)]
            if len(alternatives) >= 2:
                out.append({"tree_id": tree_id, "messages": here, "responses": [
                    {"text": a["content"], "id": a["id"], **({"model": a["model"]} if "model" in a else {})}
                    for a in alternatives]})
        if mode == "write" and not replies:
            out.append({"tree_id": tree_id, "messages": here})
        for k, reply in enumerate(replies):
            walk(reply, here, f"{at}.replies[{k}]")

    walk(tree["prompt"], [], f"{where}.prompt")
    return out


def import_trees(campaign, lines) -> int:
    """Add the items of every tree in a JSONL stream to a conversation campaign; returns how many.

    A bad line or message is refused with its place (``line 3.prompt.replies[1].role``) and nothing is stored.
    """
    from tasks.models import Item
    from tasks.services import new_item

    task, config = campaign.task, campaign.config
    payloads = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            tree = json.loads(line)
        except ValueError as exc:
            raise SchemaError(f"line {number}", f"Not JSON: {exc}") from None
        if not isinstance(tree, dict):
            raise SchemaError(f"line {number}", "A line must be one JSON object (an Open Assistant tree).")
        for payload in tree_items(tree, config["mode"], f"line {number}"):
            try:
                payloads.append(task.validate_item(payload, config))
            except SchemaError as exc:
                raise SchemaError(f"line {number}.{exc.field}", exc.message) from None
    with transaction.atomic():
        Item.objects.bulk_create(new_item(campaign, payload=p, external_id=p["tree_id"]) for p in payloads)
    return len(payloads)
