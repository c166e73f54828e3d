"""The dataset card (README.md in the Hugging Face dataset-card style) shipped inside every export."""
from __future__ import annotations

import importlib
import logging
from datetime import datetime

import orjson
from django.utils import timezone

from .layouts import Layout
from .models import Export

log = logging.getLogger(__name__)

PROVENANCE = (
    "Every annotation in this dataset was made by a registered human contributor on the platform, who "
    "verified an e-mail address, completed a profile (region, province, birth year) and consented to the "
    "use of their answers as training data. Contributors appear only under stable pseudonyms; no name, "
    "e-mail or exact birth date is exported. Items were labelled by several contributors independently and "
    "combined by the consensus method named per row; gold (known-answer) items were mixed in to measure "
    "accuracy. The labelling page recorded behavioural telemetry (active time, keystrokes, pastes), "
    "summarised in the raw layout. Layouts with contributor-written text carry the authorship evidence per "
    "row (see \"Authorship evidence\") so that users can filter."
)

# What each authorship column means (exports.layouts.AUTHORSHIP_COLUMNS); README, "Data authenticity".
AUTHORSHIP_DOCS = [
    ("authorship_score", "human-likeness in [0, 1]; empty when no signal applies (no free text, a recording, a "
                         "transcription, or no record of how the text was written)"),
    ("authorship_flagged", "sent to human review (score below the campaign's threshold, or a reason that always "
                           "asks a reviewer); never dropped"),
    ("authorship_reasons", "reason codes, e.g. pasted, steady_timing, timing_unrelated_to_words, "
                           "injected_keystrokes, edit_log_mismatch, edit_log_invalid, matches_reference_answer, "
                           "copies_reference_llm_output, near_duplicate"),
    ("authorship_evidence", "typed / mixed (partly pasted) / pasted / none (no usable record) / not_applicable"),
    ("authorship_paste_seen", "some of the text arrived by paste or drop (the item's own text excepted)"),
    ("authorship_reference_match", "close to a known LLM output (near-duplicate, or a paraphrase of an answer an "
                                   "LLM gave to the same prompt)"),
    ("authorship_reference_model", "the model of the matching LLM output, when one matched"),
]


SUGGESTION_DOCS = [
    ("suggestion_shown", "a model's suggestion was shown with this answer (item rows: with any of its answers)"),
    ("suggestion_accepted", "the answer equals the suggestion (item rows: every assisted answer did); empty when "
                            "none was shown"),
    ("suggestion_outcome", "accepted / edited / rejected (item rows: mixed when they differ)"),
    ("suggestion_edit_distance", "characters changed (Levenshtein) for text answers, else fields changed"),
]


def authorship_section(authenticity: dict | None, unit: str) -> list[str]:
    """The card's account of the authorship columns, what was checked and the measured error rates."""
    lines = ["", "## Authorship evidence", "",
             "Per row" + (" (over the item's answers: lowest score; any flag, paste or match; every reason)"
                          if unit != "annotation" else "") + ":", ""]
    lines += [f"- `{name}`: {text}" for name, text in AUTHORSHIP_DOCS]
    lines += ["", "Checked: the page's record of how each answer was written, replayed on the server to the "
              "exact submitted text (pastes, typing rhythm, revisions); near-copies of other answers and of "
              "known LLM outputs; paraphrases of the answers LLMs gave to the same prompt where the data owner "
              "uploaded them. The text's style is not used unless the campaign turned it on. A person carefully "
              "copy-typing a text cannot be told apart from a person writing it."]
    measured = (authenticity or {}).get("measured_error_rates")
    if measured:
        lines += ["", f"Measured error rates at threshold {measured['threshold']} ({measured['data']}):", "",
                  "| condition | counts | n | rate | 95% interval |", "|---|---|---:|---:|---|"]
        lines += [f"| {r['condition']} | {r['counts']} | {r['n']} | {r['rate'] * 100:.1f}% | "
                  f"{r['ci95'][0] * 100:.1f}–{r['ci95'][1] * 100:.1f}% |" for r in measured["rows"]]
    return lines


SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M")]


def _size_category(n: int) -> str:
    for bound, label in SIZE_CATEGORIES:
        if n < bound:
            return label
    return "n>10M"


def authenticity_report(campaign) -> dict | None:
    """``authenticity.selectors.dataset_report(campaign)`` when that app provides it; None otherwise."""
    try:
        module = importlib.import_module("authenticity.selectors")
    except ImportError:
        return None
    report = getattr(module, "dataset_report", None)
    if report is None:
        return None
    try:
        return report(campaign)
    except Exception:  # noqa: BLE001 - the card must not fail because an optional report did
        log.exception("authenticity dataset_report failed for campaign %s", campaign.pk)
        return None


