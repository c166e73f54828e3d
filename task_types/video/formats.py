"""Track formats: MOT ``gt.txt`` (boxes) and CVAT for video 1.1 XML (box, polygon, polyline, points),
written from tracks and read back into tracks (pre-annotations, or a team's existing data).

Readers return ``(tracks, skipped)`` where ``skipped`` names what the platform cannot hold (a CVAT
``mask`` or ``cuboid`` track) instead of dropping it silently; every refusal is an ``ImportRefused``
naming the file and line or track. Frames: MOT counts from 1, CVAT and the platform from 0.
Reader output goes through ``tracks.check_tracks`` (the page's own checks) once the clip size is known.
"""
from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

from task_types.image.formats import ImportRefused

from .tracks import expand, simplify

# --- MOT -------------------------------------------------------------------------------------------------

def write_mot(tracks: list[dict], labels: list[str], out: Path, *, frame_count: int, width: int, height: int,
              fps: float, name: str = "sequence") -> dict:
    """``gt/gt.txt`` (frame, id, x, y, w, h, 1, class, visibility), ``gt/labels.txt``, ``seqinfo.ini``.

    Every visible frame of every track is a line (MOT has no keyframes); polygons and points are written
    as their bounding box. Visibility is 1.0, or 0.25 when the frame is marked occluded."""
    from task_types.image.geometry import bbox_of

    from .tracks import image_object

    (out / "gt").mkdir(parents=True, exist_ok=True)
    cls = {name: i + 1 for i, name in enumerate(labels)}
    lines = []
    for tid, track in enumerate(tracks, start=1):
        for s in expand(track, frame_count):
            if s["outside"]:
                continue
            geometry = s["box"] if track["shape"] == "box" else bbox_of(image_object(track["shape"], s["points"]))
            x, y, w, h = geometry
            lines.append((s["frame"] + 1, tid, f"{s['frame'] + 1},{tid},{_n(x)},{_n(y)},{_n(w)},{_n(h)},1,"
                                               f"{cls.get(track.get('label', ''), 0)},{0.25 if s['occluded'] else 1.0}"))
    lines.sort()
    (out / "gt" / "gt.txt").write_text("".join(line + "\n" for _f, _t, line in lines))
    (out / "gt" / "labels.txt").write_text("".join(f"{name}\n" for name in labels))
    (out / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nimDir=img1\nframeRate={fps:g}\n"
                                     f"seqLength={frame_count}\nimWidth={width}\nimHeight={height}\nimExt=.jpg\n")
    return {"lines": len(lines), "tracks": len(tracks)}


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def read_mot(text: str, labels: list[str], *, source: str = "gt.txt") -> tuple[list[dict], list[str]]:
    """Tracks from MOT lines: rows of one id become keyframes (dropped again where interpolation reproduces
    them), a gap in frames ends the track with an ``outside`` keyframe; id -1 (no identity) makes one
    single-frame track per row. Class numbers count from 1 into ``labels`` (labels.txt)."""
    by_id: dict[str, dict[int, dict]] = {}
    classes: dict[str, str] = {}
    lone = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{source}: line {n}"
        parts = line.split(",")
        if len(parts) < 6:
            raise ImportRefused(where, "a MOT line has at least frame, id, x, y, width, height")
        try:
            frame, tid = int(float(parts[0])), int(float(parts[1]))
            x, y, w, h = (float(p) for p in parts[2:6])
            cls = int(float(parts[7])) if len(parts) > 7 and parts[7].strip() else 1
            visibility = float(parts[8]) if len(parts) > 8 and parts[8].strip() else 1.0
        except ValueError as exc:
            raise ImportRefused(where, f"not a number ({str(exc)[:60]})") from exc
        if not all(math.isfinite(v) for v in (x, y, w, h, visibility)):
            raise ImportRefused(where, "a coordinate is not a finite number (NaN or infinity)")
        if frame < 1:
            raise ImportRefused(where, "MOT frames count from 1")
        if labels and not 1 <= cls <= len(labels):
            raise ImportRefused(where, f"class {cls} is not in labels.txt (1 to {len(labels)})")
        label = labels[cls - 1] if labels else str(cls)
        if tid < 0:
            lone += 1
            key = f"mot-lone-{lone}"
        else:
            key = f"mot-{tid}"
        if key in classes and classes[key] != label:
            raise ImportRefused(where, f"track {tid} changes class")
        classes[key] = label
        rows = by_id.setdefault(key, {})
        if frame - 1 in rows:
            raise ImportRefused(where, f"track {tid} has two boxes on frame {frame}")
        rows[frame - 1] = {"frame": frame - 1, "box": [x, y, w, h], "outside": False,
                           "occluded": visibility < 0.5, "attributes": {}}
    tracks = []
    for key, rows in by_id.items():
        keyframes = []
        for f in sorted(rows):
            if keyframes and f > keyframes[-1]["frame"] + 1:
                keyframes.append({**keyframes[-1], "frame": keyframes[-1]["frame"] + 1, "outside": True})
            keyframes.append(rows[f])
        last = keyframes[-1]
        keyframes.append({**last, "frame": last["frame"] + 1, "outside": True})  # MOT rows end where they end
        tracks.append(simplify({"id": key, "label": classes[key], "shape": "box", "keyframes": keyframes}))
    return tracks, []


# --- CVAT for video 1.1 -----------------------------------------------------------------------------------

CVAT_TAGS = {"box": "box", "polygon": "polygon", "polyline": "polyline", "points": "points"}


