"""The span algorithms, free of Django: tokens of Vietnamese text, matching spans across answers, F1,
consensus spans by trust-weighted vote, and the CoNLL/IOB2, RTTM and Label Studio formats.

Offsets are Python ``str`` indexes (code points) into the NFC text, end exclusive. Vietnamese writes one
syllable per space-separated token, so the syllable tokens are runs of word characters and single
punctuation marks; words (several syllables, e.g. "Hà Nội") come from pyvi's segmenter. Audio segments use
the same matching with time in seconds instead of characters.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

SYLLABLE_RE = re.compile(r"\w+|[^\w\s]")


def syllable_tokens(text: str) -> list[list[int]]:
    """[start, end] of every syllable (and of every punctuation mark) of ``text``."""
    return [[m.start(), m.end()] for m in SYLLABLE_RE.finditer(text)]


def word_tokens(text: str) -> list[list[int]]:
    """[start, end] of every word as pyvi segments it ("Hà Nội" is one word), aligned back to ``text``.

    pyvi joins a word's syllables with "_" and splits punctuation off; each piece is found again in the
    text from the previous position, so the offsets are the original text's whatever pyvi changed."""
    from pyvi import ViTokenizer  # heavy import (~1 s, a CRF model): only when a campaign snaps to words

    words: list[list[int]] = []
    cursor = 0
    for token in ViTokenizer.tokenize(text).split():
        pieces = [p for p in token.split("_") if p]
        start = end = None
        for piece in pieces:
            at = text.find(piece, cursor)
            if at < 0:
                break
            start = at if start is None else start
            end = cursor = at + len(piece)
        if start is not None and end is not None:
            words.append([start, end])
    # A syllable pyvi dropped (it should not) stays a word on its own, so every syllable is covered.
    covered = {s for w in words for s in range(w[0], w[1])}
    words += [t for t in syllable_tokens(text) if t[0] not in covered]
    return sorted(words)


def boundaries(tokens: Iterable[list[int]]) -> tuple[set[int], set[int]]:
    starts, ends = set(), set()
    for start, end in tokens:
        starts.add(start)
        ends.add(end)
    return starts, ends


# --- matching and agreement ------------------------------------------------------------------------------


