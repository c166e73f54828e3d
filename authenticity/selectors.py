"""Reads for authenticity: free text of an answer, the policy, flag counts and the dataset-level report."""
from __future__ import annotations

import random
import statistics
from collections import Counter

from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from annotations.models import Annotation
from contributors.models import ContributorProfile, Region
from core.vietnamese import is_vietnamese

from .evaluation import measured_error_rates
from .models import AuthenticityPolicy, AuthenticityScore, CampaignReport, ReferenceText
from .text import compression_ratio, diversity, self_bleu, words

REPORT_SAMPLE_ANSWERS = 500  # lexical diversity is computed on an evenly spaced sample of this many answers
REPORT_CACHE_SECONDS = 600


def policy_for(campaign) -> AuthenticityPolicy:
    """The campaign's policy, or an unsaved one with the defaults."""
    policy = AuthenticityPolicy.objects.filter(campaign=campaign).first()
    return policy or AuthenticityPolicy(campaign=campaign)


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        stripped = value.strip()
        # Free text, not labels, keys or links: long enough and with at least one space.
        if len(stripped) >= 20 and " " in stripped and not stripped.startswith(("http://", "https://")):
            out.append(stripped)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)


def _task(campaign):
    try:
        return campaign.task if campaign is not None else None
    except Exception:  # noqa: BLE001 - an unknown task type: fall back to the generic walk
        return None


def authorship_not_applicable(campaign) -> str:
    """Why no authorship signal applies to this campaign's answers ("" when one does), from the type's hooks."""
    task = _task(campaign)
    if task is None:
        return ""
    if getattr(task, "copies_by_design", False):
        return "transcription: copying the item is the task"
    if getattr(task, "free_text_fields", None) == []:
        return "recording" if getattr(task, "accepts_recordings", False) else "no typed free text"
    return ""


def answer_fields(payload, campaign=None) -> list[str]:
    """The free-text fields a contributor wrote in an answer, one string each.

    A task type may declare ``free_text_fields = ["response", ...]`` (top-level keys of its annotation) to
    say exactly which fields are written by hand, or ``[]`` for none; otherwise every string that looks like
    prose counts.
    """
    task = _task(campaign)
    fields = getattr(task, "free_text_fields", None) if task is not None else None
    if fields is None and task is not None and getattr(task, "accepts_recordings", False):
        fields = []  # a recording's answer repeats the item's sentence; nothing in it was typed
    out: list[str] = []
    if fields is not None:
        if not isinstance(payload, dict):
            return []
        for name in fields:
            value = payload.get(name)
            if isinstance(value, str) and value.strip():
                out.append(value.strip())
            elif isinstance(value, list | dict):
                _strings(value, out)
    else:
        _strings(payload, out)
    return out


def answer_text(payload, campaign=None) -> str:
    """The free text of an answer, its fields joined by blank lines (see answer_fields)."""
    return "\n\n".join(answer_fields(payload, campaign))


def item_text(payload) -> str:
    out: list[str] = []
    _strings(payload, out)
    return "\n\n".join(out)


def open_flag_count(user, task_type: str) -> int:
    """Flags on this contributor's answers of one task type that no reviewer has cleared."""
    return (
        AuthenticityScore.objects.filter(contributor=user, campaign__task_type=task_type, flagged=True)
        .exclude(review_decision=AuthenticityScore.Review.HUMAN)
        .count()
    )


def flagged_scores(campaign):
    """The review queue's view: flagged answers of a campaign, unreviewed first."""
    return (
        AuthenticityScore.objects.filter(campaign=campaign, flagged=True)
        .select_related("annotation", "contributor")
        .order_by("reviewed_at", "score", "id")
    )


def score_for(annotation) -> AuthenticityScore | None:
    return AuthenticityScore.objects.filter(annotation=annotation).first()


# --- evidence that travels with the data -------------------------------------------------------------------

REFERENCE_REASONS = frozenset({"copies_reference_llm_output", "matches_reference_answer"})


def _evidence_row(score, flagged, reasons, evidence, pasted_share, components, ref_models) -> dict:
    reasons = list(reasons or [])
    components = components or {}
    model = ""
    if "matches_reference_answer" in reasons:
        model = (components.get("reference_answer") or {}).get("model", "")
    if not model and "copies_reference_llm_output" in reasons:
        model = ref_models.get(components.get("reference_id"), "")
    return {"authorship_score": score, "authorship_flagged": bool(flagged), "authorship_reasons": reasons,
            "authorship_evidence": evidence or "", "authorship_paste_seen": bool(pasted_share and pasted_share > 0),
            "authorship_reference_match": bool(REFERENCE_REASONS & set(reasons)),
            "authorship_reference_model": model}


