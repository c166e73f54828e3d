"""Data authenticity: telemetry validation, text features, scoring, near-duplicates, reports, trust, API."""
from __future__ import annotations

import importlib.util
import io
import json
import random
from pathlib import Path

import pytest
from django.urls import reverse

from annotations.telemetry import clean_telemetry
from authenticity import services, text
from authenticity.models import AuthenticityScore, MinHashBand, ReferenceText
from authenticity.scoring import NO_LOG_CAP, score_answer
from authenticity.selectors import answer_text, dataset_report
from core import vietnamese
from tasks.types import TaskType

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "authenticity"


class DeclaredFieldsType(TaskType):
    """A task type that says which answer fields are written by hand (not registered: used directly)."""

    key = "declared_fields"
    free_text_fields = ["response"]


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HUMAN_VI = (
    "theo mình thì nên học từ vựng theo chủ đề, mỗi ngày tầm 10 từ thôi là đc. mình hay xem phim có phụ đề "
    "tiếng anh, lúc đầu hơi khó nhưng quen rồi thì ok lắm nha"
)
LLM_VI = (
    "Chắc chắn rồi! Dưới đây là một số gợi ý giúp bạn học tiếng Anh hiệu quả hơn:\n\n"
    "1. **Luyện nghe mỗi ngày**: Dành ít nhất 30 phút nghe podcast.\n"
    "2. **Học từ vựng theo chủ đề**: Việc nhóm từ theo chủ đề giúp bạn ghi nhớ lâu hơn.\n"
    "3. **Thực hành nói**: Tìm một người bạn cùng học.\n\nHy vọng những thông tin này sẽ hữu ích cho bạn!"
)


def typed(text_value: str) -> dict:
    n = len(text_value)
    return {"schema": 1, "active_ms": int(n / 4 * 1000), "keystrokes": int(n * 1.3), "deletions": n // 20,
            "pastes": [], "focus_losses": 0, "first_key_ms": 2500, "chars_final": n,
            "started_at": "2026-01-01T00:00:00Z"}


def pasted(text_value: str) -> dict:
    n = len(text_value)
    return {"schema": 1, "active_ms": 6000, "keystrokes": 2, "deletions": 0,
            "pastes": [{"at_ms": 4000, "length": n, "field": "response"}], "focus_losses": 1,
            "first_key_ms": 5000, "chars_final": n, "started_at": "2026-01-01T00:00:00Z"}


# --- telemetry -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, status",
    [
        (None, "missing"),
        ({}, "missing"),
        ("keystrokes=5", "malformed"),
        ([1, 2, 3], "malformed"),
        ({"schema": 1, "keystrokes": "many"}, "malformed"),
        ({**typed("x" * 100), "active_ms": True}, "malformed"),
        ({**typed("x" * 100), "pastes": "all of it"}, "malformed"),
        ({**typed("x" * 100), "pastes": [{"at_ms": 1, "length": "big"}]}, "malformed"),
        ({**typed("x" * 100), "active_ms": float("nan")}, "malformed"),
        ({**typed("x" * 100), "schema": 99}, "malformed"),
        ({**typed("x" * 100), "active_ms": -400}, "impossible"),
        ({**typed("x" * 100), "first_key_ms": -1}, "impossible"),
        ({**typed("x" * 100), "active_ms": 1000, "keystrokes": 900}, "impossible"),
        ({**typed("x" * 100), "deletions": 10_000}, "impossible"),
        ({**typed("x" * 100), "active_ms": 3 * 24 * 3600 * 1000}, "impossible"),
        ({"schema": 1, "blob": "x" * 70_000}, "malformed"),
        (typed("x" * 100), "ok"),
        (pasted("x" * 100), "ok"),
    ],
)
def test_clean_telemetry_classifies_and_never_raises(raw, status):
    cleaned = clean_telemetry(raw)
    assert cleaned["status"] == status, cleaned
    assert cleaned["schema"] == 1
    json.dumps(cleaned)  # always storable
    if status != "ok":
        assert status == "missing" or cleaned["problems"], "a rejected trace says why"


