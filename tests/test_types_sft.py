"""SFT: modes, lengths, language and diacritics checks, server-side diff of edits, keep-all aggregation."""
import pytest
from django.urls import reverse

from core.schema import SchemaError
from core.vietnamese import has_vietnamese_diacritics, is_vietnamese
from task_types.sft.task import word_diff
from tasks.types import get_task_type

sft = get_task_type("sft")
LONG_VI = "Cho cà phê phin vào ly, rót nước sôi, đợi cà phê nhỏ giọt rồi thêm sữa đặc và đá."


def cfg(**over):
    return sft.validate_config(over)


def test_diacritics_and_language_helpers():
    assert has_vietnamese_diacritics("Tiếng Việt")
    assert has_vietnamese_diacritics("đi")
    assert not has_vietnamese_diacritics("Tieng Viet khong dau")
    assert is_vietnamese("toi khong biet ban co duoc khong")
    assert not is_vietnamese("The quick brown fox jumps over the lazy dog")


def test_item_schema_depends_on_mode():
    with pytest.raises(SchemaError) as exc:
        sft.validate_item({"topic": "x"}, cfg())
    assert exc.value.field == "instruction"
    with pytest.raises(SchemaError) as exc:
        sft.validate_item({"instruction": "x"}, cfg(mode="edit_draft"))
    assert exc.value.field == "draft"
    assert sft.validate_item({"topic": "Du lịch"}, cfg(mode="write_pair"))
    with pytest.raises(SchemaError) as exc:
        sft.validate_config({"mode": "write_response", "min_length": 100, "max_length": 10})
    assert exc.value.field == "max_length"


def test_lengths_and_language():
    c = cfg(min_length=20, max_length=100)
    item = {"instruction": "Pha cà phê"}
    assert sft.validate_annotation({"response": f"  {LONG_VI}  "}, config=c, item_payload=item, view={})["response"] == LONG_VI
    for text, field in [("ngắn", "response"), ("dài " * 40, "response"),
                        ("The quick brown fox jumps over the lazy dog.", "response")]:
        with pytest.raises(SchemaError) as exc:
            sft.validate_annotation({"response": text}, config=c, item_payload=item, view={})
        assert exc.value.field == field
    with pytest.raises(SchemaError) as exc:
        sft.validate_annotation({}, config=c, item_payload=item, view={})
    assert exc.value.field == "response"
    en = cfg(language="en", min_length=5)
    with pytest.raises(SchemaError):
        sft.validate_annotation({"response": LONG_VI}, config=en, item_payload=item, view={})
    assert sft.validate_annotation({"response": "Pour the coffee."}, config=en, item_payload=item, view={})


def test_diacritics_warn_vs_require():
    item = {"instruction": "x"}
    stripped = "Cho ca phe phin vao ly, rot nuoc soi, doi ca phe nho giot roi them sua dac va da."
    warned = sft.validate_annotation({"response": stripped}, config=cfg(min_length=10), item_payload=item, view={})
    assert warned["has_diacritics"] is False  # accepted, flagged
    with pytest.raises(SchemaError) as exc:
        sft.validate_annotation({"response": stripped}, config=cfg(min_length=10, diacritics="require"), item_payload=item,
                                view={})
    assert exc.value.field == "response"


def test_write_pair_needs_instruction():
    c = cfg(mode="write_pair", min_length=10)
    with pytest.raises(SchemaError) as exc:
        sft.validate_annotation({"instruction": "Hỏi gì?", "response": LONG_VI}, config=c, item_payload={"topic": "t"},
                                view={})
    assert exc.value.field == "instruction"
    ok = sft.validate_annotation({"instruction": "Làm sao pha cà phê sữa đá?", "response": LONG_VI}, config=c,
                                 item_payload={"topic": "t"}, view={})
    assert ok["instruction"].startswith("Làm sao")


def test_edit_draft_stores_server_diff():
    c = cfg(mode="edit_draft", min_length=10)
    item = {"instruction": "Sửa", "draft": "Đi bộ giúp tim khỏe và thông minh gấp đôi."}
    out = sft.validate_annotation({"response": "Đi bộ giúp tim khỏe và ngủ ngon hơn."}, config=c, item_payload=item,
                                  view={})
    assert ["replace", "thông minh gấp đôi.", "ngủ ngon hơn."] in out["diff"]
    assert 0 < out["similarity"] < 1
    with pytest.raises(SchemaError) as exc:  # unchanged draft refused
        sft.validate_annotation({"response": item["draft"]}, config=c, item_payload=item, view={})
    assert exc.value.field == "response"
    with pytest.raises(SchemaError):  # the page cannot send its own diff
        sft.validate_annotation({"response": "Khác hẳn nhé bạn.", "diff": []}, config=c, item_payload=item, view={})
    assert word_diff("a b c", "a x c")[0] == [["replace", "b", "x"]]


def test_aggregate_keeps_every_response():
    c = cfg(min_length=10)
    answers = [sft.validate_annotation({"response": LONG_VI + s}, config=c, item_payload={"instruction": "x"}, view={})
               for s in ("", " Chúc ngon miệng!")]
    agg = sft.aggregate(answers, config=c)
    assert [r["response"] for r in agg.result["responses"]] == [a["response"] for a in answers]
    assert agg.confidence == 1.0
    assert sft.aggregate([], config=c).confidence == 0.0


@pytest.mark.django_db
def test_submit_too_short_is_400_naming_response(client, make_campaign, make_contributor):
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Pha cà phê sữa đá thế nào?"}}], overlap=1)
    client.force_login(make_contributor())
    a = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]
    url = reverse("assignment-submit", args=[a["id"]])
    res = client.post(url, {"payload": {"response": "ngắn quá"}}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "response"
    res = client.post(url, {"payload": {"response": LONG_VI}}, content_type="application/json")
    assert res.status_code == 201