def export_evidence(ids: list[int], unit: str) -> dict[int, dict]:
    """The authorship columns of export rows (exports.layouts.AUTHORSHIP_COLUMNS), by annotation id, or by
    item id for item rows (over the item's answers: lowest score, any flag, paste or reference match, every
    reason). Two queries per batch of rows."""
    key = "annotation_id" if unit == "annotation" else "annotation__item_id"
    rows = list(AuthenticityScore.objects.filter(**{f"{key}__in": ids}).values_list(
        key, "score", "flagged", "reasons", "behaviour_evidence", "pasted_share", "components"))
    ref_ids = {(r[6] or {}).get("reference_id") for r in rows if "copies_reference_llm_output" in (r[3] or [])}
    ref_models = dict(ReferenceText.objects.filter(pk__in=[i for i in ref_ids if i]).values_list("id", "source"))
    out: dict[int, dict] = {}
    for owner, *values in rows:
        row = _evidence_row(*values, ref_models)
        if unit == "annotation" or owner not in out:
            out[owner] = row
            continue
        merged = out[owner]
        scores = [s for s in (merged["authorship_score"], row["authorship_score"]) if s is not None]
        if row["authorship_score"] is not None and (merged["authorship_score"] is None
                                                    or row["authorship_score"] < merged["authorship_score"]):
            merged["authorship_evidence"] = row["authorship_evidence"]
        merged["authorship_score"] = min(scores) if scores else None
        for name in ("authorship_flagged", "authorship_paste_seen", "authorship_reference_match"):
            merged[name] = merged[name] or row[name]
        merged["authorship_reasons"] = sorted(set(merged["authorship_reasons"]) | set(row["authorship_reasons"]))
        merged["authorship_reference_model"] = merged["authorship_reference_model"] or row["authorship_reference_model"]
    return out


# --- dataset report ------------------------------------------------------------------------------------


def _sample_texts(campaign, limit: int) -> list[str]:

    ids = Annotation.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True)
    total = ids.count()
    if not total:
        return []
    step = max(1, total // limit)
    picked = list(ids[::step][:limit]) if step > 1 else list(ids[:limit])
    texts = []
    for payload in Annotation.objects.filter(pk__in=picked).order_by("id").values_list("payload", flat=True):
        text = answer_text(payload, campaign)
        if text:
            texts.append(text)
    return texts


BOOTSTRAP_RESAMPLES = 100
DIVERSITY_METRICS = ("mtld", "distinct_1", "distinct_2", "self_bleu", "compression_ratio")


def _tokens_of(texts: list[list[str]], size: int) -> list[str]:
    out: list[str] = []
    for tokens in texts:
        out.extend(tokens)
        if len(out) >= size:
            break
    return out[:size]


def _texts_of(texts: list[list[str]], size: int) -> list[list[str]]:
    """The texts (whole, the last one cut) that make up the first ``size`` tokens."""
    out, n = [], 0
    for tokens in texts:
        if n >= size:
            break
        out.append(tokens[: size - n])
        n += len(out[-1])
    return out


def _measures(texts: list[list[str]], size: int) -> dict:
    """Lexical diversity of a size-matched sample, with self-BLEU (across texts) and compression ratio."""
    tokens = _tokens_of(texts, size)
    # A bootstrap draw repeats texts; a repeat would match itself, so self-BLEU counts each text once.
    distinct = list({id(t): t for t in _texts_of(texts, size)}.values())
    return {**diversity(tokens), "self_bleu": self_bleu(distinct),
            "compression_ratio": compression_ratio(tokens)}


def compare_diversity(data: list[list[str]], reference: list[list[str]], *, vietnamese: tuple[float, float],
                      seed: int = 0) -> dict | None:
    """Lexical diversity of the data against the reference LLM texts, like with like: both cut to the same
    number of tokens (TTR, MTLD and distinct-n move with size), differences with 95 % bootstrap intervals
    over answers, and a warning when the two are in different languages. Diversity is a property of a
    dataset, not evidence of who wrote it: LLM text is often more varied than people's."""
    size = min(sum(map(len, data)), sum(map(len, reference)))
    if size < 50:
        return None
    rng = random.Random(seed)
    point = {"dataset": _measures(data, size), "reference_llm": _measures(reference, size)}
    draws: dict[str, list[float]] = {m: [] for m in DIVERSITY_METRICS}
    for _draw in range(BOOTSTRAP_RESAMPLES):
        a = _measures(rng.choices(data, k=len(data) * 3), size)
        b = _measures(rng.choices(reference, k=len(reference) * 3), size)
        for m in DIVERSITY_METRICS:
            draws[m].append(a[m] - b[m])
    differences = {}
    for m in DIVERSITY_METRICS:
        values = sorted(draws[m])
        low, high = values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]
        differences[m] = {"difference": round(point["dataset"][m] - point["reference_llm"][m], 4),
                          "ci95": [round(low, 4), round(high, 4)], "clear": low > 0 or high < 0}
    warnings = []
    if abs(vietnamese[0] - vietnamese[1]) > 0.3:
        warnings.append(_("The reference texts are in another language than the data: their diversity is not "
                          "comparable."))
    return {"tokens_each": size, **point, "differences": differences, "warnings": warnings,
            "reading": _("Differences are the dataset minus the reference LLM texts on samples of the same size "
                         "(95 % bootstrap intervals over answers). Lexical diversity describes the data; it is "
                         "not evidence of human authorship.")}