def test_clean_telemetry_survives_random_garbage():
    rng = random.Random(5)
    atoms = [None, True, -1, 0, 1.5, 10**15, "x", [], {}, float("inf"), [{"at_ms": -1}], {"a": [None]}]
    keys = ["schema", "active_ms", "keystrokes", "deletions", "pastes", "bursts", "focus_losses", "first_key_ms",
            "chars_final", "started_at", "fields"]
    for _ in range(500):
        raw = {k: rng.choice(atoms) for k in rng.sample(keys, rng.randint(0, len(keys)))}
        cleaned = clean_telemetry(raw)
        assert cleaned["status"] in {"missing", "malformed", "impossible", "ok"}
        json.dumps(cleaned, allow_nan=False)


def test_invalid_telemetry_scores_as_no_behavioural_evidence():
    text_only = score_answer(HUMAN_VI, None).score
    for raw in (None, "junk", {"schema": 1, "keystrokes": "many"}):
        result = score_answer(HUMAN_VI, raw)
        assert result.evidence == "none" and result.components["behaviour"] is None
        assert result.score == text_only
        assert not result.flagged  # no evidence is not evidence of pasting
    # Impossible numbers are scored the same way but sent to a reviewer: honest pages never send them.
    impossible = score_answer(HUMAN_VI, {**typed(HUMAN_VI), "active_ms": 500, "keystrokes": 400})
    assert impossible.evidence == "none" and impossible.score == text_only
    assert impossible.flagged and "impossible_telemetry" in impossible.reasons


def test_keystrokes_injected_at_machine_speed_are_not_typing():
    trace = {**typed(LLM_VI), "bursts": [{"at_ms": 3000, "length": len(LLM_VI), "field": "response",
                                          "duration_ms": len(LLM_VI) * 10}]}  # 100 keys/s
    result = score_answer(LLM_VI, trace)
    assert result.components["telemetry_status"] == "ok"
    assert result.flagged and "injected_keystrokes" in result.reasons
    held_backspace = {**typed(HUMAN_VI), "bursts": [{"at_ms": 3000, "length": 60, "field": "response",
                                                     "duration_ms": 2000}]}  # auto-repeat, 30 keys/s
    assert not score_answer(HUMAN_VI, held_backspace).flagged


# --- text features ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("toi khong biet phai lam sao nua, ban giup minh voi", True),
        ("Hom nay troi Ha Noi se lanh, nho mang ao khoac nha", True),
        ("Hôm nay trời Hà Nội se lạnh, nhớ mang áo khoác nha", False),
        ("I do not know what to do with this thing at all", False),
        ("The weather in Hanoi is cold today, bring a jacket", False),
        ("ok 123", False),
        ("", False),
        ("toi khong biet lam sao ca, minh cam ơn ban nhieu nha", True),  # mostly stripped, one mark left
        ("Anh ơi cho em hỏi con đường này đi ra chợ Bến Thành không anh", False),  # many unmarked syllables
    ],
)
def test_stripped_vietnamese_detection(value, expected):
    assert vietnamese.is_stripped_vietnamese(value) is expected


def test_stripped_detection_on_the_evaluation_texts():
    vi = (DATA / "human_vi.txt").read_text(encoding="utf-8").splitlines()
    en = (DATA / "human_en.txt").read_text(encoding="utf-8").splitlines()
    assert not [line for line in vi + en if vietnamese.is_stripped_vietnamese(line)]
    assert not [line for line in vi if not vietnamese.is_stripped_vietnamese(vietnamese.strip_diacritics(line))]


def test_mixed_script_and_invisible_characters():
    assert text.is_mixed_script("pаypal login here")  # Cyrillic а inside a Latin word
    assert not text.is_mixed_script("Xin chào, tôi tên là An")
    assert not text.is_mixed_script("東京 is the capital of Japan")  # two scripts, no mixed word
    assert not text.is_mixed_script("Cho tam giác có góc α bằng 30 độ")
    assert text.clean("Tie\u0302\u0301ng\u200b Vie\u0323\u0302t\ufeff") == "Tiếng Việt"
    # A homoglyph swap does not hide a copy from the near-duplicate fingerprints.
    assert text.shingles("Một câu trả lời được sao chép nguyên văn") == text.shingles("Một câu trả lời được sao chép nguyên vӑn".replace("ӑ", "ă"))
    assert text.shingles("hello world again and again") == text.shingles("hеllo wоrld again and again")


