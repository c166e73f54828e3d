"""Survey: a form written as an XLSForm (ODK/KoboToolbox) or in the platform's JSON, answered per item.

The campaign's config holds the form (``form``), converted at creation from an uploaded XLSForm when
the config carries ``xlsform`` ({"name", "data": base64}) instead: so the admin's and the API's
campaign creation both import XLSForms without a route of their own, and a refused workbook answers
with pyxform's message and row. An item is one response slot (optionally a respondent or place
context shown above the form); an answer is ``{"answers": {...}}`` checked by ``form.validate_answers``
with the same relevance, constraints, required and choice filters the page evaluates.

Consensus where several contributors answer one item: numeric medians, majority for categorical
questions (select_one questions feed the campaign-level Dawid-Skene through ``label_space``), one 0/1
vote per choice of a select_multiple.
"""
from __future__ import annotations

import base64
import binascii
import copy
import statistics
from collections import Counter

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from . import form as forms
from . import media
from .xlsform import convert

MAX_XLSFORM_BYTES = 5 * 1024 * 1024
# A new campaign's form until the manager uploads an XLSForm or writes their own: one optional question.
STARTER_FORM = {"questions": [{"name": "comment", "type": "text", "label": {"vi": "Nhận xét", "en": "Comment"}}],
                "languages": ["vi", "en"]}


