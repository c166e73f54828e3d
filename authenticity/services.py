"""Writes for authenticity: scoring an annotation, reference LLM texts, reviews, policy.

Scoring is idempotent (a re-run recomputes from the stored annotation and replaces the score and its LSH
bands), so Celery may redeliver and the sweep may rescore without double counting.
"""
from __future__ import annotations

import csv
import io
import json
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from annotations.models import Annotation
from contributors.services import record_authenticity_flags
from core import events, metrics
from core.schema import SchemaError

from . import (
    paraphrase,
    process,
    similarity,
    tasks,  # the module: its jobs call back into services
)
from .models import AuthenticityPolicy, AuthenticityScore, CampaignReport, MinHashBand, ReferenceText
from .scoring import ALGORITHM_VERSION, not_scored, score_answer
from .selectors import (
    answer_fields,
    authorship_not_applicable,
    dataset_report,
    item_text,
    open_flag_count,
)
from .text import clean, shingles

logger = logging.getLogger(__name__)

MAX_REFERENCE_TEXTS = 20000
MAX_REFERENCE_CHARS = 50000


class ReferenceImportError(ValueError):
    """A reference file with bad lines; ``errors`` names each one ({"line": n, "message": ...})."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"line {e['line']}: {e['message']}" for e in errors[:5]))
        self.errors = errors


def _best_match(campaign_id: int, sig, *, exclude_score_id=None, exclude_item_id=None) -> dict:
    """Best estimated Jaccard against the campaign's reference texts and other answers (LSH candidates)."""
    keys = similarity.band_keys(sig)
    bands = MinHashBand.objects.filter(campaign_id=campaign_id, key__in=keys)
    if exclude_score_id is not None:
        bands = bands.exclude(score_id=exclude_score_id)
    rows = list(bands.values_list("score_id", "reference_id").distinct()[:2000])
    score_ids = {s for s, _r in rows if s is not None}
    ref_ids = {r for _s, r in rows if r is not None}
    best = {"reference": 0.0, "reference_id": None, "duplicate": 0.0, "duplicate_of": None}
    for ref_id, blob in ReferenceText.objects.filter(pk__in=ref_ids).values_list("id", "signature"):
        other = similarity.from_bytes(blob)
        if other is not None:
            j = similarity.jaccard(sig, other)
            if j > best["reference"]:
                best.update(reference=j, reference_id=ref_id)
    candidates = AuthenticityScore.objects.filter(pk__in=score_ids)
    if exclude_item_id is not None:
        candidates = candidates.exclude(annotation__item_id=exclude_item_id)
    for annotation_id, blob in candidates.values_list("annotation_id", "signature"):
        other = similarity.from_bytes(blob)
        if other is not None:
            j = similarity.jaccard(sig, other)
            if j > best["duplicate"]:
                best.update(duplicate=j, duplicate_of=annotation_id)
    return best


def _item_overlap(answer: str, source: str) -> float:
    """Share of the answer's shingles found in the item's own text (corrections start from it)."""
    a, b = shingles(answer), shingles(source)
    return len(a & b) / len(a) if a and b else 0.0