def overlap_ratio(a: tuple, b: tuple) -> float:
    """Intersection over union of two [start, end) intervals (characters or seconds)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match_spans(a: list[dict], b: list[dict], *, mode: str = "exact", threshold: float = 0.5,
                same_label: bool = True) -> list[tuple[int, int]]:
    """A one-to-one matching of spans of ``a`` to spans of ``b`` (index pairs).

    ``exact``: same start and end. ``overlap``: IoU >= threshold, the matching maximises the total IoU
    (Hungarian algorithm), so two overlapping spans never both claim the same partner."""
    if not a or not b:
        return []
    if mode == "exact":
        index = defaultdict(list)
        for j, s in enumerate(b):
            index[(s["start"], s["end"], s["label"] if same_label else None)].append(j)
        pairs = []
        for i, s in enumerate(a):
            bucket = index.get((s["start"], s["end"], s["label"] if same_label else None))
            if bucket:
                pairs.append((i, bucket.pop(0)))
        return pairs
    import numpy as np  # deferred: consensus and exports only
    from scipy.optimize import linear_sum_assignment

    scores = np.zeros((len(a), len(b)))
    for i, s in enumerate(a):
        for j, t in enumerate(b):
            if same_label and s["label"] != t["label"]:
                continue
            iou = overlap_ratio((s["start"], s["end"]), (t["start"], t["end"]))
            if iou >= threshold:
                scores[i, j] = iou
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if scores[i, j] > 0]


def span_f1(a: list[dict], b: list[dict], *, mode: str = "exact", threshold: float = 0.5) -> float:
    """Span-level F1 of two answers (symmetric); two empty answers agree fully."""
    if not a and not b:
        return 1.0
    matched = len(match_spans(a, b, mode=mode, threshold=threshold))
    return 2 * matched / (len(a) + len(b))


def token_f1(a: list[dict], b: list[dict], tokens: list[list[int]]) -> float:
    """Token-level F1: each (token, label) a span covers counts once; two empty answers agree fully."""
    def labelled(spans):
        return {(i, s["label"]) for s in spans for i, (ts, te) in enumerate(tokens) if ts >= s["start"] and te <= s["end"]}
    x, y = labelled(a), labelled(b)
    if not x and not y:
        return 1.0
    return 2 * len(x & y) / (len(x) + len(y))


def pairwise_agreement(answers: list[list[dict]], *, mode: str, threshold: float) -> float:
    """Mean span F1 over every pair of answers (1.0 with fewer than two answers)."""
    pairs = [(i, j) for i in range(len(answers)) for j in range(i + 1, len(answers))]
    if not pairs:
        return 1.0
    return sum(span_f1(answers[i], answers[j], mode=mode, threshold=threshold) for i, j in pairs) / len(pairs)


def per_label_agreement(answers: list[list[dict]], *, mode: str, threshold: float) -> dict[str, float]:
    """Mean pairwise span F1 per label, counting only the pairs where at least one answer used the label
    (a label nobody drew says nothing about agreement)."""
    out = {}
    for label in sorted({s["label"] for spans in answers for s in spans}):
        only = [[s for s in spans if s["label"] == label] for spans in answers]
        pairs = [(i, j) for i in range(len(only)) for j in range(i + 1, len(only)) if only[i] or only[j]]
        if pairs:
            out[label] = round(sum(span_f1(only[i], only[j], mode=mode, threshold=threshold)
                                   for i, j in pairs) / len(pairs), 4)
    return out


def span_groups(answers: list[list[dict]], *, mode: str = "exact", threshold: float = 0.5) -> list[dict]:
    """Spans of different answers grouped when they match: same boundaries, or in ``overlap`` mode the best
    IoU >= threshold with a span of the group. An answer gives at most one span to a group, so a nested span
    stays its own group. Each group: ``key`` (its first boundaries), ``members`` [(answer index, span)].
    Deterministic (answers and spans in order): the campaign-level label decision and consensus_spans
    see the same groups."""
    groups: list[dict] = []
    for ai, spans in enumerate(answers):
        for span in spans:
            key = (span["start"], span["end"])
            best, best_score = None, threshold if mode == "overlap" else 1.0
            for group in groups:
                if ai in group["answers"]:
                    continue
                score = 1.0 if group["key"] == key else (
                    overlap_ratio(key, group["key"]) if mode == "overlap" else 0.0)
                if score >= best_score and (best is None or score > best[1]):
                    best = (group, score)
            if best is None:
                group = {"key": key, "members": [], "answers": set()}
                groups.append(group)
            else:
                group = best[0]
            group["members"].append((ai, span))
            group["answers"].add(ai)
    return groups


def consensus_spans(answers: list[list[dict]], weights: list[float] | None = None, *, mode: str = "exact",
                    threshold: float = 0.5, continuous: bool = False, quorum: float = 0.5,
                    decided: list[tuple[str, float] | None] | None = None) -> list[dict]:
    """Consensus spans by trust-weighted vote.

    Spans are grouped by ``span_groups``. A group is kept when the answers in it hold more than ``quorum``
    (half) of the total weight; its boundaries and label are each the weighted vote of its members, unless
    ``decided`` gives the group's label (by position in ``span_groups``' order: Dawid-Skene over the campaign,
    campaign_labels.py), then the label is that and ``posterior`` its probability. ``support`` is the kept
    span's weight share, ``agreement`` the share that drew exactly these boundaries with this label."""
    weights = list(weights) if weights else [1.0] * len(answers)
    total = sum(weights) or 1.0
    kept = []
    for gi, group in enumerate(span_groups(answers, mode=mode, threshold=threshold)):
        members = [(span, weights[ai]) for ai, span in group["members"]]
        weight_in = sum(w for _s, w in members)
        if weight_in / total <= quorum:
            continue
        bounds, labels = defaultdict(float), defaultdict(float)
        for span, w in members:
            bounds[(span["start"], span["end"])] += w
            labels[span["label"]] += w
        start, end = max(bounds, key=lambda k: (bounds[k], -k[0], k[1]))
        if continuous:
            start = weighted_median([(s["start"], w) for s, w in members])
            end = weighted_median([(s["end"], w) for s, w in members])
        choice = decided[gi] if decided and gi < len(decided) else None
        label = choice[0] if choice else max(labels, key=lambda k: (labels[k], k))
        exact = sum(w for s, w in members if s["label"] == label and (
            (s["start"], s["end"]) == (start, end) or (continuous and overlap_ratio(
                (s["start"], s["end"]), (start, end)) >= max(threshold, 0.8))))
        span = {"start": start, "end": end, "label": label, "support": round(weight_in / total, 4),
                "agreement": round(exact / total, 4), "votes": len(members)}
        if choice:
            span["posterior"] = round(choice[1], 4)
        kept.append(span)
    kept.sort(key=lambda s: (s["start"], -s["end"], s["label"]))
    for i, span in enumerate(kept):
        span["id"] = f"c{i + 1}"
    return kept


def weighted_median(values: list[tuple[float, float]]) -> float:
    """The value at half the total weight (values with their weights)."""
    ordered = sorted(values)
    half, acc = sum(w for _v, w in ordered) / 2, 0.0
    for value, w in ordered:
        acc += w
        if acc >= half:
            return value
    return ordered[-1][0]


