"""The reference model backends (examples/ml_backends/) as real processes speaking `annotate-ml/1` over HTTP.

Each backend is started with ``python examples/ml_backends/<name>.py --port N`` exactly as its README says;
answers are checked with the platform's own task type (``validate_annotation``), so a suggestion these tests
accept is one the platform would show.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time

import pytest

from bench.active_learning import CONFIG, synthetic_corpus
from core.schema import SchemaError
from tasks.types import get_task_type
from tests.helpers import ROOT, free_port, http_call

PROTOCOL = "annotate-ml/1"
TOKEN = "test-token-04"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def start_backend(script: str, *extra: str):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "ml_backends" / script), "--port", str(port),
                             "--token", TOKEN, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while True:
        try:
            if http_call(port, "GET", "/health", headers=AUTH)[0] == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"{script} did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def moderation():
    proc, port = start_backend("moderation_sklearn.py")
    yield port
    stop(proc)


def post(port: int, path: str, body: dict, headers=AUTH):
    return http_call(port, "POST", path, body={"protocol": PROTOCOL, **body}, headers=headers)


def campaign(cid: int, config: dict = CONFIG) -> dict:
    return {"id": cid, "task_type": "moderation", "config": config}


def examples(texts, labels, offset=0):
    return [{"item": offset + i, "data": {"text": t}, "answer": {"categories": [c]}}
            for i, (t, c) in enumerate(zip(texts, labels, strict=True))]


def predict_all(port, cid, texts, config=CONFIG):
    suggestions = []
    for start in range(0, len(texts), 64):
        status, body = post(port, "/predict", {"campaign": campaign(cid, config), "items": [
            {"id": start + i, "data": {"text": t}} for i, t in enumerate(texts[start:start + 64])]})
        assert status == 200, body
        suggestions += body["suggestions"]
    return body["model_version"], suggestions


# --- moderation (scikit-learn) -------------------------------------------------------------------------


def test_health_names_the_protocol_and_task_type(moderation):
    status, body = http_call(moderation, "GET", "/health", headers=AUTH)
    assert status == 200
    assert body["protocol"] == PROTOCOL and body["status"] == "ok" and body["task_types"] == ["moderation"]


def test_an_untrained_campaign_gets_no_suggestion(moderation):
    status, body = post(moderation, "/predict", {"campaign": campaign(901), "items": [
        {"id": 1, "data": {"text": "Quán phở này ngon lắm"}}]})
    assert status == 200 and body == {"protocol": PROTOCOL, "model_version": None, "suggestions": []}


def test_suggestions_validate_under_the_task_types_schema(moderation):
    moderation_type = get_task_type("moderation")
    config = moderation_type.validate_config(CONFIG)
    texts, labels = synthetic_corpus(260, seed=7)
    status, body = post(moderation, "/train", {"campaign": campaign(902), "examples": examples(texts[:200],
                                                                                                labels[:200])})
    assert status == 200 and body["trained_on"] == 200 and body["model_version"] == "moderation-sklearn-1"
    version, suggestions = predict_all(moderation, 902, texts[200:])
    assert version == "moderation-sklearn-1" and len(suggestions) == 60
    keys = [c["key"] for c in CONFIG["categories"]]
    for s in suggestions:
        moderation_type.validate_annotation(s["answer"], config=config, item_payload={"text": texts[200 + s["item"]]},
                                            view={})
        assert set(s["distribution"]) == set(keys)
        assert sum(s["distribution"].values()) == pytest.approx(1.0, abs=1e-4)
        assert 0 <= s["score"] <= 1 and s["score"] == pytest.approx(max(s["distribution"].values()), abs=1e-6)
        assert s["answer"]["categories"] == [max(s["distribution"], key=s["distribution"].get)]
    assert http_call(moderation, "GET", "/health", headers=AUTH)[1]["model_version"] == "moderation-sklearn-1"


def test_retraining_on_more_consensus_improves_the_model(moderation):
    texts, labels = synthetic_corpus(700, seed=11)
    held_texts, held_labels = texts[400:], labels[400:]

    def accuracy():
        _version, suggestions = predict_all(moderation, 903, held_texts)
        return sum(held_labels[s["item"]] == s["answer"]["categories"][0] for s in suggestions) / len(held_labels)

    assert post(moderation, "/train", {"campaign": campaign(903), "examples": examples(texts[:15], labels[:15])})[0] \
        == 200
    small = accuracy()
    status, body = post(moderation, "/train", {"campaign": campaign(903), "examples": examples(texts[:400],
                                                                                                labels[:400])})
    assert status == 200 and body["model_version"] == "moderation-sklearn-2"
    large = accuracy()
    assert large > small + 0.1 and large >= 0.85, (small, large)


def test_one_class_consensus_gives_a_humble_prior(moderation):
    status, _ = post(moderation, "/train", {"campaign": campaign(904), "examples": examples(
        ["Quán này ngon", "Trời đẹp quá"], ["safe", "safe"])})
    assert status == 200
    _version, [s] = predict_all(moderation, 904, ["Bấm vào link nhận quà"])
    assert s["answer"] == {"categories": ["safe"]} and s["score"] < 0.5  # 3/7: a prior, not a certainty


def test_multi_label_with_severity_validates(moderation):
    moderation_type = get_task_type("moderation")
    config = moderation_type.validate_config({**CONFIG, "multi_label": True,
                                              "severity_levels": ["thấp", "trung bình", "cao"]})
    rows = [("Đồ ngu, tao đến tận nhà xử lý mày.", ["harassment", "violence"], {"harassment": "cao", "violence": "cao"}),
            ("Hôm nay mưa to, đi đường cẩn thận.", ["safe"], {}),
            ("Bấm link nhận 5 triệu miễn phí", ["spam"], {"spam": "thấp"}),
            ("Bọn người miền đó toàn lừa đảo", ["hate"], {"hate": "trung bình"}),
            ("Quán phở ngon, giá rẻ", ["safe"], {})] * 4
    status, _ = post(moderation, "/train", {"campaign": campaign(905, config), "examples": [
        {"item": i, "data": {"text": t}, "answer": {"categories": c, **({"severity": s} if s else {})}}
        for i, (t, c, s) in enumerate(rows)]})
    assert status == 200
    _version, suggestions = predict_all(moderation, 905, ["Mày ngu thì tao đánh", "Trời đẹp quá", "Nhận quà link"],
                                        config)
    assert len(suggestions) == 3
    for s in suggestions:
        answer = moderation_type.validate_annotation(s["answer"], config=config, item_payload={"text": "x"}, view={})
        assert "distribution" not in s and 0 <= s["score"] <= 1
        assert all(answer["severity"][c] in config["severity_levels"] for c in answer["categories"] if c != "safe")


def test_items_without_text_are_left_out(moderation):
    post(moderation, "/train", {"campaign": campaign(906), "examples": examples(["a b c", "x y z"], ["safe", "spam"])})
    status, body = post(moderation, "/predict", {"campaign": campaign(906), "items": [
        {"id": 1, "data": {"text": ""}}, {"id": 2, "data": {"image": "k.png"}}, {"id": 3, "data": {"text": "x y"}}]})
    assert status == 200 and [s["item"] for s in body["suggestions"]] == [3]


@pytest.mark.parametrize("body, status, field", [
    ({"protocol": "annotate-ml/0", "campaign": campaign(907), "items": []}, 400, "protocol"),
    ({"protocol": PROTOCOL, "items": []}, 400, "campaign"),
    ({"protocol": PROTOCOL, "campaign": {**campaign(907), "task_type": "ocr"}, "items": []}, 422, "campaign.task_type"),
    ({"protocol": PROTOCOL, "campaign": campaign(907, {"categories": [{"key": "x"}]}), "items": []}, 400,
     "campaign.config.categories"),
    ({"protocol": PROTOCOL, "campaign": campaign(907), "items": {"id": 1}}, 400, "items"),
    ({"protocol": PROTOCOL, "campaign": campaign(907), "items": [{"data": {"text": "x"}}]}, 400, "items[0].id"),
    ({"protocol": PROTOCOL, "campaign": campaign(907),
      "items": [{"id": i, "data": {"text": "x"}} for i in range(65)]}, 413, "items"),
])
def test_bad_predict_requests_get_a_4xx_naming_the_field(moderation, body, status, field):
    got, answer = http_call(moderation, "POST", "/predict", body=body, headers=AUTH)
    assert got == status and answer["error"].startswith(field), answer


def test_bad_train_request_and_transport_errors(moderation):
    got, answer = post(moderation, "/train", {"campaign": campaign(908), "examples": [{"item": 1, "data": {}}]})
    assert got == 400 and answer["error"] == "examples[0].answer: required"
    assert http_call(moderation, "GET", "/health")[0] == 401  # no token
    got, answer = http_call(moderation, "POST", "/predict", body={"protocol": PROTOCOL},
                            headers={"Authorization": "Bearer wrong"})
    assert got == 401 and "token" in answer["error"]
    assert http_call(moderation, "GET", "/nowhere", headers=AUTH)[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", moderation, timeout=30)
    conn.request("POST", "/predict", body=b"{not json", headers={"Content-Type": "application/json", **AUTH})
    res = conn.getresponse()
    assert res.status == 400 and json.loads(res.read())["error"].startswith("body: not valid UTF-8 JSON")
    conn.close()
    # The backend is still up after all of these.
    assert http_call(moderation, "GET", "/health", headers=AUTH)[0] == 200


def test_a_restarted_backend_keeps_its_models_in_the_state_dir(tmp_path):
    texts, labels = synthetic_corpus(80, seed=3)
    proc, port = start_backend("moderation_sklearn.py", "--state-dir", str(tmp_path))
    try:
        assert post(port, "/train", {"campaign": campaign(909), "examples": examples(texts, labels)})[0] == 200
    finally:
        stop(proc)
    proc, port = start_backend("moderation_sklearn.py", "--state-dir", str(tmp_path))
    try:
        version, suggestions = predict_all(port, 909, texts[:5])
        assert version == "moderation-sklearn-1" and len(suggestions) == 5
    finally:
        stop(proc)


def test_the_campaign_config_is_the_platforms():
    """The bench's and these tests' campaign config is valid for the platform's moderation type."""
    try:
        get_task_type("moderation").validate_config(CONFIG)
    except SchemaError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(str(exc))


