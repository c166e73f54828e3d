"""Import of media items from a zip: a manifest (JSONL or CSV) plus the images/audio it names.

The zip is checked before anything is stored: every member name must stay inside the archive (no
absolute paths, no '..', no backslashes: zip-slip), every file a manifest line names must be in the
zip and decode as an image or audio. Any problem: nothing is stored and the report names the line.
Then each file is stored through the assets app (``assets.services.campaign_media_key``), the
manifest's references are replaced by storage keys, and the rewritten manifest goes through the same
import service as any JSONL file.
"""
from __future__ import annotations

import io
import json
import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.schema import SchemaError
from tasks.importing import RESERVED_KEYS, LineError, keep_error, records_from

from .services import campaign_media_key

MEDIA_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp",
                    ".wav", ".mp3", ".ogg", ".oga", ".opus", ".webm", ".flac", ".m4a")
MANIFEST_NAMES = ("manifest.jsonl", "manifest.ndjson", "manifest.json", "manifest.csv")
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 50 * 1024 * 1024


@dataclass
class ZipPlan:
    """The outcome of checking a zip: a rewritten JSONL manifest, or the errors found."""

    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    jsonl: bytes = b""
    stored_keys: list[str] = field(default_factory=list)
    kept_chars: int = 0

    def add(self, error: LineError) -> None:
        keep_error(self, error)


def unsafe_member_name(name: str) -> bool:
    """True for names that would escape the extraction folder or are ambiguous across systems."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.split("/"))


def _media_refs(value, path: str):
    """(field path, reference) for every string in a payload that names a media file."""
    if isinstance(value, str):
        if value.lower().endswith(MEDIA_EXTENSIONS):
            yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _media_refs(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _media_refs(inner, f"{path}[{i}]")


def _replace_refs(value, mapping: dict[str, str]):
    if isinstance(value, str):
        return mapping.get(posixpath.normpath(value.lstrip("./")) if value else value, value)
    if isinstance(value, dict):
        return {k: _replace_refs(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_refs(v, mapping) for v in value]
    return value


class _MemberUnreadable(Exception):
    pass


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, at most MAX_MEMBER_BYTES; a member whose content does not match its header
    (larger than declared, bad CRC, truncated, unknown compression) raises _MemberUnreadable."""
    try:
        with archive.open(info) as src:
            data = src.read(MAX_MEMBER_BYTES + 1)
            if len(data) > MAX_MEMBER_BYTES:
                raise _MemberUnreadable
            src.read(1)  # reach the end, where the CRC is checked
        return data
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as exc:
        raise _MemberUnreadable from exc


def plan_zip_import(*, campaign, stream, uploaded_by=None) -> ZipPlan:
    """Check a media zip and, when it is sound, store its files and return the rewritten manifest."""
    plan = ZipPlan()
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SchemaError("file", _("This is not a readable zip file.")) from exc
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SchemaError("file", _("The zip holds more than %(n)d files.") % {"n": MAX_MEMBERS})
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if unsafe_member_name(info.filename):
            plan.add(LineError(0, "file", _("Unsafe path in the zip: %(name)r (absolute, '..' or backslash); "
                                            "nothing was imported.") % {"name": info.filename[:200]}))
            continue
        if not info.is_dir():
            members[posixpath.normpath(info.filename)] = info
    if plan.error_count:
        return plan
    manifest_name = next((n for n in MANIFEST_NAMES if n in members), None)
    if manifest_name is None:
        raise SchemaError("file", _("The zip has no manifest: add manifest.jsonl or manifest.csv at its root."))
    fmt = "csv" if manifest_name.endswith(".csv") else "jsonl"
    records: list[tuple[int, dict]] = []
    needed: dict[str, tuple[int, str]] = {}  # zip name -> (first line, field) naming it
    try:
        _plan_records(archive, members, manifest_name, fmt, plan, records, needed)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise SchemaError("file", _("The zip member %(name)s is damaged or does not match its declared size; "
                                    "nothing was imported.") % {"name": manifest_name}) from exc
    if plan.error_count:
        return plan
    return _store_media(archive, members, needed, records, plan, campaign=campaign, uploaded_by=uploaded_by)


def _plan_records(archive, members, manifest_name, fmt, plan, records, needed) -> None:
    """Read the manifest: every line's record, and the zip files its payload names."""
    with archive.open(members[manifest_name]) as manifest:
        for line_no, record in records_from(io.BufferedReader(manifest), fmt):
            if isinstance(record, LineError):
                plan.add(record)
                continue
            payload = record.get("payload", {k: v for k, v in record.items() if k not in RESERVED_KEYS})
            for path, ref in _media_refs(payload, "payload"):
                name = posixpath.normpath(ref.lstrip("./")) if not ref.startswith("/") else ref
                if unsafe_member_name(ref) or unsafe_member_name(name):
                    plan.add(LineError(line_no, path, _("Unsafe file reference %(ref)r.") % {"ref": ref[:200]}))
                elif name not in members:
                    plan.add(LineError(line_no, path, _("The file %(ref)r is not in the zip.") % {"ref": ref[:200]}))
                else:
                    needed.setdefault(name, (line_no, path))
            records.append((line_no, record))


def _store_media(archive, members, needed, records, plan, *, campaign, uploaded_by) -> ZipPlan:
    """Decode every named file, then store them and rewrite the manifest with their storage keys."""
    from assets.decoding import MediaRefused, inspect_audio, inspect_image
    from assets.services import store_media

    # Decode every named file before storing any, so a bad one leaves nothing behind.
    kinds: dict[str, tuple] = {}
    for name, (line_no, path) in needed.items():
        info = members[name]
        if info.file_size > MAX_MEMBER_BYTES:
            plan.add(LineError(line_no, path, _("%(name)s is larger than %(mb)d MB.") % {
                "name": name, "mb": MAX_MEMBER_BYTES // (1024 * 1024)}))
            continue
        try:
            data = _read_member(archive, info)
        except _MemberUnreadable:
            plan.add(LineError(line_no, path, _("The zip member %(name)s is damaged or larger than its declared "
                                                "size.") % {"name": name}))
            continue
        try:
            image = inspect_image(data, field_name=path)
            kinds[name] = ("image", image.content_type, {"width": image.width, "height": image.height})
        except MediaRefused:
            try:
                audio = inspect_audio(data, field_name=path)
                kinds[name] = ("audio", audio.content_type, audio.as_dict())
            except MediaRefused:
                plan.add(LineError(line_no, path, _("%(name)s is neither a readable image nor readable audio.")
                                   % {"name": name}))
    if plan.error_count:
        return plan
    mapping: dict[str, str] = {}
    for name, (kind, content_type, info) in kinds.items():
        safe = "/".join(part.replace(" ", "_") for part in name.split("/"))
        asset = store_media(key=campaign_media_key(campaign.pk, safe), data=_read_member(archive, members[name]),
                            kind=kind, content_type=content_type, info=info, campaign=campaign,
                            uploaded_by=uploaded_by)
        mapping[name] = asset.key
        plan.stored_keys.append(asset.key)
    out = io.BytesIO()
    for _line_no, record in records:
        out.write(json.dumps(_replace_refs(record, mapping), ensure_ascii=False).encode())
        out.write(b"\n")
    plan.jsonl = out.getvalue()
    return plan
