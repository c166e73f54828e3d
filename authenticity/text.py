"""Text features for authenticity: Vietnamese-aware tokens, lexical diversity, LLM-style stylometry, hygiene.

Pure functions (no database) so the scorer, the dataset report, the evaluation script and the labelling
pages' warnings share one implementation. Tokenisation: pyvi's CRF word segmenter joins the syllables of a
Vietnamese word ("Hà_Nội"), which is what lexical diversity should count; syllables (whitespace tokens) are
used for shingles and for diacritic-stripped detection.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from core.vietnamese import WORD_RE, clean, is_stripped_vietnamese, is_vietnamese, strip_diacritics, syllables


def words(text: str) -> list[str]:
    """Lower-cased words; Vietnamese multi-syllable words joined by pyvi's segmenter ("hà_nội")."""
    text = clean(text)
    if not text.strip():
        return []
    if is_vietnamese(text):
        from pyvi import ViTokenizer  # heavy library: loaded on first use, not in every web process

        segmented = ViTokenizer.tokenize(text[:20000])
        return [t.lower() for t in segmented.split() if WORD_RE.search(t.replace("_", "a"))]
    return syllables(text)


# --- lexical diversity ---------------------------------------------------------------------------------


def ttr(tokens: list[str]) -> float:
    return len(set(tokens)) / len(tokens) if tokens else 0.0


def _mtld_pass(tokens: list[str], threshold: float) -> float:
    factors, types, count = 0.0, set(), 0
    for tok in tokens:
        count += 1
        types.add(tok)
        if len(types) / count <= threshold:
            factors += 1
            types, count = set(), 0
    if count:
        factors += (1 - len(types) / count) / (1 - threshold)
    return len(tokens) / factors if factors else float(len(tokens))


def mtld(tokens: list[str], threshold: float = 0.72) -> float:
    """Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010), mean of the forward and backward pass."""
    if not tokens:
        return 0.0
    return (_mtld_pass(tokens, threshold) + _mtld_pass(tokens[::-1], threshold)) / 2