def score_annotation(annotation_id: int) -> AuthenticityScore | None:
    """Compute (or recompute) one annotation's human-likeness and flag it for review when low.

    About six queries: the annotation with its item, campaign, policy and previous score in one; the LSH
    candidates; their signatures; the score row; its bands.
    """

    annotation = (
        Annotation.objects.select_related("campaign__authenticity_policy", "item", "authenticity")
        .filter(pk=annotation_id)
        .first()
    )
    if annotation is None:
        return None
    campaign = annotation.campaign
    try:
        policy = campaign.authenticity_policy
    except AuthenticityPolicy.DoesNotExist:
        policy = AuthenticityPolicy(campaign=campaign)
    if not policy.enabled:
        return None
    try:
        existing = annotation.authenticity
    except AuthenticityScore.DoesNotExist:
        existing = None
    why_not = authorship_not_applicable(campaign)
    fields = [] if why_not else answer_fields(annotation.payload, campaign)
    text = "\n\n".join(fields)
    sig = similarity.signature(text) if text else None
    best = {"reference": 0.0, "reference_id": None, "duplicate": 0.0, "duplicate_of": None}
    if sig is not None:
        best = _best_match(
            campaign.pk, sig,
            exclude_score_id=existing.pk if existing else None,
            exclude_item_id=None if policy.compare_same_item else annotation.item_id,
        )
    source = item_text(annotation.item.payload)
    reference_answer = None
    references: list[dict] = []
    if text and not why_not:
        references = [{"id": pk, "model": model, "text": body} for pk, model, body in
                      ReferenceText.objects.filter(item_id=annotation.item_id).values_list("id", "source", "text")]
        reference_answer = paraphrase.best_reference(text, references)
    if why_not:
        result = not_scored(why_not)
    else:
        result = score_answer(
            text,
            annotation.telemetry,
            threshold=policy.threshold,
            near_duplicate=policy.near_duplicate,
            reference_similarity=best["reference"],
            duplicate_similarity=best["duplicate"],
            item_overlap=_item_overlap(text, source) if text and source else 0.0,
            field_texts=fields,
            item_text=source,
            reference_answer=reference_answer,
            reference_match=policy.reference_match,
            text_weight=policy.text_weight if policy.text_signal else 0.0,
        )
    components = dict(result.components)
    pasted_match = _pasted_reference(annotation.telemetry, components.get("process"), references)
    if pasted_match is not None:
        # For a paste, the reviewer sees whether the pasted text itself resembles an LLM's answer to the prompt
        # (an own draft pasted does not; a chatbot's answer does).
        components["pasted_reference"] = pasted_match
    if best["reference_id"]:
        components["reference_id"] = best["reference_id"]
    if best["duplicate_of"] and best["duplicate"] >= policy.near_duplicate:
        components["duplicate_of_annotation"] = best["duplicate_of"]
    components["threshold"] = policy.threshold
    components["reference_match"] = policy.reference_match
    was_flagged = bool(existing and existing.flagged)
    values = {
        "campaign": campaign,
        "contributor_id": annotation.contributor_id,
        "score": result.score,
        "components": components,
        "reasons": result.reasons,
        "flagged": result.flagged,
        "behaviour_evidence": result.evidence,
        "text_chars": len(text),
        "pasted_share": result.pasted_share,
        "stripped_vietnamese": result.stripped_vietnamese,
        "mixed_script": result.mixed_script,
        "signature": similarity.to_bytes(sig) if sig is not None else None,
        "algorithm_version": ALGORITHM_VERSION,
    }
    with transaction.atomic():
        if existing is not None:
            record = existing
            for name, value in values.items():
                setattr(record, name, value)
            record.save(update_fields=[*values, "updated_at"])
            MinHashBand.objects.filter(score=record).delete()
        else:
            record = AuthenticityScore.objects.create(annotation=annotation, **values)
        if sig is not None:
            MinHashBand.objects.bulk_create(
                MinHashBand(campaign_id=campaign.pk, key=k, score=record) for k in similarity.band_keys(sig)
            )
        if result.flagged and not was_flagged:
            transaction.on_commit(lambda: metrics.count_authenticity_flag(campaign.task_type))
        if result.flagged != was_flagged:
            # Flag counts feed trust; a flag that disappears on rescoring gives the trust back.
            transaction.on_commit(lambda: _record_flag(annotation.contributor_id, campaign.task_type))
            transaction.on_commit(lambda: forget_authenticity_panel(campaign.pk))
        if result.flagged and not was_flagged:
            events.emit(events.AUTHENTICITY_FLAG_RAISED, organization_id=campaign.organization_id,
                        object_id=record.pk, data={"score": record.pk, "annotation": annotation.pk,
                                                   "campaign": campaign.pk, "reasons": list(result.reasons)})
    return record


def _pasted_reference(telemetry, proc: dict | None, references: list[dict]) -> dict | None:
    """The item's LLM answer closest to what was pasted (pastes and drops of 20+ characters of a replayed log),
    or None without pastes or references."""
    if not references or not proc or proc.get("status") != "replayed":
        return None
    fields = ((telemetry or {}).get("edit_log") or {}).get("fields") or {}
    pasted = [op[3] for name in proc.get("fields", {}) for op in fields.get(name, [])
              if len(op) >= 5 and op[4] in process.PASTED and len(op[3]) >= process.BLOCK_CHARS]
    if not pasted:
        return None
    return paraphrase.best_reference("\n".join(pasted), references)


def _record_flag(user_id: int, task_type: str) -> None:
    """Repeated flags lower the contributor's trust (the formula lives in contributors.services)."""
    record_authenticity_flags(user=user_id, task_type=task_type, open_flags=open_flag_count(user_id, task_type))


def review_score(*, score: AuthenticityScore, decision: str, reviewer) -> AuthenticityScore:
    """A reviewer's verdict on a flagged answer; confirming it human lifts its weight on trust again."""
    if decision not in {AuthenticityScore.Review.HUMAN, AuthenticityScore.Review.NOT_HUMAN}:
        raise ValueError(_("decision must be 'human' or 'not_human'"))
    score.review_decision = decision
    score.reviewed_by = reviewer
    score.reviewed_at = timezone.now()
    score.save(update_fields=["review_decision", "reviewed_by", "reviewed_at", "updated_at"])
    transaction.on_commit(lambda: _record_flag(score.contributor_id, score.campaign.task_type))
    transaction.on_commit(lambda: forget_authenticity_panel(score.campaign_id))
    events.emit(events.AUTHENTICITY_FLAG_RESOLVED, organization_id=score.campaign.organization_id,
                object_id=score.pk, data={"score": score.pk, "annotation": score.annotation_id,
                                          "campaign": score.campaign_id, "decision": decision})
    return score


