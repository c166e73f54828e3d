"""What the speech types share (recording, validation, transcription): duration rules, audio items, demo sentences.

The speech family, as a whole: recording (``speech_recording``): the page records with MediaRecorder and
uploads to ``/assets/assignments/<id>/recording/``, which decodes the audio and asks
``SpeechRecording.check_recording`` about duration against the sentence length, silence, clipping and
sample rate; the answer then references the stored key and the server adds the speaker's region,
province, dialect, gender, age band and device from the upload record (never trusted from the page).
Each submitted recording becomes an item of every validation campaign (``speech_validation``) of the
organisation whose ``source_campaign`` is the recording campaign, with the speaker as
``source_contributor`` so the queue never serves it to them. Transcription (``speech_transcription``)
types what an uploaded recording says.

Also here: ``speech_audio.js`` (the player of validation and transcription), ``speech.css`` and the
synthetic demo voice (``demo.py``). Not a type itself: it exports no ``task_type``.
"""
from __future__ import annotations

from django.utils.translation import gettext

from assets.models import MediaAsset
from tasks.types import SchemaError

RECORDING_KEY = "speech_recording"
VALIDATION_KEY = "speech_validation"
RECORDING_DEMO_NAME = "Ghi âm giọng đọc ba miền"  # the validation demo is fed by this demo campaign
SPEAKER_SCHEMA = {
    "type": "object",
    "properties": {k: {"type": "string", "maxLength": 100}
                   for k in ("pseudonym", "region", "province", "dialect", "gender", "age_band")},
}


def syllable_count(sentence: str) -> int:
    """Vietnamese writes one syllable per word; numbers are read as about two syllables per digit."""
    count = 0
    for token in sentence.split():
        digits = sum(ch.isdigit() for ch in token)
        if digits:
            count += 2 * digits
        elif any(ch.isalpha() for ch in token):
            count += 1
    return max(count, 1)


def expected_duration(sentence: str, config: dict) -> tuple[float, float]:
    """The plausible duration range of a reading of ``sentence`` (fast reader .. slow reader + pauses)."""
    syllables = syllable_count(sentence)
    low = max(float(config.get("min_seconds", 1.0)), syllables * float(config.get("min_seconds_per_syllable", 0.12)))
    high = min(float(config.get("max_seconds", 30)),
               3.0 + syllables * float(config.get("max_seconds_per_syllable", 1.0)))
    return low, max(high, low + 1.0)


def stored_audio_info(key: str) -> dict | None:
    """What decoding told us about an uploaded audio file; None when no audio was uploaded under this key."""
    asset = MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.AUDIO).only("info").first()
    return None if asset is None else asset.info


def audio_item(payload: dict, field: str = "audio") -> dict:
    if ".." in payload[field].split("/"):
        raise SchemaError(field, gettext("Invalid media key."))
    info = stored_audio_info(payload[field])
    if info is None:
        raise SchemaError(field, gettext("No stored audio has the key %(key)s; upload it first.") % {
            "key": payload[field]})
    payload.setdefault("duration_s", info.get("duration_s"))
    return payload


class ItemAudio:
    """For types whose item is an uploaded recording (``audio``): checked on import, signed for the player."""

    def validate_item(self, payload, config: dict) -> dict:
        return audio_item(super().validate_item(payload, config))

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"audio": item_payload["audio"]}


DEMO_SENTENCES = [
    "Hôm nay trời nắng đẹp, chúng tôi đi dạo quanh hồ Gươm.",
    "Bà ngoại tôi thường nấu canh chua cá lóc vào cuối tuần.",
    "Xin vui lòng giữ trật tự trong thư viện.",
    "Chuyến tàu từ Huế vào Đà Nẵng mất khoảng ba tiếng.",
    "Em ơi, cho anh một ly cà phê sữa đá nhé.",
    "Mùa lũ năm nay nước sông dâng cao hơn mọi năm.",
    "Con đường làng quê rợp bóng tre xanh mát.",
    "Người dân miền Tây rất hiếu khách và chân thành.",
]
