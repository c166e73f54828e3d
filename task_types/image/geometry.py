"""Annotation geometry for images (and, frame by frame, video tracks): checks, overlap, matching, fusion.

One object is a dict ``{"id", "type", "label", <geometry>, "attributes"}`` in image pixels:

- ``box``: ``"bbox": [x, y, w, h]``;  ``rbox``: ``"rbox": [cx, cy, w, h, angle_degrees]`` (clockwise);
- ``polygon`` / ``polyline``: ``"points": [[x, y], ...]``;
- ``keypoints``: ``"keypoints": [[x, y, v], ...]`` in the skeleton's order, v as COCO (0 absent,
  1 hidden, 2 visible);
- ``mask``: ``"rle": {"size": [h, w], "counts": "<COCO compressed string>"}``.

Overlap is pycocotools' (``mask.iou`` on boxes, polygons and RLE masks) so the platform's consensus and
a team's COCO evaluation agree to the pixel; keypoints use COCO's OKS. Matching across contributors is
the Hungarian assignment (scipy) on those similarities. Nothing here touches Django, so a video track
(one object per frame) reuses every function.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SHAPES = ("box", "rbox", "polygon", "polyline", "keypoints", "mask")
EDGE_TOLERANCE = 0.5  # pixels: canvas rounding may land half a pixel outside the image
# COCO's per-keypoint sigmas for its 17-point person (cocoeval.py); other skeletons use DEFAULT_SIGMA.
COCO_PERSON_SIGMAS = [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
DEFAULT_SIGMA = 0.05 * 10  # as COCO's numbers: sigma = value / 10
COCO_PERSON = {
    "points": ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
               "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
               "right_knee", "left_ankle", "right_ankle"],
    # 1-based as in COCO's categories
    "edges": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
              [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]],
    "sigmas": COCO_PERSON_SIGMAS,
}


# Why an object is refused, by code: the English text here (imports, the command line); the task layer
# (task.py, GEOMETRY_MESSAGES) shows the same code and parameters in the contributor's language.
MESSAGES = {
    "not_number": "coordinates must be numbers",
    "not_finite": "a coordinate is not a finite number (NaN or infinity)",
    "outside": "outside the image (%(width)s×%(height)s pixels)",
    "unknown_shape": "unknown shape %(kind)s; one of %(shapes)s",
    "box_too_small": "the box is smaller than 1×1 pixel",
    "too_few_points": "a %(kind)s needs at least %(least)s points",
    "self_crossing": "the polygon crosses itself (edges %(a)s and %(b)s)",
    "no_area": "the polygon has no area (its points are on one line)",
    "skeleton_length": "expected %(n)s points of the skeleton",
    "visibility": "visibility must be 0, 1 or 2",
    "no_point": "no point is placed",
    "mask_size": "a mask must be COCO RLE with size [%(height)s, %(width)s]",
    "mask_runs": "the runs do not cover the %(width)s×%(height)s image exactly",
    "mask_empty": "the mask is empty",
    "rle_short": "unreadable RLE (cut short)",
    "rle_alphabet": "unreadable RLE (a character outside COCO's alphabet)",
    "count": "expected %(n)s numbers",
}


class GeometryError(ValueError):
    """A refused object: ``field`` names it (``objects[3].points``), ``code`` and ``params`` say why (MESSAGES),
    ``message`` in English."""

    def __init__(self, field: str, code: str, *, messages: dict | None = None, **params):
        # ``messages``: another module's own codes (the video type's track checks) on the same error class.
        self.field, self.code, self.params = field, code, params
        self.message = (messages or MESSAGES)[code] % params
        super().__init__(f"{field}: {self.message}")


def _mask_utils():
    from pycocotools import mask  # C extension: loaded where overlap is computed, not in every web process

    return mask


# --- checks ------------------------------------------------------------------------------------------

def _finite(values, field: str) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise GeometryError(field, "not_number")
        if not math.isfinite(v):
            raise GeometryError(field, "not_finite")
        out.append(float(v))
    return out


def _inside(xs, ys, width: int, height: int, field: str) -> None:
    t = EDGE_TOLERANCE
    if min(xs) < -t or min(ys) < -t or max(xs) > width + t or max(ys) > height + t:
        raise GeometryError(field, "outside", width=width, height=height)


def _clamp(v: float, hi: int) -> float:
    return round(min(max(v, 0.0), float(hi)), 2)


def _segments_cross(p1, p2, p3, p4) -> bool:
    """Proper crossing of segments p1p2 and p3p4 (touching at an end point does not count)."""
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4))


def self_intersection(points: Sequence[Sequence[float]]) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges of a closed polygon that cross, or None.

    A sweep would be O(n log n); polygons drawn by hand have tens of points, so the plain pair test is
    kept (a 1,000-point polygon takes ~0.2 s) and the point count is capped by the schema.
    """
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        a1, a2 = edges[i]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            b1, b2 = edges[j]
            if _segments_cross(a1, a2, b1, b2):
                return i, j
    return None


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, list(points[1:]) + [points[0]],
                                                                       strict=True))) / 2


