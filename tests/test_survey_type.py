"""Survey type: XLSForm import (pyxform's fixtures, our retail audit and consumer survey, broken forms),
server-side validation (skip logic, constraints, required, choice filters, repeats, calculations),
campaign creation through the API, submissions through the task API, consensus and the wide export."""
from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Annotation
from core.schema import SchemaError
from task_types.survey import export
from task_types.survey.demo import EXAMPLES, consumer_survey_form, retail_audit_form
from task_types.survey.form import validate_answers
from task_types.survey.xlsform import convert
from tasks.models import Campaign
from tasks.types import get_task_type

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "xlsform"
if not FIXTURES.exists():  # a clone's tests read the shared fixtures beside the clones
    FIXTURES = Path("/work/shared/fixtures/xlsform")
SURVEY = get_task_type("survey")


def load(path: Path) -> dict:
    return convert(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", ["xlsform_spec_test.xlsx", "choice_filter_test.xlsx",
                                  "cascading_select_test_equivalent.xls", "widgets.xls", "repeat_date_test.xls"])
def test_pyxform_fixtures_convert(name):
    form = load(FIXTURES / name)
    assert form["questions"]


def test_fixture_rules_apply_on_the_server():
    spec = load(FIXTURES / "xlsform_spec_test.xlsx")
    with pytest.raises(SchemaError) as exc:  # ". <= ${a_integer}"
        validate_answers(spec, {"skip_to_end": "no", "a_integer": "3", "a_decimal": "5"})
    assert exc.value.field == "answers.a_decimal"
    # Skip logic: skipping to the end drops the group's answers.
    assert validate_answers(spec, {"skip_to_end": "yes", "a_integer": "3", "a_decimal": "5"}) == {"skip_to_end": "yes"}
    cascade = load(FIXTURES / "choice_filter_test.xlsx")
    assert validate_answers(cascade, {"state": "texas", "county": "cameron", "city": "harlingen"})["city"] == "harlingen"
    with pytest.raises(SchemaError) as exc:
        validate_answers(cascade, {"state": "texas", "county": "pierce"})
    assert exc.value.field == "answers.county"


def test_translations_and_likert_in_our_forms():
    audit, consumer = retail_audit_form(), consumer_survey_form()
    assert audit["languages"] == ["vi", "en"] and consumer["languages"] == ["vi", "en"]
    store_open = audit["questions"][1]
    assert store_open["label"] == {"vi": "Cửa hàng có mở cửa không?", "en": "Is the store open?"}
    group = next(q for q in consumer["questions"] if q["name"] == "satisfaction")
    assert group["type"] == "group" and group["children"][0]["appearance"] == "likert"


@pytest.mark.parametrize(("name", "field", "needle"), [
    ("broken_unknown_question_type.xlsx", "xlsform", "[row : 3] Unknown question type 'integr'"),
    ("broken_missing_choice_list.xlsx", "xlsform", "[row : 3] List name not in choices sheet: province"),
    ("broken_circular_relevance.xlsx", "form.questions.has_phone", "has_phone → phone_no → has_phone"),
])
def test_broken_forms_refused_with_the_row_or_question(name, field, needle):
    with pytest.raises(SchemaError) as exc:
        load(FIXTURES / "broken" / name)
    assert exc.value.field == field and needle in exc.value.message


def test_json_forms_refused_naming_the_question():
    cases = [
        ({"questions": [{"name": "a", "type": "slider"}]}, "form.questions.a", "unknown type"),
        ({"questions": [{"name": "a", "type": "select_one"}]}, "form.questions.a", "no choice list"),
        ({"questions": [{"name": "a", "type": "integer", "relevant": "${zz} = 1"}]}, "form.questions.a.relevant", "zz"),
        ({"questions": [{"name": "a", "type": "integer", "constraint": ". >"}]}, "form.questions.a.constraint", ""),
        ({"questions": [{"name": "a", "type": "calculate", "calculation": "${b} + 1"},
                        {"name": "b", "type": "integer", "relevant": "${a} > 1"}]}, "form.questions.a", "Circular"),
    ]
    for form, field, needle in cases:
        with pytest.raises(SchemaError) as exc:
            SURVEY.validate_config({"form": form})
        assert exc.value.field == field and needle in exc.value.message, form


