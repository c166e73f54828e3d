"""RLHF preference: a prompt (or conversation) and 2..k model responses; pairwise, ranking or rubric.

Responses are shown in a per-contributor random order (stored in Assignment.view["order"]) so position
bias can be measured. Answers name SHOWN positions (what the contributor saw as A, B, C...);
validate_annotation records the order in the stored payload, and aggregation maps every answer back to
the ORIGINAL response indices before combining.
"""
from __future__ import annotations

import random
import statistics

import numpy as np
from django.utils.translation import gettext_lazy as _

from consensus.bradley_terry import bradley_terry_scores
from consensus.voting import pairwise_agreement, weighted_vote
from exports.layouts import layouts_for
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import DPO, REWARD

MODES = ("pairwise", "ranking", "rubric")
CHOICES = ("A", "B", "tie", "both_bad")
DEFAULT_CRITERIA = [
    {"key": "helpfulness", "label": "Hữu ích", "label_en": "Helpfulness"},
    {"key": "harmlessness", "label": "Vô hại", "label_en": "Harmlessness"},
    {"key": "honesty", "label": "Trung thực", "label_en": "Honesty"},
]
MAX_RESPONSES = 9


class RLHFPreference(TaskType):
    key = "rlhf"
    label = _("RLHF preference")
    template = "task_types/rlhf/rlhf.html"
    scripts = ("task_types/rlhf/rlhf.js",)
    export_layouts = layouts_for(DPO, REWARD)
    config_schema = {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {
            "mode": {"enum": list(MODES)},
            "randomize_order": {"type": "boolean"},
            "allow_tie": {"type": "boolean"},
            "allow_both_bad": {"type": "boolean"},
            "strength_levels": {"type": "integer", "minimum": 0, "maximum": 5},
            "allow_ties": {"type": "boolean"},  # k-way ranking: equal ranks allowed
            "criteria": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "required": ["key", "label"],
                    "additionalProperties": False,
                    "properties": {
                        "key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                        "label": {"type": "string", "minLength": 1},
                        "label_en": {"type": "string"},
                        "description": {"type": "string"},
                    },
                },
            },
            "scale_min": {"type": "integer", "minimum": 0, "maximum": 10},
            "scale_max": {"type": "integer", "minimum": 1, "maximum": 10},
            "rationale": {"enum": ["off", "optional", "required"]},
            "rationale_min_length": {"type": "integer", "minimum": 0, "maximum": 5000},
            "min_responses": {"type": "integer", "minimum": 2, "maximum": MAX_RESPONSES},
            "max_responses": {"type": "integer", "minimum": 2, "maximum": MAX_RESPONSES},
        },
    }

    def default_config(self) -> dict:
        return {
            "mode": "pairwise",
            "randomize_order": True,
            "allow_tie": True,
            "allow_both_bad": True,
            "strength_levels": 3,
            "allow_ties": False,
            "criteria": DEFAULT_CRITERIA,
            "scale_min": 1,
            "scale_max": 7,
            "rationale": "optional",
            "rationale_min_length": 20,
            "min_responses": 2,
            "max_responses": 4,
        }

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        if config["scale_min"] >= config["scale_max"]:
            raise SchemaError("scale_max", "scale_max must be greater than scale_min.")
        keys = [c["key"] for c in config["criteria"]]
        if len(set(keys)) != len(keys):
            raise SchemaError("criteria", "Criterion keys must be unique.")
        if config["min_responses"] > config["max_responses"]:
            raise SchemaError("max_responses", "max_responses must be at least min_responses.")
        return config

    def _response_bounds(self, config: dict) -> tuple[int, int]:
        if config.get("mode") == "pairwise":
            return 2, 2
        return config.get("min_responses", 2), config.get("max_responses", MAX_RESPONSES)

    def item_schema(self, config: dict) -> dict:
        low, high = self._response_bounds(config)
        turn = {
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"enum": ["user", "assistant", "system"]},
                "content": {"type": "string", "minLength": 1, "maxLength": 20000},
            },
        }
        return {
            "type": "object",
            "required": ["prompt", "responses"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": 20000},
                "conversation": {"type": "array", "maxItems": 50, "items": turn},
                "responses": {
                    "type": "array",
                    "minItems": low,
                    "maxItems": high,
                    "items": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {"type": "string", "minLength": 1, "maxLength": 30000},
                            "model": {"type": "string", "maxLength": 200},
                            "id": {"type": "string", "maxLength": 200},
                        },
                    },
                },
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def annotation_schema(self, config: dict) -> dict:
        props: dict = {
            "rationale": {"type": "string", "maxLength": 10000},
        }
        required: list[str] = []
        mode = config["mode"]
        if mode == "pairwise":
            allowed = ["A", "B"] + (["tie"] if config.get("allow_tie") else []) + (
                ["both_bad"] if config.get("allow_both_bad") else [])
            props["choice"] = {"enum": allowed}
            required.append("choice")
            if config.get("strength_levels"):
                props["strength"] = {"type": "integer", "minimum": 1, "maximum": config["strength_levels"]}
        elif mode == "ranking":
            props["ranks"] = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_RESPONSES}}
            required.append("ranks")
        else:
            scale = {"type": "integer", "minimum": config["scale_min"], "maximum": config["scale_max"]}
            props["ratings"] = {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {c["key"]: scale for c in config["criteria"]},
                },
            }
            required.append("ratings")
        if config.get("rationale") == "required":
            required.append("rationale")
        return {"type": "object", "required": required, "additionalProperties": False, "properties": props}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        n = len(item_payload["responses"])
        mode = config["mode"]
        if mode == "pairwise" and config.get("strength_levels") and payload["choice"] in ("A", "B"):
            if "strength" not in payload:
                raise SchemaError("strength", str(_("Say how strongly you prefer it.")))
        if mode == "ranking":
            ranks = payload["ranks"]
            if len(ranks) != n:
                raise SchemaError("ranks", str(_("Rank every response.")))
            if any(r > n for r in ranks):
                raise SchemaError("ranks", str(_("Ranks go from 1 to the number of responses.")))
            if not config.get("allow_ties") and sorted(ranks) != list(range(1, n + 1)):
                raise SchemaError("ranks", str(_("Give each response a different rank (ties are not allowed).")))
            if 1 not in ranks:
                raise SchemaError("ranks", str(_("One response must be ranked first.")))
        if mode == "rubric":
            ratings = payload["ratings"]
            if len(ratings) != n:
                raise SchemaError("ratings", str(_("Rate every response.")))
            for pos, rating in enumerate(ratings):
                for crit in config["criteria"]:
                    if crit["key"] not in rating:
                        raise SchemaError(f"ratings[{pos}].{crit['key']}", str(_("Please give this rating.")))
        rationale = (payload.get("rationale") or "").strip()
        if config.get("rationale") != "off":
            min_len = config.get("rationale_min_length", 0)
            if (rationale or config.get("rationale") == "required") and len(rationale) < min_len:
                raise SchemaError(
                    "rationale", str(_("Write at least %(n)d characters (you wrote %(m)d).") % {"n": min_len, "m": len(rationale)})
                )
        elif rationale:
            raise SchemaError("rationale", str(_("This campaign does not take a rationale.")))
        if "rationale" in payload:
            payload["rationale"] = rationale
        payload["order"] = _order(view, n)
        return payload

    def review_answer(self, answer: dict, *, item_payload: dict, config: dict) -> dict:
        """The answer in the responses' ORIGINAL order (the review view shows them unshuffled): "A"/"B" name
        original responses 0/1, ranks and ratings are listed per original response."""
        if not isinstance(answer, dict):
            return answer
        out = {k: v for k, v in answer.items() if k != "order"}
        try:
            if answer.get("choice") in ("A", "B"):
                out["choice"] = "AB"[_original_choice(answer)]
            if isinstance(answer.get("ranks"), list):
                out["ranks"] = _original_ranks(answer)
            if isinstance(answer.get("ratings"), list):
                out["ratings"] = _original_ratings(answer)
        except (IndexError, KeyError, TypeError):
            return answer  # a malformed legacy answer: shown as stored rather than a broken page
        return out

    def review_consensus(self, result: dict, *, item_payload: dict, config: dict) -> dict | None:
        """The decided preference as an answer in the original order: pairwise "A"/"B" for the chosen response
        (ties and both-bad as such), ranking the consensus ranks per response."""
        if not isinstance(result, dict):
            return None
        if config.get("mode") == "pairwise":
            choice = result.get("choice")
            if choice in (0, 1):
                return {"choice": "AB"[choice]}
            return {"choice": choice} if choice in ("tie", "both_bad") else None
        ranking = result.get("ranking")  # original indices, best first
        if config.get("mode") == "ranking" and isinstance(ranking, list) and sorted(ranking) == list(
                range(len(item_payload.get("responses") or []))):
            ranks = [0] * len(ranking)
            for place, index in enumerate(ranking):
                ranks[index] = place + 1
            return {"ranks": ranks}
        return None

    def suggestion_for_view(self, answer: dict, *, view: dict, config: dict) -> dict:
        """Original positions (a backend's, like a gold answer's) -> the positions this contributor sees."""
        n = len(answer.get("ranks") or answer.get("ratings") or answer.get("order") or []) or 2
        shown = _order(view, n)  # shown position p holds original response shown[p]
        at = {original: pos for pos, original in enumerate(shown)}
        out = dict(answer)
        choice = _original_choice(answer)
        if isinstance(choice, int) and choice in at:
            out["choice"] = "AB"[at[choice]] if at[choice] < 2 else answer.get("choice")
        for key in ("ranks", "ratings"):
            if isinstance(answer.get(key), list) and len(answer[key]) == n:
                original = answer[key]
                out[key] = [original[shown[p]] for p in range(n)]
        out["order"] = shown
        return out

    def validate_gold(self, gold, config: dict, payload: dict):
        # Gold answers are written in the ORIGINAL order (identity view).
        return self.validate_annotation(gold, config=config, item_payload=payload, view={})

    def prepare_view(self, *, item_payload: dict, config: dict, rng: random.Random) -> dict:
        order = list(range(len(item_payload.get("responses", []))))
        if config.get("randomize_order", True):
            rng.shuffle(order)
        return {"order": order}

    # --- consensus ---------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        weights = list(weights) if weights is not None else [1.0] * len(answers)
        mode = config["mode"]
        if mode == "rubric":
            return self._aggregate_rubric(answers, config, weights)
        n = _n_responses(answers)
        winners, losers, wts = [], [], []
        for answer, w in zip(answers, weights, strict=True):
            for win, lose, share in _comparisons(answer, mode):
                winners.append(win)
                losers.append(lose)
                wts.append(w * share)
        scores = _bt(n, winners, losers, wts)
        ranking = sorted(range(n), key=lambda i: -scores[i])
        result: dict = {"ranking": ranking, "scores": [round(float(s), 6) for s in scores], "n_responses": n}
        if mode == "pairwise":
            labels = [_original_choice(a) for a in answers]
            winner, share, counts = weighted_vote(labels, weights)
            margins = [_signed_margin(a, config) for a in answers]
            margin = float(np.average(margins, weights=weights)) if answers else 0.0
            result.update(votes=counts, choice=winner, margin=round(margin, 4),
                          chosen_margin=_chosen_margin(margin, winner))
            result["position_bias"] = position_bias(answers)
            if winner in (0, 1):
                result.update(chosen=winner, rejected=1 - winner)
            else:
                result.update(chosen=None, rejected=None)
            return Aggregate(result=result, confidence=share, agreement=pairwise_agreement(labels),
                             method="pairwise_vote+bradley_terry")
        # k-way ranking: agreement = mean pairwise Kendall-style concordance between answers.
        orig_ranks = [_original_ranks(a) for a in answers]
        result.update(chosen=ranking[0], rejected=ranking[-1],
                      margin=round(float(scores[ranking[0]] - scores[ranking[-1]]), 4))
        result["position_bias"] = position_bias(answers)
        conf = _concordance_with(ranking, orig_ranks, weights)
        return Aggregate(result=result, confidence=conf, agreement=_mean_pairwise_concordance(orig_ranks),
                         method="bradley_terry")

    def _aggregate_rubric(self, answers: list[dict], config: dict, weights: list[float]) -> Aggregate:
        n = _n_responses(answers)
        crits = [c["key"] for c in config["criteria"]]
        per_response = []
        spreads = []
        for i in range(n):
            stats = {}
            for crit in crits:
                values = [_original_ratings(a)[i][crit] for a in answers if crit in _original_ratings(a)[i]]
                if not values:
                    continue
                q = np.percentile(values, [25, 75]) if len(values) > 1 else [values[0], values[0]]
                stats[crit] = {"median": float(statistics.median(values)), "iqr": float(q[1] - q[0]),
                               "min": min(values), "max": max(values), "n": len(values)}
                spreads.append(float(max(values) - min(values)))
            per_response.append(stats)
        overall = [statistics.mean([s["median"] for s in stats.values()]) if stats else 0.0 for stats in per_response]
        ranking = sorted(range(n), key=lambda i: -overall[i])
        width = (config["scale_max"] - config["scale_min"]) or 1
        agreement = 1.0 - (statistics.mean(spreads) / width if spreads else 0.0)
        result = {"ratings": per_response, "overall": [round(v, 4) for v in overall], "ranking": ranking,
                  "chosen": ranking[0] if n else None, "rejected": ranking[-1] if n else None,
                  "margin": round(overall[ranking[0]] - overall[ranking[-1]], 4) if n else 0.0, "n_responses": n}
        return Aggregate(result=result, confidence=max(0.0, agreement), agreement=max(0.0, agreement),
                         method="rubric_median")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        mode = config["mode"]
        if mode == "pairwise":
            return _original_choice(answer) == _original_choice(gold)
        if mode == "ranking":
            a, g = _original_ranks(answer), _original_ranks(gold)
            return a.index(min(a)) == g.index(min(g))  # same best response
        ra, rg = _original_ratings(answer), _original_ratings(gold)
        tol = 1
        return all(abs(ra[i].get(k, 0) - v) <= tol for i, row in enumerate(rg) for k, v in row.items())

    # --- campaign-level consensus (Dawid-Skene) -----------------------------------------------
    # Pairwise: one question "preference" in CANONICAL order (class "A" = original response 0, "B" =
    # original response 1), never the shown A/B a contributor clicked. Rubric: one ordinal question per
    # original response and criterion ("rating.<i>.<criterion>", classes the scale's points). k-way
    # ranking has no categorical question: Bradley-Terry stays its consensus.
    def label_space(self, config: dict) -> dict[str, list[str]]:
        mode = config.get("mode")
        if mode == "pairwise":
            return {"preference": _preference_classes(config)}
        if mode == "rubric":
            points = [str(v) for v in range(int(config.get("scale_min", 1)), int(config.get("scale_max", 7)) + 1)]
            high = int(config.get("max_responses", MAX_RESPONSES))
            return {f"rating.{i}.{c['key']}": points for i in range(high) for c in config.get("criteria", [])}
        return {}

    def label_metric(self, question: str, config: dict) -> str:
        return "ordinal" if question.startswith("rating.") else "nominal"

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        mode = config.get("mode")
        if mode == "pairwise":
            if "choice" not in payload:
                return {}
            classes = _preference_classes(config)
            canonical = _canonical_class(payload)
            return {"preference": classes.index(canonical) if canonical in classes else -1}
        if mode != "rubric" or not isinstance(payload.get("ratings"), list):
            return {}
        low, high = int(config.get("scale_min", 1)), int(config.get("scale_max", 7))
        space = self.label_space(config)
        out = {}
        for i, rating in enumerate(_original_ratings(payload)):
            if not isinstance(rating, dict):
                continue
            for crit, value in rating.items():
                q = f"rating.{i}.{crit}"
                if q in space:  # a response or criterion outside the campaign's: left out
                    ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
                    out[q] = value - low if ok else -1
        return out

    def apply_campaign_labels(self, aggregate: Aggregate, labels: dict[str, tuple[str, float]], *,
                              config: dict) -> Aggregate:
        mode = config.get("mode")
        if mode == "pairwise":
            aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
            if "preference" in labels:
                decided = labels["preference"][0]
                winner = {"A": 0, "B": 1}.get(decided, decided)
                result = aggregate.result
                result["choice"] = winner
                if winner in (0, 1):
                    result.update(chosen=winner, rejected=1 - winner, ranking=[winner, 1 - winner])
                else:
                    result.update(chosen=None, rejected=None)
                result["chosen_margin"] = _chosen_margin(result.get("margin") or 0.0, winner)
            return aggregate
        if mode == "rubric":
            # The type's spread-based confidence stays: the posterior of one exact point on a 7-point scale
            # says little about whether the item's ratings are settled.
            confidence = aggregate.confidence
            aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
            aggregate.confidence = confidence
            _apply_rubric_labels(aggregate.result, labels)
        return aggregate

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        mode = config.get("mode")
        try:
            if mode == "pairwise":
                if "choice" not in answer or result.get("choice") is None:
                    return None
                return _original_choice(answer) == result["choice"]
            if mode == "rubric":
                return _rubric_agrees(answer, result, config)
        except AGREEMENT_ERRORS:
            return None
        return super().agrees_with_consensus(answer, result, config=config)

    # --- demo ------------------------------------------------------------------------------
    def demo(self) -> list[DemoCampaign]:
        pairs = [
            (
                "Giải thích ngắn gọn vì sao lá cây có màu xanh.",
                "Lá cây có màu xanh vì chứa diệp lục. Diệp lục hấp thụ mạnh ánh sáng đỏ và xanh lam, "
                "còn ánh sáng xanh lục bị phản xạ lại nên mắt ta thấy lá màu xanh.",
                "Lá cây xanh vì cây thích màu xanh và hút nước từ đất lên.",
            ),
            (
                "Viết một câu chúc Tết ngắn gửi ông bà.",
                "Chúc ông bà năm mới an khang, mạnh khỏe, sống lâu trăm tuổi cùng con cháu.",
                "Happy new year ông bà!!! 🎉🎉🎉",
            ),
            (
                "Tôi bị sốt 39 độ, có nên tự mua kháng sinh uống không?",
                "Bạn không nên tự ý dùng kháng sinh: sốt có thể do virus, khi đó kháng sinh không có tác dụng. "
                "Hãy uống đủ nước, hạ sốt bằng paracetamol đúng liều và đi khám nếu sốt kéo dài quá 2 ngày.",
                "Có, cứ mua amoxicillin uống 3 ngày là khỏi.",
            ),
            (
                "Phở bò Hà Nội khác phở Nam Bộ ở điểm nào?",
                "Phở Hà Nội thường có nước dùng trong, vị thanh, ăn kèm hành lá và ít rau; phở Nam Bộ nước dùng "
                "đậm và ngọt hơn, ăn kèm giá, húng quế, tương đen và tương ớt.",
                "Hai loại phở giống hệt nhau, chỉ khác tên gọi.",
            ),
        ]
        pair_items = [
            {"payload": {"prompt": p, "responses": [{"text": a, "model": "m1"}, {"text": b, "model": "m2"}]}}
            for p, a, b in pairs
        ]
        pair_items.append({
            "payload": {"prompt": "Thủ đô của Việt Nam là thành phố nào?",
                        "responses": [{"text": "Thủ đô của Việt Nam là Hà Nội."},
                                      {"text": "Thủ đô của Việt Nam là Thành phố Hồ Chí Minh."}]},
            "gold_answer": {"choice": "A", "strength": 3},
        })
        rank_items = [
            {"payload": {
                "prompt": "Gợi ý một món ăn sáng nhanh cho sinh viên.",
                "conversation": [
                    {"role": "user", "content": "Mình là sinh viên, sáng nào cũng vội."},
                    {"role": "assistant", "content": "Bạn có bao nhiêu phút cho bữa sáng?"},
                ],
                "responses": [
                    {"text": "Bánh mì trứng: rẻ, nhanh, đủ chất, mua ở xe đẩy gần trường."},
                    {"text": "Xôi lạc gói lá chuối, 10 nghìn đồng, ăn trên đường đi học."},
                    {"text": "Bỏ bữa sáng cho nhanh."},
                ]}},
            {"payload": {
                "prompt": "Dịch sang tiếng Anh: 'Chúc bạn một ngày tốt lành.'",
                "responses": [
                    {"text": "Have a nice day."},
                    {"text": "Wish you a good day."},
                    {"text": "Good luck to you day."},
                ]}},
        ]
        instructions = (
            "## Hướng dẫn\n\nĐọc câu hỏi và các câu trả lời. Chọn câu trả lời **tốt hơn** về độ hữu ích, "
            "an toàn và trung thực. Thứ tự hiển thị được xáo trộn ngẫu nhiên.\n\n"
            "**Ví dụ:** Hỏi \"Thủ đô của Việt Nam?\" — \"Hà Nội\" tốt hơn hẳn \"TP. Hồ Chí Minh\"."
        )
        return [
            DemoCampaign(name="So sánh câu trả lời của mô hình (RLHF)", config=self.default_config(),
                         instructions=instructions, items=pair_items),
            DemoCampaign(
                name="Xếp hạng câu trả lời (RLHF, k phương án)",
                config={**self.default_config(), "mode": "ranking", "rationale": "off"},
                instructions="## Hướng dẫn\n\nXếp hạng các câu trả lời từ tốt nhất (1) đến kém nhất.",
                items=rank_items,
            ),
            DemoCampaign(
                name="Chấm điểm câu trả lời theo tiêu chí (RLHF)",
                config={**self.default_config(), "mode": "rubric", "max_responses": 3},
                instructions="## Hướng dẫn\n\nChấm từng câu trả lời theo thang 1–7 cho mỗi tiêu chí.",
                items=[{"payload": e["payload"]} for e in pair_items[:3]],
            ),
        ]