def set_policy(*, campaign, **fields) -> AuthenticityPolicy:
    policy, _created = AuthenticityPolicy.objects.get_or_create(campaign=campaign)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    rescore_campaign_later(campaign.pk)
    return policy


# --- reference LLM outputs --------------------------------------------------------------------------------


def parse_reference_file(data: bytes, filename: str = "") -> list[dict]:
    """Reference texts from JSONL ({"text", "source"?}), CSV (a ``text`` column) or plain text (one text per
    blank-line-separated block). Raises ReferenceImportError naming every bad line."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceImportError([{"line": 1, "message": _("The file is not UTF-8 text.")}]) from exc
    name = filename.lower()
    entries: list[dict] = []
    errors: list[dict] = []
    if name.endswith(".jsonl") or (not name.endswith((".csv", ".txt")) and content.lstrip().startswith("{")):
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append({"line": number, "message": _("Not valid JSON: %(error)s") % {"error": exc.msg}})
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
                errors.append({"line": number, "message": _('Each line needs a non-empty "text" string.')})
                continue
            entries.append({"line": number, "text": obj["text"],
                            "source": str(obj.get("model", obj.get("source", "")))[:200],
                            **{k: obj[k] for k in ("item", "external_id") if obj.get(k) not in (None, "")}})
    elif name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(content))
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise ReferenceImportError([{"line": 1, "message": _('The CSV header needs a "text" column.')}])
        for row in reader:
            number = reader.line_num
            if not (row.get("text") or "").strip():
                errors.append({"line": number, "message": _('The "text" column is empty.')})
                continue
            entries.append({"line": number, "text": row["text"],
                            "source": (row.get("model") or row.get("source") or "")[:200],
                            **{k: row[k] for k in ("item", "external_id") if row.get(k)}})
    else:
        block, start = [], 1
        for number, line in enumerate(content.splitlines() + [""], start=1):
            if line.strip():
                if not block:
                    start = number
                block.append(line)
            elif block:
                entries.append({"line": start, "text": "\n".join(block), "source": ""})
                block = []
    for entry in entries:
        if len(entry["text"]) > MAX_REFERENCE_CHARS:
            errors.append({"line": entry["line"], "message": _("Text longer than %(n)d characters.") % {
                "n": MAX_REFERENCE_CHARS}})
    if len(entries) > MAX_REFERENCE_TEXTS:
        errors.append({"line": entries[MAX_REFERENCE_TEXTS]["line"], "message": _(
            "More than %(n)d texts in one file.") % {"n": MAX_REFERENCE_TEXTS}})
    if not entries and not errors:
        errors.append({"line": 1, "message": _("The file holds no text.")})
    if errors:
        raise ReferenceImportError(sorted(errors, key=lambda e: e["line"]))
    return entries


def store_reference_text(*, reference: ReferenceText) -> ReferenceText:
    """Save one reference text (new or edited) with its fingerprint, and rescore its campaign's answers."""
    with transaction.atomic():
        reference.text = clean(reference.text).strip()
        sig = similarity.signature(reference.text)
        reference.signature = similarity.to_bytes(sig) if sig is not None else None
        reference.save()
        MinHashBand.objects.filter(reference=reference).delete()
        if sig is not None:
            MinHashBand.objects.bulk_create(
                MinHashBand(campaign_id=reference.campaign_id, key=k, reference=reference) for k in similarity.band_keys(sig)
            )
        rescore_campaign_later(reference.campaign_id)
    return reference


def delete_reference_texts(*, queryset) -> int:
    """Remove reference texts; answers flagged only for copying them are cleared by the rescore."""
    campaign_ids = set(queryset.values_list("campaign_id", flat=True))
    with transaction.atomic():
        count, _details = queryset.delete()
        for campaign_id in campaign_ids:
            rescore_campaign_later(campaign_id)
    return count


def rescore_campaign_later(campaign_id: int) -> None:
    """Rescore a campaign's answers once the current transaction commits (the worker sees the change)."""

    transaction.on_commit(lambda: tasks.rescore_campaign.delay(campaign_id))


MAX_ANSWERS_PER_ITEM = 20


