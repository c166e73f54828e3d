"""Field visit: go to a place within a time window, check in by GPS, answer a form, take photos.

An item is a place (name, address, latitude/longitude, opening hours) and a time window; a
contributor books it (``workqueue.booking``, nearest first on the field page), checks in with the
browser's Geolocation (position and its accuracy), answers the campaign's survey form (XLSForm or
JSON, the ``survey`` type's rules) and takes photos with the camera. The server refuses:

- a missing or implausible check-in (no coordinates, accuracy worse than ``max_accuracy_m`` or exactly 0,
  which real receivers never report: a mock-location tell), or one outside the window;
- a check-in farther than ``geofence_m`` from the place, unless the campaign allows it and the
  contributor gives a reason (kept with the answer, ``checkin.outside``);
- photos that are not images, too few or too many, with an EXIF capture time outside the window, or
  re-used: the same picture twice in one visit or a near-identical one (difference hash within
  ``photo_reuse_bits`` bits) already submitted in the campaign (checked in ``on_submit``, where the
  campaign is known, inside the submit transaction: a refused visit stores nothing).

Impossible travel (the contributor's previous check-in too far for the time between them) is not a
refusal, since clocks and GPS fail honestly too, but a flag on the answer for the reviewer.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from task_types.survey import form as forms
from task_types.survey import media
from task_types.survey.task import STARTER_FORM, form_from_config, question_aggregate, store_inline_answers
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

EARTH_RADIUS_M = 6_371_000.0
MAX_SPEED_KMH = 150.0  # faster between two check-ins is flagged as impossible travel
WINDOW_SLACK = timedelta(minutes=30)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def parse_time(value, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SchemaError(field, gettext("Not a date and time: %(value)r.") % {"value": str(value)[:40]}) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


_coord = {"type": "number"}
PLACE_SCHEMA = {
    "type": "object", "required": ["name", "lat", "lon"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "address": {"type": "string", "maxLength": 500},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "opening_hours": {"type": "string", "maxLength": 200},
        "chain": {"type": "string", "maxLength": 100},
    },
}


class FieldVisit(TaskType):
    key = "field_visit"
    label = _("Field visit: check in at a place, fill a form, take photos")
    template = "task_types/field_visit/field_visit.html"
    scripts = ("task_types/survey/xpath.js", "task_types/survey/survey.js", "task_types/field_visit/field_visit.js")
    styles = ("task_types/survey/survey.css", "task_types/field_visit/field_visit.css")
    export_layouts = layouts_for()  # wide tables, codebook and GeoJSON come from task_types/survey/export.py
    free_text_fields = []
    config_schema = {
        "type": "object",
        "properties": {
            "form": {"type": "object", "title": "Form (JSON)",
                     "description": "The platform's JSON form; filled from the XLSForm when one is uploaded."},
            "xlsform": {"type": "object", "title": "XLSForm (.xlsx, .xls)", "x-upload": [".xlsx", ".xls"],
                        "description": "An ODK/KoboToolbox XLSForm; replaces the form above."},
            "language": {"enum": ["vi", "en"]},
            "geofence_m": {"type": "number", "minimum": 10, "maximum": 50000},
            "allow_outside_geofence": {"type": "boolean"},
            "max_accuracy_m": {"type": "number", "minimum": 5, "maximum": 5000},
            "min_photos": {"type": "integer", "minimum": 0, "maximum": 20},
            "max_photos": {"type": "integer", "minimum": 0, "maximum": 20},
            "photo_reuse_bits": {"type": "integer", "minimum": 0, "maximum": 16},
            "backcheck_share": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "Share of places (0 to 1) visited again by a second contributor."},
            "score_question": {"type": "string", "maxLength": 100,
                               "description": "A top-level number or calculate question holding the visit's rubric "
                                              "score (mystery shopping): shown per visit on the review page."},
            "score_max": {"type": "number", "minimum": 0, "description": "The rubric's highest score (for display)."},
        },
    }

    def default_config(self) -> dict:
        return {"language": "vi", "form": STARTER_FORM, "geofence_m": 150, "allow_outside_geofence": False, "max_accuracy_m": 100,
                "min_photos": 1, "max_photos": 5, "photo_reuse_bits": 4, "backcheck_share": 0}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        config["form"] = form_from_config(config)
        config.pop("xlsform", None)
        if config["min_photos"] > config["max_photos"]:
            raise SchemaError("min_photos", gettext("min_photos cannot exceed max_photos."))
        if config.get("score_question"):
            scored = {q["name"] for q, repeat in forms.walk(config["form"]["questions"])
                      if repeat is None and q["type"] in ("integer", "decimal", "calculate")}
            if config["score_question"] not in scored:
                raise SchemaError("score_question", gettext(
                    "The rubric score must be a top-level integer, decimal or calculate question of the form."))
        return config

    @staticmethod
    def rubric_score(config: dict, answers: dict) -> float | None:
        """The visit's rubric score (the form computes it, e.g. an XLSForm calculate summing the rubric's items;
        the server recomputed it at submit), or None when the campaign names no score question."""
        name = config.get("score_question")
        try:
            return float(answers[name]) if name and answers.get(name) not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def item_schema(self, config: dict) -> dict:
        return {"type": "object", "required": ["place", "window"], "additionalProperties": False, "properties": {
            "place": PLACE_SCHEMA,
            "window": {"type": "object", "required": ["start", "end"], "additionalProperties": False,
                       "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "scenario": {"type": "string", "maxLength": 5000},
        }}

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        start = parse_time(payload["window"]["start"], "window.start")
        end = parse_time(payload["window"]["end"], "window.end")
        if end <= start:
            raise SchemaError("window.end", gettext("The window must end after it starts."))
        payload["window"] = {"start": start.isoformat(), "end": end.isoformat()}
        return payload

    def annotation_schema(self, config: dict) -> dict:
        return {"type": "object", "required": ["checkin", "answers"], "additionalProperties": False, "properties": {
            "checkin": {"type": "object", "required": ["lat", "lon", "accuracy", "at"], "additionalProperties": False,
                        "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                                       "lon": {"type": "number", "minimum": -180, "maximum": 180},
                                       "accuracy": {"type": "number"}, "at": {"type": "string"},
                                       "outside_reason": {"type": "string", "maxLength": 1000}}},
            "answers": {"type": "object"},
            "photos": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
            "checkout_at": {"type": "string"},
            "language": {"enum": ["vi", "en"]},
        }}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        if isinstance(payload, dict) and not payload.get("checkin"):
            raise SchemaError("checkin", gettext("Check in at the place (share your location) before sending."))
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        payload["checkin"] = self.check_checkin(payload["checkin"], config=config, item_payload=item_payload)
        payload["answers"] = forms.validate_answers(config["form"], payload["answers"])
        photos = payload.get("photos") or []
        if len(photos) < config["min_photos"]:
            raise SchemaError("photos", gettext("Take at least %(n)d photo(s) of the place.") % {"n": config["min_photos"]})
        if len(photos) > config["max_photos"]:
            raise SchemaError("photos", gettext("At most %(n)d photos.") % {"n": config["max_photos"]})
        window = item_payload["window"]
        start, end = parse_time(window["start"], "window.start"), parse_time(window["end"], "window.end")
        facts = []
        for i, photo in enumerate(photos):
            field = f"photos[{i}]"
            if not media.is_data_url(photo):
                raise SchemaError(field, gettext("Send the photo itself (taken with the camera)."))
            try:
                fact = media.check_inline(photo, field, "image")
            except SchemaError as exc:  # say which photo: the phone shows one message for the visit
                raise SchemaError(field, gettext("Photo %(n)d: %(why)s") % {"n": i + 1, "why": exc.message}) from exc
            if fact.get("exif_time"):
                taken = timezone.make_aware(datetime.fromisoformat(fact["exif_time"])) \
                    if timezone.is_naive(datetime.fromisoformat(fact["exif_time"])) else datetime.fromisoformat(fact["exif_time"])
                if not (start - WINDOW_SLACK <= taken <= end + WINDOW_SLACK):
                    raise SchemaError(field, gettext("Photo %(n)d was taken at %(at)s, outside the visit window.") % {
                        "n": i + 1, "at": fact["exif_time"]})
            for j, earlier in enumerate(facts):
                if media.hamming(earlier["dhash"], fact["dhash"]) <= config["photo_reuse_bits"]:
                    raise SchemaError(field, gettext("Photo %(n)d is the same picture as photo %(m)d.") % {
                        "n": i + 1, "m": j + 1})
            facts.append(fact)
        payload["photo_facts"] = facts
        payload["received_at"] = timezone.now().isoformat()
        if payload.get("checkout_at"):
            payload.update(self.check_checkout(payload["checkout_at"], payload["checkin"]))
        return payload

    def check_checkout(self, value, checkin: dict) -> dict:
        """The check-out (the phone sends it with the visit): after the check-in and not in the future, so the
        visit's length (``visit_seconds``, in the export and the review) is a real duration."""
        out = parse_time(value, "checkout_at")
        came = parse_time(checkin["at"], "checkin.at")
        if out < came:
            raise SchemaError("checkout_at", gettext("The check-out time is before the check-in."))
        if out > timezone.now() + WINDOW_SLACK:
            raise SchemaError("checkout_at", gettext("The check-out time is in the future."))
        return {"checkout_at": out.isoformat(), "visit_seconds": round((out - came).total_seconds())}

    def check_checkin(self, checkin: dict, *, config: dict, item_payload: dict) -> dict:
        accuracy = float(checkin["accuracy"])
        if not (0 < accuracy <= config["max_accuracy_m"]):
            raise SchemaError("checkin.accuracy", gettext(
                "Your position is too imprecise (±%(acc)d m; at most ±%(max)d m). Move outdoors and check in again.") % {
                "acc": round(accuracy), "max": round(config["max_accuracy_m"])})
        at = parse_time(checkin["at"], "checkin.at")
        window = item_payload["window"]
        start, end = parse_time(window["start"], "window.start"), parse_time(window["end"], "window.end")
        if not (start - WINDOW_SLACK <= at <= end + WINDOW_SLACK):
            raise SchemaError("checkin.at", gettext("The check-in time is outside this visit's window."))
        if at > timezone.now() + timedelta(minutes=5):
            raise SchemaError("checkin.at", gettext("The check-in time is in the future."))
        place = item_payload["place"]
        distance = distance_m(checkin["lat"], checkin["lon"], place["lat"], place["lon"])
        out = {**checkin, "at": at.isoformat(), "distance_m": round(distance, 1), "outside": False}
        if distance > config["geofence_m"]:
            reason = (checkin.get("outside_reason") or "").strip()
            if not config.get("allow_outside_geofence"):
                raise SchemaError("checkin", gettext(
                    "You are %(d)d m from %(place)s; check in within %(r)d m of it.") % {
                    "d": round(distance), "place": place["name"], "r": round(config["geofence_m"])})
            if len(reason) < 5:
                raise SchemaError("checkin.outside_reason", gettext(
                    "You are %(d)d m from %(place)s: say why you check in from there.") % {
                    "d": round(distance), "place": place["name"]})
            out.update(outside=True, outside_reason=reason)
        return out

    def on_submit(self, annotation) -> None:
        """Campaign-wide checks (re-used photos, impossible travel), then store photos without EXIF."""
        from annotations.models import Annotation  # the type's own submit step reads earlier visits
        from assets.services import campaign_media_key, store_media

        payload = annotation.payload
        config = annotation.campaign.config
        earlier = (Annotation.objects.filter(campaign_id=annotation.campaign_id).exclude(pk=annotation.pk)
                   .only("id", "payload", "contributor_id"))
        previous_checkin = None
        for other in earlier.iterator():
            for other_fact in other.payload.get("photo_facts") or []:
                for i, fact in enumerate(payload.get("photo_facts") or []):
                    if media.hamming(other_fact.get("dhash", "0"), fact["dhash"]) <= config.get("photo_reuse_bits", 4):
                        raise SchemaError(f"photos[{i}]", gettext(
                            "Photo %(n)d was already submitted for another visit in this campaign.") % {"n": i + 1})
            if other.contributor_id == annotation.contributor_id:
                c = other.payload.get("checkin") or {}
                if c.get("at") and (previous_checkin is None or c["at"] > previous_checkin["at"]):
                    previous_checkin = c
        flags = []
        if previous_checkin:
            here = payload["checkin"]
            hours = abs((parse_time(here["at"], "checkin.at") - parse_time(previous_checkin["at"], "at")).total_seconds()) / 3600
            km = distance_m(here["lat"], here["lon"], previous_checkin["lat"], previous_checkin["lon"]) / 1000
            if km > 1 and (hours == 0 or km / hours > MAX_SPEED_KMH):
                flags.append("impossible_travel")
        keys = []
        for i, photo in enumerate(payload.get("photos") or []):
            data, ext, content_type = media.without_exif(media.decode_data_url(photo, f"photos[{i}]"))
            fact = payload["photo_facts"][i]
            asset = store_media(key=campaign_media_key(annotation.campaign_id, f"visit-{annotation.pk}-{i + 1}.{ext}"),
                                data=data, kind="image", content_type=content_type, campaign=annotation.campaign,
                                assignment=annotation.assignment, uploaded_by=annotation.contributor,
                                info={"width": fact["width"], "height": fact["height"], "dhash": fact["dhash"]})
            keys.append(asset.key)
        payload["photos"] = keys
        payload["flags"] = flags
        annotation.payload = payload
        annotation.save(update_fields=["payload"])
        store_inline_answers(annotation)
        self.plan_backcheck(annotation, float(config.get("backcheck_share") or 0))

    @staticmethod
    def is_backchecked(item_id: int, share: float) -> bool:
        """Whether the place ``item_id`` is re-visited: a low-discrepancy draw (golden-ratio steps over the ids),
        so any run of consecutive places holds the share to within one place, and it is the same at every
        submit (no state to store)."""
        return (item_id * 0.6180339887498949) % 1.0 < share

    def plan_backcheck(self, annotation, share: float) -> None:
        """A back-check: the place's first visit asks for one more, by another contributor (the queue never gives
        an item twice to one person). Its agreement with the first is the consensus ``agreement`` of the place."""
        from workqueue.counters import request_more_answers

        item = annotation.item
        if share <= 0 or item.target_overlap != 1 or not self.is_backchecked(item.pk, share):
            return
        if request_more_answers(item_id=item.pk, up_to=2):
            item.target_overlap = 2  # the submit decides "item full" from this row: not yet, the back-check is due

    def answer_media_keys(self, answer: dict) -> dict[str, str]:
        return {f"photo_{i + 1}": key for i, key in enumerate(answer.get("photos") or []) if isinstance(key, str)}

    # --- consensus (overlap or back-checks: several visits of one place) --------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        weights = weights or [1.0] * len(answers)
        result, agreements = {}, []
        for q, repeat in forms.value_questions(config["form"]):
            if repeat is not None or q["type"] in forms.MEDIA or q["type"] in ("calculate", "geopoint", "text"):
                continue
            value, agree = question_aggregate(q, [(a.get("answers") or {}).get(q["name"]) for a in answers], weights)
            if value is not None:
                result[q["name"]] = value
                agreements.append(agree)
        agreement = sum(agreements) / len(agreements) if agreements else 0.0
        return Aggregate(result={"answers": result, "visits": len(answers)}, confidence=min(agreements, default=0.0),
                         agreement=agreement, method="median_numeric_majority_categorical")

    def label_space(self, config: dict) -> dict[str, list[str]]:
        return {q["name"]: [c["name"] for c in q["choices"]] for q, r in forms.value_questions(config["form"])
                if r is None and q["type"] == "select_one" and not q.get("choice_filter")}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        answers = payload.get("answers") or {}
        return {name: classes.index(answers[name]) for name, classes in self.label_space(config).items()
                if answers.get(name) in classes}

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        mine, want = answer.get("answers") or {}, gold.get("answers") or {}
        return all(mine.get(k) == v for k, v in want.items())

    # --- demo ------------------------------------------------------------------------------------------
    def demo_qualification(self) -> None:
        """None: a visit is graded on the spot (check-in position, time window, photos), which a test taken at
        home cannot reproduce; the demo's visits are taken by people qualified by staff."""
        return None


    def demo(self) -> list[DemoCampaign]:
        from task_types.survey.demo import retail_audit_form

        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        stores = [("Tạp hóa Cô Ba", "12 Lê Lợi, Quận 1, TP.HCM", 10.7735, 106.7009),
                  ("Mini Mart Bến Thành", "45 Phan Chu Trinh, Quận 1, TP.HCM", 10.7721, 106.6983),
                  ("Siêu thị Hoa Sen", "88 Nguyễn Huệ, Quận 1, TP.HCM", 10.7745, 106.7038)]
        items = [{"payload": {"place": {"name": n, "address": a, "lat": la, "lon": lo, "opening_hours": "07:00-22:00"},
                              "window": {"start": now.isoformat(), "end": (now + timedelta(days=7)).isoformat()}}}
                 for n, a, la, lo in stores]
        return [DemoCampaign(
            name="Kiểm tra cửa hàng bán lẻ (Quận 1)",
            config={**self.default_config(), "form": retail_audit_form()},
            instructions="Đặt lịch một cửa hàng gần bạn, đến nơi rồi bấm **Check-in**, chụp ảnh kệ và trả lời biểu mẫu.",
            items=items, extra={"overlap": 1, "max_overlap": 2, "lease_seconds": 8 * 3600},
        )]
