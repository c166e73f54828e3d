"""XLSForm (.xlsx/.xls, the ODK/KoboToolbox spreadsheet) -> the platform's survey form.

pyxform reads the workbook and checks it the way ODK's tools do (``xls2xform.convert``: unknown
question types, missing choice lists, bad headers...); its message is passed on with the row it names,
or the row we find for the question it names. Its JSON is then mapped onto ``form.py``'s shape:
labels keyed by language code (``label::Vietnamese (vi)`` -> ``vi``), ``select one`` ->
``select_one``, bind columns (relevant, constraint, required, calculation) lifted, and the result
checked again by ``form.check_form`` (which catches what pyxform alone lets through, such as circular
relevance: ODK Validate, a Java tool, is not run here).
"""
from __future__ import annotations

import os
import re
import tempfile

from django.utils.translation import gettext

from core.schema import SchemaError

from .form import check_form

TYPE_MAP = {
    "select one": "select_one", "select all that apply": "select_multiple", "rank": "rank",
    "integer": "integer", "int": "integer", "decimal": "decimal", "text": "text", "string": "text",
    "date": "date", "time": "time", "geopoint": "geopoint", "image": "image", "photo": "image",
    "audio": "audio", "barcode": "barcode", "note": "note", "calculate": "calculate",
    "group": "group", "repeat": "repeat", "dateTime": "datetime", "datetime": "datetime", "video": "video",
    "acknowledge": "acknowledge", "trigger": "acknowledge",
}
# Metadata ODK fills in by itself (start time, device id, instance id): not questions for a contributor.
METADATA = {"start", "end", "today", "deviceid", "phonenumber", "username", "email", "simserial",
            "subscriberid", "audit", "start-geopoint", "background-geopoint", "uri:deviceid", "uri:username",
            "uri:email", "uri:phonenumber", "uri:subscriberid", "uri:simserial"}
LANG_NAMES = {"vietnamese": "vi", "tiếng việt": "vi", "english": "en", "default": "default"}
ROW_RE = re.compile(r"\[row\s*:\s*(\d+)\]")


def language_code(key: str) -> str:
    """``English (en)`` -> ``en``; ``english`` -> ``en``; anything else as written."""
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z]+)?)\)\s*$", key)
    if m:
        return m.group(1).lower()
    return LANG_NAMES.get(key.strip().lower(), key.strip())


def _langs(value) -> dict[str, str] | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return {"default": value}
    return {language_code(k): str(v) for k, v in value.items()}


def _row_of(data: bytes, suffix: str, name: str, column: str = "type") -> int | None:
    """The survey sheet row whose ``column`` cell equals ``name`` (for messages pyxform gives no row)."""
    try:
        if suffix == ".xls":
            import xlrd  # pyxform's own dependency, loaded only to point at a row

            sheet = xlrd.open_workbook(file_contents=data).sheet_by_name("survey")
            rows = [sheet.row_values(i) for i in range(sheet.nrows)]
        else:
            import io

            import openpyxl  # pyxform's own dependency, loaded only to point at a row

            sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["survey"]
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    except Exception:  # the row is a courtesy; pyxform's message stands without it
        return None
    if not rows:
        return None
    header = [str(h or "").strip().lower() for h in rows[0]]
    if column not in header:
        return None
    col = header.index(column)
    for i, row in enumerate(rows[1:], start=2):
        if col < len(row) and str(row[col] or "").strip() == name:
            return i
    return None


def convert(data: bytes, filename: str = "form.xlsx") -> dict:
    """Convert an uploaded XLSForm; SchemaError("xlsform", pyxform's message with its row) when refused."""
    from pyxform.errors import PyXFormError  # heavy: loaded when a form is imported, not in every process
    from pyxform.xls2json import parse_file_to_json
    from pyxform.xls2xform import convert as xls2xform

    suffix = os.path.splitext(filename)[1].lower()
    if suffix not in (".xlsx", ".xls"):
        raise SchemaError("xlsform", gettext("An XLSForm must be an .xlsx or .xls file."))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "form" + suffix)
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            xls2xform(xlsform=path)  # every check pyxform makes when building the XForm
            raw = parse_file_to_json(path)
        except PyXFormError as exc:
            message = str(exc)
            if not ROW_RE.search(message):
                m = re.search(r"Unknown question type '([^']+)'", message)
                row = _row_of(data, suffix, m.group(1)) if m else None
                if row:
                    message = f"[row : {row}] {message}"
            raise SchemaError("xlsform", message) from exc
        except Exception as exc:  # a file that is not a workbook at all
            raise SchemaError("xlsform", gettext("This file is not a readable XLSForm (%(why)s).") % {
                "why": str(exc)[:200] or type(exc).__name__}) from exc
    form = {"title": raw.get("title") or raw.get("name") or "", "id_string": raw.get("id_string", ""),
            "questions": _questions(raw.get("children") or [])}
    languages = sorted({lang for q in _all(form["questions"]) for lang in (q.get("label") or {})})
    form["languages"] = [lang for lang in ("vi", "en") if lang in languages] + \
        [lang for lang in languages if lang not in ("vi", "en")]
    return check_form(form)


def _all(questions):
    for q in questions:
        yield q
        yield from _all(q.get("children") or [])


def _questions(children: list[dict]) -> list[dict]:
    out = []
    for child in children:
        ptype = child.get("type", "")
        if child.get("name") == "meta" and (child.get("control") or {}).get("bodyless"):
            continue
        if ptype in METADATA:
            continue
        qtype = TYPE_MAP.get(ptype)
        if qtype is None:
            raise SchemaError(f"form.questions.{child.get('name')}", gettext(
                "Question %(name)s has a type the platform does not support: %(type)s.") % {
                "name": child.get("name"), "type": ptype})
        bind = child.get("bind") or {}
        control = child.get("control") or {}
        q: dict = {"name": child["name"], "type": qtype}
        for key, value in (("label", child.get("label")), ("hint", child.get("hint")),
                           ("required_message", bind.get("jr:requiredMsg")),
                           ("constraint_message", bind.get("jr:constraintMsg"))):
            langs = _langs(value)
            if langs:
                q[key] = langs
        if not q.get("label") and qtype not in ("calculate",):
            q["label"] = {"default": child["name"]}
        if str(bind.get("required", "")).strip().lower() in ("yes", "true", "true()", "1"):
            q["required"] = True
        for src, dst in (("relevant", "relevant"), ("constraint", "constraint"), ("calculate", "calculation")):
            if bind.get(src):
                q[dst] = str(bind[src])
        if child.get("choice_filter"):
            q["choice_filter"] = str(child["choice_filter"])
        if control.get("appearance"):
            q["appearance"] = str(control["appearance"])
        if control.get("jr:count"):
            q["repeat_count"] = str(control["jr:count"])
        if qtype in ("select_one", "select_multiple", "rank"):
            q["list_name"] = child.get("list_name") or child.get("itemset") or ""
            q["choices"] = [
                {**{k: v for k, v in c.items() if k not in ("label", "media")},
                 "label": _langs(c.get("label")) or {"default": c["name"]}}
                for c in child.get("choices") or []
            ]
        if qtype in ("group", "repeat"):
            q["children"] = _questions(child.get("children") or [])
        out.append(q)
    return out
