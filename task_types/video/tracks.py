"""Tracks: checking them, expanding keyframes into per-frame shapes, matching them across contributors.

A track is ``{id, label, shape, keyframes: [{frame, box | points, outside, occluded, attributes}]}``
with ``shape`` one of box ([x, y, w, h]), polygon, polyline and points ([[x, y], ...]). Expansion (``expand``) is
the one definition of interpolation; ``video.js`` mirrors it line for line and a test compares both:

- no shape before the first keyframe;
- between two keyframes the geometry moves linearly (boxes: each coordinate; polygons, polylines, points: each
  point, when both keyframes have as many points, otherwise it holds the earlier keyframe's points);
  ``occluded`` and the attributes are the earlier keyframe's;
- a keyframe marked ``outside`` hides the track until the next keyframe, and a shape does not move
  towards an ``outside`` keyframe (it holds until then);
- after the last keyframe the shape holds to the end of the clip (unless that keyframe is ``outside``).

Coordinates are rounded half-up to 0.01 px (``_r``) in both languages, so the page and the server agree
to the hundredth. Matching reuses the image type: per-frame IoU (boxes, polygons) or OKS (points) from
``task_types.image.geometry``, the Hungarian assignment, box fusion.
"""
from __future__ import annotations

import math

import numpy as np

from task_types.image.geometry import GeometryError, check_object, fuse, hungarian, similarity_matrix

SHAPES = ("box", "polygon", "polyline", "points")
MAX_TRACKS = 200
MAX_KEYFRAMES = 5000


def _r(v: float) -> float:
    """Half-up rounding to 0.01 (``Math.floor(v * 100 + 0.5) / 100`` in video.js)."""
    return math.floor(v * 100 + 0.5) / 100


def image_object(shape: str, geometry) -> dict:
    """A track's shape at one frame as the image type's object (its checks and similarity apply)."""
    if shape == "box":
        return {"type": "box", "bbox": geometry}
    if shape in ("polygon", "polyline"):
        return {"type": shape, "points": geometry}
    return {"type": "keypoints", "keypoints": [[p[0], p[1], 2] for p in geometry]}


def _geometry_key(shape: str) -> str:
    return "box" if shape == "box" else "points"


# Why a track is refused, by code (the English text for imports and the command line); task.py shows the same
# codes in the contributor's language (TRACK_MESSAGES there). Geometry codes come from the image type's table.
TRACK_CODES = {
    "not_list": "a list of tracks is expected",
    "too_many_tracks": "at most %(n)s tracks",
    "not_track": "a track must be an object",
    "unknown_shape": "unknown shape %(kind)s; one of %(shapes)s",
    "unknown_class": "unknown class %(label)s",
    "duplicate_id": "two tracks have the id %(id)s",
    "no_keyframe": "a track needs at least one keyframe",
    "too_many_keyframes": "at most %(n)s keyframes",
    "not_keyframe": "a keyframe must be an object",
    "frame_range": "the frame must be a whole number from 0 to %(last)s",
    "duplicate_frame": "two keyframes on frame %(frame)s",
    "no_points": "points need at least one point",
    "attributes_object": "attributes must be an object",
    "unknown_attribute": "unknown attribute",
    "attribute_value": "invalid value for this attribute",
}


def _refuse(field: str, code: str, **params) -> GeometryError:
    return GeometryError(field, code, messages=TRACK_CODES, **params)