def consensus_relations(answers: list[dict], kept: list[dict], weights: list[float] | None, *,
                        mode: str, threshold: float) -> list[dict]:
    """Relations kept by weighted vote: both ends must match kept spans, then (from, to, label) counts once
    per answer; kept when more than half the total weight drew it."""
    weights = list(weights) if weights else [1.0] * len(answers)
    total = sum(weights) or 1.0
    votes: dict[tuple, float] = defaultdict(float)
    for answer, w in zip(answers, weights, strict=True):
        spans = answer.get("spans") or []
        to_kept = dict(match_spans(spans, kept, mode=mode, threshold=threshold, same_label=False))
        by_id = {s["id"]: i for i, s in enumerate(spans)}
        seen = set()
        for rel in answer.get("relations") or []:
            i, j = by_id.get(rel["from"]), by_id.get(rel["to"])
            if i in to_kept and j in to_kept:
                seen.add((kept[to_kept[i]]["id"], kept[to_kept[j]]["id"], rel["label"]))
        for key in seen:
            votes[key] += w
    return [{"from": f, "to": t, "label": label, "support": round(v / total, 4)}
            for (f, t, label), v in sorted(votes.items()) if v / total > 0.5]


# --- CoNLL / IOB2 ------------------------------------------------------------------------------------------


def flat_spans(spans: list[dict]) -> list[dict]:
    """The spans IOB2 can carry: longest first, dropping any that overlaps one already taken."""
    taken: list[dict] = []
    for span in sorted(spans, key=lambda s: (s["start"] - s["end"], s["start"])):
        if all(span["end"] <= t["start"] or span["start"] >= t["end"] for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s["start"])


def bio_tags(tokens: list[list[int]], spans: list[dict]) -> list[str]:
    """IOB2 tags of the tokens: a token inside a span is B- at the span's first token, I- after."""
    tags = ["O"] * len(tokens)
    for span in flat_spans(spans):
        first = True
        for i, (start, end) in enumerate(tokens):
            if start < span["end"] and end > span["start"]:
                tags[i] = ("B-" if first else "I-") + span["label"]
                first = False
    return tags


def bio_names(labels: list[str]) -> list[str]:
    """The tag set, in ClassLabel order: O, then B-/I- per label in the campaign's order."""
    return ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]


def to_conll(text: str, spans: list[dict], tokens: list[list[int]]) -> str:
    """One token per line with its tag, tab separated; a word's syllables joined by "_" (VLSP style)."""
    tags = bio_tags(tokens, spans)
    return "".join(f"{text[s:e].replace(' ', '_')}\t{tag}\n" for (s, e), tag in zip(tokens, tags, strict=True))


def from_conll(conll: str, text: str | None = None) -> tuple[str, list[dict]]:
    """Spans back from CoNLL lines; offsets found again in ``text`` (or in the tokens joined by spaces).

    Returns (text, spans); a line's first column is the token, its last the IOB2 tag."""
    rows = [line.split("\t") if "\t" in line else line.split() for line in conll.splitlines() if line.strip()]
    if text is None:
        text = " ".join(r[0].replace("_", " ") for r in rows)
    spans: list[dict] = []
    current = None
    cursor = 0
    for row in rows:
        token, tag = row[0].replace("_", " "), row[-1]
        start = text.find(token, cursor)
        if start < 0:
            raise ValueError(f"token {token!r} not found in the text after offset {cursor}")
        end = cursor = start + len(token)
        if tag == "O" or len(tag) < 3:
            current = None
        elif tag.startswith("B-") or current is None or current["label"] != tag[2:]:
            current = {"start": start, "end": end, "label": tag[2:]}
            spans.append(current)
        else:
            current["end"] = end
    return text, spans


# --- spaCy ---------------------------------------------------------------------------------------------------


def biluo_tags(tokens: list[list[int]], spans: list[dict]) -> list[str]:
    """BILUO tags (spaCy's token-level ``ner``): U- a one-token entity, B-/I-/L- first, inside, last."""
    tags = bio_tags(tokens, spans)
    out = []
    for i, tag in enumerate(tags):
        follows = tags[i + 1] if i + 1 < len(tags) else "O"
        continues = follows == "I-" + tag[2:]
        if tag.startswith("B-"):
            out.append(tag if continues else "U-" + tag[2:])
        elif tag.startswith("I-"):
            out.append(tag if continues else "L-" + tag[2:])
        else:
            out.append(tag)
    return out


