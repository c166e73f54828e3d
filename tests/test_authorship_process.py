"""Authorship evidence that holds up: applied only where it means something, the writing process bound to the
text (replayed), evidence a reviewer can read, a diversity report that compares like with like, and planted
bugs that the checks must catch."""
from __future__ import annotations

import io
import json
import random

import pytest
from django.urls import reverse

from annotations.models import Annotation
from annotations.telemetry import MAX_EDIT_LOG_BYTES, clean_telemetry
from authenticity import process, services
from authenticity.models import AuthenticityScore
from authenticity.scoring import score_answer
from authenticity.selectors import answer_fields, compare_diversity, open_flag_count
from bench.authenticity_eval import compose, paste_then_revise, pasted, script
from consensus.engine import score_item_consensus
from contributors.models import TrustScore
from contributors.selectors import trust_score
from tasks.models import Assignment
from tasks.types import get_task_type

HUMAN = ("Theo mình thì nên học từ vựng theo chủ đề, mỗi ngày tầm mười từ thôi là được. Mình hay xem phim có "
         "phụ đề tiếng Anh, lúc đầu hơi khó nhưng quen rồi thì ổn lắm.")
LLM = ("Học từ vựng hiệu quả đòi hỏi sự kiên trì và phương pháp phù hợp. Người học nên kết hợp việc đọc sách, "
       "nghe podcast và luyện nói hằng ngày để ghi nhớ lâu hơn.")


def log_of(ops: list) -> dict:
    return {"edit_log": {"schema": 1, "fields": {"response": ops}}}


# --- the checks (each planted bug below must break at least one) -------------------------------------------


def check_composing_passes_and_scripts_are_flagged():
    rng = random.Random(4)
    for i in range(5):
        human = score_answer(HUMAN, compose(HUMAN, rng))
        assert human.components["process"]["status"] == "replayed"
        assert not human.flagged, (i, human.reasons, human.components["process"]["summary"])
    steady = score_answer(LLM, script(LLM, rng, rate=7.0))
    assert steady.flagged and "steady_timing" in steady.reasons
    pool = [g for op in compose(HUMAN * 3, random.Random(9))["edit_log"]["fields"]["response"] if len(op) == 6
            for g in op[5] if g < 2000]
    resampled = score_answer(LLM, script(LLM, rng, pool))
    assert resampled.flagged and "timing_unrelated_to_words" in resampled.reasons, resampled.components["process"]


def check_log_must_replay_to_the_text():
    trace = compose(HUMAN, random.Random(1))
    assert score_answer(HUMAN, trace).components["process"]["status"] == "replayed"
    other = score_answer(LLM, trace)  # a human log borrowed for another text
    assert other.flagged and "edit_log_mismatch" in other.reasons and other.score is None


def check_paste_evidence_is_described():
    own = score_answer(HUMAN, paste_then_revise(HUMAN, random.Random(2)))
    summary = own.components["process"]["summary"]
    assert own.flagged and "pasted" in own.reasons
    assert "pasted 1 block" in summary and "then revised" in summary and "no revision" not in summary
    bare = score_answer(LLM, pasted(LLM, random.Random(2)))
    assert "then no revision" in bare.components["process"]["summary"]


CHECKS = [check_composing_passes_and_scripts_are_flagged, check_log_must_replay_to_the_text,
          check_paste_evidence_is_described]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_check(check):
    check()


# Planted bugs: each replaces a real function with a plausible wrong one; the named check must fail.
def _judge_ignores_rhythm(f):
    value = 1 - f["pasted_share"]
    return value, ["pasted"] if f["pasted_share"] >= 0.5 else []


def _match_anything(fields, texts):
    return list(fields)[: len(texts)] * (len(texts) if fields else 0) or None, ""


def _features_without_revisions(ops, final_text, *, item_text=""):
    f = ORIGINAL_FEATURES(ops, final_text, item_text=item_text)
    return {**f, "revised_words_after_paste": 0}


ORIGINAL_FEATURES = process.features
PLANTED = {
    "judge ignores the rhythm": (process, "judge", _judge_ignores_rhythm, check_composing_passes_and_scripts_are_flagged),
    "replay never compared": (process, "match", _match_anything, check_log_must_replay_to_the_text),
    "revisions after a paste lost": (process, "features", _features_without_revisions, check_paste_evidence_is_described),
}


@pytest.fixture(params=list(PLANTED))
def planted_bug(request, monkeypatch):
    module, name, buggy, check = PLANTED[request.param]
    monkeypatch.setattr(module, name, buggy)
    return check


