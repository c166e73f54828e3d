"""Moderation: multi-label with severity per category, exclusive categories, escalation."""
import pytest

from core.schema import SchemaError
from tasks.types import get_task_type

mod = get_task_type("moderation")
MULTI = mod.validate_config({"multi_label": True, "severity_levels": ["low", "medium", "high"]})
ITEM = {"text": "Đồ ngu, tao đến tận nhà xử lý mày."}


def validate(payload, config=MULTI):
    return mod.validate_annotation(payload, config=config, item_payload=ITEM, view={})


def test_multi_label_with_severity_per_category():
    ok = validate({"categories": ["harassment", "violence"], "severity": {"harassment": "medium", "violence": "high"},
                   "needs_escalation": True, "escalation_note": "Đe dọa cụ thể"})
    assert ok["severity"] == {"harassment": "medium", "violence": "high"}


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"categories": []}, "categories"),
        ({"categories": ["harassment"]}, "severity.harassment"),
        ({"categories": ["harassment", "violence"], "severity": {"harassment": "low"}}, "severity.violence"),
        ({"categories": ["harassment"], "severity": {"harassment": "extreme"}}, "severity.harassment"),
        ({"categories": ["harassment"], "severity": {"harassment": "low", "spam": "low"}}, "severity.spam"),
        ({"categories": ["safe", "spam"], "severity": {"spam": "low"}}, "categories"),
        ({"categories": ["nope"]}, "categories[0]"),
    ],
)
def test_bad_moderation_answers_name_the_field(payload, field):
    with pytest.raises(SchemaError) as exc:
        validate(payload)
    assert exc.value.field == field


def test_single_label_default_still_one_category_without_severity():
    single = mod.validate_config({})
    assert mod.validate_annotation({"categories": ["spam"]}, config=single, item_payload=ITEM, view={})
    with pytest.raises(SchemaError):
        mod.validate_annotation({"categories": ["spam", "hate"]}, config=single, item_payload=ITEM, view={})


def test_aggregate_severity_and_escalation():
    answers = [
        validate({"categories": ["harassment", "violence"], "severity": {"harassment": "high", "violence": "high"},
                  "needs_escalation": True}),
        validate({"categories": ["harassment", "violence"], "severity": {"harassment": "low", "violence": "medium"}}),
        validate({"categories": ["harassment"], "severity": {"harassment": "medium"}}),
    ]
    agg = mod.aggregate(answers, config=MULTI)
    assert agg.result["categories"] == ["harassment", "violence"]
    assert agg.result["severity"] == {"harassment": "medium", "violence": "medium"}
    assert agg.result["needs_escalation"] is True and agg.result["escalation_votes"] == 1
    calm = [validate({"categories": ["safe"]}) for _ in range(3)]
    assert mod.aggregate(calm, config=MULTI).result["needs_escalation"] is False


def test_gold_needs_categories_only():
    assert mod.validate_gold({"categories": ["harassment"]}, MULTI, ITEM) == {"categories": ["harassment"]}
    with pytest.raises(SchemaError):
        mod.validate_gold({"categories": ["safe", "spam"]}, MULTI, ITEM)
