"""Demo campaigns of the spans type: Vietnamese named entities with relations (syllable snapping, with a
model's pre-annotations to correct), the same kind of sentences snapped to pyvi words, and a short
synthetic two-speaker recording to segment (no model, no download: speech_common's synthetic voice)."""
from __future__ import annotations

NER_LABELS = [
    {"value": "PER", "name": "Người"}, {"value": "LOC", "name": "Địa điểm"},
    {"value": "ORG", "name": "Tổ chức"}, {"value": "TIME", "name": "Thời gian"},
]
RELATIONS = ["làm_việc_tại", "sống_ở", "thuộc_về"]
ATTRIBUTES = [{"key": "uncertain", "name": "Không chắc chắn", "type": "boolean"}]
SENTENCES = [
    "Bà Nguyễn Thị Hương làm việc tại Bệnh viện Bạch Mai ở Hà Nội từ năm 2015.",
    "Ông Trần Văn Đức sống ở Đà Nẵng và là kỹ sư của Tập đoàn Viettel.",
    "Ngày 2 tháng 9, Ủy ban nhân dân thành phố Huế tổ chức lễ hội ven sông Hương.",
    "Chị Lê Hoàng Yến, giáo viên Trường Tiểu học Kim Đồng, đoạt giải nhất cuộc thi.",
    "Đội tuyển Việt Nam tập luyện tại sân Mỹ Đình trước trận gặp Thái Lan.",
    "Anh Phạm Minh Tuấn mở quán cà phê ở Phường Bến Nghé, Quận 1 vào tháng trước.",
]


def _span(text: str, piece: str, label: str, sid: str) -> dict:
    start = text.index(piece)
    return {"id": sid, "start": start, "end": start + len(piece), "label": label}


def _pre_annotations() -> dict[int, dict]:
    """A weak model's guesses for two sentences (one label wrong, one boundary short, one entity missed)."""
    s0, s1 = SENTENCES[0], SENTENCES[1]
    return {
        0: {"spans": [_span(s0, "Nguyễn Thị Hương", "PER", "m1"), _span(s0, "Bệnh viện Bạch Mai", "LOC", "m2"),
                      _span(s0, "Hà Nội", "LOC", "m3")],
            "relations": [{"from": "m1", "to": "m2", "label": "làm_việc_tại"}]},
        1: {"spans": [_span(s1, "Trần Văn", "PER", "m1"), _span(s1, "Đà Nẵng", "LOC", "m2")], "relations": []},
    }


def demo_campaigns(base: dict) -> list[dict]:
    pre = _pre_annotations()
    ner_items = []
    for i, text in enumerate(SENTENCES):
        payload = {"text": text, "source": "demo"}
        if i in pre:
            payload.update(pre_annotations=pre[i], model="demo-ner-v0")
        ner_items.append({"payload": payload, "external_id": f"ner-{i + 1}"})
    ner_config = {**base, "labels": NER_LABELS, "relation_labels": RELATIONS, "attributes": ATTRIBUTES}
    guide = (
        "## Hướng dẫn\n\nĐánh dấu **tên người, địa điểm, tổ chức, thời gian** trong câu. Chạm (hoặc nhấp) vào "
        "âm tiết đầu rồi âm tiết cuối của cụm, rồi chọn nhãn. Bàn phím: ←/→ di chuyển, Shift+←/→ mở rộng, "
        "phím số 1–4 gán nhãn, N/P sang cụm sau/trước, Delete xóa, R nối quan hệ từ cụm đang chọn.\n\n"
        "**Ví dụ:** “Bà *Nguyễn Thị Hương* làm việc tại *Bệnh viện Bạch Mai*”: PER → ORG, quan hệ làm_việc_tại."
    )
    campaigns = [
        {"name": "Gán nhãn thực thể và quan hệ (âm tiết)", "config": ner_config, "items": ner_items,
         "instructions": guide + "\n\nMột số câu có sẵn gợi ý của mô hình: sửa nhãn sai, chỉnh ranh giới, thêm cụm thiếu.",
         "extra": {"overlap": 2, "max_overlap": 3}},
        {"name": "Gán nhãn thực thể theo từ (pyvi)", "config": {**ner_config, "snap": "word"},
         "items": [{"payload": {"text": t, "source": "demo"}, "external_id": f"ner-word-{i + 1}"}
                   for i, t in enumerate(SENTENCES[2:5])],
         "instructions": guide + "\n\nLựa chọn tự khớp theo **từ** (ví dụ “Hà Nội” là một từ).",
         "extra": {"overlap": 2, "max_overlap": 3}},
    ]
    key, duration, segments = demo_dialogue()
    campaigns.append({
        "name": "Phân đoạn người nói và chép lời (âm thanh)",
        "config": {**base, "media": "audio", "match": "overlap", "allow_overlap": False,
                   "labels": [{"value": "speaker_A", "name": "Người nói A", "kind": "speaker"},
                              {"value": "speaker_B", "name": "Người nói B", "kind": "speaker"},
                              {"value": "noise", "name": "Tiếng ồn", "kind": "noise"}]},
        "items": [{"payload": {"audio": key, "context": "Hội thoại ngắn (giọng tổng hợp của bản demo)",
                               "model": "demo-diarizer-v0", "pre_annotations": {"segments": segments},
                               "source": "demo"}, "external_id": "dialogue-1"}],
        "instructions": (
            "## Hướng dẫn\n\nKéo trên dạng sóng để tạo đoạn (hoặc phím A tạo đoạn tại vị trí phát), chọn nhãn "
            "người nói/tiếng ồn bằng phím số, gõ lời nói của đoạn. Space phát/dừng, N/P đoạn sau/trước, "
            "Delete xóa đoạn. Gợi ý của mô hình có sẵn: chỉnh ranh giới cho khớp."),
        "extra": {"overlap": 2, "max_overlap": 3},
    })
    return campaigns


def demo_dialogue(key: str = "demo/spans/dialogue-1.ogg") -> tuple[str, float, list[dict]]:
    """A ~7 s clip: speaker A (4 syllables), noise, speaker B (5 syllables); with a model's rough segments."""
    import numpy as np  # deferred: only the demo synthesises audio

    from assets.decoding import inspect_audio
    from assets.models import MediaAsset
    from assets.services import store_demo_media
    from task_types.speech_common.demo import encode_audio, synthesize_speech

    a, rate = synthesize_speech(4, seed=301)
    b, _ = synthesize_speech(5, seed=302)
    noise = np.random.default_rng(303).normal(0, 0.08, int(0.8 * rate)).astype(np.float32)
    signal = np.concatenate([a, noise, b])
    bounds = [(0.0, len(a) / rate), (len(a) / rate, (len(a) + len(noise)) / rate),
              ((len(a) + len(noise)) / rate, len(signal) / rate)]
    duration = round(len(signal) / rate, 3)

    def build():
        data = encode_audio(signal, rate)
        info = inspect_audio(data, max_seconds=120)
        return data, info.content_type, info.as_dict()

    store_demo_media(key, kind=MediaAsset.Kind.AUDIO, build=build)
    # The "model" merged the noise into speaker A and starts B late.
    segments = [{"id": "m1", "start": 0.0, "end": round(bounds[1][1], 2), "label": "speaker_A"},
                {"id": "m2", "start": round(bounds[2][0] + 0.3, 2), "end": round(bounds[2][1] - 0.05, 2),
                 "label": "speaker_B"}]
    return key, duration, segments