def check_tracks(tracks: list, *, width: int, height: int, frame_count: int, field: str = "tracks",
                 shapes=SHAPES, labels: set[str] | None = None, attributes: dict | None = None) -> list[dict]:
    """Every track and keyframe checked (frame in range, geometry finite and inside the frame, class and
    attributes known); a ``GeometryError`` names the track and keyframe. Keyframes come back sorted."""
    if not isinstance(tracks, list):
        raise _refuse(field, "not_list")
    if len(tracks) > MAX_TRACKS:
        raise _refuse(field, "too_many_tracks", n=MAX_TRACKS)
    out, seen_ids = [], set()
    for ti, track in enumerate(tracks):
        where = f"{field}[{ti}]"
        if not isinstance(track, dict):
            raise _refuse(where, "not_track")
        shape = track.get("shape")
        if shape not in shapes:
            raise _refuse(f"{where}.shape", "unknown_shape", kind=repr(shape), shapes=", ".join(shapes))
        label = track.get("label", "")
        if labels is not None and label not in labels:
            raise _refuse(f"{where}.label", "unknown_class", label=repr(label))
        tid = str(track.get("id") or f"t{ti + 1}")[:60]
        if tid in seen_ids:
            raise _refuse(f"{where}.id", "duplicate_id", id=repr(tid))
        seen_ids.add(tid)
        keyframes = track.get("keyframes")
        if not isinstance(keyframes, list) or not keyframes:
            raise _refuse(f"{where}.keyframes", "no_keyframe")
        if len(keyframes) > MAX_KEYFRAMES:
            raise _refuse(f"{where}.keyframes", "too_many_keyframes", n=MAX_KEYFRAMES)
        checked, frames = [], set()
        for ki, kf in enumerate(keyframes):
            kwhere = f"{where}.keyframes[{ki}]"
            if not isinstance(kf, dict):
                raise _refuse(kwhere, "not_keyframe")
            frame = kf.get("frame")
            if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame < frame_count:
                raise _refuse(f"{kwhere}.frame", "frame_range", last=frame_count - 1)
            if frame in frames:
                raise _refuse(f"{kwhere}.frame", "duplicate_frame", frame=frame)
            frames.add(frame)
            key = _geometry_key(shape)
            try:
                if shape == "points":
                    raw = kf.get("points")
                    if not isinstance(raw, list) or not raw:
                        raise _refuse(f"{kwhere}.points", "no_points")
                    obj = {"type": "keypoints", "keypoints": [
                        [*p, 2] if isinstance(p, list) and len(p) == 2 else [None] for p in raw]}
                else:
                    obj = image_object(shape, kf.get(key))
                geometry = check_object(obj, kwhere, width, height)
            except GeometryError as exc:
                exc.field = exc.field.replace(".keypoints", ".points").replace(".bbox", ".box")
                raise
            value = (geometry["bbox"] if shape == "box" else
                     geometry["points"] if shape in ("polygon", "polyline") else [[p[0], p[1]] for p in geometry["keypoints"]])
            attrs = kf.get("attributes") or {}
            if not isinstance(attrs, dict):
                raise _refuse(f"{kwhere}.attributes", "attributes_object")
            if attributes is not None:
                for name, v in attrs.items():
                    spec = attributes.get(name)
                    if spec is None:
                        raise _refuse(f"{kwhere}.attributes.{name}", "unknown_attribute")
                    ok = isinstance(v, bool) if spec["kind"] == "boolean" else (
                        isinstance(v, str) and len(v) <= 500 and (spec["kind"] == "text" or v in (spec.get("options") or [])))
                    if not ok:
                        raise _refuse(f"{kwhere}.attributes.{name}", "attribute_value")
            checked.append({"frame": frame, key: value, "outside": bool(kf.get("outside", False)),
                            "occluded": bool(kf.get("occluded", False)), "attributes": attrs})
        checked.sort(key=lambda k: k["frame"])
        out.append({"id": tid, "label": label, "shape": shape, "keyframes": checked,
                    **({"pre_id": str(track["pre_id"])[:60]} if track.get("pre_id") else {})})
    return out


def _lerp(a, b, t: float):
    if isinstance(a, (int, float)):
        return _r(a + (b - a) * t)
    return [_lerp(x, y, t) for x, y in zip(a, b, strict=True)]