def test_consumer_survey_rules():
    form = consumer_survey_form()
    good = {"consent": "yes", "age": "34", "region": "central", "province": "hue", "drinks": ["tea", "coffee"],
            "cups_per_week": 7, "drink_rank": ["tea", "coffee", "soda"], "sat_price": "4", "sat_taste": "5",
            "last_purchase": "2026-11-30", "usual_time": "07:30"}
    out = validate_answers(form, good)
    assert out["age"] == 34 and out["drinks"] == ["coffee", "tea"] and out["usual_time"] == "07:30"
    assert validate_answers(form, {"consent": "no", "age": "3"}) == {"consent": "no"}  # skipped, not checked
    bad = [
        ({**good, "age": "12"}, "answers.age", "Tuổi phải từ 15 đến 99."),
        ({**good, "province": "hanoi"}, "answers.province", "not one of the choices"),
        ({**good, "cups_per_week": None}, "answers.cups_per_week", "required"),
        ({**good, "drink_rank": ["tea", "coffee"]}, "answers.drink_rank", "rank every choice"),
        ({**good, "last_purchase": "2999-01-01"}, "answers.last_purchase", "Không chọn ngày trong tương lai."),
        ({**good, "age": "ba mươi"}, "answers.age", "not a valid integer"),
        ({**good, "nickname": "x"}, "answers.nickname", "not a question"),
    ]
    for answers, field, needle in bad:
        with pytest.raises(SchemaError) as exc:
            validate_answers(form, answers)
        assert exc.value.field == field and needle in exc.value.message, (field, exc.value.message)


def test_retail_audit_repeat_calculation_and_constraint_messages():
    form = retail_audit_form()
    answers = {"store_open": "yes", "store_type": "mini", "facings_total": 40, "facings_brand": 10,
               "out_of_stock": ["cola_330"], "planogram_ok": "no",
               "prices": [{"price_sku": "tea_450", "price_vnd": "10000"}, {"price_sku": "water_500", "price_vnd": 5000}]}
    out = validate_answers(form, {**answers, "shelf_share": 0.9})  # a sent calculation is recomputed
    assert out["shelf_share"] == 0.25 and out["prices"][0]["price_vnd"] == 10000.0
    with pytest.raises(SchemaError) as exc:
        validate_answers(form, {**answers, "facings_brand": 41})
    assert exc.value.field == "answers.facings_brand" and exc.value.message == "Không thể lớn hơn tổng số mặt hàng."
    with pytest.raises(SchemaError) as exc:
        validate_answers(form, {**answers, "prices": [{"price_sku": "tea_450", "price_vnd": 0}]})
    assert exc.value.field == "answers.prices[0].price_vnd"
    with pytest.raises(SchemaError) as exc:  # the choice filter removes 'none' inside the repeat
        validate_answers(form, {**answers, "prices": [{"price_sku": "none", "price_vnd": 1}]})
    assert exc.value.field == "answers.prices[0].price_sku"
    with pytest.raises(SchemaError) as exc:
        validate_answers(form, {**answers, "out_of_stock": ["none", "tea_450"]})
    assert exc.value.field == "answers.out_of_stock"