def test_lexical_diversity_metrics():
    tokens = "a b a b c".split()
    assert text.ttr(tokens) == pytest.approx(3 / 5)
    assert text.distinct_n(tokens, 2) == pytest.approx(3 / 4)  # ab, ba, ab, bc
    assert text.repetition(["x", "y", "z"] * 4) > 0.5
    varied = text.words("Sáng nay tôi đi chợ mua rau muống, cá lóc và ít trái cây cho bữa trưa của cả nhà.")
    looping = text.words("tôi thích tôi thích tôi thích tôi thích tôi thích tôi thích tôi thích tôi thích")
    assert text.mtld(varied) > text.mtld(looping)
    assert "hà_nội" in text.words("Tôi sống ở Hà Nội")  # pyvi joins the syllables of a word


def test_stylometry_separates_assistant_style_from_casual_text():
    assert text.stylometry(LLM_VI)["llm_style"] >= 0.8
    assert text.stylometry(HUMAN_VI)["llm_style"] == 0.0
    en = "Certainly! Here are some tips.\n\n1. Listen.\n2. Read.\n3. Speak.\n\nI hope this helps! Let me know if you need more."
    assert {"en_opening", "en_hope_helps", "en_let_me_know"} <= set(text.stylometry(en)["phrases"])


def test_answer_text_uses_declared_free_text_fields(make_campaign):
    from types import SimpleNamespace

    declared = SimpleNamespace(task=DeclaredFieldsType())
    assert answer_text({"response": "mình nghĩ là được", "other": "a long string that is not free text at all"},
                       declared) == "mình nghĩ là được"
    moderation = make_campaign(items=[{"payload": {"text": "x"}}])
    assert answer_text({"categories": ["safe"]}, moderation) == ""
    sft = make_campaign("sft", items=[{"payload": {"instruction": "Viết một đoạn"}}])
    assert answer_text({"response": HUMAN_VI, "has_diacritics": True}, sft) == HUMAN_VI


# --- scoring ---------------------------------------------------------------------------------------------


def test_pasted_llm_text_is_flagged_and_typed_human_text_is_not():
    bad = score_answer(LLM_VI, pasted(LLM_VI))
    good = score_answer(HUMAN_VI, typed(HUMAN_VI))
    assert bad.flagged and bad.score < 0.5 and bad.evidence == "pasted"
    assert {"pasted", "assistant_phrases"} <= set(bad.reasons)
    # Counters without an edit log are not bound to the text: they never vouch for more than NO_LOG_CAP.
    assert not good.flagged and good.score == NO_LOG_CAP and good.evidence == "typed"
    assert 0.0 <= bad.score <= 1.0 and 0.0 <= good.score <= 1.0


def test_paste_of_the_items_own_text_is_not_a_chatbot_paste():
    source = "Hôm qua tôi đi sử lý công việc ở cơ quan và chẩn bị cho cuộc họp sáng nay với khách hàng mới."
    corrected = source.replace("sử lý", "xử lý").replace("chẩn bị", "chuẩn bị")
    trace = pasted(corrected)
    plain = score_answer(corrected, trace)
    with_item = score_answer(corrected, trace, item_overlap=0.8)
    assert with_item.score > plain.score
    assert not with_item.flagged


def test_eval_set_meets_the_targets():
    """The README's figures (seed 29, simulated writing processes): <= 2 % of people composing flagged, >= 95 %
    of scripts and pastes flagged; copy-typing is reported, not claimed."""
    bench = load_bench("authenticity_eval")
    report = bench.evaluate(bench.build_samples(), threshold=0.5)
    rows = report["conditions"]
    human = rows["composing_human"]["flagged"] + rows["composing_human_phone_ime"]["flagged"]
    assert human / (rows["composing_human"]["n"] + rows["composing_human_phone_ime"]["n"]) <= 0.02, report["errors"]
    for condition in ("steady_script_7kps", "resampled_human_gaps_script", "keyboard_injection", "pasted_llm"):
        assert rows[condition]["flag_rate"] >= 0.95, (condition, report["errors"])
    assert all(row["replayed"] == row["n"] for row in rows.values())  # every simulated log replays
    assert rows["paste_own_draft_then_revise"]["flag_rate"] == 1.0  # a reviewer looks, with the evidence