def rbox_corners(rbox: Sequence[float]) -> list[list[float]]:
    """The four corners of a rotated box, clockwise from the top-left before rotation."""
    cx, cy, w, h, angle = rbox
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    out = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out.append([cx + dx * c - dy * s, cy + dx * s + dy * c])
    return out


def check_object(obj: dict, field: str, width: int, height: int, *, n_keypoints: int = 0) -> dict:
    """Normalise one object (rounded coordinates) or raise GeometryError naming ``field``.

    Refused: NaN/infinite numbers, geometry outside the image, boxes under one pixel, polygons with
    fewer than 3 points, no area or crossing edges, keypoints not matching the skeleton, masks of
    another size or empty.
    """
    kind = obj.get("type")
    if kind not in SHAPES:
        raise GeometryError(f"{field}.type", "unknown_shape", kind=repr(kind)[:40], shapes=", ".join(SHAPES))
    out = {k: v for k, v in obj.items() if k in ("id", "type", "label", "attributes", "pre_id", "score")}
    if kind == "box":
        x, y, w, h = _finite(_exact(obj.get("bbox"), 4, f"{field}.bbox"), f"{field}.bbox")
        if w < 1 or h < 1:
            raise GeometryError(f"{field}.bbox", "box_too_small")
        _inside([x, x + w], [y, y + h], width, height, f"{field}.bbox")
        x0, y0 = _clamp(x, width), _clamp(y, height)
        out["bbox"] = [x0, y0, round(_clamp(x + w, width) - x0, 2), round(_clamp(y + h, height) - y0, 2)]
    elif kind == "rbox":
        cx, cy, w, h, angle = _finite(_exact(obj.get("rbox"), 5, f"{field}.rbox"), f"{field}.rbox")
        if w < 1 or h < 1:
            raise GeometryError(f"{field}.rbox", "box_too_small")
        corners = rbox_corners([cx, cy, w, h, angle])
        _inside([p[0] for p in corners], [p[1] for p in corners], width, height, f"{field}.rbox")
        out["rbox"] = [round(cx, 2), round(cy, 2), round(w, 2), round(h, 2), round(((angle + 180) % 360) - 180, 2)]
    elif kind in ("polygon", "polyline"):
        raw = obj.get("points")
        least = 3 if kind == "polygon" else 2
        if not isinstance(raw, list) or len(raw) < least:
            raise GeometryError(f"{field}.points", "too_few_points", kind=kind, least=least)
        pts = [_finite(_exact(p, 2, f"{field}.points[{i}]"), f"{field}.points[{i}]") for i, p in enumerate(raw)]
        _inside([p[0] for p in pts], [p[1] for p in pts], width, height, f"{field}.points")
        pts = [[_clamp(x, width), _clamp(y, height)] for x, y in pts]
        if kind == "polygon":
            crossing = self_intersection(pts)
            if crossing:
                raise GeometryError(f"{field}.points", "self_crossing", a=crossing[0] + 1, b=crossing[1] + 1)
            if polygon_area(pts) < 1:
                raise GeometryError(f"{field}.points", "no_area")
        out["points"] = pts
    elif kind == "keypoints":
        raw = obj.get("keypoints")
        if not isinstance(raw, list) or (n_keypoints and len(raw) != n_keypoints):
            raise GeometryError(f"{field}.keypoints", "skeleton_length", n=n_keypoints)
        pts = []
        for i, p in enumerate(raw):
            x, y, v = _finite(_exact(p, 3, f"{field}.keypoints[{i}]"), f"{field}.keypoints[{i}]")
            if v not in (0, 1, 2):
                raise GeometryError(f"{field}.keypoints[{i}]", "visibility")
            if v:
                _inside([x], [y], width, height, f"{field}.keypoints[{i}]")
                pts.append([_clamp(x, width), _clamp(y, height), int(v)])
            else:
                pts.append([0, 0, 0])
        if not any(p[2] for p in pts):
            raise GeometryError(f"{field}.keypoints", "no_point")
        out["keypoints"] = pts
    else:
        rle = obj.get("rle")
        if not isinstance(rle, dict) or not isinstance(rle.get("counts"), str) or rle.get("size") != [height, width]:
            raise GeometryError(f"{field}.rle", "mask_size", height=height, width=width)
        runs = rle_counts(rle["counts"], field)
        # pycocotools' C decoder writes runs without a bounds check: counts must tile the image exactly.
        if any(r < 0 for r in runs) or sum(runs) != width * height:
            raise GeometryError(f"{field}.rle", "mask_runs", width=width, height=height)
        area = float(sum(runs[1::2]))
        if area < 1:
            raise GeometryError(f"{field}.rle", "mask_empty")
        out["rle"] = {"size": [height, width], "counts": rle["counts"]}
    return out