@pytest.mark.django_db
def test_xlsform_imported_through_the_api_and_answered(token_client, make_contributor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = token_client()
    data = base64.b64encode((EXAMPLES / "consumer_survey.xlsx").read_bytes()).decode()
    response = client.post("/api/v1/campaigns/", {"name": "Khảo sát", "task_type": "survey", "overlap": 2,
                                                  "config": {"xlsform": {"name": "consumer_survey.xlsx", "data": data}}},
                           format="json")
    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert "xlsform" not in campaign.config and campaign.config["form"]["questions"][0]["name"] == "consent"
    broken = base64.b64encode((FIXTURES / "broken" / "broken_missing_choice_list.xlsx").read_bytes()).decode()
    refused = client.post("/api/v1/campaigns/", {"name": "Hỏng", "task_type": "survey",
                                                 "config": {"xlsform": {"name": "b.xlsx", "data": broken}}}, format="json")
    assert refused.status_code == 400
    assert "[row : 3] List name not in choices sheet" in refused.json()["error"]["message"]
    assert Campaign.objects.filter(name="Hỏng").count() == 0


@pytest.mark.django_db
def test_submissions_consensus_and_wide_export(make_campaign, make_contributor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = make_campaign("survey", items=[{"payload": {"title": "Phiếu 1"}}], overlap=3,
                             config={"form": consumer_survey_form()})
    ages = ["30", "34", "90"]
    for i, age in enumerate(ages):
        client = Client()
        client.force_login(make_contributor())
        lease = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
        url = reverse("assignment-submit", args=[lease["assignment"]["id"]])
        answers = {"consent": "yes", "age": age, "region": "south", "province": "hcmc",
                   "drinks": ["tea"] if i else ["tea", "soda"]}
        bad = client.post(url, {"payload": {"answers": {**answers, "age": "7"}}}, content_type="application/json")
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "answers.age"
        ok = client.post(url, {"payload": {"answers": answers}}, content_type="application/json")
        assert ok.status_code == 201, ok.content
    rows = [a.payload for a in Annotation.objects.filter(campaign=campaign)]
    agg = SURVEY.aggregate(rows, config=campaign.config)
    assert agg.result["answers"]["age"] == 34 and agg.result["answers"]["drinks"] == ["tea"]
    out = tmp_path / "survey.zip"
    export.export_campaign(campaign, out, fmt="csv")
    with zipfile.ZipFile(out) as z:
        table = list(csv.DictReader(io.StringIO(z.read("submissions.csv").decode("utf-8-sig"))))
        codebook = list(csv.DictReader(io.StringIO(z.read("codebook.csv").decode("utf-8-sig"))))
    assert len(table) == 3 and {r["age"] for r in table} == {"30", "34", "90"}
    assert {"drinks_coffee", "drinks_tea", "drinks_soda"} <= set(table[0]) and {r["drinks_soda"] for r in table} == {"0", "1"}
    entry = next(r for r in codebook if r["variable"] == "province")
    assert "hcmc=TP. Hồ Chí Minh" in entry["choices_vi"] and "hcmc=Ho Chi Minh City" in entry["choices_en"]
    assert json.loads(json.dumps(codebook))  # plain text cells


@pytest.mark.django_db
def test_labelling_page_draws_the_form_partial(make_campaign, make_contributor):
    campaign = make_campaign("survey", items=[{"payload": {"title": "Phiếu 1"}}], overlap=1,
                             config={"form": consumer_survey_form()})
    client = Client()
    client.force_login(make_contributor())
    page = client.get(reverse("label-campaign", args=[campaign.pk])).content.decode()
    assert "data-survey-form" in page and "survey/xpath.js" in page and "survey/survey.js" in page


@pytest.mark.django_db
def test_xlsform_uploaded_through_the_admin(client, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.test_admin_console import form_data, make_member

    client.force_login(make_member(org))
    url = reverse("admin:tasks_campaign_add") + "?task_type=field_visit"
    page = client.get(url)
    assert page.context["adminform"].form.is_multipart()
    base = {**form_data(page), "cfg__form": ""}
    upload = SimpleUploadedFile("retail_audit.xlsx", (EXAMPLES / "retail_audit.xlsx").read_bytes())
    res = client.post(url, {**base, "name": "Kiểm tra cửa hàng", "cfg__xlsform": upload})
    assert res.status_code == 302, res.context["adminform"].form.errors if res.context else res
    campaign = Campaign.objects.get(name="Kiểm tra cửa hàng")
    assert campaign.config["form"]["questions"][1]["name"] == "store_open" and "xlsform" not in campaign.config
    broken = SimpleUploadedFile("b.xlsx", (FIXTURES / "broken" / "broken_unknown_question_type.xlsx").read_bytes())
    res = client.post(url, {**base, "name": "Hỏng", "cfg__xlsform": broken})
    assert res.status_code == 200
    errors = res.context["adminform"].form.errors
    assert errors["cfg__xlsform"] == ["[row : 3] Unknown question type 'integr'."], errors
    assert not Campaign.objects.filter(name="Hỏng").exists()


@pytest.mark.django_db
def test_image_answers_are_decoded_then_stored_without_exif(make_campaign, make_contributor, settings, tmp_path):
    from assets.models import MediaAsset
    from tests.test_survey_mutations import jpeg

    settings.MEDIA_ROOT = tmp_path
    form = {"questions": [{"name": "shelf", "type": "image", "label": {"vi": "Ảnh kệ", "en": "Shelf photo"},
                           "required": True}]}
    campaign = make_campaign("survey", items=[{"payload": {}}], overlap=1, config={"form": form})
    client = Client()
    client.force_login(make_contributor())
    lease = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    url = reverse("assignment-submit", args=[lease["assignment"]["id"]])
    bad = client.post(url, {"payload": {"answers": {"shelf": "data:image/png;base64," + base64.b64encode(b"abc").decode()}}},
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "answers.shelf"
    assert bad.json()["error"]["message"].startswith("Ảnh kệ: ")
    assert not MediaAsset.objects.exists()
    good = "data:image/jpeg;base64," + base64.b64encode(jpeg(5)).decode()
    assert client.post(url, {"payload": {"answers": {"shelf": good}}}, content_type="application/json").status_code == 201
    key = Annotation.objects.get(campaign=campaign).payload["answers"]["shelf"]
    assert key.startswith(f"campaigns/{campaign.pk}/") and MediaAsset.objects.get(key=key).kind == "image"