def expand(track: dict, frame_count: int) -> list[dict]:
    """Per-frame shapes of one track, from its first keyframe to the clip's end (see the module docstring).

    Each entry: ``{frame, box | points, outside, occluded, keyframe, attributes}``.
    """
    key = _geometry_key(track["shape"])
    kfs = track["keyframes"]
    out = []
    for i, kf in enumerate(kfs):
        nxt = kfs[i + 1] if i + 1 < len(kfs) else None
        end = nxt["frame"] if nxt else frame_count
        a = kf[key]
        movable = nxt is not None and not kf["outside"] and not nxt["outside"] and (
            key == "box" or len(a) == len(nxt[key]))
        for f in range(kf["frame"], end):
            if f == kf["frame"] or not movable:
                geometry = a
            else:
                geometry = _lerp(a, nxt[key], (f - kf["frame"]) / (nxt["frame"] - kf["frame"]))
            out.append({"frame": f, key: geometry, "outside": kf["outside"], "occluded": kf["occluded"],
                        "keyframe": f == kf["frame"], "attributes": kf["attributes"]})
    return out


def simplify(track: dict) -> dict:
    """Drop keyframes that interpolation between their neighbours reproduces to the hundredth (an imported
    MOT sequence has a box on every frame; the page needs only where the motion changes)."""
    key = _geometry_key(track["shape"])
    kfs = list(track["keyframes"])
    kept = [kfs[0]] if kfs else []
    for i in range(1, len(kfs) - 1):
        prev, cur, nxt = kept[-1], kfs[i], kfs[i + 1]
        same_flags = all(prev[f] == cur[f] == nxt[f] for f in ("outside", "occluded", "attributes"))
        if same_flags and not cur["outside"] and (key == "box" or len(prev[key]) == len(cur[key]) == len(nxt[key])):
            t = (cur["frame"] - prev["frame"]) / (nxt["frame"] - prev["frame"])
            if _lerp(prev[key], nxt[key], t) == _lerp(cur[key], cur[key], 0):
                continue
        kept.append(cur)
    if len(kfs) > 1:
        kept.append(kfs[-1])
    return {**track, "keyframes": kept}


def visible_shapes(track: dict, frame_count: int) -> dict[int, list]:
    """``{frame: geometry}`` where the track is in the picture (not outside)."""
    key = _geometry_key(track["shape"])
    return {s["frame"]: s[key] for s in expand(track, frame_count) if not s["outside"]}


# --- matching across contributors ------------------------------------------------------------------------

