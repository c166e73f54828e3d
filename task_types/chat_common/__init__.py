"""What the chat task types share (rlhf, conversation, arena): message schemas and the preference layouts.

A conversation is a list of ``{"role", "content"}`` messages, the shape TRL's trainers and chat templates
read. ``prompt_messages`` rebuilds it from an item whichever way the item spells it (an RLHF item's
``conversation`` + ``prompt``; a conversation item's ``messages``), so the DPO and reward exports carry
every earlier turn, not only the last prompt. Not a type itself: it exports no ``task_type``.
"""
from __future__ import annotations

from tasks.types import SchemaError

ROLES = ("system", "user", "assistant")
MAX_TURNS = 60
MAX_CONTENT = 20000


def message_schema(roles=ROLES) -> dict:
    """One message as JSON Schema: a known role and non-blank content (errors name ``messages[3].role``)."""
    return {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": list(roles)},
            "content": {"type": "string", "minLength": 1, "maxLength": MAX_CONTENT, "pattern": r"\S"},
            "id": {"type": "string", "maxLength": 200},
            "model": {"type": "string", "maxLength": 200},
        },
    }


def check_turn_order(messages: list[dict], field: str = "messages") -> None:
    """A system message only first; user and assistant alternate after it (what chat templates accept)."""
    previous = None
    for i, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            if i != 0:
                raise SchemaError(f"{field}[{i}].role", "A system message may only be the first message.")
            continue
        if role == previous:
            raise SchemaError(f"{field}[{i}].role", f"Two {role} messages follow each other; roles must alternate.")
        previous = role


def as_message(role, content) -> dict:
    return {"role": str(role), "content": str(content)}


def prompt_messages(item: dict) -> list[dict]:
    """The conversation before the responses being compared, as role/content messages.

    Reads an optional ``system`` text, the earlier turns (``conversation`` or ``messages``) and a final
    ``prompt`` (a user turn) when the item has one.
    """
    out: list[dict] = []
    system = item.get("system")
    if isinstance(system, str) and system.strip():
        out.append(as_message("system", system))
    for turn in item.get("conversation") or item.get("messages") or []:
        if isinstance(turn, dict) and isinstance(turn.get("content"), str) and turn["content"].strip():
            out.append(as_message(turn.get("role", "user"), turn["content"]))
    prompt = item.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        out.append(as_message("user", prompt))
    return out
