"""Schema errors a contributor can read: every problem at once, each naming its field, in their language.

jsonschema's own messages ("'' should be non-empty", "'x' is not one of [...]") quote the value and the schema;
a contributor on a phone got the first of them only, in English (issue #20)."""
import pytest
from django.urls import reverse
from django.utils import translation

from core.schema import SchemaError, check_schema

SCHEMA = {
    "type": "object",
    "required": ["verdict", "notes", "tags", "score"],
    "properties": {
        "verdict": {"enum": ["yes", "no"]},
        "notes": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "minItems": 2},
        "score": {"type": "integer", "minimum": 1, "maximum": 7},
    },
}


def problems(instance) -> list[dict]:
    with pytest.raises(SchemaError) as err:
        check_schema(instance, SCHEMA)
    assert err.value.errors[0] == {"field": err.value.field, "message": err.value.message}
    return err.value.errors


def test_every_problem_is_reported_once_per_field_with_a_sentence_not_the_schema():
    with translation.override("en"):
        found = {e["field"]: e["message"] for e in problems({"verdict": "maybe", "notes": "", "tags": ["a"], "score": 9})}
    assert found == {
        "verdict": "Choose one of the offered options.",
        "notes": "Please fill this in.",
        "tags": "Choose at least 2.",
        "score": "The value must be at most 7.",
    }
    with translation.override("en"):
        assert problems({"verdict": "yes", "notes": "x", "tags": ["a", "b"]}) == [
            {"field": "score", "message": "This field is required."}]


def test_the_messages_are_vietnamese_for_a_vietnamese_reader():
    with translation.override("vi"):
        found = {e["field"]: e["message"] for e in problems({"verdict": "maybe", "notes": "", "tags": [], "score": 0})}
    assert found["notes"] == "Vui lòng điền mục này."
    assert found["verdict"] == "Chọn một trong các lựa chọn có sẵn."
    assert found["score"] == "Giá trị phải từ 1 trở lên."
    assert not any("'" in m or "should" in m for m in found.values())


@pytest.mark.django_db
def test_the_submit_api_returns_every_problem_and_stores_nothing(client, make_campaign, make_contributor):
    from annotations.models import Annotation

    campaign = make_campaign("moderation", items=[{"payload": {"text": "Xin chào"}}], overlap=1)
    client.force_login(make_contributor())
    lease = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]
    res = client.post(reverse("assignment-submit", args=[lease["id"]]),
                      {"payload": {"categories": ["nope", "also-nope"]}}, content_type="application/json")
    assert res.status_code == 400
    error = res.json()["error"]
    found = {e["field"]: e["message"] for e in error["errors"]}
    assert {error["field"]: error["message"]} == {e["field"]: e["message"] for e in error["errors"][:1]}
    assert found["categories[0]"] == found["categories[1]"] == "Choose one of the offered options."
    assert not Annotation.objects.exists()
