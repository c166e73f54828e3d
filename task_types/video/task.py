"""Video annotation: tracks (boxes, polygons, polylines, points) with keyframes over a decoded clip.

An item is one uploaded video (storage key), decoded once at upload into a frame store of JPEG chunks
(``assets.video``); the item is refused until that store is ready and carries the clip's size, frame rate
and frame count from it. The answer is a list of tracks; ``tracks.py`` checks them, expands keyframes
into frames (the page's ``video.js`` mirrors it), matches tracks across contributors by mean IoU over
frames with the image type's Hungarian assignment and fuses a consensus track.
"""
from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assets.selectors import stored_video
from exports.layouts import layouts_for
from task_types.image.geometry import GeometryError
from task_types.image.task import DEFAULT_ATTRIBUTES
from task_types.image.task import _refuse as geometry_refusal
from task_types.media_common import KEY_PATTERN
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import VIDEO_TRACKS
from .tracks import MAX_TRACKS, SHAPES, check_tracks, consensus_tracks, match_tracks, track_similarity

_name = {"type": "string", "minLength": 1, "maxLength": 60}
TRACK_SCHEMA = {"type": "object", "required": ["shape", "keyframes"], "properties": {
    "id": {"type": "string", "maxLength": 60}, "pre_id": {"type": "string", "maxLength": 60},
    "label": {"type": "string", "maxLength": 60}, "shape": {"enum": list(SHAPES)},
    "keyframes": {"type": "array", "minItems": 1}}}



# tracks.TRACK_CODES in the contributor's language: same codes, same parameters (tracks.py has no Django).
# A geometry code (outside the frame, a crossing polygon...) is translated by the image type's table.
TRACK_MESSAGES = {
    "not_list": _("a list of tracks is expected"),
    "too_many_tracks": _("at most %(n)s tracks"),
    "not_track": _("a track must be an object"),
    "unknown_class": _("unknown class %(label)s"),
    "duplicate_id": _("two tracks have the id %(id)s"),
    "no_keyframe": _("a track needs at least one keyframe"),
    "too_many_keyframes": _("at most %(n)s keyframes"),
    "not_keyframe": _("a keyframe must be an object"),
    "frame_range": _("the frame must be a whole number from 0 to %(last)s"),
    "duplicate_frame": _("two keyframes on frame %(frame)s"),
    "no_points": _("points need at least one point"),
    "attributes_object": _("attributes must be an object"),
    "unknown_attribute": _("unknown attribute"),
    "attribute_value": _("invalid value for this attribute"),
}


