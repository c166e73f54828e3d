"""Speech: record a prompt sentence, validate someone else's recording, transcribe audio.

Recording: the page records with MediaRecorder and uploads to ``/assets/assignments/<id>/recording/``,
which decodes the audio and asks ``SpeechRecording.check_recording`` about duration against the
sentence length, silence, clipping and sample rate; the answer then references the stored key and
the server adds the speaker's region, province, dialect, gender, age band and device from the
upload record (never trusted from the page). Each submitted recording becomes an item of every
validation campaign of the organisation whose ``source_campaign`` is the recording campaign, with
the speaker as ``source_contributor`` so the queue never serves it to them.

Validation (Common Voice-style): accepted after ``accept_after`` "matches" answers, rejected after
``reject_after`` "does not match" answers, whichever comes first; until then the aggregate has no
confidence, so consensus asks for one more answer (dynamic overlap up to the campaign's maximum).
"""
from __future__ import annotations

import io
import re
import secrets

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for

from . import register
from .base import Aggregate, DemoCampaign, SchemaError, TaskType
from .ocr import KEY_PATTERN, check_diacritics, medoid_text, text_similarity

VERDICTS = ("matches", "does_not_match", "unclear")
VOTE_CLASSES = ("matches", "does_not_match")  # the up/down vote; "unclear" is an abstention
DEFAULT_REASONS = [
    {"key": "wrong_words", "label": "Đọc sai / thiếu từ", "label_en": "Wrong or missing words"},
    {"key": "noise", "label": "Nhiều tạp âm", "label_en": "Background noise"},
    {"key": "cut_off", "label": "Bị cắt mất đầu/cuối", "label_en": "Cut off"},
    {"key": "not_speech", "label": "Không có giọng nói", "label_en": "No speech"},
    {"key": "other", "label": "Lý do khác", "label_en": "Other"},
]
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
    from assets.models import MediaAsset

    asset = MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.AUDIO).only("info").first()
    return None if asset is None else asset.info


def _audio_item(payload: dict, field: str = "audio") -> dict:
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
        return _audio_item(super().validate_item(payload, config))

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"audio": item_payload["audio"]}


class SpeechRecording(TaskType):
    key = "speech_recording"
    label = _("Speech: record a sentence")
    template = "tasks/types/speech_recording.html"
    script = "label/types/speech_recording.js"
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
        from assets.decoding import MediaRefused

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
        from assets.selectors import recording_for

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
        from tasks.models import Campaign, Item
        from tasks.services import new_item

        campaign = annotation.campaign
        targets = Campaign.objects.filter(
            organization_id=campaign.organization_id, task_type=SpeechValidation.key,
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

    def demo(self) -> list[DemoCampaign]:
        return [DemoCampaign(
            name="Ghi âm giọng đọc ba miền",
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


class SpeechValidation(ItemAudio, TaskType):
    key = "speech_validation"
    label = _("Speech: validate a recording")
    template = "tasks/types/speech_validation.html"
    script = "label/types/speech_validation.js"
    export_layouts = layouts_for("speech")  # Common Voice columns, audio files in the archive
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

    def demo(self) -> list[DemoCampaign]:
        from tasks.models import Campaign

        source = Campaign.objects.filter(task_type=SpeechRecording.key, name=SpeechRecording().demo()[0].name) \
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


class SpeechTranscription(ItemAudio, TaskType):
    key = "speech_transcription"
    label = _("Speech: transcribe audio")
    template = "tasks/types/speech_transcription.html"
    script = "label/types/speech_transcription.js"
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
        text, confidence, agreement = medoid_text([a.get("text", "") for a in answers], weights)
        return Aggregate(result={"text": text, "no_speech": text == ""}, confidence=confidence,
                         agreement=agreement, method="medoid_text")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        return text_similarity(answer.get("text", ""), gold.get("text", "")) >= 0.9

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


register(SpeechRecording())
register(SpeechValidation())
register(SpeechTranscription())

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


def synthesize_speech(syllables: int, *, seed: int, sample_rate: int = 16000):
    """A voice-like signal without any model: one voiced burst per syllable (pulse train through vowel
    formants, with a rising/falling pitch like Vietnamese tones) and short pauses."""
    import numpy as np
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    formants = [(730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840), (440, 1020)]
    pieces = [np.zeros(int(0.25 * sample_rate))]
    for _syllable in range(syllables):
        n = int(rng.uniform(0.16, 0.28) * sample_rate)
        f0 = rng.uniform(110, 200) * np.exp(np.linspace(0, rng.uniform(-0.25, 0.25), n))
        phase = np.cumsum(2 * np.pi * f0 / sample_rate)
        source = np.sign(np.sin(phase)) * 0.5 + rng.normal(0, 0.05, n)
        voiced = source
        for freq in formants[rng.integers(len(formants))]:
            r = np.exp(-np.pi * 90 / sample_rate)
            theta = 2 * np.pi * freq / sample_rate
            voiced = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], voiced)
        envelope = np.sin(np.linspace(0, np.pi, n)) ** 0.7
        syllable = voiced * envelope
        pieces.append(syllable / (np.abs(syllable).max() + 1e-9) * 0.5)
        pieces.append(np.zeros(int(rng.uniform(0.04, 0.12) * sample_rate)))
    pieces.append(np.zeros(int(0.25 * sample_rate)))
    signal = np.concatenate(pieces)
    signal += rng.normal(0, 0.002, signal.size)  # room noise
    return signal.astype(np.float32), sample_rate


def encode_audio(samples, sample_rate: int, fmt: str = "OGG") -> bytes:
    """Encode float samples with soundfile (OGG/Vorbis by default, or WAV/FLAC)."""
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, sample_rate, format=fmt, subtype="VORBIS" if fmt == "OGG" else None)
    return out.getvalue()


def store_demo_audio(key: str, syllables: int, *, seed: int) -> str:
    """Synthesize one demo clip and store it under ``key`` (kept if already stored: it is deterministic)."""
    from django.core.files.storage import default_storage

    from assets.decoding import inspect_audio
    from assets.models import MediaAsset
    from assets.services import store_media

    existing = MediaAsset.objects.filter(key=key).first()
    if existing is not None and default_storage.exists(key):
        return key
    if existing is not None:
        existing.delete()
    if default_storage.exists(key):
        default_storage.delete(key)
    samples, rate = synthesize_speech(syllables, seed=seed)
    data = encode_audio(samples, rate)
    info = inspect_audio(data, max_seconds=120)
    store_media(key=key, data=data, kind=MediaAsset.Kind.AUDIO, content_type=info.content_type,
                info={**info.as_dict(), "demo": True})
    return key
