"""What the media task types share (OCR, image annotation, speech): the media-key pattern and the no-diacritics check.

Also here: ``vi_input.js`` and ``diacritics_helper.html`` (the on-screen Vietnamese tone keys and the
no-diacritics warning of OCR and speech transcription) and ``media.css`` (their styles). Not a type
itself: it exports no ``task_type``.
"""
from __future__ import annotations

from django.utils.translation import gettext

from assets.decoding import KEY_RE
from core.vietnamese import has_vietnamese_diacritics
from tasks.types import SchemaError

KEY_PATTERN = KEY_RE.pattern  # the one media-key pattern, as JSON Schema's "pattern" for item schemas

# An image item's own properties (OCR and image annotation): the media key and its optional pixel size.
IMAGE_ITEM_PROPERTIES = {
    "image": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250},
    "width": {"type": "integer", "minimum": 1, "maximum": 100000},
    "height": {"type": "integer", "minimum": 1, "maximum": 100000},
}


def check_diacritics(text: str, field: str, *, config: dict, confirmed: bool) -> None:
    """Refuse a Vietnamese transcription with words but no diacritic at all, unless confirmed."""
    if config.get("language", "vi") != "vi" or not config.get("warn_no_diacritics", True) or confirmed:
        return
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if len(words) >= 3 and not has_vietnamese_diacritics(text):
        raise SchemaError(field, gettext(
            "This Vietnamese text has no diacritics (dấu) at all. Please check it; if the document really has "
            "none, tick “The document really has no diacritics”."))
