"""Model comparison (arena): prompts with responses from several named models, judged blind.

An AI team uploads each prompt with 2..8 responses, each naming its ``model``. Contributors never see the
names (``contributor_payload`` strips them): in ``pairwise`` mode each assignment shows two responses drawn
at random in a random order (stored in ``Assignment.view["order"]`` as original indices), in ``ranking`` mode
every response in a shuffled order. Answers name SHOWN positions; the stored answer keeps the order, and
the leaderboard (leaderboard.py) maps every vote back to models and fits Bradley-Terry across all items.
Per item, the same fit over the item's responses decides chosen/rejected for the DPO and reward exports.
"""
from __future__ import annotations

import random

from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from task_types.chat_common import message_schema, preferences
from task_types.chat_common.layouts import DPO, REWARD
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from . import demo as demo_content

MODES = ("pairwise", "ranking")
MAX_RESPONSES = 8


class Arena(TaskType):
    key = "arena"
    label = _("Model comparison (arena)")
    template = "task_types/arena/arena.html"
    scripts = ("task_types/arena/arena.js",)
    styles = ("task_types/arena/arena.css",)
    export_layouts = layouts_for(DPO, REWARD)
    free_text_fields: list[str] = []  # a vote holds no hand-written text
    config_schema = {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {
            "mode": {"enum": list(MODES)},
            "allow_tie": {"type": "boolean"},
            "allow_both_bad": {"type": "boolean"},
            "bootstrap_rounds": {"type": "integer", "minimum": 20, "maximum": 2000},
        },
    }

    def default_config(self) -> dict:
        return {"mode": "pairwise", "allow_tie": True, "allow_both_bad": True, "bootstrap_rounds": 200}

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["prompt", "responses"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": 20000, "pattern": r"\S"},
                "system": {"type": "string", "maxLength": 20000},
                "conversation": {"type": "array", "maxItems": 50, "items": message_schema()},
                "category": {"type": "string", "maxLength": 100},
                "responses": {
                    "type": "array", "minItems": 2, "maxItems": MAX_RESPONSES,
                    "items": {
                        "type": "object",
                        "required": ["model", "text"],
                        "properties": {
                            "model": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
                            "text": {"type": "string", "minLength": 1, "maxLength": 30000, "pattern": r"\S"},
                        },
                    },
                },
            },
        }

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        seen: set[str] = set()
        for i, response in enumerate(payload["responses"]):
            name = response["model"].strip()
            if name in seen:
                raise SchemaError(f"responses[{i}].model", f"Model {name!r} answers this prompt twice.")
            seen.add(name)
            response["model"] = name
        return payload

    def contributor_payload(self, item_payload: dict) -> dict:
        """Blind judging: the page gets the texts, never the model names."""
        return {**item_payload, "responses": [{"text": r.get("text", "")} for r in item_payload.get("responses", [])]}

    def annotation_schema(self, config: dict) -> dict:
        if config["mode"] == "pairwise":
            allowed = ["A", "B"] + (["tie"] if config.get("allow_tie") else []) + (
                ["both_bad"] if config.get("allow_both_bad") else [])
            props = {"choice": {"enum": allowed}}
            required = ["choice"]
        else:
            props = {"ranks": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_RESPONSES}}}
            required = ["ranks"]
        return {"type": "object", "required": required, "additionalProperties": False, "properties": props}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        n = len(item_payload["responses"])
        order = (view or {}).get("order")
        if config["mode"] == "pairwise":
            ok = isinstance(order, list) and len(order) == 2 and len(set(order)) == 2 and all(
                isinstance(i, int) and 0 <= i < n for i in order)
            payload["order"] = order if ok else [0, 1]
        else:
            ranks = payload["ranks"]
            if len(ranks) != n:
                raise SchemaError("ranks", str(_("Rank every response.")))
            if sorted(ranks) != list(range(1, n + 1)):
                raise SchemaError("ranks", str(_("Give each response a different rank.")))
            ok = isinstance(order, list) and sorted(order) == list(range(n))
            payload["order"] = order if ok else list(range(n))
        payload["n_responses"] = n  # a pairwise vote shows two of n: the item's consensus needs all n
        return payload

    def prepare_view(self, *, item_payload: dict, config: dict, rng: random.Random) -> dict:
        n = len(item_payload.get("responses", []))
        if config.get("mode") == "pairwise":
            return {"order": rng.sample(range(n), 2)}
        order = list(range(n))
        rng.shuffle(order)
        return {"order": order}

    # --- consensus -----------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        """Per item: Bradley-Terry over the item's responses from every vote (weighted by trust)."""
        n = max([int(a.get("n_responses") or 0) for a in answers]
                + [max(a.get("order") or [1]) + 1 for a in answers] + [2])
        return preferences.aggregate(answers, n, weights)

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return not preferences.contradicts(answer, gold)

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        return preferences.agrees(answer, result)

    def demo_qualification(self) -> DemoCampaign:
        """Two of the demo's health questions where one answer is plainly better (and one plainly harmful)."""
        spec = self.demo()[0]
        items = []
        for entry in list(spec.items)[:2]:
            payload = dict(entry["payload"])
            payload["responses"] = payload["responses"][::2]  # the careful answer (A) against the harmful one (B)
            items.append({"payload": payload, "gold_answer": {"choice": "A"}})
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=items)


    def demo(self):
        return demo_content.campaigns(self.default_config())

