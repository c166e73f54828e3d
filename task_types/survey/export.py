"""Wide survey exports: one row per submission, one column per question, a codebook, GeoJSON, photos.

The export engine's layouts have one fixed Arrow schema per layout; a survey's columns depend on its
form, so surveys and field visits are exported here into one zip:

- ``submissions.csv`` or ``submissions.parquet``: a row per submission; a select_multiple becomes one 0/1
  column per choice (``drinks_coffee``), a rank one column per position, a geopoint ``_lat``/``_lon``;
- ``repeat_<name>.csv|parquet``: a row per repeat entry with its ``submission_id`` (as ODK's tools do);
- ``codebook.csv``: variable, question, type, choices and labels in Vietnamese and English;
- field visits: the place and check-in columns, ``visits.geojson`` (one point per check-in, the place
  and distance as properties) and the photos under ``media/``.

Column names are SPSS-friendly: letters, digits and ``_``, starting with a letter, at most 64 characters,
not an SPSS keyword, unique (a suffix when two would collide).
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import orjson

from . import form as forms

SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
BASE_COLUMNS = ["submission_id", "item_id", "external_id", "contributor_id", "submitted_at"]
VISIT_COLUMNS = ["place_name", "place_lat", "place_lon", "checkin_lat", "checkin_lon", "checkin_accuracy_m",
                 "checkin_at", "distance_m", "outside_geofence", "outside_reason", "flags"]


class Names:
    """SPSS-friendly, unique column names."""

    def __init__(self):
        self.taken: set[str] = set()

    def __call__(self, raw: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]", "_", raw)
        if not name or not name[0].isalpha():
            name = "v_" + name
        name = name[:60]
        if name.upper() in SPSS_RESERVED:
            name += "_"
        base, n = name, 1
        while name.lower() in self.taken:
            n += 1
            name = f"{base[:60 - len(str(n))]}_{n}"
        self.taken.add(name.lower())
        return name


def _label(obj, lang: str) -> str:
    if not obj:
        return ""
    if isinstance(obj, str):
        return obj
    return obj.get(lang) or obj.get("default") or ""


def plan(questions: list[dict], names: Names) -> list[tuple[str, dict, str | None]]:
    """(column, question, choice-or-part) for each column the questions spread over."""
    cols = []
    for q, _repeat in forms.walk(questions):
        if q["type"] in ("group", "note", "repeat"):
            continue
        if q["type"] == "select_multiple":
            cols += [(names(f"{q['name']}_{c['name']}"), q, c["name"]) for c in q["choices"]]
        elif q["type"] == "rank":
            cols += [(names(f"{q['name']}_{i + 1}"), q, str(i)) for i in range(len(q["choices"]))]
        elif q["type"] == "geopoint":
            cols += [(names(f"{q['name']}_lat"), q, "lat"), (names(f"{q['name']}_lon"), q, "lon")]
        else:
            cols.append((names(q["name"]), q, None))
    return cols


def _top_level(questions: list[dict]) -> list[dict]:
    """Questions outside repeats (groups flattened)."""
    out = []
    for q in questions:
        if q["type"] == "group":
            out += _top_level(q.get("children") or [])
        elif q["type"] != "repeat":
            out.append(q)
    return out


def _repeats(questions: list[dict]) -> list[dict]:
    return [q for q, _r in forms.walk(questions) if q["type"] == "repeat"]


def cell(q: dict, part: str | None, answers: dict):
    value = answers.get(q["name"])
    if q["type"] == "select_multiple":
        return None if value is None else int(part in value)
    if q["type"] == "rank":
        return value[int(part)] if isinstance(value, list) and int(part) < len(value) else None
    if q["type"] == "geopoint":
        return value.get(part) if isinstance(value, dict) else None
    return value


def codebook_rows(form: dict, columns: list[tuple[str, dict, str | None]]) -> list[dict]:
    rows = []
    for column, q, part in columns:
        choices = q.get("choices") or []
        rows.append({
            "variable": column, "question": q["name"], "type": q["type"], "part": part or "",
            "label_vi": _label(q.get("label"), "vi"), "label_en": _label(q.get("label"), "en"),
            "choices_vi": "; ".join(f"{c['name']}={_label(c.get('label'), 'vi')}" for c in choices),
            "choices_en": "; ".join(f"{c['name']}={_label(c.get('label'), 'en')}" for c in choices),
            "relevant": q.get("relevant", ""), "constraint": q.get("constraint", ""),
        })
    return rows


def _csv_bytes(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel and SPSS read UTF-8 with a BOM as UTF-8
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def _parquet_bytes(header: list[str], rows: list[list]) -> bytes:
    import pyarrow as pa  # heavy library: the export worker loads it, not every web process
    import pyarrow.parquet as pq

    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in header]
    arrays = []
    for col in columns:
        values = list(col)
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int, bool}:
            arrays.append(pa.array(values, type=pa.int64()))
        elif kinds <= {int, float, bool}:
            arrays.append(pa.array([None if v is None else float(v) for v in values], type=pa.float64()))
        else:
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    out = io.BytesIO()
    pq.write_table(pa.table(arrays, names=header), out, compression="zstd")
    return out.getvalue()


def export_campaign(campaign, path: Path, *, fmt: str = "csv", include_media: bool = True) -> dict:
    """Write the campaign's submissions as a zip at ``path``; the counts written."""
    from django.core.files.storage import default_storage  # media are copied from storage into the zip

    from annotations.models import Annotation

    form = campaign.config["form"]
    is_visit = campaign.task_type == "field_visit"
    names = Names()
    for base in BASE_COLUMNS + (VISIT_COLUMNS if is_visit else []):
        names(base)
    columns = plan(_top_level(form["questions"]), names)
    repeat_plans = {r["name"]: plan(r.get("children") or [], Names()) for r in _repeats(form["questions"])}
    max_photos = int(campaign.config.get("max_photos", 0)) if is_visit else 0
    photo_cols = [names(f"photo_{i + 1}") for i in range(max_photos)]
    header = BASE_COLUMNS + (VISIT_COLUMNS if is_visit else []) + [c for c, _q, _p in columns] + photo_cols
    rows, repeat_rows = [], {name: [] for name in repeat_plans}
    features, media = [], []
    records = (Annotation.objects.filter(campaign=campaign).order_by("id")
               .values_list("id", "item_id", "item__external_id", "contributor_id", "created_at", "payload",
                            "item__payload"))
    for ann_id, item_id, external_id, contributor_id, created_at, payload, item_payload in records.iterator(chunk_size=2000):
        answers = payload.get("answers") or {}
        row = [ann_id, item_id, external_id, contributor_id, created_at.isoformat()]
        if is_visit:
            place, checkin = item_payload.get("place") or {}, payload.get("checkin") or {}
            row += [place.get("name"), place.get("lat"), place.get("lon"), checkin.get("lat"), checkin.get("lon"),
                    checkin.get("accuracy"), checkin.get("at"), checkin.get("distance_m"),
                    int(bool(checkin.get("outside"))), checkin.get("outside_reason"), " ".join(payload.get("flags") or [])]
            if checkin.get("lat") is not None:
                features.append({"type": "Feature",
                                 "geometry": {"type": "Point", "coordinates": [checkin["lon"], checkin["lat"]]},
                                 "properties": {"submission_id": ann_id, "item_id": item_id, "place": place.get("name"),
                                                "accuracy_m": checkin.get("accuracy"),
                                                "distance_m": checkin.get("distance_m"), "at": checkin.get("at"),
                                                "outside_geofence": bool(checkin.get("outside"))}})
        row += [cell(q, part, answers) for _c, q, part in columns]
        photos = [k for k in payload.get("photos") or [] if isinstance(k, str) and not k.startswith("data:")]
        archived = [f"media/{ann_id}_{i + 1}_{Path(k).name}" for i, k in enumerate(photos)]
        media += list(zip(photos, archived, strict=True))
        row += (archived + [None] * max_photos)[:max_photos]
        rows.append(row)
        for name, cols in repeat_plans.items():
            for i, entry in enumerate(answers.get(name) or []):
                repeat_rows[name].append([ann_id, i + 1] + [cell(q, part, entry) for _c, q, part in cols])
    write = _parquet_bytes if fmt == "parquet" else _csv_bytes
    ext = "parquet" if fmt == "parquet" else "csv"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"submissions.{ext}", write(header, rows))
        for name, cols in repeat_plans.items():
            z.writestr(f"repeat_{name}.{ext}", write(["submission_id", "entry"] + [c for c, _q, _p in cols],
                                                     repeat_rows[name]))
        book = codebook_rows(form, columns)
        z.writestr("codebook.csv", _csv_bytes(list(book[0].keys()) if book else ["variable"],
                                              [list(r.values()) for r in book]))
        if is_visit:
            z.writestr("visits.geojson", orjson.dumps({"type": "FeatureCollection", "features": features}))
        if include_media:
            for key, arcname in media:
                if default_storage.exists(key):
                    with default_storage.open(key, "rb") as fh:
                        z.writestr(zipfile.ZipInfo(arcname), fh.read(), compress_type=zipfile.ZIP_STORED)
    return {"submissions": len(rows), "columns": len(header), "photos": len(media)}