def test_planted_bug_is_caught(planted_bug):
    with pytest.raises(AssertionError):
        planted_bug()


# --- bad edit logs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, status", [
    ("not a log", "malformed"),
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "a", "t"], [1, 1, 0, "b", "t"]]}}, "malformed"),  # order
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "a", "?"]]}}, "malformed"),
    ({"schema": 1, "fields": {"response": [[5, -1, 0, "a", "t"]]}}, "malformed"),
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "ab", "t", [1, 2]]]}}, "malformed"),  # gaps per key
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "x" * (MAX_EDIT_LOG_BYTES + 1), "p"]]}}, "oversized"),
    ({"schema": 1, "truncated": True, "fields": {"response": []}}, "truncated"),
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "ab", "t", [30]]]}}, "ok"),
])
def test_edit_log_is_checked_and_never_spoils_the_counters(raw, status):
    cleaned = clean_telemetry({"edit_log": raw})
    assert cleaned["edit_log"]["status"] == status
    result = score_answer(HUMAN, cleaned)
    if status in ("malformed", "oversized"):
        assert result.flagged and "edit_log_invalid" in result.reasons  # a reviewer looks; no 500
    if status == "truncated":
        assert not result.flagged


def test_replay_positions_beyond_the_text_are_a_mismatch():
    trace = log_of([[1, 0, 0, HUMAN, "t"], [2, 9999, 0, "x", "t"]])
    result = score_answer(HUMAN, trace)
    assert "edit_log_mismatch" in result.reasons and result.flagged


def _submit(client, campaign, user, body: str, telemetry) -> Annotation:
    client.force_login(user)
    res = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assignment = res.json()["assignment"]
    res = client.post(reverse("assignment-submit", args=[assignment["id"]]),
                      {"payload": {"response": body}, "telemetry": telemetry, "time_spent_ms": 20000},
                      content_type="application/json")
    assert res.status_code in (200, 201), res.content
    return Annotation.objects.get(assignment_id=assignment["id"])


@pytest.fixture
def sft(make_campaign):
    return make_campaign("sft", items=[{"payload": {"instruction": f"Câu hỏi {i}: học từ vựng thế nào?"}}
                                       for i in range(6)], overlap=2)


@pytest.mark.django_db
def test_bad_logs_through_the_submit_stack(client, sft, make_contributor):
    """Stored answer unaffected, reason recorded, never a 500; a good log replays on the real DB."""
    good = _submit(client, sft, make_contributor(), HUMAN, compose(HUMAN, random.Random(3)))
    record = services.score_annotation(good.pk)
    assert record.components["process"]["status"] == "replayed" and not record.flagged
    assert record.behaviour_evidence == "typed"
    borrowed = _submit(client, sft, make_contributor(), LLM, compose(HUMAN, random.Random(3)))
    assert borrowed.payload["response"] == LLM
    record = services.score_annotation(borrowed.pk)
    assert record.flagged and "edit_log_mismatch" in record.reasons
    junk = _submit(client, sft, make_contributor(), HUMAN, {"edit_log": {"schema": 1, "fields": {"response": "x"}}})
    assert junk.telemetry["edit_log"]["status"] == "malformed"
    assert "edit_log_invalid" in services.score_annotation(junk.pk).reasons


# --- applied only where it means something -----------------------------------------------------------------


@pytest.mark.django_db
def test_recordings_votes_and_transcriptions_are_not_scored(make_campaign, make_contributor,
                                                             django_capture_on_commit_callbacks):
    recording = make_campaign("speech_recording", items=[{"payload": {"sentence": "Hôm nay trời đẹp quá, "
                                                                                  "chúng ta đi dạo nhé."}}])
    user = make_contributor()
    start = trust_score(user, "speech_recording")
    item = recording.items.first()
    assignment = Assignment.objects.create(item=item, campaign=recording, contributor=user, state="submitted",
                                           expires_at=item.created_at)
    payload = {"audio": "rec/a.webm", "sentence": item.payload["sentence"], "duration_s": 3.0}
    assert answer_fields(payload, recording) == []
    annotation = Annotation.objects.create(assignment=assignment, item=item, campaign=recording, contributor=user,
                                           payload=payload, telemetry=clean_telemetry({"schema": 1, "active_ms": 10,
                                           "keystrokes": 0, "deletions": 0, "focus_losses": 0, "pastes": []}))
    # Scored as typed text before issue 24: flagged, with trust lowered per flag. A rescore lifts it.
    AuthenticityScore.objects.create(annotation=annotation, campaign=recording, contributor=user, score=0.1,
                                     flagged=True, reasons=["implausible_typing"])
    with django_capture_on_commit_callbacks(execute=True):
        record = services.score_annotation(annotation.pk)
    assert record.score is None and not record.flagged and record.reasons == []
    assert record.components["not_scored_because"] == "recording"
    assert open_flag_count(user, "speech_recording") == 0  # trust is not lowered
    assert trust_score(user, "speech_recording") == pytest.approx(start)
    assert get_task_type("ocr").copies_by_design and get_task_type("speech_transcription").copies_by_design
    assert get_task_type("speech_validation").free_text_fields == ["comment"]