def attach_items(*, campaign, entries: list[dict]) -> list[dict]:
    """Resolve each entry's ``item`` (id) or ``external_id`` to an item of this campaign; raises
    ReferenceImportError naming every line whose item is not the campaign's (another campaign's item is
    treated as unknown)."""
    from tasks.models import Item

    ids = {str(e["item"]) for e in entries if "item" in e}
    externals = {str(e["external_id"]) for e in entries if "external_id" in e and "item" not in e}
    items = Item.objects.filter(campaign=campaign)
    known_ids = {str(pk) for pk in items.filter(pk__in=[i for i in ids if i.isdigit()]).values_list("pk", flat=True)}
    by_external = dict(items.filter(external_id__in=externals).values_list("external_id", "pk")) if externals else {}
    errors, out = [], []
    for entry in entries:
        entry = dict(entry)
        if "item" in entry:
            if str(entry["item"]) not in known_ids:
                errors.append({"line": entry.get("line", 0), "message": _("No item %(item)s in this campaign.") % {
                    "item": entry["item"]}})
                continue
            entry["item"] = int(entry["item"])
        elif "external_id" in entry:
            if str(entry["external_id"]) not in by_external:
                errors.append({"line": entry.get("line", 0), "message": _(
                    "No item with external_id %(id)s in this campaign.") % {"id": entry["external_id"]}})
                continue
            entry["item"] = by_external[str(entry["external_id"])]
        if entry.get("item") is not None and not entry.get("source"):
            errors.append({"line": entry.get("line", 0), "message": _("Name the model that wrote the answer.")})
            continue
        out.append(entry)
    if errors:
        raise ReferenceImportError(errors)
    return out


def clean_reference_answers(value) -> list[dict]:
    """An item's ``reference_answers`` field: ``[{"model": "...", "text": "..."}, ...]`` (answers LLMs gave to
    the item's prompt). Raises SchemaError naming the bad entry (``[2].text``)."""
    if not isinstance(value, list) or not value:
        raise SchemaError("", _('A non-empty list of {"model", "text"} objects.'))
    if len(value) > MAX_ANSWERS_PER_ITEM:
        raise SchemaError("", _("At most %(n)d reference answers per item.") % {"n": MAX_ANSWERS_PER_ITEM})
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].strip():
            raise SchemaError(f"[{i}].text", _("Each reference answer needs a non-empty text."))
        if len(entry["text"]) > MAX_REFERENCE_CHARS:
            raise SchemaError(f"[{i}].text", _("Text longer than %(n)d characters.") % {"n": MAX_REFERENCE_CHARS})
        model = entry.get("model", entry.get("source", ""))
        if not isinstance(model, str) or not model.strip():
            raise SchemaError(f"[{i}].model", _("Name the model that wrote the answer."))
        out.append({"text": entry["text"], "source": model.strip()[:200]})
    return out


def store_imported_reference_answers(pairs: list) -> None:
    """The import's hook (tasks.importing.register_item_extra): the items' reference answers, stored per item."""
    by_campaign: dict = {}
    for item, entries in pairs:
        by_campaign.setdefault(item.campaign, []).extend({**e, "item": item.pk} for e in entries)
    for campaign, entries in by_campaign.items():
        add_reference_texts(campaign=campaign, entries=entries)


def add_reference_texts(*, campaign, entries: list[dict], uploaded_by=None, rescore: bool = True) -> int:
    """Store known LLM outputs for a campaign (all or nothing) and rescore its answers against them. An entry
    with ``item`` (an item id of this campaign) is an answer an LLM gave to that item's prompt."""
    with transaction.atomic():
        refs = []
        for entry in entries:
            text = clean(entry["text"]).strip()
            sig = similarity.signature(text)
            refs.append(ReferenceText(
                campaign=campaign, item_id=entry.get("item"), text=text, source=entry.get("source", "")[:200],
                uploaded_by=uploaded_by,
                signature=similarity.to_bytes(sig) if sig is not None else None,
            ))
        created = ReferenceText.objects.bulk_create(refs, batch_size=500)
        bands = []
        for ref in created:
            sig = similarity.from_bytes(ref.signature)
            if sig is not None:
                bands.extend(MinHashBand(campaign_id=campaign.pk, key=k, reference=ref) for k in similarity.band_keys(sig))
        MinHashBand.objects.bulk_create(bands, batch_size=2000)
        if rescore:
            rescore_campaign_later(campaign.pk)
    return len(created)


# --- the dashboard's stored panel ------------------------------------------------------------------------


def forget_authenticity_panel(campaign_id: int) -> None:
    """Mark the campaign's stored authenticity panel stale (a flag was raised, lifted or reviewed): the next
    dashboard view refreshes it, inline for a small campaign, through a job for a big one."""
    CampaignReport.objects.filter(campaign_id=campaign_id, stale=False).update(stale=True)


def refresh_report(campaign, *, language: str) -> dict | None:
    """Compute the authenticity panel (one pass over the campaign's scores) and store it for ``language``."""
    with override(language):
        report = dataset_report(campaign)
    CampaignReport.objects.update_or_create(
        campaign=campaign, language=language,
        defaults={"report": report, "stale": False, "computed_at": timezone.now()})
    return report