def form_from_config(config: dict) -> dict:
    """The config's form, converting an embedded XLSForm (base64) first."""
    upload = config.get("xlsform")
    if upload is not None:
        if not isinstance(upload, dict) or not isinstance(upload.get("data"), str):
            raise SchemaError("xlsform", gettext("Send the XLSForm as {\"name\": ..., \"data\": base64}."))
        try:
            data = base64.b64decode(upload["data"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SchemaError("xlsform.data", gettext("The XLSForm is not valid base64.")) from exc
        if len(data) > MAX_XLSFORM_BYTES:
            raise SchemaError("xlsform", gettext("The XLSForm is too large (at most 5 MB)."))
        return convert(data, str(upload.get("name") or "form.xlsx"))
    return forms.check_form(copy.deepcopy(config.get("form")))  # checking fills defaults in: never in a shared dict


def question_aggregate(q: dict, values: list, weights: list[float]) -> tuple[object, float]:
    """One question's consensus value and the share of answers that agree with it."""
    present = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None]
    if not present:
        return None, 0.0
    qtype = q["type"]
    if qtype in ("integer", "decimal"):
        nums = sorted(float(v) for v, _w in present)
        med = statistics.median(nums)
        spread = statistics.median(abs(x - med) for x in nums)
        close = sum(1 for x in nums if abs(x - med) <= max(spread, 1e-9)) / len(nums)
        return (int(med) if qtype == "integer" and float(med).is_integer() else med), close
    if qtype == "select_multiple":
        total = sum(w for _v, w in present)
        chosen = [c["name"] for c in q["choices"]
                  if sum(w for v, w in present if c["name"] in v) * 2 > total]
        agree = sum(w for v, w in present if sorted(v) == sorted(chosen)) / total
        return chosen, agree
    votes: Counter = Counter()
    for v, w in present:
        votes[repr(v)] += w
    key, weight = votes.most_common(1)[0]
    winner = next(v for v, _w in present if repr(v) == key)
    return winner, weight / sum(w for _v, w in present)


def store_inline_answers(annotation) -> None:
    """Replace every data URL in ``annotation.payload["answers"]`` by the storage key it is saved under."""
    from assets.services import campaign_media_key, store_media

    changed = False

    def visit(values: dict, questions: list[dict], path: str):
        nonlocal changed
        for q, _r in forms.walk(questions):
            if q["type"] == "repeat":
                for i, row in enumerate(values.get(q["name"]) or []):
                    visit(row, q.get("children") or [], f"{path}{q['name']}-{i}-")
            value = values.get(q["name"])
            if q["type"] in ("image", "audio") and media.is_data_url(value):
                data = media.decode_data_url(value, f"answers.{q['name']}")
                if q["type"] == "image":
                    data, ext, content_type = media.without_exif(data)
                    kind = "image"
                else:
                    ext, content_type, kind = "audio", "application/octet-stream", "audio"
                    info = media.check_inline(value, f"answers.{q['name']}", "audio")
                name = f"survey-{annotation.pk}-{path}{q['name']}.{ext}"
                asset = store_media(key=campaign_media_key(annotation.campaign_id, name), data=data, kind=kind,
                                    content_type=content_type, campaign=annotation.campaign,
                                    assignment=annotation.assignment, uploaded_by=annotation.contributor,
                                    info={} if kind == "image" else info)
                values[q["name"]] = asset.key
                changed = True

    form = annotation.campaign.config["form"]
    top = [q for q in form["questions"]]
    visit(annotation.payload.get("answers") or {}, top, "")
    if changed:
        annotation.save(update_fields=["payload"])


class Survey(TaskType):
    key = "survey"
    label = _("Survey: answer a form (XLSForm)")
    template = "task_types/survey/survey.html"
    scripts = ("task_types/survey/xpath.js", "task_types/survey/survey.js")
    styles = ("task_types/survey/survey.css",)
    # Wide tables (one column per question) depend on the form, not a fixed Arrow schema: they come from
    # export.py (CSV/Parquet + codebook); the engine offers the raw layout.
    export_layouts = layouts_for()
    free_text_fields = []  # form answers: short facts, not prose to score for authorship
    config_schema = {
        "type": "object",
        "properties": {
            "form": {"type": "object", "title": "Form (JSON)",
                     "description": "The platform's JSON form; filled from the XLSForm when one is uploaded."},
            "xlsform": {"type": "object", "title": "XLSForm (.xlsx, .xls)", "x-upload": [".xlsx", ".xls"],
                        "description": "An ODK/KoboToolbox XLSForm; replaces the form above."},
            "language": {"enum": ["vi", "en"]},
        },
    }

    def default_config(self) -> dict:
        return {"language": "vi", "form": STARTER_FORM}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        config["form"] = form_from_config(config)
        config.pop("xlsform", None)
        return config

    def item_schema(self, config: dict) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": {
            "title": {"type": "string", "maxLength": 300},
            "context": {"type": "string", "maxLength": 5000},
            "respondent": {"type": "string", "maxLength": 200},
        }}

    def annotation_schema(self, config: dict) -> dict:
        return {"type": "object", "required": ["answers"], "additionalProperties": False,
                "properties": {"answers": {"type": "object"}, "language": {"enum": ["vi", "en"]}}}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        payload["answers"] = forms.validate_answers(config["form"], payload["answers"])
        return payload

    def on_submit(self, annotation) -> None:
        """Store the photos and recordings an answer carried inline; the answer then names their keys."""
        store_inline_answers(annotation)

    # --- consensus -------------------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        weights = weights or [1.0] * len(answers)
        result, agreements = {}, []
        for q, repeat in forms.value_questions(config["form"]):
            if repeat is not None or q["type"] in forms.MEDIA or q["type"] == "calculate":
                continue
            value, agree = question_aggregate(q, [(a.get("answers") or {}).get(q["name"]) for a in answers], weights)
            if value is not None:
                result[q["name"]] = value
                agreements.append(agree)
        agreement = sum(agreements) / len(agreements) if agreements else 0.0
        return Aggregate(result={"answers": result}, confidence=min(agreements, default=0.0), agreement=agreement,
                         method="median_numeric_majority_categorical")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        mine, want = answer.get("answers") or {}, gold.get("answers") or {}
        return all(mine.get(k) == v for k, v in want.items())

    def label_space(self, config: dict) -> dict[str, list[str]]:
        return {q["name"]: [c["name"] for c in q["choices"]] for q, r in forms.value_questions(config["form"])
                if r is None and q["type"] == "select_one" and not q.get("choice_filter")}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        answers = payload.get("answers") or {}
        out = {}
        for name, classes in self.label_space(config).items():
            if answers.get(name) in classes:
                out[name] = classes.index(answers[name])
        return out

    def apply_campaign_labels(self, aggregate: Aggregate, labels, *, config: dict) -> Aggregate:
        aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
        aggregate.result["answers"] = {**aggregate.result.get("answers", {}),
                                       **{q: c for q, (c, _p) in labels.items()}}
        return aggregate

    # --- demo ------------------------------------------------------------------------------------------
    def demo_qualification(self) -> DemoCampaign:
        """Record two scripted interviews on the demo form: a refusal (nothing more is asked) and a coffee
        drinker from Huế (the relevance and choice-filter rules lead the way)."""
        spec = self.demo()[0]
        items = [
            {"payload": {"title": "Phiếu luyện tập 1: người được hỏi không đồng ý tham gia."},
             "gold_answer": {"answers": {"consent": "no"}}},
            {"payload": {"title": "Phiếu luyện tập 2: đồng ý; 34 tuổi; sống ở Huế (miền Trung); tuần qua chỉ uống "
                                  "cà phê, 7 ly."},
             "gold_answer": {"answers": {"consent": "yes", "age": 34, "region": "central", "province": "hue",
                                         "drinks": ["coffee"], "cups_per_week": 7}}},
        ]
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=items)


    def demo(self) -> list[DemoCampaign]:
        from .demo import consumer_survey_form

        return [DemoCampaign(
            name="Khảo sát người tiêu dùng: đồ uống đóng chai", config={"language": "vi", "form": consumer_survey_form()},
            instructions="Trả lời từng câu hỏi; câu có dấu * là bắt buộc. Có thể chuyển sang tiếng Anh ở đầu biểu mẫu.",
            items=[{"payload": {"title": f"Phiếu {i + 1}"}} for i in range(5)], extra={"overlap": 1, "max_overlap": 1},
        )]