def track_similarity(a: dict, b: dict, frame_count: int, width: int, height: int) -> float:
    """Mean per-frame IoU (OKS for points) over the frames where either track is visible; 0 across shapes.

    A frame where only one of them is visible counts 0, so a track that starts late or ends early agrees less.
    """
    if a["shape"] != b["shape"]:
        return 0.0
    va, vb = visible_shapes(a, frame_count), visible_shapes(b, frame_count)
    frames = sorted(set(va) | set(vb))
    if not frames:
        return 0.0
    both = [f for f in frames if f in va and f in vb]
    if not both:
        return 0.0
    if a["shape"] == "box":
        ba = np.array([va[f] for f in both], dtype=np.float64)
        bb = np.array([vb[f] for f in both], dtype=np.float64)
        x0 = np.maximum(ba[:, 0], bb[:, 0])
        y0 = np.maximum(ba[:, 1], bb[:, 1])
        x1 = np.minimum(ba[:, 0] + ba[:, 2], bb[:, 0] + bb[:, 2])
        y1 = np.minimum(ba[:, 1] + ba[:, 3], bb[:, 1] + bb[:, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        union = ba[:, 2] * ba[:, 3] + bb[:, 2] * bb[:, 3] - inter
        total = float(np.where(union > 0, inter / np.where(union > 0, union, 1), 0).sum())
    else:
        total = sum(float(similarity_matrix([image_object(a["shape"], va[f])], [image_object(b["shape"], vb[f])],
                                            width, height)[0, 0]) for f in both)
    return total / len(frames)


def match_tracks(answers: list[list[dict]], frame_count: int, width: int, height: int, *,
                 threshold: float = 0.5) -> list[list[tuple[int, dict]]]:
    """Clusters of (answer index, track), at most one track per answer: each answer's tracks are assigned
    by the Hungarian assignment on mean IoU to the clusters' first member; unmatched tracks start clusters."""
    clusters: list[list[tuple[int, dict]]] = []
    for ai, tracks in enumerate(answers):
        if not tracks:
            continue
        reps = [c[0][1] for c in clusters]
        sim = np.array([[track_similarity(t, r, frame_count, width, height) for r in reps] for t in tracks]) \
            if reps else np.zeros((len(tracks), 0))
        taken = set()
        for ti, ci, _s in hungarian(sim, threshold):
            clusters[ci].append((ai, tracks[ti]))
            taken.add(ti)
        for ti, t in enumerate(tracks):
            if ti not in taken:
                clusters.append([(ai, t)])
    return clusters


def fuse_track(members: list[dict], weights: list[float], frame_count: int, width: int, height: int) -> dict:
    """One consensus track: at each frame where any member has a keyframe, the members' expanded shapes
    fused (the image type's ``fuse``: weighted box fusion, polygon closest to the pixel vote, point means);
    ``outside`` where less than half the weight sees the object. Linear between those frames, as the
    members themselves are."""
    shape = members[0]["shape"]
    key = _geometry_key(shape)
    expanded = [{s["frame"]: s for s in expand(m, frame_count)} for m in members]
    frames = sorted({k["frame"] for m in members for k in m["keyframes"]})
    total = sum(weights) or 1.0
    keyframes = []
    for f in frames:
        seen = [(e[f], w) for e, w in zip(expanded, weights, strict=True) if f in e and not e[f]["outside"]]
        share = sum(w for _s, w in seen) / total
        if share <= 0.5:
            if keyframes and not keyframes[-1]["outside"]:
                keyframes.append({**keyframes[-1], "frame": f, "outside": True})
            continue
        objs = [image_object(shape, s[key]) for s, _w in seen]
        fused = fuse(objs, [w for _s, w in seen], width, height)
        if shape == "box":
            value = fused["bbox"]
        elif shape in ("polygon", "polyline"):
            value = fused["points"]
        else:
            value = [[p[0], p[1]] for p in fused["keypoints"]]
        occluded = sum(w for s, w in seen if s["occluded"]) / sum(w for _s, w in seen) > 0.5
        keyframes.append({"frame": f, key: value, "outside": False, "occluded": occluded,
                          "attributes": seen[0][0]["attributes"]})
    return {"shape": shape, "keyframes": keyframes}


def consensus_tracks(answers: list[list[dict]], weights: list[float], frame_count: int, width: int, height: int,
                     *, threshold: float = 0.5) -> dict:
    """Consensus tracks (kept when more than half the weight drew them), each with its support and agreement
    (mean track similarity of the members to the fused track), plus missing/extra counts per answer."""
    n = len(answers)
    w = [float(x) for x in (weights or [1.0] * n)]
    total = sum(w) or 1.0
    kept, scores = [], []
    missing, extra = [0] * n, [0] * n
    for cluster in match_tracks(answers, frame_count, width, height, threshold=threshold):
        who = [a for a, _t in cluster]
        members = [t for _a, t in cluster]
        support = sum(w[a] for a in who) / total
        if support > 0.5 or n == 1:
            fused = fuse_track(members, [w[a] for a in who], frame_count, width, height)
            agreement = float(np.mean([track_similarity(fused, m, frame_count, width, height) for m in members])) \
                if fused["keyframes"] else 0.0
            labels: dict[str, float] = {}
            for a, t in cluster:
                labels[t.get("label", "")] = labels.get(t.get("label", ""), 0.0) + w[a]
            label = max(labels, key=labels.get)
            kept.append({"id": f"c{len(kept) + 1}", "label": label, **fused, "support": round(support, 3),
                         "agreement": round(agreement, 3), "n": len(members)})
            scores.append(support * agreement)
            for a in range(n):
                if a not in who:
                    missing[a] += 1
        else:
            scores.append(1.0 - support)
            for a in who:
                extra[a] += 1
    agreement = float(np.mean(scores)) if scores else 1.0
    return {"tracks": kept, "agreement": round(agreement, 4), "missing": missing, "extra": extra}