def write_cvat_video(tracks: list[dict], labels: list[dict], *, frame_count: int, width: int, height: int,
                     name: str = "video", source: str = "video.mp4") -> str:
    """CVAT for video 1.1: one ``<track>`` per track, its keyframes as shapes with ``keyframe="1"``
    (CVAT interpolates between them as the platform does); attributes as ``<attribute>`` children."""
    def attr_value(v) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    out = ['<?xml version="1.0" encoding="utf-8"?>', "<annotations>", "  <version>1.1</version>", "  <meta>",
           "    <task>", f"      <name>{_x(name)}</name>", f"      <size>{frame_count}</size>",
           "      <mode>interpolation</mode>", "      <start_frame>0</start_frame>",
           f"      <stop_frame>{max(0, frame_count - 1)}</stop_frame>", "      <labels>"]
    for lab in labels:
        out.append(f"        <label>\n          <name>{_x(lab['name'])}</name>\n          <attributes>")
        for a in lab.get("attributes") or []:
            out.append(f"            <attribute><name>{_x(a['key'])}</name><mutable>True</mutable>"
                       f"<input_type>{'checkbox' if a['kind'] == 'boolean' else 'select' if a['kind'] == 'select' else 'text'}"
                       f"</input_type><default_value></default_value>"
                       f"<values>{_x(chr(10).join(a.get('options') or []))}</values></attribute>")
        out.append("          </attributes>\n        </label>")
    out += ["      </labels>", "      <original_size>", f"        <width>{width}</width>",
            f"        <height>{height}</height>", "      </original_size>", "    </task>",
            f"    <source>{_x(source)}</source>", "  </meta>"]
    for tid, track in enumerate(tracks):
        tag = CVAT_TAGS[track["shape"]]
        out.append(f"  <track id={quoteattr(str(tid))} label={quoteattr(track.get('label', ''))}>")
        for kf in track["keyframes"]:
            common = (f'frame="{kf["frame"]}" outside="{int(kf["outside"])}" occluded="{int(kf["occluded"])}" '
                      f'keyframe="1"')
            if tag == "box":
                x, y, w, h = kf["box"]
                geometry = f'xtl="{x:.2f}" ytl="{y:.2f}" xbr="{x + w:.2f}" ybr="{y + h:.2f}"'
            else:
                geometry = "points=" + quoteattr(";".join(f"{p[0]:.2f},{p[1]:.2f}" for p in kf["points"]))
            attrs = "".join(f"\n      <attribute name={quoteattr(str(k))}>{_x(attr_value(v))}</attribute>"
                            for k, v in (kf.get("attributes") or {}).items())
            out.append(f'    <{tag} {common} {geometry} z_order="0">{attrs}\n    </{tag}>')
        out.append("  </track>")
    out.append("</annotations>")
    return "\n".join(out) + "\n"


def _x(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def read_cvat_video(text: str, *, source: str = "annotations.xml") -> tuple[list[dict], list[str], dict]:
    """Tracks from CVAT for video 1.1 XML; returns (tracks, skipped, meta) with meta's ``size``, ``width``,
    ``height``, ``labels``. Only ``keyframe="1"`` shapes are read (CVAT also dumps interpolated frames);
    ``<image>``-level shapes (annotation mode) and unsupported track shapes are listed in ``skipped``."""
    import defusedxml.ElementTree as SafeTree  # no entity expansion from an uploaded file

    from task_types.image.formats import _cvat_value, _float

    try:
        root = SafeTree.fromstring(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise ImportRefused(source, f"not readable XML ({str(exc)[:80]})") from exc
    task = root.find("meta/task")
    meta = {"labels": [lab.findtext("name", "") for lab in root.iterfind("meta/task/labels/label")]}
    if task is not None:
        meta.update({"size": int(task.findtext("size") or 0),
                     "width": int(task.findtext("original_size/width") or 0),
                     "height": int(task.findtext("original_size/height") or 0)})
    tracks, skipped = [], []
    for t in root.iter("track"):
        tid = t.get("id", str(len(tracks)))
        where = f"{source}: track {tid}"
        shapes = list(t)
        tags = {s.tag for s in shapes}
        if not shapes or len(tags) != 1 or next(iter(tags)) not in CVAT_TAGS:
            skipped.append(f"track {tid} ({', '.join(sorted(tags)) or 'empty'})")
            continue
        shape = CVAT_TAGS[next(iter(tags))]
        keyframes = []
        for k, s in enumerate(shapes):
            if s.get("keyframe", "1") != "1":
                continue
            kwhere = f"{where} {s.tag}[{k}]"
            try:
                frame = int(s.get("frame", ""))
            except ValueError as exc:
                raise ImportRefused(kwhere, "the frame is not a whole number") from exc
            kf = {"frame": frame, "outside": s.get("outside") == "1", "occluded": s.get("occluded") == "1",
                  "attributes": {a.get("name"): _cvat_value(a.text) for a in s.findall("attribute")}}
            if shape == "box":
                x0, y0, x1, y1 = (_float(s.get(n), kwhere) for n in ("xtl", "ytl", "xbr", "ybr"))
                kf["box"] = [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)]
            else:
                kf["points"] = [[_float(c, kwhere) for c in p.split(",")] for p in (s.get("points") or "").split(";")
                                if p]
                if any(len(p) != 2 for p in kf["points"]):
                    raise ImportRefused(kwhere, "points must be x,y pairs separated by ';'")
            keyframes.append(kf)
        if not keyframes:
            skipped.append(f"track {tid} (no keyframe)")
            continue
        tracks.append({"id": f"cvat-{tid}", "label": t.get("label", ""), "shape": shape, "keyframes": keyframes})
    skipped += [f"image {img.get('id')} shapes (annotation mode)" for img in root.iter("image") if len(img)]
    return tracks, skipped, meta