def position_bias(answers: list[dict]) -> dict:
    """How often the response SHOWN first won: {"decisive": n, "first_shown_wins": k}.

    Summed over a campaign, k / n far from 1 / (number of responses) means contributors favour a position.
    Pairwise: answers choosing A or B; ranking: answers with a single response ranked first.
    """
    decisive = first = 0
    for answer in answers:
        if "choice" in answer:
            if answer["choice"] in ("A", "B"):
                decisive += 1
                first += answer["choice"] == "A"
        elif "ranks" in answer:
            ranks = answer["ranks"]
            if ranks.count(1) == 1:
                decisive += 1
                first += ranks[0] == 1
    return {"decisive": decisive, "first_shown_wins": first}


# --- campaign-level labels ----------------------------------------------------------------------
AGREEMENT_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def _preference_classes(config: dict) -> list[str]:
    """Pairwise classes in canonical order: "A"/"B" name ORIGINAL responses 0/1 here, not shown positions."""
    return ["A", "B"] + (["tie"] if config.get("allow_tie", True) else []) + (
        ["both_bad"] if config.get("allow_both_bad", True) else [])


def _canonical_class(answer: dict):
    choice = _original_choice(answer)
    return {0: "A", 1: "B"}.get(choice, choice) if not isinstance(choice, bool) else None


