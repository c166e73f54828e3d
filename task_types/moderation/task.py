"""Content moderation: a text item, policy categories (single or multi-label), severity per category, escalation.

A category marked ``exclusive`` (e.g. "safe") cannot be combined with another; when the campaign has
severity levels, each chosen non-exclusive category carries its own severity (``severity.<category>``).
"""
from django.utils.translation import gettext_lazy as _

from consensus.voting import pairwise_agreement, weighted_vote
from exports.layouts import layouts_for
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import MODERATION

DEFAULT_CATEGORIES = [
    {"key": "safe", "label": "An toàn", "label_en": "Safe", "exclusive": True},
    {"key": "hate", "label": "Thù ghét", "label_en": "Hate speech"},
    {"key": "harassment", "label": "Quấy rối", "label_en": "Harassment"},
    {"key": "spam", "label": "Spam / lừa đảo", "label_en": "Spam / scam"},
    {"key": "violence", "label": "Bạo lực", "label_en": "Violence"},
]


class Moderation(TaskType):
    key = "moderation"
    label = _("Content moderation")
    template = "task_types/moderation/moderation.html"
    scripts = ("task_types/moderation/moderation.js",)
    export_layouts = layouts_for(MODERATION)
    config_schema = {
        "type": "object",
        "required": ["categories"],
        "properties": {
            "categories": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "object",
                    "required": ["key", "label"],
                    "properties": {
                        "key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                        "label": {"type": "string", "minLength": 1},
                        "label_en": {"type": "string"},
                        "description": {"type": "string"},
                        "exclusive": {"type": "boolean"},
                    },
                },
            },
            "multi_label": {"type": "boolean"},
            "severity_levels": {"type": "array", "items": {"type": "string"}},
            "severity_required": {"type": "boolean"},
            "allow_escalation": {"type": "boolean"},
        },
    }

    def default_config(self) -> dict:
        return {
            "categories": DEFAULT_CATEGORIES,
            "multi_label": False,
            "severity_levels": [],
            "severity_required": True,
            "allow_escalation": True,
        }

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        keys = [c["key"] for c in config["categories"]]
        if len(set(keys)) != len(keys):
            raise SchemaError("categories", "Category keys must be unique.")
        return config

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": 20000},
                "context": {"type": "string", "maxLength": 20000},
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def annotation_schema(self, config: dict) -> dict:
        keys = [c["key"] for c in config["categories"]]
        schema = {
            "type": "object",
            "required": ["categories"],
            "additionalProperties": False,
            "properties": {
                "categories": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": keys},
                },
                "severity": {
                    "type": "object",
                    "propertyNames": {"enum": keys},
                    "additionalProperties": {"enum": config.get("severity_levels") or ["_"]},
                },
                "needs_escalation": {"type": "boolean"},
                "escalation_note": {"type": "string", "maxLength": 2000},
            },
        }
        if not config.get("multi_label"):
            schema["properties"]["categories"]["maxItems"] = 1
        return schema

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        chosen = payload["categories"]
        exclusive = {c["key"] for c in config["categories"] if c.get("exclusive")}
        if len(chosen) > 1 and exclusive & set(chosen):
            label = next(c["label"] for c in config["categories"] if c["key"] in exclusive & set(chosen))
            raise SchemaError("categories", str(_("“%(label)s” cannot be combined with other categories.") % {"label": label}))
        severity = payload.get("severity") or {}
        for cat in severity:
            if cat not in chosen:
                raise SchemaError(f"severity.{cat}", str(_("Severity given for a category you did not choose.")))
        if config.get("severity_levels") and config.get("severity_required", True):
            for cat in chosen:
                if cat not in exclusive and cat not in severity:
                    raise SchemaError(f"severity.{cat}", str(_("Choose a severity for this category.")))
        if payload.get("escalation_note") and not payload.get("needs_escalation"):
            payload.pop("escalation_note")
        return payload

    def validate_gold(self, gold, config: dict, payload: dict):
        """Gold answers compare categories only (is_correct), so a severity is not required in them."""
        return super().validate_gold(gold, {**config, "severity_required": False}, payload)

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        agg = self._aggregate_categories(answers, config=config, weights=weights)
        levels = config.get("severity_levels") or []
        if levels:
            severity = {}
            for cat in agg.result["categories"]:
                ranks = sorted(levels.index(a["severity"][cat]) for a in answers
                               if (a.get("severity") or {}).get(cat) in levels)
                if ranks:
                    severity[cat] = levels[ranks[(len(ranks) - 1) // 2]]  # lower median of those who chose it
            agg.result["severity"] = severity
        if config.get("allow_escalation", True):
            w = weights or [1.0] * len(answers)
            yes = sum(wt for a, wt in zip(answers, w, strict=True) if a.get("needs_escalation"))
            agg.result["escalation_votes"] = sum(1 for a in answers if a.get("needs_escalation"))
            # Any serious doubt goes to an expert: escalate when at least a third asks for it.
            agg.result["needs_escalation"] = bool(answers) and yes / (sum(w) or 1.0) >= 1 / 3
        return agg

    def _aggregate_categories(self, answers: list[dict], *, config: dict, weights: list[float] | None) -> Aggregate:
        if not config.get("multi_label"):
            labels = [a["categories"][0] for a in answers if a.get("categories")]
            winner, share, counts = weighted_vote(labels, weights)
            return Aggregate(
                result={"categories": [winner] if winner is not None else [], "votes": counts},
                confidence=share,
                agreement=pairwise_agreement(labels),
                method="majority_vote" if weights is None else "weighted_vote",
            )
        # Multi-label: one vote per category (present / absent).
        weights = weights or [1.0] * len(answers)
        total = sum(weights) or 1.0
        chosen, confidences, votes = [], [], {}
        for cat in (c["key"] for c in config["categories"]):
            yes = sum(w for a, w in zip(answers, weights, strict=True) if cat in a.get("categories", []))
            votes[cat] = yes
            if yes / total > 0.5:
                chosen.append(cat)
            confidences.append(max(yes, total - yes) / total)
        label_sets = [tuple(sorted(a.get("categories", []))) for a in answers]
        return Aggregate(
            result={"categories": chosen, "votes": votes},
            confidence=min(confidences) if confidences else 0.0,
            agreement=pairwise_agreement(label_sets),
            method="per_category_vote",
        )

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return sorted(answer.get("categories", [])) == sorted(gold.get("categories", []))

    # --- campaign-level consensus (Dawid-Skene): single-label = one question, multi-label = one per category
    def label_space(self, config: dict) -> dict[str, list[str]]:
        keys = [c["key"] for c in config.get("categories", [])]
        if config.get("multi_label"):
            return {f"category.{k}": ["no", "yes"] for k in keys}
        return {"category": keys}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        keys = [c["key"] for c in config.get("categories", [])]
        chosen = payload.get("categories") or []
        if config.get("multi_label"):
            return {f"category.{k}": int(k in chosen) for k in keys}
        if chosen and chosen[0] in keys:
            return {"category": keys.index(chosen[0])}
        return {"category": -1} if chosen else {}  # a label outside the set: dropped by the scorer

    def apply_campaign_labels(self, aggregate: Aggregate, labels: dict[str, tuple[str, float]], *,
                              config: dict) -> Aggregate:
        aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
        if config.get("multi_label"):
            aggregate.result["categories"] = [q.split(".", 1)[1] for q, (c, _p) in labels.items() if c == "yes"]
        elif "category" in labels:
            aggregate.result["categories"] = [labels["category"][0]]
        return aggregate

    def demo(self) -> list[DemoCampaign]:
        texts = [
            ("Quán phở này ngon lắm, mọi người nên thử nhé!", "safe"),
            ("Bấm vào link này để nhận 10 triệu đồng miễn phí, chỉ hôm nay!!!", "spam"),
            ("Mày mà còn bình luận nữa thì tao đến tận nhà xử lý.", "violence"),
            ("Hôm nay trời Hà Nội se lạnh, nhớ mang áo khoác nha.", "safe"),
            ("Bọn người miền đó đều là lũ lừa đảo, đừng tin.", "hate"),
            ("Cho mình hỏi đường từ Huế vào Đà Nẵng đi đèo Hải Vân có đẹp không?", "safe"),
            ("Đồ ngu, ai cho mày nói chuyện ở đây?", "harassment"),
            ("Tuyển cộng tác viên online, việc nhẹ lương cao, chuyển khoản phí đăng ký trước.", "spam"),
            ("Bài hát mới của ca sĩ này nghe cứ bị lặp lại hoài, hơi chán.", "safe"),
            ("Cà phê sữa đá Sài Gòn là số một, không đâu sánh bằng.", "safe"),
            ("Ai không đồng ý với tôi thì đáng bị đánh cho tỉnh ra.", "violence"),
            ("Mua 1 tặng 1, inbox ngay để nhận mã giảm giá độc quyền!!!", "spam"),
        ]
        items = [{"payload": {"text": t, "source": "demo"}} for t, _ in texts]
        # Two gold items with known answers (honeypots and qualification material).
        items.append({"payload": {"text": "Chúc mọi người một ngày tốt lành!"}, "gold_answer": {"categories": ["safe"]}})
        items.append(
            {
                "payload": {"text": "Nhắn tin cho tôi để nhận quà 5 triệu, chỉ cần gửi mã OTP."},
                "gold_answer": {"categories": ["spam"]},
            }
        )
        return [
            DemoCampaign(
                name="Kiểm duyệt bình luận mạng xã hội",
                config=self.default_config(),
                instructions=(
                    "## Hướng dẫn\n\nĐọc bình luận và chọn **một** nhãn phù hợp nhất.\n\n"
                    "- *An toàn*: không vi phạm.\n- *Spam / lừa đảo*: quảng cáo, dụ dỗ chuyển tiền.\n\n"
                    "**Ví dụ:** \"Bấm vào link để nhận quà\" → Spam / lừa đảo."
                ),
                items=items,
            ),
            DemoCampaign(
                name="Kiểm duyệt đa nhãn có mức độ nghiêm trọng",
                config={**self.default_config(), "multi_label": True,
                        "severity_levels": ["thấp", "trung bình", "cao"]},
                instructions=(
                    "## Hướng dẫn\n\nChọn **tất cả** nhãn vi phạm phù hợp và mức độ nghiêm trọng cho từng nhãn. "
                    "*An toàn* không đi cùng nhãn khác. Đánh dấu *Cần chuyên gia* khi bạn không chắc.\n\n"
                    "**Ví dụ:** \"Đồ ngu, tao đến tận nhà xử lý mày\" → Quấy rối (cao) + Bạo lực (cao)."
                ),
                items=[
                    {"payload": {"text": "Đồ ngu, mày còn nói nữa tao đến tận nhà xử lý."}},
                    {"payload": {"text": "Bọn người miền đó toàn lừa đảo, inbox tao bán tài khoản giá rẻ."}},
                    {"payload": {"text": "Hôm nay mưa to quá, mọi người đi đường cẩn thận nhé."}},
                    {"payload": {"text": "Ai chê đội tuyển thì cứ chờ đấy, ra đường đừng trách."}},
                ],
            ),
        ]

