"""Answered demo items for the review view tests: every demo campaign's first item answered by the demo's
contributors with answers each task type accepts (validated as submit does), then scored by consensus."""
from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from annotations.models import Annotation
from consensus.engine import score_item_consensus
from core.schema import SchemaError
from tasks.models import Assignment, Campaign, Item

LONG_VI = ("Pha cà phê sữa đá: cho hai thìa sữa đặc vào ly, rót cà phê phin nóng lên, khuấy đều rồi thêm "
           "đá. Uống ngay khi đá vừa tan để giữ vị đậm.")


def _ranks(n: int, c: int) -> list[int]:
    ranks = list(range(1, n + 1))
    return ranks if c % 2 == 0 else ranks[::-1]


def sample_answers(campaign: Campaign, item: Item, views: list[dict]) -> list[dict]:
    """Answers by three contributors (the second disagrees where the type allows), or [] when the type's
    answers need something a test cannot make here (a recording upload)."""
    key, cfg, p = campaign.task_type, campaign.config, item.payload
    mode = cfg.get("mode")
    n = len(p.get("responses") or [])
    if key in ("rlhf", "arena"):
        if mode == "ranking":
            return [{"ranks": _ranks(n, c)} for c in range(3)]
        if mode == "rubric":
            crit = [x["key"] for x in cfg["criteria"]]
            return [{"ratings": [{k: (6 if r == 0 else 2) + c % 2 for k in crit} for r in range(n)]} for c in range(3)]
        if key == "arena":
            return [{"choice": ch} for ch in ("A", "B", "A")]
        return [{"choice": ch, "strength": 2} for ch in ("A", "B", "A")]
    if key == "conversation":
        if mode == "rate":
            turns = [i for i, m in enumerate(p["messages"]) if m["role"] == "assistant"]
            return [{"turns": [{"turn": t, "score": 4 - c % 2} for t in turns]} for c in range(3)]
        if mode == "rank":
            return [{"ranks": _ranks(n, c)} for c in range(3)]
        return [{"text": LONG_VI}] * 3
    if key == "hallucination":
        claims = p.get("claims") or []
        ref = (p.get("references") or [{}])[0]
        return [{"claims": [{"verdict": "supported" if c != 1 else "contradicted", "evidence_url": ref.get("url", ""),
                             "quote": (ref.get("text") or "")[:60],
                             **({"correction": "Câu đã sửa theo nguồn."} if c == 1 else {})} for _ in claims],
                 "overall": "minor_errors", "severity": "low"} for c in range(3)]
    if key == "moderation":
        return [{"categories": [x]} for x in ("safe", "spam", "safe")]
    if key == "ocr":
        if mode == "regions":
            return [{"regions": [{**r, "text": f"Dòng {i + 1}: Nguyễn"} for i, r in enumerate(p.get("regions") or [])]}] * 3
        if mode == "fields":
            return [{"fields": {"ho_va_ten": name, "ngay_sinh": "01/02/1990"}} for name in
                    ("Nguyễn Văn An", "Nguyễn Văn Ân", "Nguyễn Văn An")]
        return [{"text": t} for t in ("Mua rau muống, cà chua", "Mua rau muống, cà chưa", "Mua rau muống, cà chua")]
    if key == "sft":
        if mode == "edit_draft":
            return [{"response": p["draft"].replace("thông minh gấp đôi và không bao giờ bị ốm nữa",
                                                    "ngủ ngon hơn và ít căng thẳng")}] * 3
        if mode == "write_pair":
            return [{"instruction": "Đi từ Huế vào Hội An bằng phương tiện gì thuận tiện nhất?", "response": LONG_VI}] * 3
        return [{"response": LONG_VI}] * 3
    if key == "spans":
        pre = p.get("pre_annotations") or {}
        return [pre] * 3 if pre else []
    if key == "speech_transcription":
        return [{"text": t} for t in ("Xin chào các bạn", "Xin chào cả bạn", "Xin chào các bạn")]
    if key == "speech_validation":
        return [{"verdict": "matches"}, {"verdict": "does_not_match", "reasons": ["noise"]}, {"verdict": "matches"}]
    if key == "speech_recording":
        return [{"audio": _stored_recording(campaign, c, views[c])} for c in range(2)]
    if key == "image":
        if item.gold_answer:
            return [item.gold_answer] * 3
        return [{"objects": [{"type": "box", "label": (cfg.get("labels") or [{"key": "car"}])[0].get("key", "car")
                              if isinstance((cfg.get("labels") or [None])[0], dict) else "car",
                              "bbox": [10, 10, 80, 60]}]}] * 3
    return []


