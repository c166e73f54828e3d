"""Hallucination audit: a model response split into claims; each claim judged with evidence.

Claims come from the project manager (payload["claims"]) or, when absent, from split_sentences() at
import, so the page, the API, validation and export all see the same numbered list.
Evidence URLs must be on the campaign's trusted-source domain allow-list.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import numpy as np
from django.utils.translation import gettext_lazy as _

from consensus.text import medoid_text
from consensus.voting import pairwise_agreement, weighted_vote
from exports.layouts import layouts_for
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .layouts import HALLUCINATION

VERDICTS = ("supported", "contradicted", "unverifiable", "not_claim")
OVERALL = ("accurate", "minor_errors", "major_errors", "unverifiable")
DEFAULT_SEVERITY = ["none", "low", "medium", "high", "critical"]
MAX_CLAIMS = 80

# --- Vietnamese-aware sentence splitting -------------------------------------------------------
# pyvi tokenises words but does not split sentences, and underthesea pulls in large models; this
# rule-based splitter covers what model responses contain: abbreviations with dots (TP., PGS.TS.,
# v.v.), initials (H. Chí Minh), numbers and dates (1.000.000, 3.5, 25.11.2025), URLs, ellipses,
# closing quotes/brackets after the full stop, and list lines.
ABBREVIATIONS = {
    "tp", "tt", "tx", "q", "p", "h", "x", "gs", "pgs", "ts", "ths", "bs", "ks", "cn", "ls", "nxb", "tr",
    "st", "mr", "mrs", "ms", "dr", "prof", "vs", "etc", "no", "co", "ltd", "inc", "jr", "sr", "ubnd",
    "hđnd", "đ", "v.v", "vv", "tphcm", "sđd", "ng", "th.s", "pgs.ts", "gs.ts", "e.g", "i.e", "a.m", "p.m",
}
_END = re.compile(r"([.!?…]+|\.{3})([\"'”’»)\]]*)(\s+)")
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Split Vietnamese (or English) prose into sentences; list lines and paragraphs split too."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)|\n", text or ""):
        block = block.strip()
        if not block:
            continue
        block = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", block)
        protected = {m.start(): m.end() for m in _URL.finditer(block)}
        start = 0
        for m in _END.finditer(block):
            end = m.end(2)
            if any(a <= m.start() < b for a, b in protected.items()):
                continue
            if not _is_boundary(block, m):
                continue
            piece = block[start:end].strip()
            if piece:
                out.append(piece)
            start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return _merge_fragments(out)


def _is_boundary(block: str, m: re.Match) -> bool:
    punct = m.group(1)
    nxt = block[m.end():m.end() + 1]
    if not nxt:
        return True
    if punct in ("!", "?", "…", "...") or len(punct) > 1:
        return nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘«([-"
    # A single full stop: not after an abbreviation, an initial or inside a number.
    start = m.start()
    while start > 0 and m.start() - start < 40 and (block[start - 1].isalnum() or block[start - 1] == "."):
        start -= 1  # the word before the stop (bounded look-back keeps splitting linear)
    token = block[start:m.start()].lower()
    if token in ABBREVIATIONS or token.rstrip(".") in ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha() and block[m.start() - 1].isupper():
        return False  # an initial: "H. Chí Minh"
    if token.isdigit() and nxt.isdigit():
        return False
    return nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘«(["


def _merge_fragments(sentences: list[str]) -> list[str]:
    """Glue stray fragments (a lone number, an emoji) onto the previous sentence."""
    merged: list[str] = []
    for s in sentences:
        if merged and sum(ch.isalpha() for ch in s) < 3:
            merged[-1] = f"{merged[-1]} {s}"
        else:
            merged.append(s)
    return merged


def domain_allowed(url: str, allow_list: list[str]) -> bool:
    """http(s) URL whose host is an allow-listed domain or a subdomain of one; empty list allows any."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower().rstrip(".")
    if not allow_list:
        return True
    for domain in allow_list:
        domain = domain.lower().strip().lstrip("*.").rstrip(".")
        if host == domain or host.endswith("." + domain):
            return True
    return False