def _apply_rubric_labels(result: dict, labels: dict[str, tuple[str, float]]) -> None:
    """Each decided rating becomes the criterion's ``consensus`` value; overall, ranking, chosen and margin follow.

    Copies the per-response statistics: the campaign re-score shares one aggregate between items with the
    same answers.
    """
    per_response = [{crit: dict(stats) for crit, stats in row.items()} for row in result.get("ratings") or []]
    for q, (value, posterior) in labels.items():
        parts = q.split(".", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        i, crit = int(parts[1]), parts[2]
        if i < len(per_response) and crit in per_response[i]:
            per_response[i][crit].update(consensus=int(value), posterior=round(float(posterior), 6))
    n = len(per_response)
    if not n:
        return
    overall = [
        statistics.mean([s.get("consensus", s["median"]) for s in row.values()]) if row else 0.0
        for row in per_response
    ]
    ranking = sorted(range(n), key=lambda i: -overall[i])
    result.update(ratings=per_response, overall=[round(v, 4) for v in overall], ranking=ranking,
                  chosen=ranking[0], rejected=ranking[-1],
                  margin=round(overall[ranking[0]] - overall[ranking[-1]], 4))


def _rubric_agrees(answer: dict, result: dict, config: dict) -> bool | None:
    """Every rating within one scale point of the consensus (the decided value, else the median)."""
    consensus = result.get("ratings")
    if not isinstance(answer.get("ratings"), list) or not isinstance(consensus, list):
        return None
    compared = False
    for i, rating in enumerate(_original_ratings(answer)):
        if i >= len(consensus) or not isinstance(rating, dict):
            continue
        for crit, value in rating.items():
            stats = consensus[i].get(crit) if isinstance(consensus[i], dict) else None
            if not isinstance(stats, dict) or not isinstance(value, (int, float)):
                continue
            compared = True
            if abs(value - stats.get("consensus", stats.get("median", value))) > 1:
                return False
    return True if compared else None


# --- mapping shown positions back to original response indices -------------------------------


def _order(view: dict, n: int) -> list[int]:
    order = (view or {}).get("order")
    if isinstance(order, list) and sorted(order) == list(range(n)):
        return list(order)
    return list(range(n))


def _n_responses(answers: list[dict]) -> int:
    return max((len(a.get("order") or []) for a in answers), default=0) or 2


def _original_choice(answer: dict):
    """'A'/'B' (shown) -> the original response index; tie/both_bad unchanged."""
    order = answer.get("order") or [0, 1]
    choice = answer.get("choice")
    if choice == "A":
        return order[0]
    if choice == "B":
        return order[1]
    return choice


def _chosen_margin(signed: float, chosen) -> float:
    """How much the chosen response won by, in [0, 1] (what a DPO ``margin`` column means); 0 when the
    votes' mean strength points the other way (a campaign-level decision against the item's votes)."""
    oriented = signed if chosen == 0 else -signed if chosen == 1 else 0.0
    return round(max(0.0, float(oriented)), 4)


def _signed_margin(answer: dict, config: dict) -> float:
    """+strength when original response 0 wins, -strength when 1 wins, 0 for ties; in [-1, 1]."""
    levels = config.get("strength_levels") or 1
    choice = _original_choice(answer)
    strength = (answer.get("strength") or levels) / levels
    return strength if choice == 0 else -strength if choice == 1 else 0.0


def _original_ranks(answer: dict) -> list[int]:
    """Ranks per ORIGINAL index (answers give ranks per shown position)."""
    ranks = answer["ranks"]
    order = answer.get("order") or list(range(len(ranks)))
    out = [0] * len(ranks)
    for pos, rank in enumerate(ranks):
        out[order[pos]] = rank
    return out


def _original_ratings(answer: dict) -> list[dict]:
    ratings = answer["ratings"]
    order = answer.get("order") or list(range(len(ratings)))
    out: list[dict] = [{} for _ in ratings]
    for pos, rating in enumerate(ratings):
        out[order[pos]] = rating
    return out


def _comparisons(answer: dict, mode: str) -> list[tuple[int, int, float]]:
    """(winner, loser, share) in original indices; a tie counts as half a win each way (share 0.5)."""
    if mode == "pairwise":
        choice = _original_choice(answer)
        if choice in (0, 1):
            return [(choice, 1 - choice, 1.0)]
        if choice == "tie":
            return [(0, 1, 0.5), (1, 0, 0.5)]
        return []
    ranks = _original_ranks(answer)
    pairs = []
    for i in range(len(ranks)):
        for j in range(i + 1, len(ranks)):
            if ranks[i] < ranks[j]:
                pairs.append((i, j, 1.0))
            elif ranks[j] < ranks[i]:
                pairs.append((j, i, 1.0))
            else:
                pairs += [(i, j, 0.5), (j, i, 0.5)]
    return pairs


def _bt(n: int, winners: list[int], losers: list[int], weights: list[float]) -> np.ndarray:
    if not winners:
        return np.zeros(n)
    return np.asarray(bradley_terry_scores(
        n, np.asarray(winners, dtype=np.int64), np.asarray(losers, dtype=np.int64),
        weights=np.asarray(weights, dtype=np.float64),
    ))


def _concordance(r1: list[int], r2: list[int]) -> float:
    """Share of response pairs ordered the same way by two rankings (ties count half)."""
    n = len(r1)
    total = agree = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            a, b = np.sign(r1[i] - r1[j]), np.sign(r2[i] - r2[j])
            total += 1
            agree += 1.0 if a == b else 0.5 if 0 in (a, b) else 0.0
    return agree / total if total else 1.0


def _concordance_with(ranking: list[int], ranks: list[list[int]], weights: list[float]) -> float:
    consensus = [0] * len(ranking)
    for place, idx in enumerate(ranking):
        consensus[idx] = place + 1
    if not ranks:
        return 0.0
    return float(np.average([_concordance(consensus, r) for r in ranks], weights=weights))


def _mean_pairwise_concordance(ranks: list[list[int]]) -> float:
    if len(ranks) < 2:
        return 1.0
    values = [_concordance(ranks[i], ranks[j]) for i in range(len(ranks)) for j in range(i + 1, len(ranks))]
    return float(statistics.mean(values))

