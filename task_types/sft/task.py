"""SFT data: write the ideal response, write an instruction + response from a brief, or edit a draft.

There is no single right answer: every response is kept, and aggregation returns them all.
For edits the server computes the word-level diff against the model draft (never trusted from the page).
"""
from __future__ import annotations

import difflib

from django.utils.translation import gettext_lazy as _

from core.vietnamese import has_vietnamese_diacritics, is_vietnamese, vietnamese_share
from exports.layouts import layouts_for
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import SFT as SFT_LAYOUT

MODES = ("write_response", "write_pair", "edit_draft")
def word_diff(before: str, after: str) -> tuple[list[list[str]], float]:
    """Word-level edit operations [op, old, new] (equal runs omitted) and the similarity ratio."""
    a, b = before.split(), after.split()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    ops = [[tag, " ".join(a[i1:i2]), " ".join(b[j1:j2])]
           for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    return ops, round(matcher.ratio(), 4)


class SFT(TaskType):
    key = "sft"
    label = _("SFT writing")
    template = "task_types/sft/sft.html"
    scripts = ("task_types/sft/sft.js",)
    export_layouts = layouts_for(SFT_LAYOUT)
    config_schema = {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {
            "mode": {"enum": list(MODES)},
            "min_length": {"type": "integer", "minimum": 0, "maximum": 100000},
            "max_length": {"type": "integer", "minimum": 1, "maximum": 100000},
            "instruction_min_length": {"type": "integer", "minimum": 0, "maximum": 10000},
            "instruction_max_length": {"type": "integer", "minimum": 1, "maximum": 20000},
            "language": {"enum": ["vi", "en", "any"]},
            "diacritics": {"enum": ["warn", "require", "off"]},
            "require_change": {"type": "boolean"},
        },
    }

    def default_config(self) -> dict:
        return {
            "mode": "write_response",
            "min_length": 50,
            "max_length": 4000,
            "instruction_min_length": 15,
            "instruction_max_length": 2000,
            "language": "vi",
            "diacritics": "warn",
            "require_change": True,
        }

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        if config["min_length"] > config["max_length"]:
            raise SchemaError("max_length", "max_length must be at least min_length.")
        return config

    def item_schema(self, config: dict) -> dict:
        text = {"type": "string", "minLength": 1, "maxLength": 50000}
        required = {"write_response": ["instruction"], "write_pair": ["topic"], "edit_draft": ["instruction", "draft"]}
        return {
            "type": "object",
            "required": required[config["mode"]],
            "properties": {"instruction": text, "context": text, "topic": text, "brief": text, "draft": text,
                           "source": {"type": "string", "maxLength": 500}},
        }

    def annotation_schema(self, config: dict) -> dict:
        props = {"response": {"type": "string", "maxLength": 100000}}
        required = ["response"]
        if config["mode"] == "write_pair":
            props["instruction"] = {"type": "string", "maxLength": 20000}
            required.insert(0, "instruction")
        return {"type": "object", "required": required, "additionalProperties": False, "properties": props}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        fields = (["instruction"] if config["mode"] == "write_pair" else []) + ["response"]
        for name in fields:
            value = payload[name].strip()
            payload[name] = value
            low, high = (
                (config.get("instruction_min_length", 0), config.get("instruction_max_length", 20000))
                if name == "instruction" else (config["min_length"], config["max_length"])
            )
            if len(value) < max(low, 1):
                raise SchemaError(name, str(_("Write at least %(n)d characters (now %(m)d).") % {"n": max(low, 1), "m": len(value)}))
            if len(value) > high:
                raise SchemaError(name, str(_("Write at most %(n)d characters (now %(m)d).") % {"n": high, "m": len(value)}))
            self._check_language(name, value, config)
        if config["mode"] == "edit_draft":
            draft = item_payload.get("draft", "")
            ops, ratio = word_diff(draft, payload["response"])
            if config.get("require_change", True) and not ops:
                raise SchemaError("response", str(_("Edit the draft: it is unchanged.")))
            payload["diff"] = ops
            payload["similarity"] = ratio
        payload["has_diacritics"] = has_vietnamese_diacritics(payload["response"])
        return payload

    def _check_language(self, name: str, value: str, config: dict) -> None:
        lang = config.get("language", "any")
        if lang == "vi":
            if not is_vietnamese(value) and sum(ch.isalpha() for ch in value) >= 20:
                raise SchemaError(name, str(_("This campaign needs Vietnamese text.")))
            if config.get("diacritics") == "require" and not has_vietnamese_diacritics(value):
                raise SchemaError(name, str(_("Write Vietnamese with diacritics (dấu).")))
        elif lang == "en":
            letters = [ch for ch in value.lower() if ch.isalpha()]
            if letters and vietnamese_share(value) > 0.05:
                raise SchemaError(name, str(_("This campaign needs English text.")))

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        """No single answer: keep every response (each is a training example)."""
        keep = ["instruction", "response", "similarity"]
        responses = [{k: a[k] for k in keep if k in a} for a in answers]
        return Aggregate(
            result={"responses": responses, "count": len(responses)},
            confidence=1.0 if responses else 0.0,
            agreement=1.0,
            method="keep_all",
        )

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        """Never comparable: every response is kept, so there is no consensus to agree with (trust comes from
        gold answers and review decisions; comparing with the kept list read every answer as disagreeing)."""
        return None

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        """Gold for free text: close enough to the reference (difflib ratio >= 0.6)."""
        ratio = difflib.SequenceMatcher(a=answer.get("response", ""), b=gold.get("response", "")).ratio()
        return ratio >= 0.6

    def demo_qualification(self) -> DemoCampaign:
        """Fix the demo's drafts: the false claims removed, the missing diacritics restored."""
        spec = next(s for s in self.demo() if s.config.get("mode") == "edit_draft")
        fixed = {
            "Tóm tắt lợi ích của việc đi bộ mỗi ngày.":
                "Đi bộ mỗi ngày giúp tim khỏe, hỗ trợ giảm cân và cải thiện tâm trạng.",
            "Giới thiệu món bún chả Hà Nội.":
                "Bún chả là món ăn nổi tiếng của Hà Nội, gồm bún, chả nướng và nước mắm chua ngọt.",
        }
        items = [{"payload": entry["payload"], "gold_answer": {"response": fixed[entry["payload"]["instruction"]]}}
                 for entry in spec.items if entry["payload"]["instruction"] in fixed]
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=items)


    def demo(self) -> list[DemoCampaign]:
        write = [
            {"payload": {"instruction": "Hướng dẫn cách pha một ly cà phê sữa đá kiểu Sài Gòn."}},
            {"payload": {"instruction": "Giải thích cho học sinh lớp 5 vì sao có ngày và đêm."}},
            {"payload": {"instruction": "Viết email xin nghỉ phép một ngày gửi quản lý, lịch sự và ngắn gọn.",
                         "context": "Lý do: đưa con đi tiêm phòng vào thứ Sáu."}},
        ]
        pair = [
            {"payload": {"topic": "Du lịch miền Trung", "brief": "Một câu hỏi thực tế của khách du lịch về Huế hoặc Hội An."}},
            {"payload": {"topic": "Nông nghiệp", "brief": "Câu hỏi của nông dân đồng bằng sông Cửu Long về xâm nhập mặn."}},
        ]
        edit = [
            {"payload": {
                "instruction": "Tóm tắt lợi ích của việc đi bộ mỗi ngày.",
                "draft": "Đi bộ mỗi ngày giúp tim khỏe, giảm cân. Nó cũng giúp bạn thông minh gấp đôi "
                         "và không bao giờ bị ốm nữa.",
            }},
            {"payload": {
                "instruction": "Giới thiệu món bún chả Hà Nội.",
                "draft": "Bun cha la mon an noi tieng cua Ha Noi, gom bun, cha nuong va nuoc mam chua ngot.",
            }},
        ]
        base = self.default_config()
        return [
            DemoCampaign(
                name="Viết câu trả lời mẫu (SFT)", config=base, items=write,
                instructions="## Hướng dẫn\n\nViết câu trả lời **tốt nhất** bằng tiếng Việt có dấu, tự viết, "
                             "không sao chép từ công cụ AI.\n\n**Ví dụ:** Hỏi cách luộc trứng → nêu các bước, thời gian, mẹo.",
            ),
            DemoCampaign(
                name="Viết câu hỏi và câu trả lời theo chủ đề (SFT)", config={**base, "mode": "write_pair"},
                items=pair,
                instructions="## Hướng dẫn\n\nTừ chủ đề, viết một câu hỏi tự nhiên như người dùng thật và câu trả lời mẫu.",
            ),
            DemoCampaign(
                name="Sửa bản nháp của mô hình (SFT)", config={**base, "mode": "edit_draft", "min_length": 20},
                items=edit,
                instructions="## Hướng dẫn\n\nSửa bản nháp cho đúng sự thật, đủ dấu và tự nhiên. Thay đổi được lưu lại.",
            ),
        ]