def distinct_n(tokens: list[str], n: int) -> float:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition(tokens: list[str], n: int = 3) -> float:
    """Share of word n-grams that occur more than once (copy-padded or looping text)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c for c in counts.values() if c > 1) / len(grams)


def compression_ratio(tokens: list[str]) -> float:
    """Raw size / zlib-compressed size of the text (Shaib et al. 2024): higher means more repeated wording."""
    import zlib

    raw = " ".join(tokens).encode("utf-8")
    return round(len(raw) / len(zlib.compress(raw, 9)), 4) if raw else 0.0


def self_bleu(texts: list[list[str]], limit: int = 60) -> float:
    """Mean BLEU-2 of each text against all the others (clipped 1- and 2-gram precision, no brevity penalty),
    over the first ``limit`` texts: higher means the texts resemble each other more. One pass over the
    n-gram totals (the others' counts are the total minus the text's own), so linear in the texts."""
    texts = [t for t in texts if len(t) >= 2][:limit]
    if len(texts) < 2:
        return 0.0
    grams = [(Counter(t), Counter(zip(t, t[1:], strict=False))) for t in texts]
    total1, total2 = Counter(), Counter()
    for c1, c2 in grams:
        total1.update(c1)
        total2.update(c2)
    scores = []
    for c1, c2 in grams:
        m1 = sum(min(n, total1[g] - n) for g, n in c1.items())
        m2 = sum(min(n, total2[g] - n) for g, n in c2.items())
        p1, p2 = m1 / sum(c1.values()), m2 / max(sum(c2.values()), 1)
        scores.append(math.sqrt(p1 * p2))
    return round(sum(scores) / len(scores), 4)


def diversity(tokens: list[str]) -> dict:
    return {
        "tokens": len(tokens),
        "ttr": round(ttr(tokens), 4),
        "mtld": round(mtld(tokens), 2),
        "distinct_1": round(distinct_n(tokens, 1), 4),
        "distinct_2": round(distinct_n(tokens, 2), 4),
        "repetition": round(repetition(tokens), 4),
    }


# --- language, stripped diacritics, scripts --------------------------------------------------------------


def _script_of(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "UNKNOWN"
    first = name.split(" ", 1)[0]
    if first in {"CJK", "HIRAGANA", "KATAKANA", "HANGUL"}:
        return first
    return first  # LATIN, CYRILLIC, GREEK, ARABIC, THAI, ...


def scripts(text: str) -> dict:
    """Letter scripts used and words that mix scripts (e.g. a Cyrillic 'о' inside a Latin word)."""
    text = clean(text)
    counts: Counter = Counter()
    mixed_words: list[str] = []
    for match in WORD_RE.finditer(text):
        word_scripts = {s for s in (_script_of(c) for c in match.group(0)) if s}
        for s in word_scripts:
            counts[s] += 1
        if len(word_scripts) > 1 and len(mixed_words) < 10:
            mixed_words.append(match.group(0))
    return {"scripts": dict(counts), "mixed_words": mixed_words}


def is_mixed_script(text: str) -> bool:
    """A word mixing scripts: Cyrillic or Greek look-alikes inside a Latin word (homoglyph spoofing that
    dodges copy detection and filters). Whole words in another script ("góc α", "Привет") are fine."""
    return bool(scripts(text)["mixed_words"])


# --- LLM-style stylometry ------------------------------------------------------------------------------

# (pattern, weight): phrases that chat assistants produce far more often than people typing an answer.
_STRONG = 0.35
_MEDIUM = 0.15
_STYLE_PATTERNS: list[tuple[str, float, re.Pattern]] = [
    (code, weight, re.compile(pattern, re.IGNORECASE | re.MULTILINE))
    for code, weight, pattern in [
        # English openings
        ("en_opening", _STRONG, r"^\W*(certainly|sure|absolutely|of course|great question)[!,.]"),
        ("en_here_is", _STRONG, r"^\W*here(?:'s| is| are) (?:a|an|the|some|several)\b"),
        ("en_as_ai", 0.8, r"\bas an ai\b|\bas a language model\b|\bi'?m an ai\b"),
        ("en_happy_to", _STRONG, r"\bi'?d be (?:happy|glad) to\b"),
        # English closings
        ("en_hope_helps", _STRONG, r"\bi hope (?:this|that|these) (?:helps|information|explanation|gives)\b"),
        ("en_let_me_know", _STRONG, r"\b(?:let me know|feel free to ask) if\b"),
        ("en_conclusion", _MEDIUM, r"^\W*(?:in conclusion|in summary|overall|to summarize|to sum up|ultimately),"),
        # English register
        ("en_note", _MEDIUM, r"\bit(?:'s| is) (?:important|worth|essential|crucial) to (?:note|remember|consider)\b"),
        ("en_connectives", _MEDIUM, r"^\W*(?:furthermore|additionally|moreover|however, it)\b"),
        ("en_vocab", _MEDIUM, r"\b(?:delve|tapestry|multifaceted|plays? a (?:crucial|vital|pivotal|key) role"
                              r"|a testament to|navigate the complexities|ever-evolving|comprehensive overview)\b"),
        # Vietnamese openings
        ("vi_opening", _STRONG, r"^\W*(chắc chắn rồi|tất nhiên rồi|dĩ nhiên rồi|câu hỏi rất hay|rất vui được)\b"),
        ("vi_here_is", _STRONG, r"^\W*(?:dưới đây là|sau đây là|đây là một số)\b"),
        ("vi_as_ai", 0.8, r"\blà một (?:mô hình ngôn ngữ|trí tuệ nhân tạo|trợ lý ai)\b"),
        # Vietnamese closings
        ("vi_hope_helps", _STRONG, r"\bhy vọng (?:những |các )?(?:thông tin|câu trả lời|gợi ý|chia sẻ)[^.\n]{0,40}"
                                   r"(?:hữu ích|giúp ích|có ích)"),
        ("vi_more_questions", _STRONG, r"\bnếu bạn (?:có|còn) (?:bất kỳ |thêm )?(?:câu hỏi|thắc mắc)"),
        ("vi_conclusion", _MEDIUM, r"^\W*(?:tóm lại|nhìn chung|tổng kết lại|kết luận)[,:]"),
        # Vietnamese register
        ("vi_note", _MEDIUM, r"\b(?:điều quan trọng là|cần lưu ý rằng|lưu ý rằng)\b"),
        ("vi_connectives", _MEDIUM, r"^\W*(?:ngoài ra|hơn nữa|bên cạnh đó|không những thế)[,]"),
        ("vi_vocab", _MEDIUM, r"\b(?:đóng (?:một )?vai trò (?:quan trọng|then chốt|thiết yếu)|một cách hiệu quả"
                              r"|một cách toàn diện|không chỉ\b[^.\n]{1,60}\bmà còn)\b"),
    ]
]

# Formal connectives and evaluative words that assistant prose leans on; dense use (not any single word) is
# the signal, so the score counts them per sentence.
_FORMAL = re.compile(
    r"\b(?:tuy nhiên|do đó|vì vậy|đồng thời|bao gồm|đảm bảo|nâng cao|góp phần|đa dạng|phong phú|độc đáo"
    r"|hài hòa|không thể thiếu|mang lại|thể hiện|đặc trưng|hiệu quả|cần thiết|khuyến nghị|nhìn chung"
    r"|additionally|moreover|furthermore|overall|significant(?:ly)?|essential|crucial|ensure|enhances?"
    r"|various|specific(?:ally)?|it is recommended|offers?|a blend of|delightful|charming|rewarding"
    r"|fundamental|in contrast|therefore|ultimately|individual preferences)\b",
    re.IGNORECASE,
)
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.MULTILINE)
_MARKDOWN = re.compile(r"\*\*[^*\n]{2,80}\*\*|^#{1,6}\s+\S", re.MULTILINE)
# What people typing quickly write and assistants almost never do.
_INFORMAL = re.compile(
    r"\b(?:ko|k|hok|hem|dc|đc|vs|mik|mk|tui|bn|ntn|j|z|zậy|nha|nhé|nhá|hen|hông|á|ạ|hả|hihi|haha|hehe|kkk+"
    r"|lol|btw|imo|tbh|gonna|wanna|kinda|yeah|nope|dunno|idk|u|ur|thx|pls|ok|oke|okie)\b"
    r"|[:;]-?[)(dpDP]|\.{3,}|!{2,}|\?{2,}|[\U0001F300-\U0001FAFF]",
    re.IGNORECASE,
)


def stylometry(text: str) -> dict:
    """LLM-style markers of one text: formulaic phrases, list and markdown structure, register.

    Returns ``llm_style`` in [0, 1] (0 = nothing assistant-like) with the evidence that produced it.
    """
    text = clean(text)
    hits = [code for code, _w, rx in _STYLE_PATTERNS if rx.search(text)]
    phrase = sum(w for code, w, _rx in _STYLE_PATTERNS if code in hits)
    list_lines = len(_LIST_LINE.findall(text))
    markdown = len(_MARKDOWN.findall(text))
    structure = (0.25 if list_lines >= 3 else 0.1 if list_lines == 2 else 0.0) + (0.2 if markdown >= 2 else 0.0)
    informal = len(_INFORMAL.findall(text))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    lower_starts = sum(1 for s in sentences if s.strip()[0].islower())
    human_marks = informal + lower_starts
    polished = bool(sentences) and lower_starts == 0 and informal == 0 and text.rstrip()[-1:] in ".!?:"
    formal = len(_FORMAL.findall(text))
    density = formal / len(sentences) if sentences else 0.0
    register = 0.0
    if polished and len(sentences) >= 3:
        register = 0.1 + (0.2 if density >= 1.0 else 0.1 if density >= 0.5 else 0.0)
    score = phrase + structure + register
    score -= min(0.3, 0.1 * human_marks)
    return {
        "llm_style": round(max(0.0, min(1.0, score)), 4),
        "phrases": hits,
        "list_lines": list_lines,
        "markdown": markdown,
        "informal_marks": informal,
        "formal_per_sentence": round(density, 3),
        "lowercase_starts": lower_starts,
    }


# Cyrillic and Greek letters that look Latin: mapped back before shingling so homoglyph swaps still match.
_CONFUSABLES = str.maketrans("аеорсхуіјѕԁԛԝοαυνκτмнвкт", "aeopcxyijsdqwoauvktmhbkt")


def shingles(text: str, n: int = 3) -> set[str]:
    """Syllable n-grams of the accent-stripped text (copying with or without diacritics still matches)."""
    toks = [strip_diacritics(t.translate(_CONFUSABLES)) for t in syllables(text)]
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def analyse(text: str) -> dict:
    """Everything the scorer needs about one text, computed once."""
    text = clean(text)
    syl = syllables(text)
    return {
        "chars": len(text),
        "syllables": len(syl),
        "vietnamese": is_vietnamese(text),
        "stripped_vietnamese": is_stripped_vietnamese(text),
        "mixed_script": is_mixed_script(text),
        # Per answer, syllables (a regex, ~0.2 ms) rather than pyvi words (~5 ms): the answer-level numbers only
        # feed the repetition check; the dataset report computes word-level diversity with pyvi.
        "diversity": diversity(syl),
        "style": stylometry(text),
    }
