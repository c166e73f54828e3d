"""Issue 24, second part: the evidence travels with the data (export columns and the dataset card through the
real export job), per-item LLM reference answers (import, API) matched with paraphrases and shown to the
reviewer with the model, the per-campaign text signal, the reviewer's evidence in Vietnamese, the OCR and
speech-transcription hooks on the real database, and planted bugs the reference matching must catch."""
from __future__ import annotations

import csv
import io
import json
import random
import zipfile

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from annotations.models import Annotation
from annotations.telemetry import clean_telemetry
from authenticity import paraphrase, services
from authenticity.models import ReferenceText
from authenticity.selectors import open_flag_count
from bench.authenticity_eval import compose, pasted, script
from bench.authenticity_eval import paraphrase as reword
from core.vietnamese import strip_diacritics
from exports.layouts import AUTHORSHIP_COLUMNS
from exports.services import export_file_path, request_export, run_export
from tasks.importing import import_items
from tests.api_data import answer_items

pytestmark = pytest.mark.django_db

HUMAN = ("Theo mình thì nên học từ vựng theo chủ đề, mỗi ngày tầm mười từ thôi là được. Mình hay xem phim có "
         "phụ đề tiếng Anh, lúc đầu hơi khó nhưng quen rồi thì ổn lắm.")
REFERENCE = ("Để học từ vựng tiếng Anh hiệu quả, bạn nên học theo chủ đề và ôn tập định kỳ bằng phương pháp lặp lại "
             "ngắt quãng. Việc đặt từ mới vào câu ví dụ cụ thể giúp ghi nhớ lâu hơn. Ngoài ra, hãy đọc sách, nghe "
             "podcast và xem phim có phụ đề để gặp lại từ trong ngữ cảnh thực tế.")
OTHER_REFERENCE = ("Bạn có thể bắt đầu bằng việc học mỗi ngày khoảng mười từ mới theo một chủ đề quen thuộc. Hãy dùng "
                   "ứng dụng thẻ ghi nhớ như Anki để ôn lại đúng lúc sắp quên.")
LLM_PASTED = ("Học từ vựng hiệu quả đòi hỏi sự kiên trì và phương pháp phù hợp. Người học nên kết hợp việc đọc sách, "
              "nghe podcast và luyện nói hằng ngày để ghi nhớ lâu hơn.")


def _export(campaign, layout: str, fmt: str):
    export = run_export(request_export(campaign=campaign, fmt=fmt, layout=layout).pk)
    archive = zipfile.ZipFile(export_file_path(export))
    data = archive.read(f"data/train.{fmt}")
    if fmt == "jsonl":
        rows = [json.loads(line) for line in data.splitlines()]
    elif fmt == "parquet":
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
    else:
        rows = list(csv.DictReader(io.StringIO(data.decode())))
    return rows, archive.read("README.md").decode()


def _with_log(annotation: Annotation, telemetry: dict) -> Annotation:
    Annotation.objects.filter(pk=annotation.pk).update(telemetry=clean_telemetry(telemetry))
    return annotation