def spacy_doc(text: str, spans: list[dict], tokens: list[list[int]], doc_id: int = 0) -> dict:
    """One document of spaCy's JSON training format (what ``spacy.training.docs_to_json`` writes and
    ``spacy convert --converter json`` turns into a DocBin): one paragraph with the ``raw`` text, one
    sentence of tokens (``orth``, ``space``, BILUO ``ner``), ``entities`` as [start, end, label] character
    offsets. spaCy tokens carry at most one trailing space, so other whitespace between our tokens (a
    newline, a second space) becomes a token of its own, as spaCy's tokenizer makes it; the tokens' orth and
    space then join back to the text exactly. Entities cannot overlap in spaCy: the flat spans (longest kept)."""
    flat = flat_spans(spans)
    tags = biluo_tags(tokens, flat)
    out: list[dict] = []

    def whitespace_token(gap: str) -> None:
        out.append({"id": len(out), "orth": gap, "space": "", "ner": "O"})

    if tokens and tokens[0][0] > 0:
        whitespace_token(text[:tokens[0][0]])
    for k, (start, end) in enumerate(tokens):
        gap = text[end:tokens[k + 1][0]] if k + 1 < len(tokens) else text[end:]
        space = " " if gap[:1] == " " else ""
        out.append({"id": len(out), "orth": text[start:end], "space": space, "ner": tags[k]})
        if gap[len(space):]:
            whitespace_token(gap[len(space):])
    return {"id": doc_id, "paragraphs": [{
        "raw": text, "sentences": [{"tokens": out, "brackets": []}], "cats": [],
        "entities": [[s["start"], s["end"], s["label"]] for s in flat], "links": [],
    }]}


# --- audio ----------------------------------------------------------------------------------------------------


def to_rttm(file_id: str, segments: list[dict], speaker_labels: set[str] | None = None) -> str:
    """RTTM lines (NIST): ``SPEAKER <file> 1 <onset> <duration> <NA> <NA> <name> <NA> <NA>``.

    Labels listed as speakers are SPEAKER turns; other labels (noise, music, events) NON-SPEECH."""
    lines = []
    for seg in sorted(segments, key=lambda s: (s["start"], s["end"])):
        kind = "SPEAKER" if speaker_labels is None or seg["label"] in speaker_labels else "NON-SPEECH"
        name = re.sub(r"\s+", "_", seg["label"]) or "NA"
        lines.append(f"{kind} {file_id} 1 {seg['start']:.3f} {seg['end'] - seg['start']:.3f} <NA> <NA> {name} <NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


def from_rttm(rttm: str) -> dict[str, list[dict]]:
    """Segments per file id back from RTTM lines."""
    out: dict[str, list[dict]] = defaultdict(list)
    for line in rttm.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] in ("SPEAKER", "NON-SPEECH"):
            start, duration = float(parts[3]), float(parts[4])
            out[parts[1]].append({"start": round(start, 3), "end": round(start + duration, 3), "label": parts[7]})
    return dict(out)


# --- Label Studio --------------------------------------------------------------------------------------------


def from_labelstudio(task: dict) -> tuple[str, list[dict]]:
    """One Label Studio task's text and its answers (spans + relations) from its JSON export.

    Reads ``labels`` results (``value.start/end/labels``; Label Studio counts in the browser's UTF-16
    units, which equal code points for Vietnamese) and ``relation`` results (``from_id``/``to_id``,
    ``direction``: ``left`` swaps them, ``bi`` keeps them; the first of ``labels`` or "related")."""
    data = task.get("data") or {}
    text = next((v for v in data.values() if isinstance(v, str)), "")
    answers = []
    for annotation in task.get("annotations") or []:
        spans, relations = [], []
        for result in annotation.get("result") or []:
            value = result.get("value") or {}
            if result.get("type") == "labels" and "start" in value:
                spans.append({"id": str(result.get("id")), "start": int(value["start"]), "end": int(value["end"]),
                              "label": (value.get("labels") or [""])[0]})
            elif result.get("type") == "relation":
                a, b = str(result.get("from_id")), str(result.get("to_id"))
                if result.get("direction") == "left":
                    a, b = b, a
                relations.append({"from": a, "to": b, "label": (result.get("labels") or ["related"])[0]})
        answers.append({"spans": spans, "relations": relations})
    return text, answers


def labelstudio_items(tasks: list[dict]) -> list[dict]:
    """Item payloads from a Label Studio JSON export: the text, with its first annotation as the
    pre-annotations contributors correct (validated like any import by Spans.validate_item)."""
    items = []
    for task in tasks:
        text, answers = from_labelstudio(task)
        payload = {"text": text, "source": f"labelstudio:{task.get('id', '')}"}
        if answers and answers[0]["spans"]:
            payload["pre_annotations"] = answers[0]
        items.append(payload)
    return items
