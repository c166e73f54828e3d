"""Photos and recordings carried inside an answer as data URLs, checked then stored at submit.

A phone offline keeps the whole answer (photos included) in its outbox, so an answer carries its media
as ``data:<type>;base64,...`` and the server decodes it (``assets.decoding``: by content, never by the
declared type) when it validates the answer, and stores it in ``on_submit`` inside the submit
transaction: a refused answer stores nothing. Stored images are re-encoded without their EXIF block
(capture time and GPS kept in the answer, not in the published file).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re

from django.utils.translation import gettext

from assets.decoding import MediaRefused, inspect_audio, inspect_image

DATA_URL_RE = re.compile(r"^data:([a-z]+/[A-Za-z0-9.+\-]+)?(;[^,]*)?;base64,(.*)$", re.S)
MAX_INLINE_BYTES = 8 * 1024 * 1024


def is_data_url(value) -> bool:
    return isinstance(value, str) and value.startswith("data:")


def decode_data_url(value: str, field: str) -> bytes:
    m = DATA_URL_RE.match(value)
    if not m:
        raise MediaRefused(field, gettext("The file is not a base64 data URL."))
    try:
        data = base64.b64decode(m.group(3), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaRefused(field, gettext("The file is not valid base64.")) from exc
    if len(data) > MAX_INLINE_BYTES:
        raise MediaRefused(field, gettext("The file is too large (at most %(max)d MB).") % {
            "max": MAX_INLINE_BYTES // (1024 * 1024)})
    return data


def check_inline(value: str, field: str, kind: str) -> dict:
    """Decode and inspect one inline file; its facts (hashes, size, EXIF time) for the answer."""
    data = decode_data_url(value, field)
    if kind == "image":
        info = inspect_image(data, field_name=field)
        facts = {"kind": "image", "width": info.width, "height": info.height, "format": info.format,
                 "sha256": hashlib.sha256(data).hexdigest(), "dhash": dhash(data)}
        exif_time = exif_datetime(data)
        if exif_time:
            facts["exif_time"] = exif_time
        return facts
    if kind == "audio":
        info = inspect_audio(data, field_name=field)
        return {"kind": "audio", "duration_s": round(info.duration_s, 3), "sha256": hashlib.sha256(data).hexdigest()}
    raise MediaRefused(field, gettext("Files of this kind cannot be sent with an answer."))


def dhash(data: bytes, size: int = 8) -> str:
    """Difference hash (64 bits, hex): near-identical photos (re-saved, resized) share most bits."""
    from PIL import Image  # deferred: decoding happens only when an answer carries a photo

    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS)
        px = list(small.getdata())
    bits = 0
    for row in range(size):
        for col in range(size):
            left, right = px[row * (size + 1) + col], px[row * (size + 1) + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def exif_datetime(data: bytes) -> str | None:
    """The photo's EXIF DateTimeOriginal (or DateTime) as ISO text, None when absent."""
    from PIL import Image  # deferred, as above

    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            raw = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    except Exception:  # a photo without readable EXIF is normal (canvas captures have none)
        return None
    if not raw or not isinstance(raw, str):
        return None
    m = re.match(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})", raw)
    return f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:{m[6]}" if m else None


def without_exif(data: bytes) -> tuple[bytes, str, str]:
    """The image re-encoded without metadata: (bytes, extension, content type)."""
    from PIL import Image, ImageOps  # deferred, as above

    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF block gave
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P"):
            image.save(out, format="PNG")
            return out.getvalue(), "png", "image/png"
        image.convert("RGB").save(out, format="JPEG", quality=88)
        return out.getvalue(), "jpg", "image/jpeg"