def test_eval_bench_smoke(capsys):
    bench = load_bench("authenticity_eval")
    report = bench.main(["--limit", "4"])
    out = capsys.readouterr().out
    assert "steady_script_7kps" in out and "95% interval" in out and "ROC AUC" in out
    assert all(len(row["ci95"]) == 2 for row in report["conditions"].values())


def test_throughput_bench_smoke(db, capsys):
    bench = load_bench("authenticity_throughput")
    result = bench.run(answers=30, references=5)
    out = capsys.readouterr().out
    assert "answers/s" in out
    assert result["scored"] == 30 and result["answers_per_second"] > 0


# --- through the database --------------------------------------------------------------------------------


def _answer(campaign, user, response: str, telemetry):
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    assignment = lease_next_item(user=user, campaign=campaign)
    assert hasattr(assignment, "item"), assignment
    return submit_annotation(user=user, assignment_id=assignment.pk, payload={"response": response},
                             telemetry=telemetry, time_spent_ms=30000).annotation


@pytest.fixture
def freetext_campaign(make_campaign):
    return make_campaign(
        "sft", items=[{"payload": {"instruction": f"Hãy viết câu trả lời cho câu hỏi số {i}."}} for i in range(8)],
        overlap=3,
    )


@pytest.mark.django_db
def test_submission_stores_cleaned_telemetry_and_scores(freetext_campaign, make_contributor):
    user = make_contributor()
    annotation = _answer(freetext_campaign, user, LLM_VI, {**pasted(LLM_VI), "active_ms": -1})
    assert annotation.telemetry["status"] == "impossible"
    record = services.score_annotation(annotation.pk)
    assert record.behaviour_evidence == "none"
    assert record.components["telemetry_status"] == "impossible"
    assert record.flagged  # the text alone is assistant-like enough
    other = _answer(freetext_campaign, make_contributor(), HUMAN_VI, typed(HUMAN_VI))
    ok = services.score_annotation(other.pk)
    assert not ok.flagged and ok.behaviour_evidence == "typed"
    # Idempotent: scoring again replaces, never duplicates.
    services.score_annotation(other.pk)
    assert AuthenticityScore.objects.filter(annotation=other).count() == 1
    assert MinHashBand.objects.filter(score=ok).count() == 16


@pytest.mark.django_db
def test_choice_answers_are_not_scored_as_text(make_campaign, make_contributor):
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    campaign = make_campaign(items=[{"payload": {"text": "Bình luận"}}])
    user = make_contributor()
    assignment = lease_next_item(user=user, campaign=campaign)
    annotation = submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]},
                                   telemetry=None).annotation
    record = services.score_annotation(annotation.pk)
    assert record.score is None and not record.flagged and record.behaviour_evidence == "not_applicable"


@pytest.mark.django_db
def test_near_duplicate_of_another_contributor_is_flagged(make_campaign, make_contributor):
    from authenticity.services import set_policy

    campaign = make_campaign("sft", items=[{"payload": {"instruction": f"Câu hỏi {i}"}} for i in range(3)],
                             overlap=1)
    first = _answer(campaign, make_contributor(), HUMAN_VI, typed(HUMAN_VI))
    services.score_annotation(first.pk)
    copy = HUMAN_VI.replace("10 từ", "mười từ")
    second = _answer(campaign, make_contributor(), copy, typed(copy))
    assert second.item_id != first.item_id
    record = services.score_annotation(second.pk)
    assert "near_duplicate" in record.reasons and record.flagged
    assert record.components["duplicate_of_annotation"] == first.pk
    assert record.components["duplicate_similarity"] >= 0.6
    # Answers to the same item are only compared when the campaign asks for it (transcriptions agree).
    third = _answer(campaign, make_contributor(), HUMAN_VI, typed(HUMAN_VI))
    assert "near_duplicate" in services.score_annotation(third.pk).reasons  # item 3 vs items 1 and 2
    services.score_annotation(first.pk)  # rescoring the original now finds the later copies
    set_policy(campaign=campaign, near_duplicate=0.99)
    assert not services.score_annotation(second.pk).flagged