def rle_counts(text: str, field: str = "rle") -> list[int]:
    """COCO's compressed counts string decoded to run lengths (pycocotools' rleFrString, in Python)."""
    counts: list[int] = []
    p, n = 0, len(text)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise GeometryError(f"{field}.rle", "rle_short")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise GeometryError(f"{field}.rle", "rle_alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _exact(value, n: int, field: str) -> list:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise GeometryError(field, "count", n=n)
    return list(value)


# --- boxes, RLE, overlap --------------------------------------------------------------------------------

def bbox_of(obj: dict) -> list[float]:
    """The axis-aligned [x, y, w, h] around any object (COCO's ``bbox``)."""
    kind = obj["type"]
    if kind == "box":
        return list(obj["bbox"])
    if kind == "mask":
        return [float(v) for v in _mask_utils().toBbox(to_rle(obj, *reversed(obj["rle"]["size"])))]
    if kind == "rbox":
        pts = rbox_corners(obj["rbox"])
    elif kind == "keypoints":
        pts = [p for p in obj["keypoints"] if p[2]]
    else:
        pts = obj["points"]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def to_rle(obj: dict, width: int, height: int):
    """The object as a pycocotools RLE (compressed counts as bytes)."""
    mask = _mask_utils()
    kind = obj["type"]
    if kind == "mask":
        counts = obj["rle"]["counts"]
        return {"size": list(obj["rle"]["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
    if kind == "box":
        x, y, w, h = obj["bbox"]
        flat = [x, y, x + w, y, x + w, y + h, x, y + h]
    elif kind == "rbox":
        flat = [c for p in rbox_corners(obj["rbox"]) for c in p]
    elif kind == "polygon":
        flat = [c for p in obj["points"] for c in p]
    else:
        raise ValueError(f"a {kind} has no area")
    return mask.merge(mask.frPyObjects([flat], height, width))


def area_of(obj: dict, width: int, height: int) -> float:
    if obj["type"] == "box":
        return float(obj["bbox"][2] * obj["bbox"][3])
    if obj["type"] in ("polygon", "rbox", "mask"):
        return float(_mask_utils().area(to_rle(obj, width, height)))
    box = bbox_of(obj)
    return float(box[2] * box[3])


def similarity_matrix(a: list[dict], b: list[dict], width: int, height: int, *,
                      sigmas: Sequence[float] | None = None) -> np.ndarray:
    """Pairwise similarity in [0, 1]: IoU for areas (pycocotools), OKS for keypoints, 0 across shapes.

    Boxes use pycocotools' box IoU; polygons, rotated boxes and masks their RLE IoU; polylines the IoU
    of their bounding boxes (a line has no area: a coarse but symmetric measure).
    """
    out = np.zeros((len(a), len(b)))
    if not a or not b:
        return out
    mask = _mask_utils()
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, o in enumerate(a):
        groups.setdefault(_family(o), ([], []))[0].append(i)
    for j, o in enumerate(b):
        groups.setdefault(_family(o), ([], []))[1].append(j)
    for family, (ia, ib) in groups.items():
        if not ia or not ib:
            continue
        if family == "keypoints":
            for i in ia:
                for j in ib:
                    out[i, j] = oks(a[i], b[j], sigmas=sigmas)
            continue
        if family in ("box", "polyline"):
            da = np.array([bbox_of(a[i]) for i in ia], dtype=np.float64)
            db = np.array([bbox_of(b[j]) for j in ib], dtype=np.float64)
        else:
            da = [to_rle(a[i], width, height) for i in ia]
            db = [to_rle(b[j], width, height) for j in ib]
        ious = np.asarray(mask.iou(da, db, [0] * len(ib)), dtype=np.float64).reshape(len(ia), len(ib))
        out[np.ix_(ia, ib)] = ious
    return out


def _family(obj: dict) -> str:
    """Shapes compared with each other: rotated boxes, polygons and masks are all regions."""
    kind = obj["type"]
    return "region" if kind in ("rbox", "polygon", "mask") else kind


def oks(a: dict, b: dict, *, sigmas: Sequence[float] | None = None) -> float:
    """COCO's object keypoint similarity of ``b`` against ``a`` (``a``'s visible points and scale)."""
    ka, kb = np.asarray(a["keypoints"], dtype=np.float64), np.asarray(b["keypoints"], dtype=np.float64)
    if ka.shape != kb.shape:
        return 0.0
    n = ka.shape[0]
    sig = np.asarray(sigmas if sigmas is not None and len(sigmas) == n else
                     (COCO_PERSON_SIGMAS if n == 17 else [DEFAULT_SIGMA] * n), dtype=np.float64) / 10.0
    both = (ka[:, 2] > 0) & (kb[:, 2] > 0)
    shown = ka[:, 2] > 0
    if not shown.any():
        return 0.0
    box = bbox_of(a)
    scale = max(box[2] * box[3], 1.0)  # COCO uses the segment area; the keypoints' box stands in
    d2 = ((ka[:, 0] - kb[:, 0]) ** 2 + (ka[:, 1] - kb[:, 1]) ** 2)
    e = d2 / ((2 * sig) ** 2 * scale * 2)
    # A point one side marked and the other left out counts as a miss.
    return float(np.exp(-e[both]).sum() / shown.sum())


def hungarian(sim: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Maximum-similarity one-to-one pairs (scipy's linear_sum_assignment), keeping those >= threshold."""
    if sim.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # loaded where matching runs

    rows, cols = linear_sum_assignment(sim, maximize=True)
    return [(int(r), int(c), float(sim[r, c])) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= threshold]


# --- fusion ----------------------------------------------------------------------------------------------

def fuse(members: list[dict], weights: list[float], width: int, height: int) -> dict:
    """One consensus geometry for matched objects of one shape family.

    Boxes: weighted box fusion (coordinate-wise weighted mean, as Solovyev et al.'s WBF with the
    contributors' trust as the box scores); rotated boxes likewise with a circular mean of the angle;
    keypoints: weighted mean of each point over those who placed it (hidden if most did not); masks,
    polygons (as masks) and mixed regions: weighted pixel vote (a pixel is in when more than half the
    weight puts it there), stored as RLE; a polygon-only cluster keeps the polygon closest to that vote
    so the result stays a polygon; polylines: the member closest to the others.
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(len(members), 1 / len(members))
    kinds = {m["type"] for m in members}
    if kinds == {"box"}:
        boxes = np.array([[m["bbox"][0], m["bbox"][1], m["bbox"][0] + m["bbox"][2], m["bbox"][1] + m["bbox"][3]]
                          for m in members])
        x0, y0, x1, y1 = (float(v) for v in (w[:, None] * boxes).sum(axis=0))
        return {"type": "box", "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]}
    if kinds == {"rbox"}:
        arr = np.array([m["rbox"] for m in members], dtype=np.float64)
        cx, cy, bw, bh = (float(v) for v in (w[:, None] * arr[:, :4]).sum(axis=0))
        t = np.radians(arr[:, 4])
        angle = math.degrees(math.atan2((w * np.sin(t)).sum(), (w * np.cos(t)).sum()))
        return {"type": "rbox", "rbox": [round(v, 2) for v in (cx, cy, bw, bh, angle)]}
    if kinds == {"keypoints"}:
        arr = np.array([m["keypoints"] for m in members], dtype=np.float64)
        seen = arr[:, :, 2] > 0
        share = (w[:, None] * seen).sum(axis=0)
        out = []
        for k in range(arr.shape[1]):
            if share[k] <= 0.5:
                out.append([0, 0, 0])
                continue
            wk = w * seen[:, k]
            wk = wk / wk.sum()
            vis = 2 if (wk * (arr[:, k, 2] == 2)).sum() >= 0.5 else 1
            out.append([round(float((wk * arr[:, k, 0]).sum()), 2), round(float((wk * arr[:, k, 1]).sum()), 2), vis])
        return {"type": "keypoints", "keypoints": out}
    if kinds == {"polyline"}:
        sims = similarity_matrix(members, members, width, height)
        best = int(np.argmax((sims * w[None, :]).sum(axis=1)))
        return {"type": "polyline", "points": members[best]["points"]}
    voted = mask_vote(members, w, width, height)
    if kinds == {"polygon"}:
        mask = _mask_utils()
        ious = [float(mask.iou([to_rle(m, width, height)], [voted], [0])[0][0]) for m in members]
        return {"type": "polygon", "points": members[int(np.argmax(ious))]["points"]}
    return {"type": "mask", "rle": {"size": [height, width], "counts": voted["counts"].decode()}}


def mask_vote(members: list[dict], w: np.ndarray, width: int, height: int) -> dict:
    """Weighted pixel majority of regions, as an RLE; decoded only inside the members' joint box."""
    mask = _mask_utils()
    rles = [to_rle(m, width, height) for m in members]
    boxes = np.array([mask.toBbox(r) for r in rles])
    x0, y0 = int(boxes[:, 0].min()), int(boxes[:, 1].min())
    x1 = int(math.ceil((boxes[:, 0] + boxes[:, 2]).max()))
    y1 = int(math.ceil((boxes[:, 1] + boxes[:, 3]).max()))
    acc = np.zeros((max(y1 - y0, 1), max(x1 - x0, 1)), dtype=np.float64)
    for r, wi in zip(rles, w, strict=True):
        acc += wi * mask.decode(r)[y0:y1, x0:x1]
    full = np.zeros((height, width), dtype=np.uint8, order="F")
    full[y0:y1, x0:x1] = acc > 0.5
    return mask.encode(full)


def rle_from_mask(binary: np.ndarray) -> dict:
    """A 0/1 array (height, width) as the platform's stored RLE (counts as text)."""
    rle = _mask_utils().encode(np.asfortranarray(binary.astype(np.uint8)))
    return {"size": [int(binary.shape[0]), int(binary.shape[1])], "counts": rle["counts"].decode()}


def polygon_to_yolo(points: list[list[float]], width: int, height: int) -> list[float]:
    return [round(v / (width if i % 2 == 0 else height), 6) for p in points for i, v in enumerate(p)]


def mask_to_polygons(obj: dict, width: int, height: int) -> list[list[float]]:
    """A mask's outer boundary as polygons (flat x,y lists), for formats that have no RLE (YOLO, VOC).

    Traces with a marching-squares-free method: each connected run's outline is approximated by the
    convex hull of its boundary pixels (scipy), enough for a training label; the RLE stays the truth.
    """
    from scipy import ndimage
    from scipy.spatial import ConvexHull

    binary = _mask_utils().decode(to_rle(obj, width, height))
    labels, n = ndimage.label(binary)
    out = []
    for k in range(1, n + 1):
        ys, xs = np.nonzero(labels == k)
        if xs.size < 3:
            continue
        pts = np.column_stack([np.concatenate([xs, xs + 1]), np.concatenate([ys, ys + 1])]).astype(np.float64)
        try:
            hull = ConvexHull(pts)
        except Exception:  # noqa: BLE001 - collinear pixels: no polygon for this piece
            continue
        out.append([float(v) for i in hull.vertices for v in pts[i]])
    return out
