"""Hallucination audit: Vietnamese claim splitting, evidence rules, trusted domains, per-claim vote."""
import io
import json

import pytest
from django.urls import reverse

from core.schema import SchemaError
from task_types.hallucination.task import domain_allowed, split_sentences
from tasks.types import get_task_type

hal = get_task_type("hallucination")
CFG = hal.validate_config({"trusted_sources": ["vi.wikipedia.org", "gov.vn"]})
ITEM = hal.validate_item(
    {"prompt": "Giới thiệu Truyện Kiều.", "response": "Truyện Kiều do Nguyễn Du sáng tác. Nguyễn Du sinh năm 1820."}, CFG
)
WIKI = "https://vi.wikipedia.org/wiki/Nguyễn_Du"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Vịnh Hạ Long thuộc Quảng Ninh. Vịnh có 1.969 hòn đảo.", ["Vịnh Hạ Long thuộc Quảng Ninh.", "Vịnh có 1.969 hòn đảo."]),
        ("TP. Hồ Chí Minh có 9,3 triệu dân. PGS.TS. Lê Văn B nói vậy!", ["TP. Hồ Chí Minh có 9,3 triệu dân.",
                                                                       "PGS.TS. Lê Văn B nói vậy!"]),
        ("Giá là 3.5 triệu. Xem https://vi.wikipedia.org/wiki/A.B nhé. Hết…", ["Giá là 3.5 triệu.",
                                                                               "Xem https://vi.wikipedia.org/wiki/A.B nhé.",
                                                                               "Hết…"]),
        ("Ông H. Chí Minh đọc bản Tuyên ngôn. Sự kiện năm 1945.", ["Ông H. Chí Minh đọc bản Tuyên ngôn.",
                                                                   "Sự kiện năm 1945."]),
        ("- Một là ăn.\n- Hai là ngủ\n\n1. Bước đầu. Bước sau?", ["Một là ăn.", "Hai là ngủ", "Bước đầu.", "Bước sau?"]),
        ("Có nhiều thứ: sách, vở, v.v. và bút. \"Đúng không?\" Đúng.", ["Có nhiều thứ: sách, vở, v.v. và bút.",
                                                                      "\"Đúng không?\"", "Đúng."]),
    ],
)
def test_vietnamese_sentence_splitter(text, expected):
    assert split_sentences(text) == expected


def test_claims_split_at_import_unless_supplied():
    assert ITEM["claims"] == ["Truyện Kiều do Nguyễn Du sáng tác.", "Nguyễn Du sinh năm 1820."]
    given = hal.validate_item({"prompt": "p", "response": "A. B.", "claims": ["Một nhận định"]}, CFG)
    assert given["claims"] == ["Một nhận định"]
    with pytest.raises(SchemaError) as exc:
        hal.validate_item({"prompt": "p"}, CFG)
    assert exc.value.field == "response"
    with pytest.raises(SchemaError) as exc:
        hal.validate_item({"prompt": "p", "response": "x", "references": [{"title": "t"}]}, CFG)
    assert exc.value.field == "references[0].text"


def test_domain_allow_list():
    allow = ["vi.wikipedia.org", "gov.vn"]
    assert domain_allowed("https://vi.wikipedia.org/wiki/A", allow)
    assert domain_allowed("https://chinhphu.gov.vn/x", allow)  # subdomain
    assert not domain_allowed("https://evilgov.vn/x", allow)
    assert not domain_allowed("https://vi.wikipedia.org.evil.com/", allow)
    assert not domain_allowed("javascript:alert(1)", allow)
    assert not domain_allowed("ftp://gov.vn/x", allow)
    assert domain_allowed("https://any.example/x", [])


def claim(verdict, **kw):
    return {"verdict": verdict, **kw}


def validate(payload, config=CFG):
    return hal.validate_annotation(payload, config=config, item_payload=ITEM, view={})


def test_valid_annotation():
    ok = validate({
        "claims": [claim("supported", evidence_url=WIKI, quote="Truyện Kiều của Nguyễn Du"),
                   claim("contradicted", evidence_url=WIKI, quote="Nguyễn Du (1766–1820)",
                         correction="Nguyễn Du sinh năm 1766.")],
        "overall": "major_errors", "severity": "medium",
    })
    assert ok["claims"][1]["correction"] == "Nguyễn Du sinh năm 1766."