def test_sft_export_carries_authorship_per_row_in_jsonl_and_parquet(make_campaign, make_contributor):
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Học từ vựng tiếng Anh thế nào?"}}], overlap=3)
    item = campaign.items.get()
    services.add_reference_texts(campaign=campaign, entries=[{"text": REFERENCE, "source": "model-x", "item": item.pk}])
    texts = [HUMAN, LLM_PASTED, reword(REFERENCE, random.Random(2))]
    made = answer_items(campaign, [make_contributor() for _ in texts], lambda i, c: {"response": texts[c]})
    logs = [compose(HUMAN, random.Random(1)), pasted(LLM_PASTED, random.Random(1)),
            script(texts[2], random.Random(1), rate=7.0)]
    for annotation, log in zip(made, logs, strict=True):
        services.score_annotation(_with_log(annotation, log).pk)

    for fmt in ("jsonl", "parquet"):
        rows, card = _export(campaign, "sft", fmt)
        by_answer = {r["messages"][-1]["content"]: r for r in rows}
        assert set(AUTHORSHIP_COLUMNS) <= set(rows[0])
        human, llm, para = (by_answer[t] for t in texts)
        assert human["authorship_score"] >= 0.5 and human["authorship_flagged"] is False
        assert human["authorship_evidence"] == "typed" and human["authorship_paste_seen"] is False
        assert human["authorship_reference_match"] is False and human["authorship_reasons"] == []
        assert llm["authorship_flagged"] is True and "pasted" in llm["authorship_reasons"]
        assert llm["authorship_paste_seen"] is True and llm["authorship_evidence"] == "pasted"
        assert para["authorship_reference_match"] is True and para["authorship_reference_model"] == "model-x"
        assert "matches_reference_answer" in para["authorship_reasons"] and para["authorship_flagged"] is True
    # The card says what was checked and quotes the README's measured error rates.
    assert "## Authorship evidence" in card and "`authorship_reference_match`" in card
    assert "| people composing (keyboard) | flagged (false positive) | 101 | 1.0% | 0.2–5.4% |" in card
    assert "copy-typing" in card


def test_item_layouts_carry_evidence_over_the_items_answers_in_csv(make_campaign, make_contributor):
    """Hallucination rows are items: the lowest score, any flag or paste, every reason of its answers."""
    payload = {"prompt": "Thủ đô?", "response": "Hà Nội là thủ đô. Hà Nội có 100 triệu dân.",
               "claims": ["Hà Nội là thủ đô.", "Hà Nội có 100 triệu dân."]}
    campaign = make_campaign("hallucination", items=[{"payload": payload}], overlap=2)
    correction = "Theo số liệu năm 2019, Hà Nội có khoảng tám triệu dân chứ không phải một trăm triệu dân."

    source = {"evidence_url": "https://vi.wikipedia.org/wiki/H%C3%A0_N%E1%BB%99i",
              "quote": "Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam, dân số khoảng 8,5 triệu."}

    def answer(i, c):
        return {"claims": [{"verdict": "supported", **source},
                           {"verdict": "contradicted", "correction": correction, **source}],
                "overall": "major_errors", "severity": "high"}

    made = answer_items(campaign, [make_contributor(), make_contributor()], answer)
    # Counters, not edit logs: a hallucination answer's free text includes the quoted sources (copied).
    typed = {"schema": 1, "active_ms": 90000, "keystrokes": 260, "deletions": 9, "focus_losses": 0, "pastes": []}
    chatbot = {"schema": 1, "active_ms": 4000, "keystrokes": 2, "deletions": 0, "focus_losses": 1,
               "pastes": [{"at_ms": 900, "length": 400, "field": "correction"}]}
    scores = [services.score_annotation(_with_log(made[0], typed).pk),
              services.score_annotation(_with_log(made[1], chatbot).pk)]
    assert scores[1].flagged and not scores[0].flagged
    rows, card = _export(campaign, "hallucination", "csv")
    [row] = rows
    assert row["authorship_flagged"] == "True" and row["authorship_paste_seen"] == "True"
    assert float(row["authorship_score"]) == min(s.score for s in scores)
    assert "pasted" in json.loads(row["authorship_reasons"])
    assert "over the item's answers" in card
    # Layouts whose rows hold no contributor-written text do not pretend to carry it.
    from tasks.types import get_task_type

    for key in ("rlhf", "moderation", "speech_validation"):
        assert not any(layout.free_text for name, layout in get_task_type(key).export_layouts.items() if name != "raw")