def authorship_evidence():
    """``authenticity.selectors.export_evidence`` (the authorship columns per row) when that app provides it.

    Looked up by name like the report above: authenticity and exports sit side by side in the layers."""
    try:
        module = importlib.import_module("authenticity.selectors")
    except ImportError:
        return None
    return getattr(module, "export_evidence", None)


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def render_card(export: Export, layout: Layout, stats: dict, files: list[dict], rows: int,
                authenticity: dict | None, generated_at: datetime | None = None) -> str:
    campaign = export.campaign
    generated_at = generated_at or timezone.now()
    fmt = export.format
    licence = (export.filters or {}).get("license") or "other"
    splits = [f for f in files if f["rows"]]
    yaml = [
        "---",
        f"license: {licence}",
        "language:",
        "- vi",
        f"pretty_name: {orjson.dumps(campaign.name).decode()}",
        "size_categories:",
        f"- {_size_category(rows)}",
        "tags:",
        "- human-annotated",
        f"- {campaign.task_type}",
    ]
    tree = layout.tree(fmt)
    if tree is None:  # a file tree (COCO, YOLO...) is read by its own tools, not by ``datasets`` configs
        yaml += ["configs:", "- config_name: default", "  data_files:"]
        for f in splits or files:
            yaml += [f"  - split: {f['split']}", f"    path: {f['name']}"]
    yaml.append("---")

    agreement = stats["agreement"]
    lines = [
        f"# {campaign.name}",
        "",
        f"Human-annotated dataset exported from campaign #{campaign.pk} ({campaign.task_type}) of "
        f"{export.organization.name}.",
        "",
        "## Dataset structure",
        "",
        f"- Layout: `{layout.name}` — {layout.description}",
    ]
    if tree is not None:
        lines.append(f"- Format: `{fmt}` — {tree.description}")
    else:
        lines += [f"- Format: `{fmt}`; one row per {'annotation' if layout.unit == 'annotation' else 'item'}.",
                  f"- Columns: {', '.join(f'`{c}`' for c in layout.columns)}"]
    if layout.has_media and tree is None:
        lines.append("- Media files are in `media/`; the path column is relative to the archive root.")
    lines += ["", "| split | rows | file | sha256 |", "|---|---:|---|---|"]
    lines += [f"| {f['split']} | {f['rows']} | `{f['name']}` | `{f['sha256']}` |" for f in files]
    split = export.split or {}
    lines += [
        "",
        f"Splits: by {split.get('by', 'item')} with seed {split.get('seed', 0)} and ratios "
        f"{orjson.dumps(split.get('ratios', {'train': 1.0})).decode()}; "
        + ("no speaker appears in two splits." if split.get("by") == "speaker"
           else "all annotations of an item are in the same split."),
        "",
        "## Selection",
        "",
        f"- Filters: {orjson.dumps(_shown_filters(export.filters or {})).decode()}",
        _finalised_line(export),
        f"- Items: {stats['items']}; annotations: {stats['annotations']}; contributors: {stats['contributors']}",
        f"- Consensus states: {orjson.dumps(stats['consensus_states']).decode()}",
        f"- Time span of the annotations: {_fmt(stats['first_annotation'])} to {_fmt(stats['last_annotation'])}",
        "",
        "## Agreement",
        "",
        "| statistic | value |",
        "|---|---:|",
        f"| items with consensus | {agreement['n']} |",
        f"| mean agreement | {_fmt(agreement['mean'])} |",
        f"| std | {_fmt(agreement['std'])} |",
        f"| min | {_fmt(agreement['min'])} |",
        f"| max | {_fmt(agreement['max'])} |",
        "",
        "## Contributors by region",
        "",
        "| region | contributors | annotations |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['region'] or 'unknown'} | {r['contributors']} | {r['annotations']} |" for r in stats["regions"]]
    if "speakers" in stats:
        lines += ["", "### Speakers by region", "", "| region | speakers | recordings |", "|---|---:|---:|"]
        lines += [f"| {r['region'] or 'unknown'} | {r['speakers']} | {r['recordings']} |" for r in stats["speakers"]]
    if layout.free_text:
        lines += authorship_section(authenticity, layout.unit)
    if layout.carries_suggestions:
        lines += ["", "## Model assistance", "",
                  "Some answers may have been given with a model's suggestion on the page (pre-filled or shown "
                  "beside the answer). The server records what it showed and compares the stored answer with it:",
                  "", *(f"- `{name}`: {text}" for name, text in SUGGESTION_DOCS),
                  "", "To keep only unassisted human answers, keep rows where `suggestion_shown` is false."]
    lines += ["", "## Licence", "", f"`{licence}`" + (" (not specified by the data owner: ask before use)."
                                                     if licence == "other" else "."),
              "", "## Provenance", "", PROVENANCE]
    if authenticity:
        statement = authenticity.get("provenance") or authenticity.get("provenance_statement")
        if isinstance(statement, str) and statement:
            lines += ["", statement]
        lines += ["", "### Data authenticity report", "", "```json",
                  orjson.dumps(authenticity, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                               default=str).decode(), "```"]
    lines += ["", "## Export", "", f"- Export #{export.pk}, generated at {generated_at.isoformat()}.",
              f"- Rows: {rows}."]
    return "\n".join(yaml + lines) + "\n"


def _shown_filters(filters: dict) -> dict:
    """The filters as the card states them: a chosen-items export names how many items were chosen, not
    every id (a selection can hold 100,000)."""
    shown = {k: v for k, v in filters.items() if k not in ("license", "item_ids")}
    if filters.get("item_ids"):
        shown["chosen_items"] = len(filters["item_ids"])
    return shown


def _finalised_line(export: Export) -> str:
    """The selection's agreement rule in words: which items count as finalised, and how to change it."""
    filters = export.filters or {}
    threshold = export.campaign.confidence_threshold
    agreement = filters.get("min_agreement")
    extra = f" and agreement ≥ {agreement}" if agreement is not None else ""
    if filters.get("finalised_only"):
        return (f"- Finalised items only: consensus confidence ≥ {threshold} (the campaign's threshold){extra}; "
                "request `finalised_only: false` to include collecting and disputed items.")
    return (f"- All items, finalised or not (finalised = consensus confidence ≥ {threshold}){extra}; "
            "request `finalised_only: true` to keep only finalised items.")
