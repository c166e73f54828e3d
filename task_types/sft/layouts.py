"""SFT export layout: chat ``messages`` per human response (TRL's SFTTrainer)."""

from __future__ import annotations

from exports.layouts import (
    UNIT_ANNOTATION,
    Layout,
    LayoutContext,
    first_text,
    json_field,
    pa,
)


def message_type():
    return pa.struct([("role", pa.string()), ("content", pa.string())])
def sft_schema():
    return pa.schema([
    ("messages", pa.list_(message_type())), ("item_id", pa.int64()), ("annotation_id", pa.int64()),
    ("contributor", pa.string()), ("region", pa.string()),
])


def sft(rec, ctx: LayoutContext) -> list[dict]:
    """Chat-format ``messages`` (TRL's SFTTrainer): the item's prompt/conversation + the human response."""
    item = json_field(rec.item_payload)
    answer = json_field(rec.payload)
    if answer.get("role", "assistant") != "assistant":  # a written user turn (conversation) is no SFT target
        return []
    response = first_text(answer, ("response", "text", "answer", "output"))
    if not response:
        return []
    messages = []
    system = item.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for turn in item.get("conversation") or item.get("messages") or []:
        if isinstance(turn, dict) and turn.get("content"):
            messages.append({"role": str(turn.get("role", "user")), "content": str(turn["content"])})
    # write_pair campaigns have the contributor write the instruction too.
    prompt = first_text(answer, ("instruction",)) or first_text(item, ("prompt", "instruction", "question", "text"))
    if prompt:
        messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": response})
    # Authorship evidence (authorship_score, _flagged, _reasons...) is appended by the export engine:
    # the layout is free_text.
    return [{"messages": messages, "item_id": rec.item_id, "annotation_id": rec.id,
             "contributor": rec.contributor or "", "region": rec.region or ""}]


SFT = Layout("sft", UNIT_ANNOTATION, sft_schema, sft, free_text=True, description="Chat `messages` per human response (TRL SFT).")
