"""Vietnamese text: syllables, diacritics, and whether a text is Vietnamese written with or without them.

The platform's one implementation: the labelling pages' warnings (sft, ocr), the authenticity features and
the evaluation script all ask here. Stripped text ("toi khong biet") is recognised against pyvi's dictionary of
Vietnamese syllables with their marks removed.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from core.schema import normalize_text

WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Every lower-case letter that carries a Vietnamese diacritic or tone mark (NFC), and đ.
VI_MARKED = frozenset("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")


def clean(text: str) -> str:
    """NFC + invisible-character stripping: the platform's one normaliser (core.schema.normalize_text)."""
    return normalize_text(text or "")


def syllables(text: str) -> list[str]:
    """Lower-cased word tokens split on whitespace and punctuation (Vietnamese: one per syllable)."""
    return [m.group(0).lower() for m in WORD_RE.finditer(clean(text))]


def has_vietnamese_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic or tone mark."""
    return any(c in VI_MARKED for c in clean(text).lower())


def vietnamese_share(text: str) -> float:
    """Share of a text's letters that carry a Vietnamese diacritic or tone mark (English text: about 0)."""
    letters = [c for c in clean(text).lower() if c.isalpha()]
    return sum(c in VI_MARKED for c in letters) / len(letters) if letters else 0.0


def strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=1)
def _stripped_syllables() -> frozenset[str]:
    """Every Vietnamese syllable of pyvi's dictionary with its tone marks and diacritics removed."""
    import pyvi  # deferred on purpose: only the stripped-text check needs its dictionary

    out: set[str] = set()
    path = Path(pyvi.__file__).parent / "models" / "words.txt"
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            for syl in line.strip().lower().split():
                stripped = strip_diacritics(syl)
                if stripped.isascii() and stripped.isalpha():
                    out.add(stripped)
    # pyvi's list has a few English loans; these are English function words, not Vietnamese syllables.
    return frozenset(out - {"test", "the", "a"})


_EN_FUNCTION = frozenset(
    "the of and to in is are was were be been it that this for with on as at by from or an not have has "
    "you your we our they their he she his her will would can could should do does did what which who".split()
)


def is_vietnamese(text: str) -> bool:
    """Vietnamese with or without diacritics (a marked letter, or mostly stripped-Vietnamese syllables)."""
    text = clean(text)
    return has_vietnamese_diacritics(text) or is_stripped_vietnamese(text)


def is_stripped_vietnamese(text: str, *, min_syllables: int = 3) -> bool:
    """Whether the text is Vietnamese written without its diacritics ("toi khong biet"), wholly or mostly, so a
    contributor can be warned and the answer flagged. English, numbers and accented Vietnamese are False.

    In ordinary Vietnamese about a third of the syllables carry no mark ("anh", "con", "cho"); a text where
    80% or more of the words are unmarked Vietnamese syllables has lost its diacritics.
    """
    tokens = [t for t in syllables(clean(text)) if t.isalpha()]
    if len(tokens) < min_syllables:
        return False
    known = _stripped_syllables()
    unmarked = sum(1 for t in tokens if t.isascii() and t in known)
    # English function words that are not also Vietnamese syllables ("an", "in", "do" are both).
    english = sum(1 for t in tokens if t in _EN_FUNCTION and t not in known)
    return unmarked >= min_syllables and unmarked / len(tokens) >= 0.8 and english / len(tokens) < 0.15


SEARCH_TEXT_MAX = 4000


def search_key(text: str) -> str:
    """The form both a stored text and a query take for search: lower case, no diacritics (đ → d), single
    spaces. "Nguyễn" and "nguyen" meet here, so a search typed on a phone without accents finds them."""
    return " ".join(strip_diacritics(clean(text).lower()).split())


def json_strings(value):
    """Every string inside a JSON value, depth first in document order (an item's texts, wherever its type
    keeps them)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list | tuple):
            stack.extend(reversed(node))


def searchable_text(value, *, limit: int = SEARCH_TEXT_MAX) -> str:
    """Every string inside a JSON value (an item's payload), joined and put in ``search_key`` form, cut at
    ``limit`` characters so the stored column and its trigram index stay small."""
    parts: list[str] = []
    size = 0
    for text in json_strings(value):
        key = search_key(text)
        if key:
            parts.append(key)
            size += len(key) + 1
            if size >= limit:
                break
    return " ".join(parts)[:limit]
