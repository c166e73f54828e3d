"""Known-answer checks for what decides a survey's or a visit's data, and proof that they can fail.

Each check asserts a rule with a known right answer (a median against an outlier, a per-choice majority,
the geofence distance, a constraint, skip logic, re-used photo detection); each planted bug replaces the
real function with a plausible wrong one and must make its check fail (the pattern of
tests/test_consensus_mutations.py).
"""
from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter

from core.schema import SchemaError
from task_types.field_visit import task as visit_task
from task_types.survey import form as forms
from task_types.survey import media, xpath
from task_types.survey import task as survey_task

FORM = {"questions": [
    {"name": "open", "type": "select_one", "choices": [{"name": "yes"}, {"name": "no"}]},
    {"name": "price", "type": "decimal", "relevant": "${open} = 'yes'", "constraint": ". > 0 and . < 1000000"},
    {"name": "oos", "type": "select_multiple", "choices": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
]}


def jpeg(seed: int) -> bytes:
    """A photo-like picture (blurred blocks of colour): distinct seeds differ in 20+ of 64 hash bits."""
    rng = random.Random(seed)
    colour = lambda: (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))  # noqa: E731
    image = Image.new("RGB", (200, 150), colour())
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randint(0, 180), rng.randint(0, 130)
        draw.rectangle([x, y, x + rng.randint(10, 60), y + rng.randint(10, 40)], fill=colour())
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(2)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def check_median_resists_an_outlier():
    agg = survey_task.Survey().aggregate(
        [{"answers": {"open": "yes", "price": p}} for p in (10000, 10500, 990000)], config={"form": FORM})
    assert agg.result["answers"]["price"] == 10500


def check_select_multiple_majority_per_choice():
    answers = [{"answers": {"open": "yes", "oos": v}} for v in (["a", "b"], ["a"], ["a", "c"])]
    assert survey_task.Survey().aggregate(answers, config={"form": FORM}).result["answers"]["oos"] == ["a"]


def check_geofence_distance():
    # Hà Nội Opera House to Hoàn Kiếm lake's Turtle Tower: about 1.1 km.
    d = visit_task.distance_m(21.0242, 105.8575, 21.0277, 105.8524)
    assert 550 < d < 700, d
    assert visit_task.distance_m(10.0, 106.0, 10.0, 106.001) == pytest.approx(109.5, abs=1)
    assert visit_task.distance_m(60.0, 10.0, 60.0, 11.0) == pytest.approx(55_597, rel=0.01)  # east-west, far north


def check_constraint_and_skip_logic():
    with pytest.raises(SchemaError) as exc:
        forms.validate_answers(FORM, {"open": "yes", "price": 0})
    assert exc.value.field == "answers.price"
    assert forms.validate_answers(FORM, {"open": "no", "price": 0}) == {"open": "no"}


def check_reused_photo_detected_after_resave():
    original = jpeg(3)
    with Image.open(io.BytesIO(original)) as im:
        out = io.BytesIO()
        im.resize((180, 135)).save(out, format="JPEG", quality=60)
    assert media.hamming(media.dhash(original), media.dhash(out.getvalue())) <= 4
    assert all(media.hamming(media.dhash(original), media.dhash(jpeg(s))) > 12 for s in range(4, 14))


CHECKS = {f.__name__: f for f in (check_median_resists_an_outlier, check_select_multiple_majority_per_choice,
                                  check_geofence_distance, check_constraint_and_skip_logic,
                                  check_reused_photo_detected_after_resave)}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_passes_on_the_real_code(name):
    CHECKS[name]()


def _mean_instead_of_median(q, values, weights):
    present = [v for v in values if v is not None]
    if q["type"] in ("integer", "decimal") and present:
        return sum(float(v) for v in present) / len(present), 1.0
    return REAL_AGGREGATE(q, values, weights)


def _any_choice_counts(q, values, weights):
    if q["type"] == "select_multiple":
        return sorted({c for v in values if v for c in v}), 1.0
    return REAL_AGGREGATE(q, values, weights)


REAL_AGGREGATE = survey_task.question_aggregate


def _lat_lon_swapped(lat1, lon1, lat2, lon2):
    return REAL_DISTANCE(lon1, lat1, lon2, lat2)


def _flat_degrees(lat1, lon1, lat2, lon2):
    return ((lat1 - lat2) ** 2 + (lon1 - lon2) ** 2) ** 0.5 * 111_000 * 2


REAL_DISTANCE = visit_task.distance_m
REAL_TO_BOOL = xpath.to_bool

BUGS = {
    "mean instead of median": ([(survey_task, "question_aggregate", _mean_instead_of_median)],
                               "check_median_resists_an_outlier"),
    "any choice instead of a majority": ([(survey_task, "question_aggregate", _any_choice_counts)],
                                         "check_select_multiple_majority_per_choice"),
    "latitude and longitude swapped": ([(visit_task, "distance_m", _lat_lon_swapped)], "check_geofence_distance"),
    "degrees as flat metres": ([(visit_task, "distance_m", _flat_degrees)], "check_geofence_distance"),
    "an expression always true": ([(xpath, "to_bool", lambda v: True)], "check_constraint_and_skip_logic"),
    "exact hash only": ([(media, "hamming", lambda a, b: 0 if a == b else 64)],
                        "check_reused_photo_detected_after_resave"),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_planted_bug_is_caught(bug, monkeypatch):
    patches, check_name = BUGS[bug]
    for module, attr, replacement in patches:
        monkeypatch.setattr(module, attr, replacement)
    with pytest.raises((AssertionError, pytest.fail.Exception)):  # a failed assert or "did not raise"
        CHECKS[check_name]()


def test_photo_data_urls_decode_by_content():
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg(1)).decode()
    assert media.check_inline(url, "photos[0]", "image")["width"] == 200
    with pytest.raises(SchemaError):
        media.check_inline("data:image/png;base64," + base64.b64encode(b"GIF89a-not-really").decode(), "photos[0]", "image")