def test_reference_answers_at_import_are_stored_apart_and_bad_lines_named(make_campaign):
    campaign = make_campaign("sft", items=[], overlap=1)
    good = {"instruction": "Học từ vựng thế nào?", "reference_answers": [
        {"model": "model-a", "text": REFERENCE}, {"model": "model-b", "text": OTHER_REFERENCE}]}
    bad = {"instruction": "Câu khác?", "reference_answers": [{"model": "model-a", "text": REFERENCE}, {"text": "x y z"}]}
    report = import_items(campaign=campaign, stream=io.BytesIO(
        (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()), fmt="jsonl")
    assert report.imported == 0 and report.errors[0].line == 2
    assert report.errors[0].field == "payload.reference_answers[1].model"
    assert not ReferenceText.objects.filter(campaign=campaign).exists()  # nothing half-stored

    report = import_items(campaign=campaign, stream=io.BytesIO((json.dumps(good) + "\n").encode()), fmt="jsonl")
    assert report.imported == 1
    item = campaign.items.get()
    assert "reference_answers" not in item.payload  # never sent to the contributor's page
    assert sorted(item.reference_answers.values_list("source", flat=True)) == ["model-a", "model-b"]


def test_reference_answers_through_the_api_and_the_reviewer_sees_the_model(
        make_campaign, make_contributor, token_client, client, django_user_model, other_org):
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Học từ vựng thế nào?"}}], overlap=2)
    item = campaign.items.get()
    url = f"/api/v1/campaigns/{campaign.pk}/authenticity/references/"
    api = token_client()
    res = api.post(url, {"texts": [{"text": REFERENCE, "model": "model-z", "item": item.pk}]}, format="json")
    assert res.status_code == 201, res.content
    other = make_campaign("sft", items=[{"payload": {"instruction": "x"}}], organization=other_org, overlap=1)
    res = api.post(url, {"texts": [{"text": REFERENCE, "model": "m", "item": other.items.get().pk}]}, format="json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "texts[0]"  # another campaign's item: unknown
    res = api.post(url, {"texts": [{"text": REFERENCE, "item": item.pk}]}, format="json")
    assert res.status_code == 400  # the model must be named

    copied, own = answer_items(campaign, [make_contributor(), make_contributor()],
                               lambda i, c: {"response": [reword(REFERENCE, random.Random(8)), HUMAN][c]})
    record = services.score_annotation(_with_log(copied, compose(copied.payload["response"], random.Random(2))).pk)
    assert record.flagged and "matches_reference_answer" in record.reasons  # typed like a person, still caught
    assert record.components["process"]["status"] == "replayed" and record.components["process"]["value"] > 0.5
    assert record.components["reference_answer"]["model"] == "model-z"
    assert not services.score_annotation(_with_log(own, compose(HUMAN, random.Random(2))).pk).flagged

    manager = django_user_model.objects.create_superuser("rev@example.com", "rev@example.com", "pw-123456789")
    client.force_login(manager)
    en = client.get(reverse("review:item", args=[item.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Close to the answer model-z gave to this prompt" in en and REFERENCE[:40] in en
    assert "Close to an LLM&#x27;s answer to the same prompt" in en
    vi = client.get(reverse("review:item", args=[item.pk]), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Gần với câu trả lời model-z đưa ra cho câu hỏi này" in vi
    assert "gõ " in vi and "phím/giây" in vi  # the writing-process line in Vietnamese
    assert "matches_reference_answer" in vi  # the code stays visible for the record


def test_text_signal_is_a_campaign_option_off_by_default(make_campaign, make_contributor):
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Gợi ý học tiếng Anh?"}}], overlap=1)
    llm = ("Chắc chắn rồi! Dưới đây là một số gợi ý giúp bạn học tiếng Anh hiệu quả hơn:\n\n1. **Luyện nghe mỗi "
           "ngày**: nghe podcast.\n2. **Học từ vựng theo chủ đề**: ghi nhớ lâu hơn.\n3. **Thực hành nói**: tìm bạn "
           "cùng học.\n\nHy vọng những thông tin này sẽ hữu ích cho bạn!")
    [annotation] = answer_items(campaign, [make_contributor()], lambda i, c: {"response": llm})
    Annotation.objects.filter(pk=annotation.pk).update(telemetry={})  # no record of how it was written
    off = services.score_annotation(annotation.pk)
    assert off.score is None and not off.flagged  # the text alone is not evidence by default
    services.set_policy(campaign=campaign, text_signal=True, text_weight=0.5, threshold=0.6)
    on = services.score_annotation(annotation.pk)
    assert on.score is not None and on.score < 0.6 and on.flagged and "llm_style_text" in on.reasons
    assert on.components["weights"]["text"] == 0.5 and on.components["threshold"] == 0.6


@pytest.mark.parametrize("task_type, payload, answer", [
    ("ocr", {"image": "ocr/page.png"}, {"text": HUMAN}),
    ("speech_transcription", {"audio": "speech/a.ogg"}, {"text": HUMAN}),
])
def test_transcriptions_are_copying_by_design_not_scored_on_the_database(
        task_type, payload, answer, make_campaign, make_contributor, monkeypatch):
    """OCR and speech transcription copy the item by design: a pasted or scripted transcription is not a
    flag, lowers no trust, and the export says why."""
    from tasks.services import new_item

    campaign = make_campaign(task_type, items=[], overlap=1)
    new_item(campaign, payload=payload).save()  # the media check is not what this test is about
    user = make_contributor()
    task = campaign.task
    monkeypatch.setattr(type(task), "validate_annotation", lambda self, p, **kw: p)
    [annotation] = answer_items(campaign, [user], lambda i, c: answer)
    for log in (pasted(HUMAN, random.Random(1)), script(HUMAN, random.Random(1), rate=7.0)):
        record = services.score_annotation(_with_log(annotation, log).pk)
        assert record.score is None and not record.flagged and record.reasons == []
        assert record.components["not_scored_because"] == "transcription: copying the item is the task"
        assert record.behaviour_evidence == "not_applicable"
    assert open_flag_count(user, task_type) == 0


# --- the reference matching: planted bugs the checks must catch --------------------------------------------


def check_reference_matching():
    refs = [{"id": 1, "model": "a", "text": OTHER_REFERENCE}, {"id": 2, "model": "b", "text": REFERENCE}]
    para = paraphrase.best_reference(reword(REFERENCE, random.Random(3)), refs)
    assert para["model"] == "b" and para["match"] >= 0.5, para
    stripped = paraphrase.best_reference(strip_diacritics(REFERENCE), refs)
    assert stripped["model"] == "b" and stripped["match"] >= 0.5, stripped
    excerpt = paraphrase.best_reference(REFERENCE[: len(REFERENCE) // 2], refs)
    assert excerpt["match"] >= 0.9, excerpt  # half a reference, nothing added: a copy
    assert paraphrase.best_reference(HUMAN, refs)["match"] < 0.5


def check_bench_per_prompt():
    from bench.authenticity_eval import per_prompt

    report = per_prompt(limit=8)["held_out"]
    assert report["llm_paraphrased"]["rate"] == 1.0 and report["human_same_prompt"]["rate"] == 0.0, report


def _first_reference(answer, references):
    tokens = paraphrase.content_words(answer)
    ref = references[0]
    return {**paraphrase.containment(tokens, paraphrase.content_words(ref["text"])), "model": ref["model"],
            "reference_id": ref["id"], "excerpt": ref["text"]}


PLANTED = {
    "keeps the first reference, not the closest": (paraphrase, "best_reference", _first_reference),
    "accents kept (a stripped copy is missed)": (paraphrase, "strip_diacritics", lambda t: t),
    "Jaccard instead of containment": (paraphrase, "containment", lambda a, r: {
        "words": 0.0, "pairs": 0.0, "match": round(len(set(a) & set(r)) / max(len(set(a) | set(r)), 1), 4)}),
}


def test_reference_checks_pass():
    check_reference_matching()
    check_bench_per_prompt()


@pytest.mark.parametrize("bug", list(PLANTED))
def test_planted_reference_bug_is_caught(bug, monkeypatch):
    module, name, buggy = PLANTED[bug]
    monkeypatch.setattr(module, name, buggy)
    with pytest.raises(AssertionError):
        check_reference_matching()
        check_bench_per_prompt()


# --- bad edit logs through the HTTP submit (the ones test_authorship_process does not send over HTTP) --------


@pytest.mark.parametrize("log, status", [
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "x" * (300 * 1024), "p"]]}}, "oversized"),
    ({"schema": 1, "fields": {"response": [[5, 0, 0, "a", "t"], [1, 1, 0, "b", "t"]]}}, "malformed"),  # order
])
def test_oversized_and_out_of_order_logs_over_http(log, status, client, make_campaign, make_contributor):
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Học từ vựng thế nào?"}}], overlap=1)
    client.force_login(make_contributor())
    assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    res = client.post(reverse("assignment-submit", args=[assignment["assignment"]["id"]]),
                      {"payload": {"response": HUMAN}, "telemetry": {"edit_log": log}, "time_spent_ms": 20000},
                      content_type="application/json")
    assert res.status_code in (200, 201), res.content  # the answer is taken, never a 500
    annotation = Annotation.objects.get(campaign=campaign)
    assert annotation.payload["response"] == HUMAN and annotation.telemetry["edit_log"]["status"] == status
    assert "fields" not in annotation.telemetry["edit_log"]  # the bad operations are not kept
    record = services.score_annotation(annotation.pk)
    assert record.flagged and "edit_log_invalid" in record.reasons and record.components["process"]["problem"]


def test_diversity_report_has_self_bleu_and_compression_with_intervals():
    from authenticity.selectors import compare_diversity
    from authenticity.text import compression_ratio, self_bleu

    same = [["hôm", "nay", "trời", "đẹp", "quá"]] * 5
    varied = [[f"w{i}{j}" for j in range(5)] for i in range(5)]
    assert self_bleu(same) == 1.0 and self_bleu(varied) == 0.0
    assert compression_ratio(same[0] * 20) > compression_ratio([w for t in varied for w in t])
    rng = random.Random(1)
    vocab = [f"từ{i}" for i in range(2000)]
    people = [[rng.choice(vocab[:60]) for _ in range(30)] for _ in range(40)]
    llm = [[rng.choice(vocab) for _ in range(30)] for _ in range(80)]
    c = compare_diversity(people, llm, vietnamese=(1.0, 1.0))
    for metric in ("self_bleu", "compression_ratio"):
        d = c["differences"][metric]
        assert d["difference"] > 0 and d["ci95"][0] > 0 and d["clear"], (metric, d)  # the repetitive side


def test_reviewer_sees_whether_a_paste_resembles_an_llm_answer(make_campaign, make_contributor, client,
                                                                django_user_model):
    """Issue 24: an honest person pasting their own draft was flagged exactly like a pasted LLM answer, with
    nothing to tell the two apart. Both still go to a reviewer, who now sees what the paste resembles."""
    from bench.authenticity_eval import paste_then_revise

    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Học từ vựng thế nào?"}}], overlap=2)
    item = campaign.items.get()
    services.add_reference_texts(campaign=campaign, entries=[{"text": REFERENCE, "source": "model-q", "item": item.pk}])
    own, llm = answer_items(campaign, [make_contributor(), make_contributor()],
                            lambda i, c: {"response": [HUMAN, REFERENCE][c]})
    own = services.score_annotation(_with_log(own, paste_then_revise(HUMAN, random.Random(3))).pk)
    llm = services.score_annotation(_with_log(llm, pasted(REFERENCE, random.Random(3))).pk)
    assert own.components["pasted_reference"]["match"] < 0.5 <= llm.components["pasted_reference"]["match"]
    assert llm.components["pasted_reference"]["model"] == "model-q"
    manager = django_user_model.objects.create_superuser("r2@example.com", "r2@example.com", "pw-123456789")
    client.force_login(manager)
    html = client.get(reverse("review:item", args=[item.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The pasted text resembles the answer model-q gave to this prompt" in html
    assert "The pasted text does not resemble the LLM answers uploaded for this prompt" in html