class VideoAnnotation(TaskType):
    key = "video"
    label = _("Video annotation: tracks with keyframes")
    template = "task_types/video/video.html"
    scripts = ("task_types/video/video.js",)
    styles = ("task_types/video/video.css",)
    export_layouts = layouts_for(VIDEO_TRACKS)
    free_text_fields: list[str] | None = []
    config_schema = {
        "type": "object",
        "required": ["shapes", "labels"],
        "properties": {
            "shapes": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(SHAPES)}},
            "labels": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
                "type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": _name, "label": {"type": "string", "maxLength": 100},
                               "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}}}},
            "attributes": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["key", "kind"], "additionalProperties": False,
                "properties": {"key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                               "kind": {"enum": ["boolean", "text", "select"]},
                               "label": {"type": "string", "maxLength": 100},
                               "label_en": {"type": "string", "maxLength": 100},
                               "options": {"type": "array", "items": _name}}}},
            "iou_threshold": {"type": "number", "minimum": 0.1, "maximum": 0.95},
            "max_tracks": {"type": "integer", "minimum": 1, "maximum": MAX_TRACKS},
            "require_tracks": {"type": "boolean"},
        },
    }

    def default_config(self) -> dict:
        return {"shapes": ["box", "polygon", "points"], "labels": [{"name": "object"}],
                "attributes": [a for a in DEFAULT_ATTRIBUTES if a["key"] == "note"], "iou_threshold": 0.5,
                "max_tracks": 50, "require_tracks": True}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        names = [lab["name"] for lab in config["labels"]]
        if len(set(names)) != len(names):
            raise SchemaError("labels", gettext("Class names must be unique."))
        return config

    # --- items -----------------------------------------------------------------------------------------
    def item_schema(self, config: dict) -> dict:
        return {"type": "object", "required": ["video"], "additionalProperties": False, "properties": {
            "video": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250},
            "width": {"type": "integer"}, "height": {"type": "integer"}, "fps": {"type": "number"},
            "frame_count": {"type": "integer"},
            "pre_tracks": {"type": "array", "maxItems": MAX_TRACKS, "items": TRACK_SCHEMA},
            "pre_source": {"type": "string", "maxLength": 200},
            "file_name": {"type": "string", "maxLength": 250},
            "source": {"type": "string", "maxLength": 500},
        }}

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        asset = stored_video(payload["video"])
        if asset is None:
            raise SchemaError("video", gettext("No stored video has the key %(key)s; upload it first.") % {
                "key": payload["video"]})
        frames = asset.info.get("frames") or {}
        name = asset.info.get("name") or payload["video"]
        if frames.get("state") == "failed":
            raise SchemaError("video", gettext("The video %(name)s could not be decoded: %(error)s") % {
                "name": name, "error": frames.get("error", "")})
        if frames.get("state") != "ready":
            raise SchemaError("video", gettext("The video %(name)s is still being prepared; import this item "
                                               "again in a minute.") % {"name": name})
        payload.update(width=int(frames["width"]), height=int(frames["height"]), fps=float(frames["fps"]),
                       frame_count=int(frames["frame_count"]))
        payload["pre_tracks"] = self._check(payload.get("pre_tracks") or [], config, payload, "pre_tracks",
                                            known_labels=False)
        return payload

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"video": item_payload["video"]}

    # --- answers ---------------------------------------------------------------------------------------
    def annotation_schema(self, config: dict) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": {
            "tracks": {"type": "array", "maxItems": config.get("max_tracks", 50), "items": TRACK_SCHEMA},
            "clip": {"type": "array"},  # set on the server from the item
        }}

    def _check(self, tracks, config, item_payload, field, *, known_labels=True) -> list[dict]:
        try:
            return check_tracks(
                tracks, width=item_payload["width"], height=item_payload["height"],
                frame_count=item_payload["frame_count"], field=field,
                shapes=config["shapes"] if known_labels else SHAPES,
                labels={lab["name"] for lab in config["labels"]} if known_labels else None,
                attributes={a["key"]: a for a in config.get("attributes") or []} if known_labels else None)
        except GeometryError as exc:
            if exc.code in TRACK_MESSAGES:
                raise SchemaError(exc.field, str(TRACK_MESSAGES[exc.code]) % exc.params) from exc
            raise geometry_refusal(exc) from exc

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        if not item_payload.get("frame_count"):
            raise SchemaError("video", gettext("This item's video is missing; report a problem with it."))
        payload["tracks"] = self._check(payload.get("tracks") or [], config, item_payload, "tracks")
        if config.get("require_tracks") and not payload["tracks"]:
            raise SchemaError("tracks", gettext("Draw at least one track."))
        payload["clip"] = [item_payload["width"], item_payload["height"], item_payload["frame_count"]]
        return payload

    # --- consensus -------------------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        width, height, frame_count = _clip(answers)
        result = consensus_tracks([a.get("tracks") or [] for a in answers], weights or [1.0] * len(answers),
                                  frame_count, width, height, threshold=config.get("iou_threshold", 0.5))
        result["clip"] = [width, height, frame_count]
        return Aggregate(result=result, confidence=result["agreement"], agreement=result["agreement"],
                         method="hungarian_mean_iou_tracks")

    def gold_scores(self, answer: dict, gold: dict, *, config: dict) -> dict:
        """Precision/recall of the answer's tracks against gold (matched by mean IoU) and their mean IoU."""
        width, height, frame_count = _clip([gold, answer])
        gold_tracks, mine = gold.get("tracks") or [], answer.get("tracks") or []
        clusters = match_tracks([gold_tracks, mine], frame_count, width, height,
                                threshold=config.get("iou_threshold", 0.5))
        pairs = [c for c in clusters if len(c) == 2]
        ious = [track_similarity(c[0][1], c[1][1], frame_count, width, height) for c in pairs]
        return {"precision": len(pairs) / len(mine) if mine else float(not gold_tracks),
                "recall": len(pairs) / len(gold_tracks) if gold_tracks else 1.0,
                "mean_iou": sum(ious) / len(ious) if ious else 0.0}

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        scores = self.gold_scores(answer, gold, config=config)
        return scores["precision"] >= 0.8 and scores["recall"] >= 0.8

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        try:
            return self.is_correct(answer, result, config=config)
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    def demo(self) -> list[DemoCampaign]:
        from .demo import demo_campaigns

        return demo_campaigns(self)


def _clip(answers: list[dict]) -> tuple[int, int, int]:
    """The clip the tracks were drawn on (the server stores it in every checked answer)."""
    for a in answers:
        clip = a.get("clip")
        if isinstance(clip, list) and len(clip) == 3:
            return int(clip[0]), int(clip[1]), int(clip[2])
    frames = [k["frame"] for a in answers for t in a.get("tracks") or [] for k in t["keyframes"]]
    return 1 << 16, 1 << 16, (max(frames) + 1 if frames else 1)