@pytest.mark.django_db
def test_reference_llm_upload_flags_copies_and_bad_files_store_nothing(freetext_campaign, make_contributor, org):
    user = make_contributor()
    typed_copy = LLM_VI.replace("30 phút", "nửa tiếng")
    annotation = _answer(freetext_campaign, user, typed_copy, typed(typed_copy))
    before = services.score_annotation(annotation.pk)
    assert "copies_reference_llm_output" not in before.reasons

    bad = b'{"text": "ok one"}\n{"text": \n{"source": "no text"}\n'
    with pytest.raises(services.ReferenceImportError) as exc:
        services.parse_reference_file(bad, "refs.jsonl")
    assert [e["line"] for e in exc.value.errors] == [2, 3]
    assert not ReferenceText.objects.exists()

    good = "\n".join(json.dumps({"text": t, "source": "gpt"}, ensure_ascii=False) for t in [LLM_VI, "Một câu khác."])
    entries = services.parse_reference_file(good.encode(), "refs.jsonl")
    assert services.add_reference_texts(campaign=freetext_campaign, entries=entries, rescore=False) == 2
    after = services.score_annotation(annotation.pk)
    assert "copies_reference_llm_output" in after.reasons
    assert after.flagged and after.components["reference_similarity"] >= 0.6


def test_reference_file_formats():
    csv_entries = services.parse_reference_file(b"text,source\n\"Xin ch\xc3\xa0o b\xe1\xba\xa1n\",m1\n", "r.csv")
    assert csv_entries[0]["text"] == "Xin chào bạn" and csv_entries[0]["source"] == "m1"
    txt = services.parse_reference_file("Đoạn một\ndòng hai\n\nĐoạn hai\n".encode(), "r.txt")
    assert [e["text"] for e in txt] == ["Đoạn một\ndòng hai", "Đoạn hai"]
    with pytest.raises(services.ReferenceImportError):
        services.parse_reference_file(b"\xff\xfe\x00", "r.txt")
    with pytest.raises(services.ReferenceImportError):
        services.parse_reference_file(b"source\nx\n", "r.csv")


@pytest.mark.django_db
def test_repeated_flags_lower_trust_and_review_restores_it(freetext_campaign, make_contributor,
                                                           django_capture_on_commit_callbacks):
    from contributors.selectors import trust_score

    user = make_contributor()
    task_type = freetext_campaign.task_type
    start = trust_score(user, task_type)
    flagged = []
    for i in range(3):
        body = LLM_VI + f" (bản {i})"
        annotation = _answer(freetext_campaign, user, body, pasted(body))
        with django_capture_on_commit_callbacks(execute=True):
            flagged.append(services.score_annotation(annotation.pk))
    assert all(r.flagged for r in flagged)
    lowered = trust_score(user, task_type)
    assert lowered == pytest.approx(start * 0.8)  # three open flags: two beyond the first warning
    with django_capture_on_commit_callbacks(execute=True):
        for record in flagged:
            services.review_score(score=record, decision="human", reviewer=user)
    assert trust_score(user, task_type) == pytest.approx(start)
    flags = dataset_report(freetext_campaign)["flags"]
    assert flags["reviewed"] == 3 and flags["confirmed_human"] == 3 and flags["reviewed_precision"] == 0.0
    with pytest.raises(ValueError):
        services.review_score(score=flagged[0], decision="maybe", reviewer=user)