# --- OCR lines (the pluggable adapter with its tiny nearest-line model) --------------------------------

RECEIPT_A = ["CỬA HÀNG TẠP HÓA BÌNH MINH", "Bánh mì thịt nướng   25.000đ", "Cà phê sữa đá   20.000đ",
             "Tổng cộng:   45.000đ"]
RECEIPT_B = ["NHÀ THUỐC AN KHANG", "Thuốc hạ sốt   32.000đ", "Khẩu trang y tế   15.000đ", "Cảm ơn quý khách!"]


def store_document(media_root, key: str, lines: list[str], seed: int) -> dict:
    """Render a printed document as the OCR demo does and store it where the platform's storage would."""
    from task_types.ocr.demo import render_document

    data, width, height, polygons = render_document(lines, handwriting=False, seed=seed)
    path = media_root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"image": key, "width": width, "height": height,
            "regions": [{"shape": "polygon", "points": p} for p in polygons]}


def test_ocr_adapter_drafts_lines_it_was_trained_on(tmp_path):
    ocr = get_task_type("ocr")
    config = ocr.validate_config({"mode": "regions"})
    ocr_campaign = {"id": 950, "task_type": "ocr", "config": config}
    train_a = store_document(tmp_path, "ocr/train-a.png", RECEIPT_A, seed=1)
    train_b = store_document(tmp_path, "ocr/train-b.png", RECEIPT_B, seed=2)
    lines = RECEIPT_B[::-1] + RECEIPT_A[::-1]
    fresh = store_document(tmp_path, "ocr/fresh.png", lines, seed=5)  # the same lines, rendered anew, reordered
    unseen = store_document(tmp_path, "ocr/unseen.png", ["Hôm nay trời đẹp quá", "Danh sách cần mua:"], seed=9)

    def example(i, data, texts):
        return {"item": i, "data": data, "answer": {"regions": [{**r, "text": t} for r, t in
                                                                zip(data["regions"], texts, strict=True)]}}

    def draft():
        status, body = http_call(port, "POST", "/predict", headers=AUTH, body={
            "protocol": PROTOCOL, "campaign": ocr_campaign,
            "items": [{"id": 1, "data": fresh}, {"id": 2, "data": unseen}, {"id": 3, "data": {"image": "ocr/fresh.png"}},
                      {"id": 4, "data": {**fresh, "image": "../fresh.png"}}]})
        assert status == 200, body
        return body["suggestions"]

    proc, port = start_backend("ocr_lines.py", "--media-root", str(tmp_path))
    try:
        assert http_call(port, "GET", "/health", headers=AUTH)[1]["task_types"] == ["ocr"]
        assert draft() == []  # nothing learnt yet
        status, body = http_call(port, "POST", "/train", headers=AUTH, body={
            "protocol": PROTOCOL, "campaign": ocr_campaign, "examples": [example(10, train_a, RECEIPT_A)]})
        assert status == 200 and body == {"protocol": PROTOCOL, "model_version": "ocr-nearest-line-1", "trained_on": 1}
        first = draft()
        status, body = http_call(port, "POST", "/train", headers=AUTH, body={
            "protocol": PROTOCOL, "campaign": ocr_campaign,
            "examples": [example(10, train_a, RECEIPT_A), example(11, train_b, RECEIPT_B)]})
        assert status == 200 and body["trained_on"] == 2
        second = draft()

        def correct(suggestions):
            return sum(r["text"] == lines[fresh["regions"].index({k: v for k, v in r.items() if k != "text"})]
                       for s in suggestions if s["item"] == 1 for r in s["answer"]["regions"])

        # Items without regions, with a key outside the media root, or with only unseen lines get no draft.
        assert {s["item"] for s in second} == {1}
        assert correct(second) > correct(first) and correct(second) >= 7, (correct(first), correct(second))
        for s in first + second:
            ocr.validate_annotation(s["answer"], config=config, item_payload=fresh, view={})
            assert 0 < s["score"] <= 1
        status, answer = http_call(port, "POST", "/predict", headers=AUTH, body={
            "protocol": PROTOCOL, "campaign": {**ocr_campaign, "config": {"mode": "full_page"}}, "items": []})
        assert status == 422 and answer["error"].startswith("campaign.config.mode")
    finally:
        stop(proc)
