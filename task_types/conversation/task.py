"""Conversations: a multi-turn chat shown as a thread, rated turn by turn, ranked, and grown by writing.

Three modes, one per campaign (Open Assistant's collection):
- ``rate``: every assistant turn gets a score on the campaign's scale and flags (unsafe, hallucinated,
  off-language...).
- ``rank``: the item's ``responses`` are alternative next turns (siblings in the message tree); contributors
  rank them, shown in a per-contributor shuffled order; consensus is Bradley-Terry (chat_common.preferences).
- ``write``: the contributor writes the next turn, user or assistant (whichever follows the last message).
  Each written turn is a new branch: ``on_submit`` adds an item continuing it (the queue serves shallower
  branches first: priority = -depth), and once every reply to a message is in (the item is full), the
  siblings become a ranking item, and each assistant reply a rating item, of the campaigns fed by this one
  (``config.source_campaign``), as Open Assistant grows a tree.

Items carry ``tree_id`` and message ``id``s, so the tree export (layouts.OASST_TREE) can rebuild the tree.
"""
from __future__ import annotations

import random
import statistics

from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from task_types.chat_common import ROLES, check_turn_order, message_schema, preferences
from task_types.chat_common.layouts import DPO, REWARD
from task_types.sft.layouts import SFT
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import OASST_TREE

MODES = ("rate", "rank", "write")
DEFAULT_FLAGS = ["unsafe", "hallucinated", "off_language", "unhelpful"]
FLAG_SHARE = 0.5  # a flag is in the consensus when raters holding at least this share of the trust set it


def next_role(messages: list[dict]) -> str:
    """Who speaks next: the assistant after a user turn, the user after an assistant or system turn."""
    return "assistant" if messages and messages[-1]["role"] == "user" else "user"


def assistant_turns(messages: list[dict]) -> list[int]:
    return [i for i, m in enumerate(messages) if m["role"] == "assistant"]