@pytest.mark.django_db
def test_dataset_report(freetext_campaign, make_contributor):
    users = [make_contributor(region="north"), make_contributor(region="south"), make_contributor(region="south")]
    human_lines = (DATA / "human_vi.txt").read_text(encoding="utf-8").splitlines()
    for i, user in enumerate(users):
        a = _answer(freetext_campaign, user, human_lines[i], typed(human_lines[i]))
        services.score_annotation(a.pk)
    bad = _answer(freetext_campaign, users[0], LLM_VI, pasted(LLM_VI))
    services.score_annotation(bad.pk)
    llm_lines = [json.loads(x)["text"] for x in (DATA / "llm_vi.jsonl").read_text(encoding="utf-8").splitlines()]
    services.add_reference_texts(campaign=freetext_campaign, entries=[{"text": t} for t in llm_lines[:5]],
                                 rescore=False)
    from django.utils import translation

    with translation.override("en"):  # the assertions below read English strings
        report = dataset_report(freetext_campaign)
    assert report["annotations"] == 4 and report["scored_free_text"] == 4
    assert report["flags"]["flagged"] == 1 and report["flags"]["flagged_share"] == 0.25
    assert report["flags"]["reviewed_precision"] is None  # nothing reviewed yet
    assert report["behaviour"]["typed"] == 3 and report["behaviour"]["mostly_pasted"] == 1
    assert report["contributors"] == {
        "count": 3, "by_region": {"north": 1, "south": 2}, "email_verified": 3, "identity_verified": 0,
        "regions": [{"key": "north", "label": "North", "count": 1}, {"key": "south", "label": "South", "count": 2}],
    }
    lexical = report["lexical_diversity"]
    assert lexical["dataset"]["tokens"] > 50
    assert lexical["comparison"]["tokens_each"] == min(lexical["dataset"]["tokens"], lexical["reference_llm"]["tokens"])
    assert "3 contributors" in report["provenance"] and "1 answers went to human review" in report["provenance"]
    assert "copy-typing" in report["provenance"]  # says what it cannot tell apart
    json.dumps(report)
    from django.template.loader import render_to_string

    with translation.override("en"):
        html = render_to_string("authenticity/report.html", {"report": report})
    assert "North: 1" in html and report["provenance"][:40] in html


# --- API -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_is_scoped_to_the_organisation(freetext_campaign, make_contributor, token_client, other_org):
    a = _answer(freetext_campaign, make_contributor(), LLM_VI, pasted(LLM_VI))
    services.score_annotation(a.pk)
    mine, theirs = token_client(), token_client(other_org)
    for name in ("authenticity-report", "authenticity-scores", "authenticity-policy"):
        url = reverse(name, args=[freetext_campaign.pk])
        assert mine.get(url).status_code == 200, name
        res = theirs.get(url)
        assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    res = theirs.post(reverse("authenticity-references", args=[freetext_campaign.pk]),
                      {"texts": [{"text": "x y z"}]}, format="json")
    assert res.status_code == 404
    scores = mine.get(reverse("authenticity-scores", args=[freetext_campaign.pk]) + "?flagged=1").json()
    assert [r["annotation"] for r in scores["results"]] == [a.pk]
    assert mine.get(reverse("authenticity-scores", args=[freetext_campaign.pk]) + "?flagged=maybe").status_code == 400