def _lexical(campaign) -> dict:
    texts = _sample_texts(campaign, REPORT_SAMPLE_ANSWERS)
    data = [words(t) for t in texts]
    refs = list(ReferenceText.objects.filter(campaign=campaign).order_by("id")
                .values_list("text", flat=True)[:REPORT_SAMPLE_ANSWERS])
    reference = [words(t) for t in refs]
    data_tokens = [t for tokens in data for t in tokens]
    out = {"sampled_answers": len(texts), "dataset": diversity(data_tokens), "reference_llm": None, "comparison": None}
    if reference:
        out["reference_llm"] = {"texts": len(reference), "tokens": sum(map(len, reference))}
        share = (sum(map(is_vietnamese, texts)) / max(len(texts), 1), sum(map(is_vietnamese, refs)) / len(refs))
        out["comparison"] = compare_diversity(data, reference, vietnamese=share, seed=campaign.pk)
    return out


def _share(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def dataset_report(campaign) -> dict:
    """Authenticity and diversity of a campaign's data, for the export's dataset card and the dashboard."""


    annotations = Annotation.objects.filter(campaign=campaign)
    total = annotations.count()
    scores = AuthenticityScore.objects.filter(campaign=campaign)
    agg = scores.aggregate(
        # Answers with free text, scored or without usable evidence (score null); not the not-applicable ones.
        n_scored=Count("id", filter=~Q(behaviour_evidence="not_applicable")),
        n_flagged=Count("id", filter=Q(flagged=True)),
        n_reviewed=Count("id", filter=Q(flagged=True) & ~Q(review_decision="")),
        n_human=Count("id", filter=Q(flagged=True, review_decision=AuthenticityScore.Review.HUMAN)),
        n_not_human=Count("id", filter=Q(review_decision=AuthenticityScore.Review.NOT_HUMAN)),
        n_flagged_not_human=Count("id", filter=Q(flagged=True, review_decision=AuthenticityScore.Review.NOT_HUMAN)),
        n_stripped=Count("id", filter=Q(stripped_vietnamese=True)),
        n_mixed=Count("id", filter=Q(mixed_script=True)),
    )
    evidence = dict(scores.values_list("behaviour_evidence").annotate(n=Count("id")).order_by())
    with_behaviour = sum(evidence.get(k, 0) for k in ("typed", "mixed", "pasted"))
    pasted_shares = list(scores.filter(pasted_share__isnull=False).values_list("pasted_share", flat=True)[:20000])
    cps = [
        c for c in scores.filter(behaviour_evidence="typed").values_list("components__behaviour__typing_cps", flat=True)[:20000]
        if isinstance(c, int | float)
    ]
    reasons: Counter = Counter()
    for row in scores.filter(flagged=True).values_list("reasons", flat=True)[:20000]:
        reasons.update(row or [])

    contributor_ids = annotations.values("contributor_id").distinct()
    profiles = ContributorProfile.objects.filter(user_id__in=contributor_ids)
    by_region = {k or "unknown": v for k, v in profiles.values_list("region").annotate(n=Count("id")).order_by()}
    n_contributors = annotations.values("contributor_id").distinct().count()
    email_verified = EmailAddress.objects.filter(user_id__in=contributor_ids, verified=True).values("user_id").distinct().count()
    identity_verified = profiles.filter(identity_verified_at__isnull=False).count()

    n_refs = ReferenceText.objects.filter(campaign=campaign).count()
    # The lexical block (pyvi over the sample) is the slow part: recomputed when the data grew by a step
    # (1% or 100 answers, whichever is more) or the reference set changed, not on every submission.
    step = max(100, total // 100)
    key = f"authenticity:lexical:{campaign.pk}:{campaign.created_at.timestamp():.6f}:{total // step}:{n_refs}"
    lexical = cache.get(key)
    if lexical is None:
        lexical = _lexical(campaign)
        cache.set(key, lexical, REPORT_CACHE_SECONDS)

    scored = agg["n_scored"]
    policy = policy_for(campaign)
    report = {
        "annotations": total,
        "scored_free_text": scored,
        "lexical_diversity": lexical,
        "flags": {
            "flagged": agg["n_flagged"],
            "flagged_share": _share(agg["n_flagged"], scored),
            "reviewed": agg["n_reviewed"],
            "reviewed_share": _share(agg["n_reviewed"], agg["n_flagged"]),
            "confirmed_human": agg["n_human"],
            "confirmed_not_human": agg["n_not_human"],
            # Live precision of the flagging: of the flags a reviewer decided, the share that were right.
            "reviewed_precision": _share(agg["n_flagged_not_human"], agg["n_reviewed"]) if agg["n_reviewed"] else None,
            "reasons": dict(reasons.most_common()),
        },
        "behaviour": {
            "with_evidence": with_behaviour,
            "typed": evidence.get("typed", 0),
            "partly_pasted": evidence.get("mixed", 0),
            "mostly_pasted": evidence.get("pasted", 0),
            "no_evidence": evidence.get("none", 0),
            "typed_share": _share(evidence.get("typed", 0), with_behaviour),
            "pasted_share_mean": round(statistics.fmean(pasted_shares), 4) if pasted_shares else None,
            "typing_chars_per_second_median": round(statistics.median(cps), 2) if cps else None,
        },
        "hygiene": {"stripped_vietnamese": agg["n_stripped"], "mixed_script": agg["n_mixed"]},
        "contributors": {
            "count": n_contributors,
            "by_region": by_region,
            "regions": [
                {"key": key, "label": str(Region(key).label) if key in Region.values else str(_("Unknown")), "count": n}
                for key, n in sorted(by_region.items())
            ],
            "email_verified": email_verified,
            "identity_verified": identity_verified,
        },
        "reference_llm_texts": n_refs,
        "threshold": policy.threshold,
        "text_signal": policy.text_signal,
        "measured_error_rates": measured_error_rates(),
    }
    report["provenance"] = provenance_statement(report)
    return report


def provenance_statement(report: dict) -> str:
    """One paragraph a dataset card can quote: who wrote the data, how they were verified, what was checked."""
    c, f, b = report["contributors"], report["flags"], report["behaviour"]
    parts = [
        _(
            "%(annotations)d answers were written by %(count)d contributors on this platform; "
            "%(email)d of them have a verified e-mail address and a complete profile with home region, "
            "and %(identity)d had their identity verified."
        ) % {"annotations": report["annotations"], "count": c["count"], "email": c["email_verified"],
             "identity": c["identity_verified"]},
    ]
    if report["scored_free_text"] or report["behaviour"]["no_evidence"]:
        parts.append(_(
            "Free-text answers were checked for how they were written, where the page's record of the writing "
            "process was available and replayed to the submitted text (%(typed)d typed, %(mixed)d partly "
            "pasted, %(pasted)d mostly pasted, %(none)d without usable evidence), and for near-copies of other "
            "answers and of %(refs)d known LLM outputs. The text's style was not used to decide: it was not "
            "measured to tell people from LLMs. %(flagged)d answers went to human review (%(reviewed)d reviewed "
            "so far); none was dropped silently. A person carefully copy-typing a text cannot be told apart "
            "from a person writing it."
        ) % {"typed": b["typed"], "mixed": b["partly_pasted"], "pasted": b["mostly_pasted"],
             "none": b["no_evidence"], "refs": report["reference_llm_texts"], "flagged": f["flagged"],
             "reviewed": f["reviewed"]})
        if report.get("text_signal"):
            parts.append(_("This campaign turned the text-only signal on: the text's style also lowered scores, "
                           "although it was measured near chance on text this project did not write."))
    return " ".join(parts)


def stored_report(campaign_id: int, language: str):
    """The dashboard's stored authenticity panel in this language (a CampaignReport), or None."""
    return CampaignReport.objects.filter(campaign_id=campaign_id, language=language).first()