@pytest.mark.parametrize(
    "claims, overall, field",
    [
        ([claim("supported")], "accurate", "claims"),  # one claim missing
        ([claim("supported"), claim("unverifiable")], "accurate", "claims[0].evidence_url"),
        ([claim("supported", evidence_url=WIKI), claim("not_claim")], "accurate", "claims[0].quote"),
        ([claim("supported", evidence_url="https://blog.example.com/a", quote="Truyện Kiều của Nguyễn Du"),
          claim("not_claim")], "accurate", "claims[0].evidence_url"),
        ([claim("unverifiable"), claim("contradicted", evidence_url=WIKI, quote="Nguyễn Du (1766–1820)")],
         "major_errors", "claims[1].correction"),
        ([claim("unverifiable", evidence_url="http://fake.example/x"), claim("not_claim")], "unverifiable",
         "claims[0].evidence_url"),
        ([claim("maybe"), claim("not_claim")], "accurate", "claims[0].verdict"),
        ([claim("unverifiable"), claim("contradicted", evidence_url=WIKI, quote="Nguyễn Du (1766–1820)",
                                       correction="Sinh năm 1766.")], "accurate", "overall"),
    ],
)
def test_bad_annotation_names_the_field(claims, overall, field):
    with pytest.raises(SchemaError) as exc:
        validate({"claims": claims, "overall": overall, "severity": "low"})
    assert exc.value.field == field


def test_missing_severity_and_custom_evidence_rule():
    with pytest.raises(SchemaError) as exc:
        validate({"claims": [claim("not_claim"), claim("not_claim")], "overall": "accurate"})
    assert exc.value.field == "severity"
    lax = hal.validate_config({"trusted_sources": [], "evidence_required_for": []})
    assert validate({"claims": [claim("supported"), claim("supported")], "overall": "accurate", "severity": "none"},
                    config=lax)


def test_per_claim_vote():
    c = [claim("supported", evidence_url=WIKI, quote="Truyện Kiều của Nguyễn Du")]
    wrong = claim("contradicted", evidence_url=WIKI, quote="Nguyễn Du (1766–1820)", correction="Sinh năm 1766.")
    answers = [
        validate({"claims": c + [wrong], "overall": "major_errors", "severity": "high"}),
        validate({"claims": c + [wrong], "overall": "major_errors", "severity": "medium"}),
        validate({"claims": c + [claim("unverifiable")], "overall": "unverifiable", "severity": "low"}),
    ]
    agg = hal.aggregate(answers, config=CFG)
    assert [x["verdict"] for x in agg.result["claims"]] == ["supported", "contradicted"]
    assert agg.result["hallucinated_claims"] == [1]
    assert agg.result["claims"][1]["correction"] == "Sinh năm 1766."
    assert agg.result["claims"][0]["correction"] is None
    assert agg.result["claims"][1]["confidence"] == pytest.approx(2 / 3, abs=1e-3)
    assert agg.result["overall"] == "major_errors"
    assert agg.result["severity"] == "medium"
    assert agg.confidence == pytest.approx(2 / 3)
    assert hal.is_correct(answers[0], answers[1], config=CFG)
    assert not hal.is_correct(answers[2], answers[0], config=CFG)


@pytest.mark.django_db
def test_import_refuses_line_missing_response(make_campaign):
    from tasks.importing import import_items

    campaign = make_campaign("hallucination", items=[], config={"trusted_sources": ["gov.vn"]})
    lines = [{"prompt": "p", "response": "Một câu. Hai câu."}, {"prompt": "thiếu response"}]
    report = import_items(campaign=campaign, stream=io.BytesIO(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()), fmt="jsonl")
    assert not report.ok and report.imported == 0
    assert [(e.line, e.field) for e in report.errors] == [(2, "payload.response")]


@pytest.mark.django_db
def test_submit_with_untrusted_url_is_400_naming_the_claim(client, make_campaign, make_contributor):
    campaign = make_campaign("hallucination", items=[{"payload": {"prompt": "p", "response": "Hà Nội là thủ đô."}}],
                             config={"trusted_sources": ["gov.vn"]}, overlap=1)
    client.force_login(make_contributor())
    a = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]
    assert a["item"]["payload"]["claims"] == ["Hà Nội là thủ đô."]
    url = reverse("assignment-submit", args=[a["id"]])
    bad = {"claims": [claim("supported", evidence_url="https://tin-gia.example/a", quote="Hà Nội là thủ đô")],
           "overall": "accurate", "severity": "none"}
    res = client.post(url, {"payload": bad}, content_type="application/json")
    assert res.status_code == 400
    assert res.json()["error"]["field"] == "claims[0].evidence_url"
    bad["claims"][0]["evidence_url"] = "https://chinhphu.gov.vn/thu-do"
    assert client.post(url, {"payload": bad}, content_type="application/json").status_code == 201
