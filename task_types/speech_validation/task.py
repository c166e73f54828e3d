"""Speech validation (Common Voice-style): does a recording match its sentence?

Accepted after ``accept_after`` "matches" answers, rejected after ``reject_after`` "does not match"
answers, whichever comes first; until then the aggregate has no confidence, so consensus asks for one
more answer (dynamic overlap up to the campaign's maximum).
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from task_types.media_common import KEY_PATTERN
from task_types.speech_common import (
    DEMO_SENTENCES,
    RECORDING_DEMO_NAME,
    RECORDING_KEY,
    SPEAKER_SCHEMA,
    VALIDATION_KEY,
    ItemAudio,
    syllable_count,
)
from task_types.speech_common.demo import store_demo_audio
from tasks.models import Campaign
from tasks.types.base import Aggregate, DemoCampaign, TaskType

from .layouts import SPEECH

VERDICTS = ("matches", "does_not_match", "unclear")
VOTE_CLASSES = ("matches", "does_not_match")  # the up/down vote; "unclear" is an abstention
DEFAULT_REASONS = [
    {"key": "wrong_words", "label": "Đọc sai / thiếu từ", "label_en": "Wrong or missing words"},
    {"key": "noise", "label": "Nhiều tạp âm", "label_en": "Background noise"},
    {"key": "cut_off", "label": "Bị cắt mất đầu/cuối", "label_en": "Cut off"},
    {"key": "not_speech", "label": "Không có giọng nói", "label_en": "No speech"},
    {"key": "other", "label": "Lý do khác", "label_en": "Other"},
]

class SpeechValidation(ItemAudio, TaskType):
    key = VALIDATION_KEY
    # A vote; only the optional comment is typed.
    free_text_fields = ["comment"]
    label = _("Speech: validate a recording")
    template = "task_types/speech_validation/speech_validation.html"
    scripts = ("task_types/speech_common/speech_audio.js", "task_types/speech_validation/speech_validation.js")
    styles = ("task_types/speech_common/speech.css",)
    export_layouts = layouts_for(SPEECH)  # Common Voice columns, audio files in the archive
    config_schema = {
        "type": "object",
        "properties": {
            "accept_after": {"type": "integer", "minimum": 1, "maximum": 20},
            "reject_after": {"type": "integer", "minimum": 1, "maximum": 20},
            "source_campaign": {"type": ["integer", "null"], "minimum": 1},
            "reasons": {
                "type": "array",
                "items": {"type": "object", "required": ["key", "label"],
                          "properties": {"key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                                         "label": {"type": "string", "minLength": 1},
                                         "label_en": {"type": "string"}}},
            },
        },
    }

    def default_config(self) -> dict:
        return {"accept_after": 2, "reject_after": 2, "source_campaign": None, "reasons": DEFAULT_REASONS}

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["audio", "sentence"],
            "additionalProperties": False,
            "properties": {
                "audio": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250},
                "sentence": {"type": "string", "minLength": 1, "maxLength": 500},
                "duration_s": {"type": ["number", "null"]},
                "speaker": SPEAKER_SCHEMA,
                "dialect": {"type": "string", "maxLength": 100},
                "locale": {"type": "string", "maxLength": 20},
                "recording": {"type": "integer"},
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def annotation_schema(self, config: dict) -> dict:
        reasons = [r["key"] for r in config.get("reasons") or DEFAULT_REASONS]
        return {
            "type": "object",
            "required": ["verdict"],
            "additionalProperties": False,
            "properties": {
                "verdict": {"enum": list(VERDICTS)},
                "reasons": {"type": "array", "uniqueItems": True, "items": {"enum": reasons}},
                "comment": {"type": "string", "maxLength": 1000},
            },
        }

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        if payload["verdict"] == "matches":
            payload.pop("reasons", None)  # a reason for a match is a leftover of an earlier choice
        return payload

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        """Accepted at N matches, rejected at M mismatches, in answer order; undecided = no confidence."""
        accept_after, reject_after = int(config.get("accept_after", 2)), int(config.get("reject_after", 2))
        votes = {v: 0 for v in VERDICTS}
        reasons: dict[str, int] = {}
        decision = "pending"
        for answer in answers:
            verdict = answer.get("verdict")
            if verdict not in votes:
                continue
            votes[verdict] += 1
            for reason in answer.get("reasons", []):
                reasons[reason] = reasons.get(reason, 0) + 1
            if decision == "pending":
                if votes["matches"] >= accept_after:
                    decision = "accepted"
                elif votes["does_not_match"] >= reject_after:
                    decision = "rejected"
        decided = votes["matches"] + votes["does_not_match"]
        majority = max(votes["matches"], votes["does_not_match"])
        return Aggregate(
            result={"decision": decision, "votes": votes, "reasons": reasons,
                    "up_votes": votes["matches"], "down_votes": votes["does_not_match"]},
            confidence=1.0 if decision != "pending" else 0.0,
            agreement=majority / decided if decided else 0.0,
            method="accept_after_n_reject_after_m",
        )

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return answer.get("verdict") == gold.get("verdict")

    # --- campaign-level consensus (Dawid-Skene): the up/down vote is one question; "unclear" is no vote
    def label_space(self, config: dict) -> dict[str, list[str]]:
        return {"vote": list(VOTE_CLASSES)}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        verdict = payload.get("verdict")
        if verdict in VOTE_CLASSES:
            return {"vote": VOTE_CLASSES.index(verdict)}
        return {} if verdict in (None, "unclear") else {"vote": -1}  # a verdict outside the set: dropped

    def apply_campaign_labels(self, aggregate: Aggregate, labels: dict[str, tuple[str, float]], *,
                              config: dict) -> Aggregate:
        """The decided class becomes the decision only where the type's rule allows it.

        Accepted needs ``accept_after`` matches and rejected ``reject_after`` mismatches, as in ``aggregate``;
        when the campaign model's class has not reached its count (e.g. two "matches" from contributors it
        finds careless, one "does not match" from a careful one), the item stays pending with no
        confidence, so consensus asks for one more answer and, at ``max_overlap``, an expert decides.
        """
        aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
        if "vote" not in labels:
            return aggregate
        decided, posterior = labels["vote"]
        result = aggregate.result
        up, down = int(result.get("up_votes") or 0), int(result.get("down_votes") or 0)
        if decided == "matches" and up >= int(config.get("accept_after", 2)):
            result["decision"], aggregate.confidence = "accepted", posterior
        elif decided == "does_not_match" and down >= int(config.get("reject_after", 2)):
            result["decision"], aggregate.confidence = "rejected", posterior
        else:
            result["decision"], aggregate.confidence = "pending", 0.0
        return aggregate

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        """An up/down vote against the decision; "unclear" and a pending item are not compared."""
        verdict = answer.get("verdict")
        if verdict not in VOTE_CLASSES:
            return None
        decided = (result.get("labels") or {}).get("vote") or {
            "accepted": "matches", "rejected": "does_not_match"}.get(result.get("decision"))
        return None if decided is None else verdict == decided

    def demo_qualification(self) -> DemoCampaign:
        """A full reading of a sentence (matches) and one cut off after three syllables (does not match); the
        demo's clips are a synthetic voice, so the test is on completeness, which an ear can judge."""
        spec = self.demo()[0]
        sentence = DEMO_SENTENCES[0]
        full = store_demo_audio("demo/speech/qualification-full.ogg", syllable_count(sentence), seed=40)
        cut = store_demo_audio("demo/speech/qualification-cut.ogg", 3, seed=41)
        items = [{"payload": {"audio": full, "sentence": sentence, "source": "demo (synthetic voice)"},
                  "gold_answer": {"verdict": "matches"}},
                 {"payload": {"audio": cut, "sentence": sentence, "source": "demo (synthetic voice)"},
                  "gold_answer": {"verdict": "does_not_match", "reasons": ["cut_off"]}}]
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=items)


    def demo(self) -> list[DemoCampaign]:
        source = Campaign.objects.filter(task_type=RECORDING_KEY, name=RECORDING_DEMO_NAME) \
            .order_by("-id").values_list("id", flat=True).first()
        items = []
        for i, sentence in enumerate(DEMO_SENTENCES[:4]):
            key = store_demo_audio(f"demo/speech/validation-{i + 1}.ogg", syllable_count(sentence), seed=i)
            items.append({"payload": {"audio": key, "sentence": sentence, "source": "demo (synthetic voice)"},
                          "external_id": f"demo-validation-{i + 1}"})
        return [DemoCampaign(
            name="Kiểm tra bản ghi âm",
            config={**self.default_config(), "source_campaign": source},
            instructions=(
                "## Hướng dẫn\n\nNghe bản ghi (phím Space) và so với câu chữ. Chọn **Khớp** (phím 1) nếu người "
                "đọc đọc đúng và rõ từng từ, **Không khớp** (phím 2) nếu sai, thiếu từ hoặc bị cắt, **Không rõ** "
                "(phím 3) nếu không nghe được. Có thể chọn lý do.\n\n*Bản ghi mẫu của bản demo là giọng tổng hợp.*"
            ),
            items=items,
            extra={"overlap": 2, "max_overlap": 3},
        )]