class HallucinationAudit(TaskType):
    key = "hallucination"
    label = _("Hallucination audit")
    template = "task_types/hallucination/hallucination.html"
    scripts = ("task_types/hallucination/hallucination.js",)
    export_layouts = layouts_for(HALLUCINATION)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["trusted_sources"],
        "properties": {
            "trusted_sources": {
                "type": "array",
                "maxItems": 500,
                "items": {"type": "string", "pattern": r"^(\*\.)?[a-z0-9.-]+\.[a-z]{2,}$"},
            },
            "evidence_required_for": {"type": "array", "uniqueItems": True, "items": {"enum": list(VERDICTS)}},
            "quote_min_length": {"type": "integer", "minimum": 0, "maximum": 1000},
            "severity_levels": {"type": "array", "minItems": 2, "items": {"type": "string", "minLength": 1}},
        },
    }

    def default_config(self) -> dict:
        return {
            "trusted_sources": ["vi.wikipedia.org", "gov.vn", "vnexpress.net", "who.int"],
            "evidence_required_for": ["supported", "contradicted"],
            "quote_min_length": 10,
            "severity_levels": DEFAULT_SEVERITY,
        }

    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["prompt", "response"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": 20000},
                "response": {"type": "string", "minLength": 1, "maxLength": 50000},
                "claims": {
                    "type": "array", "minItems": 1, "maxItems": MAX_CLAIMS,
                    "items": {"type": "string", "minLength": 1, "maxLength": 5000},
                },
                "references": {
                    "type": "array", "maxItems": 20,
                    "items": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "title": {"type": "string", "maxLength": 500},
                            "url": {"type": "string", "maxLength": 2000},
                            "text": {"type": "string", "minLength": 1, "maxLength": 50000},
                        },
                    },
                },
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        if "claims" not in payload:
            claims = split_sentences(payload["response"])
            if not claims:
                raise SchemaError("response", "The response has no sentence to audit.")
            if len(claims) > MAX_CLAIMS:
                raise SchemaError("response", f"The response splits into {len(claims)} claims (at most {MAX_CLAIMS}).")
            payload["claims"] = claims
        return payload

    def annotation_schema(self, config: dict) -> dict:
        claim = {
            "type": "object",
            "required": ["verdict"],
            "additionalProperties": False,
            "properties": {
                "verdict": {"enum": list(VERDICTS)},
                "evidence_url": {"type": "string", "maxLength": 2000},
                "quote": {"type": "string", "maxLength": 5000},
                "correction": {"type": "string", "maxLength": 5000},
            },
        }
        return {
            "type": "object",
            "required": ["claims", "overall", "severity"],
            "additionalProperties": False,
            "properties": {
                "claims": {"type": "array", "items": claim},
                "overall": {"enum": list(OVERALL)},
                "severity": {"enum": config.get("severity_levels") or DEFAULT_SEVERITY},
                "notes": {"type": "string", "maxLength": 5000},
            },
        }

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        n = len(item_payload.get("claims") or [])
        if len(payload["claims"]) != n:
            raise SchemaError("claims", str(_("Judge every claim (%(n)d expected).") % {"n": n}))
        needs_evidence = set(config.get("evidence_required_for", ["supported", "contradicted"]))
        min_quote = config.get("quote_min_length", 0)
        allow = config.get("trusted_sources") or []
        for i, claim in enumerate(payload["claims"]):
            for key in ("evidence_url", "quote", "correction"):
                if key in claim:
                    claim[key] = claim[key].strip()
                    if not claim[key]:
                        del claim[key]
            url = claim.get("evidence_url")
            if claim["verdict"] in needs_evidence:
                if not url:
                    raise SchemaError(f"claims[{i}].evidence_url", str(_("Give a source URL for this verdict.")))
                if len(claim.get("quote", "")) < max(min_quote, 1):
                    raise SchemaError(
                        f"claims[{i}].quote",
                        str(_("Quote the passage that shows it (at least %(n)d characters).") % {"n": max(min_quote, 1)}),
                    )
            if url and not domain_allowed(url, allow):
                raise SchemaError(
                    f"claims[{i}].evidence_url",
                    str(_("This source is not on the campaign's trusted list: %(list)s.") % {"list": ", ".join(allow)}),
                )
            if claim["verdict"] == "contradicted" and not claim.get("correction"):
                raise SchemaError(f"claims[{i}].correction", str(_("Write the corrected sentence.")))
        if payload["overall"] == "accurate" and any(c["verdict"] == "contradicted" for c in payload["claims"]):
            raise SchemaError("overall", str(_("A response with a contradicted claim is not accurate.")))
        return payload

    # --- consensus ---------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        n = max((len(a.get("claims", [])) for a in answers), default=0)
        claims, shares, agreements = [], [], []
        for i in range(n):
            labels = [a["claims"][i]["verdict"] for a in answers if i < len(a.get("claims", []))]
            w = None if weights is None else [w for a, w in zip(answers, weights, strict=True)
                                               if i < len(a.get("claims", []))]
            verdict, share, counts = weighted_vote(labels, w)
            corrections = [a["claims"][i].get("correction") for a in answers
                           if i < len(a.get("claims", [])) and a["claims"][i].get("correction")]
            evidence = sorted({a["claims"][i]["evidence_url"] for a in answers
                               if i < len(a.get("claims", [])) and a["claims"][i].get("evidence_url")})
            # The correction closest to all the others stands for them (medoid under edit distance).
            correction = medoid_text(corrections)[0] if verdict == "contradicted" and corrections else None
            claims.append({"verdict": verdict, "confidence": round(share, 4), "votes": counts,
                           "evidence_urls": evidence, "correction": correction, "corrections": corrections})
            shares.append(share)
            agreements.append(pairwise_agreement(labels))
        overall, overall_share, overall_votes = weighted_vote([a.get("overall") for a in answers], weights)
        levels = config.get("severity_levels") or DEFAULT_SEVERITY
        sev_idx = sorted(levels.index(a["severity"]) for a in answers if a.get("severity") in levels)
        severity = levels[sev_idx[(len(sev_idx) - 1) // 2]] if sev_idx else None  # lower median
        result = {
            "claims": claims,
            "overall": overall,
            "overall_votes": overall_votes,
            "severity": severity,
            **_hallucination_summary(claims),
        }
        confidence = min(shares + [overall_share]) if answers else 0.0
        agreement = sum(agreements) / len(agreements) if agreements else pairwise_agreement(
            [a.get("overall") for a in answers])
        return Aggregate(result=result, confidence=confidence, agreement=agreement, method="per_claim_vote")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        """Same overall verdict and at least 80% of claim verdicts equal to the gold's."""
        ga, gg = answer.get("claims", []), gold.get("claims", [])
        if len(ga) != len(gg) or answer.get("overall") != gold.get("overall"):
            return False
        same = sum(a["verdict"] == g["verdict"] for a, g in zip(ga, gg, strict=True))
        return not gg or same / len(gg) >= 0.8

    # --- campaign-level consensus (Dawid-Skene): one question per claim ------------------------
    def label_space(self, config: dict) -> dict[str, list[str]]:
        return {f"claim.{i}": list(VERDICTS) for i in range(MAX_CLAIMS)}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        claims = payload.get("claims")
        if not isinstance(claims, list):
            return {}
        out = {}
        for i, claim in enumerate(claims[:MAX_CLAIMS]):  # a claim index beyond the space is left out
            verdict = claim.get("verdict") if isinstance(claim, dict) else None
            out[f"claim.{i}"] = VERDICTS.index(verdict) if verdict in VERDICTS else -1  # -1: dropped
        return out

    def apply_campaign_labels(self, aggregate: Aggregate, labels: dict[str, tuple[str, float]], *,
                              config: dict) -> Aggregate:
        """Decided verdicts replace the voted ones; corrections, evidence URLs and the overall vote stay."""
        aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
        result = aggregate.result
        claims = [dict(c) for c in result.get("claims") or []]  # copies: the re-score shares aggregates
        for q, (verdict, posterior) in labels.items():
            index = q.split(".", 1)[1] if q.startswith("claim.") else ""
            if not index.isdigit() or int(index) >= len(claims):
                continue
            claim = claims[int(index)]
            claim["verdict"], claim["confidence"] = verdict, round(float(posterior), 4)
            corrections = claim.get("corrections") or []
            claim["correction"] = medoid_text(corrections)[0] if verdict == "contradicted" and corrections else None
        result.update(claims=claims, **_hallucination_summary(claims))
        posteriors = [p for q, (_v, p) in labels.items() if q.startswith("claim.")]
        votes = result.get("overall_votes") or {}
        total = sum(v for v in votes.values() if isinstance(v, (int, float)))
        overall_share = [max(votes.values()) / total] if total else []
        if posteriors:
            aggregate.confidence = min(posteriors + overall_share)
        return aggregate

    # --- demo ------------------------------------------------------------------------------
    def demo_qualification(self) -> DemoCampaign:
        """The demo's Hạ Long answer judged claim by claim against its reference: two facts the reference
        supports, one it contradicts (with the correction), one opinion that is no factual claim."""
        spec = self.demo()[0]
        entry = next(e for e in spec.items if "Hạ Long" in e["payload"]["prompt"])
        url = entry["payload"]["references"][0]["url"]
        gold = {"claims": [
            {"verdict": "supported", "evidence_url": url, "quote": "vịnh Bắc Bộ, tỉnh Quảng Ninh"},
            {"verdict": "supported", "evidence_url": url,
             "quote": "Năm 1994, vịnh được UNESCO công nhận là Di sản thiên nhiên thế giới"},
            {"verdict": "contradicted", "evidence_url": url, "quote": "Vịnh có 1.969 hòn đảo lớn nhỏ",
             "correction": "Vịnh có 1.969 hòn đảo lớn nhỏ."},
            {"verdict": "not_claim"},
        ], "overall": "major_errors", "severity": "medium"}
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions,
                            items=[{"payload": entry["payload"], "gold_answer": gold}])

    def demo(self) -> list[DemoCampaign]:
        items = [
            {"payload": {
                "prompt": "Giới thiệu ngắn về Vịnh Hạ Long.",
                "response": (
                    "Vịnh Hạ Long thuộc tỉnh Quảng Ninh. Vịnh được UNESCO công nhận là Di sản thiên nhiên thế giới "
                    "lần đầu vào năm 1994. Vịnh có khoảng 200 hòn đảo lớn nhỏ. Đây là nơi đẹp nhất thế giới."
                ),
                "references": [{"title": "Vịnh Hạ Long — Wikipedia", "url": "https://vi.wikipedia.org/wiki/Vịnh_Hạ_Long",
                                "text": "Vịnh Hạ Long là một vịnh nhỏ thuộc phần bờ tây vịnh Bắc Bộ, tỉnh Quảng Ninh. "
                                        "Vịnh có 1.969 hòn đảo lớn nhỏ. Năm 1994, vịnh được UNESCO công nhận "
                                        "là Di sản thiên nhiên thế giới."}],
            }},
            {"payload": {
                "prompt": "Sông nào dài nhất Việt Nam?",
                "response": (
                    "Sông Mê Kông chảy qua Việt Nam với đoạn cuối gọi là sông Cửu Long. Tuy nhiên, con sông dài nhất "
                    "chảy hoàn toàn trong lãnh thổ Việt Nam là sông Đồng Nai, dài khoảng 586 km. "
                    "TP. Hồ Chí Minh nằm bên bờ sông Sài Gòn."
                ),
            }},
            {"payload": {
                "prompt": "Ai là tác giả Truyện Kiều?",
                "response": "Truyện Kiều do Nguyễn Du sáng tác. Tác phẩm gồm 3.254 câu thơ lục bát. "
                            "Nguyễn Du sinh năm 1820 tại Hà Tĩnh.",
            }},
        ]
        return [
            DemoCampaign(
                name="Kiểm tra ảo giác trong câu trả lời AI",
                config=self.default_config(),
                instructions=(
                    "## Hướng dẫn\n\nVới mỗi nhận định, chọn **Đúng** (có nguồn xác nhận), **Sai** (nguồn nói khác), "
                    "**Không kiểm chứng được** hoặc **Không phải nhận định**.\n\n"
                    "Với *Đúng* và *Sai*: dán đường dẫn từ nguồn tin cậy (vi.wikipedia.org, gov.vn, vnexpress.net, "
                    "who.int) và trích đoạn văn. Với *Sai*: viết lại câu cho đúng.\n\n"
                    "**Ví dụ:** \"Nguyễn Du sinh năm 1820\" → Sai; nguồn: vi.wikipedia.org; sửa: "
                    "\"Nguyễn Du sinh năm 1766.\""
                ),
                items=items,
                extra={"overlap": 2},
            )
        ]


def _hallucination_summary(claims: list[dict]) -> dict:
    """Item-level "contains a hallucination" from per-claim verdicts and their confidences.

    Yes when a claim is decided contradicted, with the most certain such claim's confidence (a lower
    bound of P(some claim is contradicted)); no otherwise, with the product of the claims' confidences
    (a lower bound of P(no claim is contradicted) when claims are independent).
    """
    bad = [i for i, c in enumerate(claims) if c.get("verdict") == "contradicted"]
    confidences = [float(c.get("confidence") or 0.0) for c in claims]
    if bad:
        confidence = max(confidences[i] for i in bad)
    else:
        confidence = float(np.prod(confidences)) if confidences else 0.0
    return {"hallucinated_claims": bad, "contains_hallucination": bool(bad),
            "hallucination_confidence": round(confidence, 4)}