class Conversation(TaskType):
    key = "conversation"
    label = _("Conversation")
    template = "task_types/conversation/conversation.html"
    scripts = ("task_types/conversation/conversation.js",)
    styles = ("task_types/conversation/conversation.css",)
    export_layouts = layouts_for(DPO, REWARD, SFT, OASST_TREE)
    free_text_fields = ["text"]
    config_schema = {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {
            "mode": {"enum": list(MODES)},
            "scale_min": {"type": "integer", "minimum": 0, "maximum": 10},
            "scale_max": {"type": "integer", "minimum": 1, "maximum": 10},
            "flags": {"type": "array", "maxItems": 12, "items": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"}},
            "min_length": {"type": "integer", "minimum": 1, "maximum": 10000},
            "max_length": {"type": "integer", "minimum": 1, "maximum": 20000},
            "max_turns": {"type": "integer", "minimum": 2, "maximum": 60},
            "source_campaign": {"type": ["integer", "null"], "minimum": 1},
        },
    }

    def default_config(self) -> dict:
        return {"mode": "rate", "scale_min": 1, "scale_max": 5, "flags": DEFAULT_FLAGS, "min_length": 10,
                "max_length": 4000, "max_turns": 12, "source_campaign": None}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        if config["scale_min"] >= config["scale_max"]:
            raise SchemaError("scale_max", "scale_max must be greater than scale_min.")
        if config["min_length"] > config["max_length"]:
            raise SchemaError("max_length", "max_length must be at least min_length.")
        return config

    # --- items ---------------------------------------------------------------------------------
    def item_schema(self, config: dict) -> dict:
        schema = {
            "type": "object",
            "required": ["messages"],
            "properties": {
                "tree_id": {"type": "string", "maxLength": 200},
                "messages": {"type": "array", "minItems": 1, "maxItems": 60, "items": message_schema()},
                "responses": {
                    "type": "array", "maxItems": 9,
                    "items": {"type": "object", "required": ["text"], "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": 20000, "pattern": r"\S"},
                        "id": {"type": "string", "maxLength": 200},
                        "model": {"type": "string", "maxLength": 200}}},
                },
                "source": {"type": "string", "maxLength": 500},
            },
        }
        if config["mode"] == "rank":
            schema["required"] = ["messages", "responses"]
            schema["properties"]["responses"]["minItems"] = 2
        return schema

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        messages = payload["messages"]
        check_turn_order(messages)
        if config["mode"] == "rate" and not assistant_turns(messages):
            raise SchemaError("messages", "A conversation to rate needs at least one assistant turn.")
        if config["mode"] == "rank" and messages[-1]["role"] != "user":
            raise SchemaError(f"messages[{len(messages) - 1}].role",
                              "The alternatives answer the last message: it must be a user turn.")
        if config["mode"] == "write" and messages[-1]["role"] not in ROLES:
            raise SchemaError("messages", "Unknown last role.")
        return payload

    # --- answers -------------------------------------------------------------------------------
    def annotation_schema(self, config: dict) -> dict:
        mode = config["mode"]
        if mode == "rate":
            flags = config.get("flags") or []
            score = {"type": "integer", "minimum": config["scale_min"], "maximum": config["scale_max"]}
            turn = {"type": "object", "required": ["turn", "score"], "additionalProperties": False, "properties": {
                "turn": {"type": "integer", "minimum": 0}, "score": score,
                "flags": {"type": "array", "uniqueItems": True, "items": {"enum": flags}}}}
            props = {"turns": {"type": "array", "items": turn}}
            required = ["turns"]
        elif mode == "rank":
            props = {"ranks": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 9}}}
            required = ["ranks"]
        else:
            props = {"text": {"type": "string", "maxLength": 20000}}
            required = ["text"]
        return {"type": "object", "required": required, "additionalProperties": False, "properties": props}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        mode = config["mode"]
        messages = item_payload["messages"]
        if mode == "rate":
            wanted = assistant_turns(messages)
            given = [t["turn"] for t in payload["turns"]]
            for k, turn in enumerate(given):
                if turn not in wanted:
                    raise SchemaError(f"turns[{k}].turn", "This turn is not an assistant turn of the conversation.")
            missing = [t for t in wanted if t not in given]
            if missing or len(given) != len(set(given)):
                raise SchemaError("turns", str(_("Rate every assistant turn once.")))
            payload["turns"] = sorted(payload["turns"], key=lambda t: t["turn"])
        elif mode == "rank":
            n = len(item_payload["responses"])
            ranks = payload["ranks"]
            if len(ranks) != n or sorted(ranks) != list(range(1, n + 1)):
                raise SchemaError("ranks", str(_("Give each reply a different rank, from 1 to the number of replies.")))
            order = (view or {}).get("order")
            payload["order"] = order if isinstance(order, list) and sorted(order) == list(range(n)) else list(range(n))
        else:
            text = payload["text"].strip()
            low, high = config["min_length"], config["max_length"]
            if len(text) < low:
                raise SchemaError("text", str(_("Write at least %(n)d characters (now %(m)d).") % {"n": low, "m": len(text)}))
            if len(text) > high:
                raise SchemaError("text", str(_("Write at most %(n)d characters (now %(m)d).") % {"n": high, "m": len(text)}))
            payload["text"] = text
            payload["role"] = next_role(messages)
        return payload

    def prepare_view(self, *, item_payload: dict, config: dict, rng: random.Random) -> dict:
        if config.get("mode") != "rank":
            return {}
        order = list(range(len(item_payload.get("responses") or [])))
        rng.shuffle(order)
        return {"order": order}

    def on_submit(self, annotation) -> None:
        if annotation.campaign.config.get("mode") == "write":
            from .growth import grow

            grow(annotation)

    # --- consensus -----------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        mode = config["mode"]
        weights = list(weights) if weights is not None else [1.0] * len(answers)
        if mode == "rank":
            n = max([len(a.get("ranks") or []) for a in answers] + [2])
            return preferences.aggregate(answers, n, weights)
        if mode == "write":
            replies = [{"text": a["text"], "role": a.get("role", "assistant")} for a in answers if a.get("text")]
            return Aggregate(result={"replies": replies, "count": len(replies)}, confidence=1.0 if replies else 0.0,
                             agreement=1.0, method="keep_all")
        return self._aggregate_ratings(answers, config, weights)

    def _aggregate_ratings(self, answers: list[dict], config: dict, weights: list[float]) -> Aggregate:
        """Per assistant turn: the median score and every flag at least half the (trust-weighted) raters set."""
        by_turn: dict[int, list[tuple[dict, float]]] = {}
        for answer, w in zip(answers, weights, strict=True):
            for t in answer.get("turns") or []:
                by_turn.setdefault(t["turn"], []).append((t, w))
        width = (config["scale_max"] - config["scale_min"]) or 1
        rows, spreads = [], []
        for turn in sorted(by_turn):
            entries = by_turn[turn]
            scores = [e["score"] for e, _w in entries]
            total = sum(w for _e, w in entries) or 1.0
            flag_share = {f: sum(w for e, w in entries if f in (e.get("flags") or [])) / total
                          for f in config.get("flags") or []}
            rows.append({"turn": turn, "score": float(statistics.median(scores)), "n": len(scores),
                         "flags": sorted(f for f, s in flag_share.items() if s >= FLAG_SHARE),
                         "flag_share": {f: round(s, 4) for f, s in flag_share.items() if s > 0}})
            spreads.append((max(scores) - min(scores)) / width)
        agreement = 1.0 - (statistics.mean(spreads) if spreads else 0.0)
        return Aggregate(result={"turn_ratings": rows}, confidence=round(agreement, 6), agreement=round(agreement, 6),
                         method="median+flag_majority")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        mode = config["mode"]
        if mode == "rank":
            return not preferences.contradicts(answer, gold)
        if mode == "rate":
            mine = {t["turn"]: t for t in answer.get("turns") or []}
            for g in gold.get("turns") or []:
                t = mine.get(g["turn"])
                if t is None or abs(t["score"] - g["score"]) > 1 or set(g.get("flags") or []) - set(t.get("flags") or []):
                    return False
            return True
        return True

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        mode = config["mode"]
        if mode == "rank":
            return preferences.agrees(answer, result)
        if mode == "rate":
            decided = {r["turn"]: r for r in result.get("turn_ratings") or []}
            compared = False
            for t in answer.get("turns") or []:
                r = decided.get(t["turn"])
                if r is None:
                    continue
                compared = True
                if abs(t["score"] - r["score"]) > 1 or set(t.get("flags") or []) != set(r["flags"]):
                    return False
            return True if compared else None
        return None

    def demo_qualification(self) -> DemoCampaign:
        """Rate the demo's Đà Lạt conversation: two good replies, and a last one with an invented fact (scores
        within one point of the gold count as right; the "hallucinated" flag must be set)."""
        spec = next(s for s in self.demo() if s.config.get("mode") == "rate")
        entry = next(e for e in spec.items if e["payload"].get("tree_id") == "demo-dalat")
        turns = assistant_turns(entry["payload"]["messages"])
        gold = {"turns": [{"turn": t, "score": 5} for t in turns[:-1]]
                + [{"turn": turns[-1], "score": 2, "flags": ["hallucinated"]}]}
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions,
                            items=[{"payload": entry["payload"], "gold_answer": gold}])


    def demo(self):
        from .demo import campaigns

        return campaigns(self.default_config())
