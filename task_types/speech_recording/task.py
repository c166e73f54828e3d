"""Speech recording: read a sentence aloud; the recording is checked on upload and feeds validation."""
from __future__ import annotations

import secrets

from django.db.models import Count
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from annotations.models import Annotation
from assets.decoding import MediaRefused
from assets.selectors import recording_for
from task_types.media_common import KEY_PATTERN
from task_types.speech_common import (
    DEMO_SENTENCES,
    RECORDING_DEMO_NAME,
    RECORDING_KEY,
    VALIDATION_KEY,
    expected_duration,
)
from tasks.models import Campaign, Item
from tasks.services import new_item
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType


class SpeechRecording(TaskType):
    key = RECORDING_KEY
    label = _("Speech: record a sentence")
    template = "task_types/speech_recording/speech_recording.html"
    scripts = ("task_types/speech_recording/speech_recording.js",)
    styles = ("task_types/speech_common/speech.css",)
    accepts_recordings = True
    # The answer is a recording of a given sentence: nothing in it was typed.
    free_text_fields: list[str] = []
    config_schema = {
        "type": "object",
        "properties": {
            "language": {"type": "string", "maxLength": 10},
            "max_seconds": {"type": "number", "minimum": 2, "maximum": 120},
            "min_seconds": {"type": "number", "minimum": 0.2, "maximum": 60},
            "min_seconds_per_syllable": {"type": "number", "minimum": 0, "maximum": 2},
            "max_seconds_per_syllable": {"type": "number", "minimum": 0.2, "maximum": 5},
            "min_sample_rate": {"type": "integer", "minimum": 8000, "maximum": 96000},
            "max_clipped_ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "min_active_ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "silence_dbfs": {"type": "number", "minimum": -120, "maximum": 0},
        },
    }

    def default_config(self) -> dict:
        return {"language": "vi", "max_seconds": 30, "min_seconds": 1.0, "min_seconds_per_syllable": 0.12,
                "max_seconds_per_syllable": 1.0, "min_sample_rate": 16000, "max_clipped_ratio": 0.01,
                "min_active_ratio": 0.05, "silence_dbfs": -45.0}

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["sentence"],
            "additionalProperties": False,
            "properties": {
                "sentence": {"type": "string", "minLength": 1, "maxLength": 500},
                "domain": {"type": "string", "maxLength": 100},
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def prepare_view(self, *, item_payload: dict, config: dict, rng) -> dict:
        # An unguessable per-assignment folder: only this assignment's upload can be submitted with it;
        # the duration range lets the page show it and stop recording at its end.
        low, high = expected_duration(item_payload["sentence"], config)
        return {"media_nonce": secrets.token_hex(8), "min_seconds": round(low, 1), "max_seconds": round(high, 1)}

    def check_recording(self, audio, *, item_payload: dict, config: dict) -> None:
        """Refuse a decoded recording that cannot be a good reading of the sentence (nothing is stored)."""
        if audio.sample_rate < int(config.get("min_sample_rate", 16000)):
            raise MediaRefused("audio", gettext("The sample rate is too low (%(have)d Hz; at least %(need)d Hz).") % {
                "have": audio.sample_rate, "need": int(config.get("min_sample_rate", 16000))})
        low, high = expected_duration(item_payload["sentence"], config)
        if audio.duration_s < low:
            raise MediaRefused("audio", gettext(
                "The recording is too short (%(have).1f s) for this sentence: read the whole sentence "
                "(at least %(low).1f s).") % {"have": audio.duration_s, "low": low})
        if audio.duration_s > high:
            raise MediaRefused("audio", gettext(
                "The recording is too long (%(have).1f s) for this sentence (at most %(high).1f s): "
                "stop recording when you finish reading.") % {"have": audio.duration_s, "high": high})
        if audio.peak_dbfs < float(config.get("silence_dbfs", -45)) or \
                audio.active_ratio < float(config.get("min_active_ratio", 0.05)):
            raise MediaRefused("audio", gettext(
                "We could not hear any speech: the recording is silent or far too quiet. Check your microphone "
                "and speak closer to it."))
        if audio.clipped_ratio > float(config.get("max_clipped_ratio", 0.01)):
            raise MediaRefused("audio", gettext(
                "The recording is distorted (too loud, clipping). Move a little away from the microphone or "
                "speak more softly."))

    def annotation_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["audio"],
            "additionalProperties": False,
            "properties": {"audio": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250}},
        }

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        asset = recording_for(payload["audio"], view=view)
        if asset is None:
            raise SchemaError("audio", gettext("Record the sentence and upload it before submitting."))
        info = asset.info
        return {
            "audio": asset.key,
            "sentence": item_payload["sentence"],
            "duration_s": info.get("duration_s"),
            "sample_rate": info.get("sample_rate"),
            "codec": info.get("codec", ""),
            "speaker": info.get("speaker", {}),
            "device": info.get("device", {}),
        }

    def validate_gold(self, gold, config: dict, payload: dict):
        raise SchemaError("gold_answer", gettext("Recording tasks have no gold answers."))

    def answer_media_keys(self, answer: dict) -> dict[str, str]:
        return {"audio": answer["audio"]} if isinstance(answer.get("audio"), str) else {}

    def on_submit(self, annotation) -> None:
        """The recording becomes an item of the organisation's validation campaigns fed by this campaign."""
        campaign = annotation.campaign
        targets = Campaign.objects.filter(
            organization_id=campaign.organization_id, task_type=VALIDATION_KEY,
            config__source_campaign=campaign.pk,
        ).exclude(status__in=[Campaign.Status.ARCHIVED, Campaign.Status.COMPLETED])
        payload = annotation.payload
        for target in targets:
            external_id = f"recording-{annotation.pk}"
            if Item.objects.filter(campaign=target, external_id=external_id).exists():
                continue
            item = new_item(target, payload={
                "audio": payload["audio"], "sentence": payload["sentence"], "duration_s": payload["duration_s"],
                "speaker": {k: v for k, v in payload.get("speaker", {}).items() if k != "pseudonym"},
                "dialect": payload.get("speaker", {}).get("dialect", ""),
                "locale": campaign.config.get("language", "vi"),
                "recording": annotation.pk,
            }, external_id=external_id)
            item.source_contributor_id = annotation.contributor_id
            item.save()

    def review_extra(self, annotation) -> dict:
        """The validation votes this recording received (the items on_submit made from it), by verdict."""
        votes = (Annotation.objects.filter(
            item__external_id=f"recording-{annotation.pk}", item__campaign__task_type=VALIDATION_KEY,
            item__campaign__organization_id=annotation.campaign.organization_id,
        ).values_list("payload__verdict").annotate(n=Count("id")))
        return {"votes": {str(verdict): n for verdict, n in votes if verdict}}

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        # Every reading is kept (several speakers per sentence is the point); validation judges each one.
        regions: dict[str, int] = {}
        for a in answers:
            region = a.get("speaker", {}).get("region", "")
            regions[region] = regions.get(region, 0) + 1
        return Aggregate(result={"recordings": [a["audio"] for a in answers], "regions": regions},
                         confidence=1.0, agreement=1.0, method="collect_all")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return True

    def demo_qualification(self) -> None:
        """None: a recording has no gold answer to grade (``validate_gold`` refuses one); the recordings are
        checked by people in the validation campaigns instead."""
        return None


    def demo(self) -> list[DemoCampaign]:
        return [DemoCampaign(
            name=RECORDING_DEMO_NAME,
            config=self.default_config(),
            instructions=(
                "## Hướng dẫn\n\nBấm **Ghi âm** (phím R), đọc **to, rõ** câu hiển thị bằng giọng tự nhiên của bạn, "
                "rồi bấm **Dừng**. Nghe lại (phím Space); nếu chưa tốt, ghi lại. Ở nơi yên tĩnh, cách micro "
                "khoảng một gang tay.\n\nGiọng đọc được lưu kèm vùng miền, tỉnh, phương ngữ, giới tính, nhóm tuổi "
                "trong hồ sơ của bạn và loại thiết bị."
            ),
            items=[{"payload": {"sentence": s, "source": "demo"}} for s in DEMO_SENTENCES],
            extra={"overlap": 3, "max_overlap": 3, "region_quotas": {"north": 34, "central": 33, "south": 33}},
        )]
