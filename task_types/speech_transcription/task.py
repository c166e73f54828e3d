"""Speech transcription: type what an uploaded recording says (consensus: the syllable vote at 3+ answers, else the
medoid transcription; ``consensus.text.text_consensus``)."""
from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consensus.text import text_consensus, text_similarity
from task_types.media_common import KEY_PATTERN, check_diacritics
from task_types.speech_common import ItemAudio
from task_types.speech_common.demo import store_demo_audio
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType


class SpeechTranscription(ItemAudio, TaskType):
    key = "speech_transcription"
    copies_by_design = True  # a transcription copies the item by design: no authorship signal applies
    label = _("Speech: transcribe audio")
    template = "task_types/speech_transcription/speech_transcription.html"
    scripts = ("task_types/media_common/vi_input.js", "task_types/speech_common/speech_audio.js",
               "task_types/speech_transcription/speech_transcription.js")
    styles = ("task_types/media_common/media.css", "task_types/speech_common/speech.css")
    config_schema = {
        "type": "object",
        "properties": {
            "language": {"type": "string", "maxLength": 10},
            "warn_no_diacritics": {"type": "boolean"},
            "allow_no_speech": {"type": "boolean"},
        },
    }

    def default_config(self) -> dict:
        return {"language": "vi", "warn_no_diacritics": True, "allow_no_speech": True}

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["audio"],
            "additionalProperties": False,
            "properties": {
                "audio": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250},
                "duration_s": {"type": ["number", "null"]},
                "context": {"type": "string", "maxLength": 2000},
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def annotation_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "text": {"type": "string", "maxLength": 20000},
                "no_speech": {"type": "boolean"},
                "confirmed_no_diacritics": {"type": "boolean"},
            },
        }

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        text = re.sub(r"[ \t]+", " ", payload.get("text", "")).strip()
        if payload.get("no_speech"):
            if not config.get("allow_no_speech", True):
                raise SchemaError("no_speech", gettext("This campaign does not allow “no speech” answers."))
            return {"text": "", "no_speech": True}
        if not text:
            raise SchemaError("text", gettext("Please type what is said, or tick “No speech”."))
        check_diacritics(text, "text", config=config, confirmed=bool(payload.get("confirmed_no_diacritics")))
        return {"text": text, "no_speech": False, **({"confirmed_no_diacritics": True}
                                                      if payload.get("confirmed_no_diacritics") else {})}

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        text, confidence, agreement, method = text_consensus([a.get("text", "") for a in answers], weights)
        return Aggregate(result={"text": text, "no_speech": text == ""}, confidence=confidence,
                         agreement=agreement, method=method)

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return text_similarity(answer.get("text", ""), gold.get("text", "")) >= 0.9

    def demo_qualification(self) -> DemoCampaign:
        """A silent clip to be marked "no speech": the demo's voice is synthetic babble, so the only answer a
        person can know for sure is that a clip holds no speech."""
        spec = self.demo()[0]
        silent = store_demo_audio("demo/speech/qualification-silence.ogg", 0, seed=42)
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=[
            {"payload": {"audio": silent, "context": "Bản ghi kiểm tra", "source": "demo"},
             "gold_answer": {"no_speech": True}}])


    def demo(self) -> list[DemoCampaign]:
        items = []
        for i in range(3):
            key = store_demo_audio(f"demo/speech/spontaneous-{i + 1}.ogg", 9 + 3 * i, seed=100 + i)
            items.append({"payload": {"audio": key, "context": "Hội thoại tự nhiên (giọng tổng hợp của bản demo)",
                                      "source": "demo"}, "external_id": f"demo-spontaneous-{i + 1}"})
        return [DemoCampaign(
            name="Chép lời hội thoại",
            config=self.default_config(),
            instructions=(
                "## Hướng dẫn\n\nNghe và gõ lại **đúng những gì được nói**, có dấu. Dùng nút tốc độ (0.5×–1.5×) "
                "và **Lặp lại** để nghe kỹ đoạn khó. Phím tắt: Space phát/dừng, ←/→ tua 2 giây. Nếu không có "
                "tiếng nói, chọn **Không có tiếng nói**."
            ),
            items=items,
            extra={"overlap": 2, "max_overlap": 3},
        )]