def _stored_recording(campaign: Campaign, c: int, view: dict) -> str:
    """A recording as Chromium's MediaRecorder uploads it (Opus in WebM), stored with the duration the
    server decodes at upload."""
    from assets.services import store_media
    from tests.media_samples import voice, webm_opus

    key = f"recordings/{campaign.pk}/{view['media_nonce']}/take.webm"
    store_media(key=key, data=webm_opus(voice(1.5 + c, seed=c)), kind="audio", content_type="audio/webm",
                info={"duration_s": 1.5 + c, "sample_rate": 48000}, campaign=campaign)
    return key


def answer_demo_items(contributors) -> list[tuple[Campaign, Item, list[Annotation]]]:
    """The first item of every demo campaign answered by ``contributors`` (where the type allows), scored."""
    out = []
    now = timezone.now()
    for campaign in Campaign.objects.order_by("id"):
        item = campaign.items.order_by("id").first()
        task = campaign.task
        made = []
        views = [task.prepare_view(item_payload=item.payload, config=campaign.config, rng=random.Random(c + 1))
                 for c in range(len(contributors))]
        for c, (user, payload) in enumerate(zip(contributors, sample_answers(campaign, item, views), strict=False)):
            view = views[c]
            try:
                stored = task.validate_annotation(payload, config=campaign.config, item_payload=item.payload, view=view)
            except (SchemaError, KeyError, TypeError, ValueError):
                continue
            assignment = Assignment.objects.create(item=item, campaign=campaign, contributor=user, view=view,
                                                   state=Assignment.State.SUBMITTED, expires_at=now + timedelta(minutes=5),
                                                   finished_at=now)
            made.append(Annotation.objects.create(assignment=assignment, item=item, campaign=campaign, contributor=user,
                                                  payload=stored, time_spent_ms=9000 + c))
        if made:
            Item.objects.filter(pk=item.pk).update(done_count=len(made), open_slots=0)
            try:
                score_item_consensus(item.pk)
            except Exception:  # noqa: BLE001 - a type whose consensus needs more answers: the page shows none
                pass
        out.append((campaign, item, made))
        if campaign.task.accepts_recordings:
            _validate_recordings(made, contributors, now)
    return out


def _validate_recordings(recordings: list[Annotation], contributors, now) -> None:
    """Each recording becomes a validation item (the type's on_submit) and gets votes: 2 matches, 1 not."""
    for recording in recordings:
        recording.campaign.task.on_submit(recording)
        for item in Item.objects.filter(external_id=f"recording-{recording.pk}"):
            for user, verdict in zip(contributors, ("matches", "matches", "does_not_match"), strict=False):
                payload = item.campaign.task.validate_annotation({"verdict": verdict}, config=item.campaign.config,
                                                                 item_payload=item.payload, view={})
                assignment = Assignment.objects.create(item=item, campaign=item.campaign, contributor=user,
                                                       state=Assignment.State.SUBMITTED, finished_at=now,
                                                       expires_at=now + timedelta(minutes=5))
                Annotation.objects.create(assignment=assignment, item=item, campaign=item.campaign, contributor=user,
                                          payload=payload, time_spent_ms=5000)