@pytest.mark.django_db
def test_api_reference_upload_and_policy(freetext_campaign, token_client):
    from organizations.models import ApiToken

    client = token_client()
    url = reverse("authenticity-references", args=[freetext_campaign.pk])
    res = client.post(url, {"file": io.BytesIO(b'{"text": "fine text here"}\nnot json\n')}, format="multipart")
    assert res.status_code == 400
    assert res.json()["error"]["field"] == "file" and res.json()["error"]["lines"][0]["line"] == 2
    assert not ReferenceText.objects.exists()
    res = client.post(url, {"texts": [{"text": ""}]}, format="json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "texts"
    upload = io.BytesIO(json.dumps({"text": LLM_VI}, ensure_ascii=False).encode())
    upload.name = "refs.jsonl"
    res = client.post(url, {"file": upload}, format="multipart")
    assert res.status_code == 201 and res.json() == {"created": 1}
    read_only = token_client(scopes=(ApiToken.Scope.READ_DATASETS,))
    assert read_only.post(url, {"texts": [{"text": "abc"}]}, format="json").status_code == 403

    policy_url = reverse("authenticity-policy", args=[freetext_campaign.pk])
    assert client.patch(policy_url, {"threshold": 1.5}, format="json").json()["error"]["field"] == "threshold"
    res = client.patch(policy_url, {"threshold": 0.4}, format="json")
    assert res.status_code == 200 and res.json()["threshold"] == 0.4


@pytest.mark.django_db
def test_text_check_endpoint(client, make_contributor):
    url = reverse("authenticity-text-check")
    assert client.post(url, {"text": "x"}, content_type="application/json").status_code in (401, 403)
    client.force_login(make_contributor())
    res = client.post(url, {"text": "toi khong biet lam sao\u200b ca"}, content_type="application/json").json()
    assert res["stripped_vietnamese"] and res["warnings"][0]["code"] == "stripped_vietnamese"
    assert res["invisible_characters_removed"] == 1
    res = client.post(url, {"text": "Tôi không biết làm sao cả"}, content_type="application/json").json()
    assert res == {**res, "stripped_vietnamese": False, "mixed_script": False, "warnings": []}
    assert client.post(url, {"text": ["a"]}, content_type="application/json").status_code == 400
    assert client.post(url, {"text": "x" * 20001}, content_type="application/json").status_code == 400
    assert client.post(url, "not json", content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_admin_reference_upload(client, freetext_campaign, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")
    client.force_login(admin_user)
    url = reverse("admin:authenticity_referencetext_upload")
    assert client.get(url).status_code == 200
    bad = io.BytesIO(b'{"text": "one"}\n{oops\n')
    bad.name = "refs.jsonl"
    res = client.post(url, {"campaign": freetext_campaign.pk, "file": bad}, HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 200 and b"Line 2" in res.content
    assert not ReferenceText.objects.exists()
    good = io.BytesIO("Chắc chắn rồi! Dưới đây là một số gợi ý.\n\nMột đoạn văn mẫu khác của mô hình.\n".encode())
    good.name = "refs.txt"
    res = client.post(url, {"campaign": freetext_campaign.pk, "file": good, "source": "gpt-x"})
    assert res.status_code == 302
    assert list(ReferenceText.objects.order_by("id").values_list("source", flat=True)) == ["gpt-x", "gpt-x"]
    assert client.get(reverse("admin:authenticity_authenticityscore_changelist") + "?flagged__exact=1").status_code == 200
    # One text added and edited by hand gets its fingerprint too.
    res = client.post(reverse("admin:authenticity_referencetext_add"),
                      {"campaign": freetext_campaign.pk, "text": LLM_VI, "source": "hand"})
    assert res.status_code == 302, res.content[:500]
    ref = ReferenceText.objects.get(source="hand")
    assert ref.signature and ref.bands.count() == 16 and ref.uploaded_by == admin_user
    res = client.post(reverse("admin:authenticity_referencetext_change", args=[ref.pk]),
                      {"campaign": freetext_campaign.pk, "text": HUMAN_VI, "source": "hand"})
    assert res.status_code == 302
    ref.refresh_from_db()
    assert ref.text == HUMAN_VI and ref.bands.count() == 16
    res = client.post(reverse("admin:authenticity_referencetext_delete", args=[ref.pk]), {"post": "yes"})
    assert res.status_code == 302 and not ReferenceText.objects.filter(pk=ref.pk).exists()
    assert not MinHashBand.objects.filter(reference_id=ref.pk).exists()


# --- the real worker -------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_submission_over_http_is_scored_by_the_worker(client, freetext_campaign, make_contributor, token_client,
                                                      celery_worker_process):
    from tests.helpers import wait_for

    results = {}
    for name, body, trace in [("llm", LLM_VI, pasted(LLM_VI)), ("human", HUMAN_VI, typed(HUMAN_VI)),
                              ("garbage", HUMAN_VI + " nữa", {"schema": 1, "active_ms": "soon", "pastes": 7})]:
        user = make_contributor()
        client.force_login(user)
        res = client.post(reverse("task-next", args=[freetext_campaign.pk]), content_type="application/json")
        assignment = res.json()["assignment"]
        res = client.post(reverse("assignment-submit", args=[assignment["id"]]),
                          {"payload": {"response": body}, "telemetry": trace, "time_spent_ms": 20000},
                          content_type="application/json")
        assert res.status_code in (200, 201), res.content
        results[name] = assignment["id"]
    scores = wait_for(lambda: list(AuthenticityScore.objects.filter(campaign=freetext_campaign))
                      if AuthenticityScore.objects.filter(campaign=freetext_campaign).count() == 3 else None,
                      timeout=60)
    by_assignment = {s.annotation.assignment_id: s for s in scores}
    assert by_assignment[results["llm"]].flagged
    assert not by_assignment[results["human"]].flagged
    garbage = by_assignment[results["garbage"]]
    assert garbage.behaviour_evidence == "none" and garbage.components["telemetry_status"] == "malformed"
    assert garbage.score is None and not garbage.flagged  # no behavioural evidence: not scored, not accused

    # A reference LLM text uploaded afterwards: the worker rescores the campaign and the copy is flagged.
    human = by_assignment[results["human"]]
    manager = token_client()
    res = manager.post(reverse("authenticity-references", args=[freetext_campaign.pk]),
                       {"texts": [{"text": HUMAN_VI, "source": "a chatbot said it first"}]}, format="json")
    assert res.status_code == 201
    wait_for(lambda: "copies_reference_llm_output" in AuthenticityScore.objects.get(pk=human.pk).reasons, timeout=60)
    assert AuthenticityScore.objects.get(pk=human.pk).flagged
    # A policy change rescores too: with the threshold at 0 only the copy's cap keeps it flagged.
    res = manager.patch(reverse("authenticity-policy", args=[freetext_campaign.pk]), {"threshold": 0.0}, format="json")
    assert res.status_code == 200
    llm_id = by_assignment[results["llm"]].pk
    wait_for(lambda: not AuthenticityScore.objects.get(pk=llm_id).flagged, timeout=60)


@pytest.mark.django_db
def test_dashboard_shows_a_new_flag_and_its_review_at_once(freetext_campaign, make_contributor,
                                                          django_capture_on_commit_callbacks):
    from authenticity.services import forget_authenticity_panel
    from review.dashboard import campaign_dashboard

    forget_authenticity_panel(freetext_campaign.pk)  # Redis outlives test databases: no report from an earlier run
    human = _answer(freetext_campaign, make_contributor(), HUMAN_VI, typed(HUMAN_VI))
    with django_capture_on_commit_callbacks(execute=True):
        services.score_annotation(human.pk)
    assert campaign_dashboard(freetext_campaign)["authenticity"]["flags"]["flagged"] == 0  # now cached
    bad = _answer(freetext_campaign, make_contributor(), LLM_VI, pasted(LLM_VI))
    with django_capture_on_commit_callbacks(execute=True):
        record = services.score_annotation(bad.pk)
    assert record.flagged
    assert campaign_dashboard(freetext_campaign)["authenticity"]["flags"]["flagged"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.review_score(score=record, decision="not_human", reviewer=human.contributor)
    assert campaign_dashboard(freetext_campaign)["authenticity"]["flags"]["reviewed"] == 1


@pytest.mark.django_db
def test_campaign_dashboard_shows_the_report(client, freetext_campaign, make_contributor, django_user_model):
    from authenticity.services import forget_authenticity_panel

    forget_authenticity_panel(freetext_campaign.pk)  # a report cached by an earlier test of the same pk
    a = _answer(freetext_campaign, make_contributor(region="central"), LLM_VI, pasted(LLM_VI))
    services.score_annotation(a.pk)
    admin_user = django_user_model.objects.create_superuser("boss@example.com", "boss@example.com", "pw-123456789")
    client.force_login(admin_user)
    res = client.get(reverse("review:dashboard", args=[freetext_campaign.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 200
    html = res.content.decode()
    assert 'id="authenticity-report"' in html
    assert "Central: 1" in html and "1 answers were written by 1 contributors" in html