# --- the diversity report ----------------------------------------------------------------------------------


def test_diversity_compares_like_with_like_and_never_reads_as_humanness():
    """Issue 24: an LLM reference more varied than the people's data (MTLD 440 vs 245) was printed as bare
    numbers beside a size-mismatched sample. Now: same token count, differences with intervals, a reading
    that says diversity is not evidence of authorship, and a warning when the languages differ."""
    rng = random.Random(0)
    vocab = [f"từ{i}" for i in range(2000)]
    people = [[rng.choice(vocab[:60]) for _ in range(30)] for _ in range(40)]  # casual, repetitive
    llm = [[rng.choice(vocab) for _ in range(30)] for _ in range(80)]  # varied, and twice as much of it
    c = compare_diversity(people, llm, vietnamese=(1.0, 1.0))
    assert c["dataset"]["tokens"] == c["reference_llm"]["tokens"] == c["tokens_each"] == 1200
    mtld = c["differences"]["mtld"]
    assert mtld["difference"] < 0 and mtld["ci95"][1] < 0 and mtld["clear"]  # the LLM side is more varied...
    assert "not evidence of human authorship" in c["reading"]  # ...which says nothing about who wrote it
    assert c["warnings"] == []
    assert compare_diversity(people, llm, vietnamese=(1.0, 0.0))["warnings"]  # another language: warned
    assert compare_diversity(people[:1], llm, vietnamese=(1.0, 1.0)) is None  # too little to compare


# --- trust without false disagreement --------------------------------------------------------------------------


@pytest.mark.django_db
def test_sft_trust_does_not_fall_when_people_write_different_good_answers(client, make_campaign, make_contributor):
    """Issue 24: on SFT every contributor "agreed with consensus 0 times" and trust fell to ~0.004."""
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Kể về món ăn bạn thích nhất."}}], overlap=2)
    people = [make_contributor(), make_contributor()]
    answers = [HUMAN, "Mình thích bún chả Hà Nội nhất, thịt nướng thơm, nước chấm chua ngọt vừa miệng lắm."]
    before = [trust_score(u, "sft") for u in people]
    for user, body in zip(people, answers, strict=True):
        _submit(client, campaign, user, body, compose(body, random.Random(7)))
    consensus = score_item_consensus(campaign.items.first().pk)
    assert consensus.state == "finalised" and len(consensus.result["responses"]) == 2
    assert [trust_score(u, "sft") for u in people] == before
    assert not TrustScore.objects.filter(contributor__user__in=people, task_type="sft", consensus_seen__gt=0).exists()


# --- manage.py score_texts ---------------------------------------------------------------------------------


def test_score_texts_scores_names_bad_lines_and_goes_on(tmp_path):
    from django.core.management import call_command

    steady = script(LLM, random.Random(5), rate=7.0)["edit_log"]
    rows = [
        json.dumps({"id": "a", "text": HUMAN, "edit_log": compose(HUMAN, random.Random(5))["edit_log"]}),
        json.dumps({"id": "b", "text": LLM, "edit_log": steady}),
        "{not json",
        json.dumps({"id": "c", "text": HUMAN}),  # no process evidence: not scored, not guessed
        json.dumps({"id": "d", "text": HUMAN, "task_type": "nope"}),
        json.dumps({"id": "e", "text": HUMAN, "task_type": "speech_recording"}),
    ]
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    err = io.StringIO()
    call_command("score_texts", str(src), str(dst), stdout=io.StringIO(), stderr=err)
    out = {r["id"]: r for r in map(json.loads, dst.read_text(encoding="utf-8").splitlines())}
    assert not out["a"]["flagged"] and out["a"]["score"] == 1.0
    assert out["b"]["flagged"] and "steady_timing" in out["b"]["reasons"] and "keys/s" in out["b"]["summary"]
    assert out["c"]["score"] is None and not out["c"]["flagged"]
    assert out["e"]["score"] is None and not out["e"]["flagged"]
    assert "line 3" in err.getvalue() and "line 5" in err.getvalue() and "d" not in out
