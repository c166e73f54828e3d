"""Speech types: validation decisions (N accepts / M rejects) through the real consensus worker, transcription, demo."""
from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from annotations.models import Consensus
from assets.decoding import inspect_audio
from assets.services import store_media
from core.schema import SchemaError
from task_types.speech_common import expected_duration, syllable_count
from tasks.models import Item
from tasks.types import get_task_type
from tests import media_samples as ms
from tests.helpers import wait_for

VALIDATION = get_task_type("speech_validation")
TRANSCRIPTION = get_task_type("speech_transcription")
RECORDING = get_task_type("speech_recording")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def clip(media_root, db):
    data = ms.ogg(ms.voice(2.0, 16000), 16000)
    info = inspect_audio(data)
    store_media(key="campaigns/audio/clip-1.ogg", data=data, kind="audio", content_type=info.content_type,
                info=info.as_dict())
    return "campaigns/audio/clip-1.ogg"


def test_accept_after_n_reject_after_m_in_answer_order():
    config = VALIDATION.validate_config({"accept_after": 2, "reject_after": 3})

    def decide(*verdicts):
        return VALIDATION.aggregate([{"verdict": v} for v in verdicts], config=config)

    assert decide("matches", "matches").result["decision"] == "accepted"
    assert decide("matches", "does_not_match", "matches").result["decision"] == "accepted"
    assert decide("does_not_match", "does_not_match").result["decision"] == "pending"
    assert decide("does_not_match", "does_not_match").confidence == 0.0  # consensus asks for more
    rejected = decide("does_not_match", "unclear", "does_not_match", "does_not_match")
    assert rejected.result["decision"] == "rejected" and rejected.confidence == 1.0
    assert rejected.result["votes"] == {"matches": 0, "does_not_match": 3, "unclear": 1}
    # Once decided, later answers do not flip the decision.
    assert decide("matches", "matches", "does_not_match", "does_not_match", "does_not_match").result["decision"] == "accepted"


@pytest.mark.django_db
def test_validation_answers_and_reasons(clip):
    config = VALIDATION.validate_config({})
    item = VALIDATION.validate_item({"audio": clip, "sentence": "Xin chào các bạn"}, config)
    assert 1.9 < item["duration_s"] < 2.1
    with pytest.raises(SchemaError) as exc:
        VALIDATION.validate_item({"audio": "../../etc/passwd", "sentence": "x"}, config)
    assert exc.value.field == "audio"
    with pytest.raises(SchemaError) as exc:
        VALIDATION.validate_item({"audio": "campaigns/audio/missing.ogg", "sentence": "x"}, config)
    assert exc.value.field == "audio" and "upload it first" in exc.value.message
    answer = VALIDATION.validate_annotation({"verdict": "does_not_match", "reasons": ["noise", "cut_off"]},
                                            config=config, item_payload=item, view={})
    assert answer["reasons"] == ["noise", "cut_off"]
    with pytest.raises(SchemaError) as exc:
        VALIDATION.validate_annotation({"verdict": "maybe"}, config=config, item_payload=item, view={})
    assert exc.value.field == "verdict"
    with pytest.raises(SchemaError):
        VALIDATION.validate_annotation({"verdict": "unclear", "reasons": ["bored"]}, config=config, item_payload=item,
                                       view={})


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_recording_accepted_after_two_matches_by_the_worker(clip, make_campaign, make_contributor,
                                                            celery_worker_process):
    campaign = make_campaign("speech_validation", items=[{"payload": {"audio": clip, "sentence": "Xin chào các bạn"}}],
                             overlap=1, max_overlap=4, config={"accept_after": 2, "reject_after": 2})
    item = Item.objects.get(campaign=campaign)
    for verdict in ("matches", "matches"):
        client = Client()
        client.force_login(make_contributor())
        assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
        assert assignment["assignment"]["item"]["id"] == item.pk, assignment
        response = client.post(reverse("assignment-submit", args=[assignment["assignment"]["id"]]),
                               {"payload": {"verdict": verdict}}, content_type="application/json")
        assert response.status_code == 201, response.content
        # After the first answer the item is undecided: the worker asks for one more answer.
        wait_for(lambda: Item.objects.get(pk=item.pk).open_slots > 0 or
                 Consensus.objects.filter(item=item, state="finalised").exists(), timeout=60)
    consensus = wait_for(lambda: Consensus.objects.filter(item=item, state="finalised").first(), timeout=60)
    assert consensus.result["decision"] == "accepted"
    assert consensus.result["votes"]["matches"] == 2


@pytest.mark.django_db
def test_transcription_answers(clip):
    config = TRANSCRIPTION.validate_config({})
    item = TRANSCRIPTION.validate_item({"audio": clip}, config)
    assert TRANSCRIPTION.media_keys(item) == {"audio": clip}
    ok = TRANSCRIPTION.validate_annotation({"text": "  xin   chào  các bạn "}, config=config, item_payload=item, view={})
    assert ok == {"text": "xin chào các bạn", "no_speech": False}
    assert TRANSCRIPTION.validate_annotation({"text": "", "no_speech": True}, config=config, item_payload=item,
                                             view={}) == {"text": "", "no_speech": True}
    for bad, field in (({"text": "   "}, "text"), ({"text": "xin chao cac ban"}, "text")):
        with pytest.raises(SchemaError) as exc:
            TRANSCRIPTION.validate_annotation(bad, config=config, item_payload=item, view={})
        assert exc.value.field == field
    strict = TRANSCRIPTION.validate_config({"allow_no_speech": False})
    with pytest.raises(SchemaError) as exc:
        TRANSCRIPTION.validate_annotation({"no_speech": True}, config=strict, item_payload=item, view={})
    assert exc.value.field == "no_speech"
    aggregate = TRANSCRIPTION.aggregate([{"text": "xin chào các bạn"}, {"text": "xin chào các bạn"},
                                         {"text": "xin chào bạn"}], config=config)
    assert aggregate.result["text"] == "xin chào các bạn" and aggregate.confidence > 0.8


def test_duration_expectations_follow_the_sentence():
    assert syllable_count("Hôm nay trời đẹp lắm") == 5
    assert syllable_count("Năm 2024") == 9  # digits are read out
    config = RECORDING.validate_config({})
    low, high = expected_duration("Xin chào", config)
    assert low == 1.0 and high == 5.0
    low, high = expected_duration(" ".join(["chữ"] * 40), config)
    assert low == pytest.approx(4.8) and high == 30


@pytest.mark.django_db
def test_demo_speech_campaigns_synthesize_their_audio(media_root):
    for task in (VALIDATION, TRANSCRIPTION):
        (spec,) = task.demo()
        config = task.validate_config(spec.config)
        for entry in spec.items:
            payload = task.validate_item(entry["payload"], config)
            with default_storage.open(payload["audio"], "rb") as handle:
                info = inspect_audio(handle.read())
            assert info.container == "ogg" and info.duration_s > 1.0
            assert info.active_ratio > 0.3 and info.clipped_ratio == 0
    (recording,) = RECORDING.demo()
    assert sum(recording.extra["region_quotas"].values()) == 100
    assert all(RECORDING.validate_item(e["payload"], RECORDING.validate_config({})) for e in recording.items)
