"""What every task type declares: schemas, page, aggregation, export layouts and demo content.

The queue, the labelling pages, import, the API, consensus and export look a type up by key
in the registry (tasks.types.get_task_type) and never branch on the type themselves. A type is one
package (``task_types/<key>/``) subclassing ``TaskType``; every hook it may override is declared
here with its default (docs/architecture.md, "Adding a task type").
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, ngettext, pgettext_lazy

from core.schema import SchemaError, check_schema, normalize_text


@dataclass
class Aggregate:
    """One item's consensus as a task type computes it."""

    result: dict
    confidence: float
    agreement: float
    method: str
    version: str = "1"


@dataclass
class DemoCampaign:
    name: str
    config: dict
    instructions: str
    items: list[dict]  # each {"payload": ..., optional "gold_answer": ...}
    extra: dict = field(default_factory=dict)  # other Campaign fields (overlap, region_quotas...)


class TaskType:
    """One kind of work. Subclasses set the attributes below and override the hooks they need."""

    key: str = ""  # stored in Campaign.task_type; also the package's folder name
    label: str = ""  # shown to managers (lazy translation)
    # The page partial with this type's controls, as a template name; the type package's folder serves it
    # as "task_types/<folder>/<file>" (task_types.loaders.Loader).
    template: str = ""
    # Static files the labelling, qualification and preview pages load for this type, in order (helpers
    # first, the type's own script last), named "task_types/<folder>/<file>" (task_types.finders.Finder).
    scripts: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    config_schema: dict = {"type": "object"}
    # The export layouts this type supports by name, built with exports.layouts.layouts_for(...):
    # ``raw`` is always included. The layouts themselves live in the type's package (``layouts.py``).
    export_layouts: dict = {}
    # Top-level annotation keys written by hand (authenticity scoring reads only these); None: every
    # string in the answer that looks like prose; []: the answer holds no hand-written text (a recording,
    # a vote), so no authorship signal applies and the answer is "not scored", never flagged.
    free_text_fields: list[str] | None = None
    # True where copying is the task (transcribing an image or audio): the writing-process signals that
    # tell composing from copying do not apply, so such answers are "not scored" for authorship.
    copies_by_design: bool = False
    # Whether the page records audio and uploads it for an assignment (assets.services.store_recording
    # then asks check_recording about it).
    accepts_recordings: bool = False
    # Dataset formats a data team can upload with their media as pre-annotated items (e.g. COCO, YOLO); the
    # import API (``campaigns/<id>/imports/dataset/``) and the admin's dataset import page offer them and
    # call ``import_dataset``.
    dataset_import_formats: tuple[str, ...] = ()

    # --- schemas -----------------------------------------------------------------------
    def default_config(self) -> dict:
        return {}

    def item_schema(self, config: dict) -> dict:
        return {"type": "object"}

    def annotation_schema(self, config: dict) -> dict:
        return {"type": "object"}

    def validate_config(self, config: dict) -> dict:
        if config is not None and not isinstance(config, dict):
            raise SchemaError("config", "The configuration must be a JSON object.")
        merged = {**self.default_config(), **(config or {})}
        check_schema(merged, self.config_schema)
        return merged

    def validate_item(self, payload: Any, config: dict) -> dict:
        payload = normalize_text(payload)
        check_schema(payload, self.item_schema(config))
        return payload

    def validate_gold(self, gold: Any, config: dict, payload: dict) -> Any:
        return self.validate_annotation(gold, config=config, item_payload=payload, view={})

    def validate_annotation(self, payload: Any, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = normalize_text(payload)
        check_schema(payload, self.annotation_schema(config))
        return payload

    # --- page ----------------------------------------------------------------------------
    def prepare_view(self, *, item_payload: dict, config: dict, rng: random.Random) -> dict:
        """What this contributor is shown beyond the payload (e.g. a shuffled response order)."""
        return {}

    def suggestion_for_view(self, answer: dict, *, view: dict, config: dict) -> dict:
        """A model's suggestion (an answer in the item's own terms, as a gold answer is written) as this
        contributor's page holds an answer: a type that shuffles what it shows (``prepare_view``) maps it to
        the shown positions, so the widget restores it like a draft and the stored answer compares with it."""
        return answer

    def contributor_payload(self, item_payload: dict) -> dict:
        """The payload as a contributor's page receives it: a type hides what must stay blind (model names)."""
        return item_payload

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        """Storage keys of the media an item shows, by name; the page gets per-contributor signed URLs."""
        return {}

    def preview_media_keys(self, item_payload: dict) -> dict[str, str]:
        """The media staff pages show for an item (review, console): by default all of ``media_keys``; a type
        whose page needs helper files (an image's deep-zoom tiles) shows only the media itself."""
        return self.media_keys(item_payload)

    def answer_media_keys(self, answer: dict) -> dict[str, str]:
        """Storage keys of media an answer carries (e.g. a recording), for reviewers' pages."""
        return {}

    def check_recording(self, audio, *, item_payload: dict, config: dict) -> None:
        """Refuse a decoded recording (raise assets.decoding.MediaRefused); only if ``accepts_recordings``."""

    def review_answer(self, answer: dict, *, item_payload: dict, config: dict) -> dict:
        """An answer as the read-only review view restores it into this type's own page (rendered with the
        identity view, in the item's original order): a type whose answers name shown positions maps them
        back here, so reviewers never map positions in their head. The default: the answer as stored."""
        return answer

    def review_consensus(self, result: dict, *, item_payload: dict, config: dict) -> dict | None:
        """An item's consensus result as an answer the read-only view can draw with this type's page (in the
        original order, as ``review_answer``), or None when it is not shaped like one (the review page then
        lists its figures). The default keeps the result's answer fields if together they are a valid answer."""
        if not isinstance(result, dict):
            return None
        schema = self.annotation_schema(config)
        candidate = {k: v for k, v in result.items() if k in (schema.get("properties") or {})}
        if not candidate:
            return None
        try:
            check_schema(candidate, schema)
        except SchemaError:
            return None
        return candidate

    def review_extra(self, annotation) -> dict:
        """Facts about an answer that live outside it and the review view shows beside it (e.g. the validation
        votes a recording received in another campaign); JSON-ready, passed to the script's ``readOnly``."""
        return {}

    def on_submit(self, annotation) -> None:
        """Runs inside the submit transaction after an answer is stored (e.g. a recording becomes an item)."""

    def answer_summary(self, answer: Any, *, config: dict) -> list[tuple[str, str]]:
        """A short readable summary of an answer, as (field, value) lines, for a contributor's own history.

        The default walks the answer generically (texts shortened, lists counted, nested objects one level
        deep) so no page shows raw JSON; a type overrides it with words its contributors know.
        """
        given = (self.annotation_schema(config) or {}).get("properties")
        if isinstance(answer, dict) and given:
            # what the contributor gave, not what the server added to it (a view's order, a diff, photo facts)
            answer = {key: value for key, value in answer.items() if key in given}
        return generic_answer_summary(answer, config)

    # --- consensus -----------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        raise NotImplementedError

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        """Whether an answer matches a gold answer (feeds trust)."""
        return answer == gold

    # --- campaign-level consensus (Dawid-Skene needs every answer of the campaign) --------
    # A type with categorical questions declares them here and plugs into Dawid-Skene without the
    # consensus code knowing its payloads (see docs/architecture.md, "Consensus").
    def label_space(self, config: dict) -> dict[str, list[str]]:
        """Categorical questions an answer holds, each with its classes in order (empty: none).

        A multi-label question is one yes/no question per category, e.g. ``{"category.spam": ["no", "yes"]}``.
        """
        return {}

    def label_metric(self, question: str, config: dict) -> str:
        """Krippendorff's alpha level for a question: "nominal", "ordinal" or "interval"."""
        return "nominal"

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        """An answer's class index per question of ``label_space`` (unanswered questions left out)."""
        return {}

    def apply_campaign_labels(self, aggregate: Aggregate, labels: dict[str, tuple[str, float]], *,
                              config: dict) -> Aggregate:
        """Merge the campaign-level decision (class and posterior per question) into an item's aggregate.

        The default keeps the type's own result and adds ``labels``/``posteriors``; confidence is the
        least certain question's posterior.
        """
        aggregate.result = {
            **aggregate.result,
            "labels": {q: c for q, (c, _p) in labels.items()},
            "posteriors": {q: round(p, 6) for q, (_c, p) in labels.items()},
        }
        if labels:
            aggregate.confidence = min(p for _c, p in labels.values())
        return aggregate

    def campaign_aggregates(self, answers_by_item: list[list[tuple[int, dict]]], weights_by_item: list[list[float]],
                            *, config: dict) -> list[Aggregate] | None:
        """Every item's aggregate decided from the whole campaign at once, for a type whose categorical
        decisions are not fixed questions (``label_space``) but appear per item, e.g. the label of each
        matched span group (task_types/spans/campaign_labels.py). ``answers_by_item``: per item, its answers
        as (contributor row, payload); ``weights_by_item`` their trust. Called by the whole-campaign re-score
        when the campaign has enough answers per contributor for Dawid-Skene; None: the per-item vote."""
        return None

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        """Whether one answer agrees with its item's finalised consensus (feeds trust); None: not comparable."""
        space = self.label_space(config)
        if space:
            mine = self.categorical_labels(answer, config)
            decided = result.get("labels") or {}
            shared = [q for q in mine if q in decided and q in space]
            if shared:
                return all(space[q][mine[q]] == decided[q] for q in shared)
        try:
            return bool(self.is_correct(answer, result, config=config))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None

    # --- dataset import ---------------------------------------------------------------------
    def import_dataset(self, *, campaign, fmt: str, annotations, annotations_name: str, media=None,
                       uploaded_by=None) -> int:
        """Create pre-annotated items from an uploaded dataset file (``annotations``, a binary file) and a zip
        of its media (``media`` or None); returns the number of items. All or nothing: a refusal raises
        SchemaError naming the file and the object, and nothing is stored."""
        raise SchemaError("format", "This task type imports no dataset formats.")

    # --- demo ----------------------------------------------------------------------------
    def demo(self) -> list[DemoCampaign]:
        return []

    def demo_qualification(self) -> DemoCampaign | None:
        """The demo's qualification test for this type: a config and gold questions (items with "gold_answer").

        The default takes the gold items of the first demo campaign that has some, with that campaign's config; a
        type whose demo campaigns carry no gold (to keep their queues plain) writes its test here. None: no test
        (a type whose answers cannot be graded against gold, e.g. a recording).
        """
        for spec in self.demo():
            gold = [entry for entry in spec.items if entry.get("gold_answer") is not None]
            if gold:
                return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=gold)
        return None


SUMMARY_LINES = 6
SUMMARY_TEXT = 120

# Field names many answers share, named for people; any other field is shown as its key made readable.
SUMMARY_FIELDS = {
    "categories": pgettext_lazy("answer field", "Categories"),
    "category": pgettext_lazy("answer field", "Category"),
    "choice": pgettext_lazy("answer field", "Choice"),
    "verdict": pgettext_lazy("answer field", "Verdict"),
    "overall": pgettext_lazy("answer field", "Overall"),
    "severity": pgettext_lazy("answer field", "Severity"),
    "text": pgettext_lazy("answer field", "Text"),
    "response": pgettext_lazy("answer field", "Response"),
    "claims": pgettext_lazy("answer field", "Claims"),
    "regions": pgettext_lazy("answer field", "Regions"),
    "turns": pgettext_lazy("answer field", "Turns"),
    "answers": pgettext_lazy("answer field", "Answers"),
    "spans": pgettext_lazy("answer field", "Spans"),
    "labels": pgettext_lazy("answer field", "Labels"),
    "rating": pgettext_lazy("answer field", "Rating"),
    "scores": pgettext_lazy("answer field", "Scores"),
    "ranking": pgettext_lazy("answer field", "Ranking"),
    "fields": pgettext_lazy("answer field", "Fields"),
    "note": pgettext_lazy("answer field", "Note"),
    "notes": pgettext_lazy("answer field", "Notes"),
    "comment": pgettext_lazy("answer field", "Comment"),
    "needs_escalation": pgettext_lazy("answer field", "Needs escalation"),
    "escalation_note": pgettext_lazy("answer field", "Escalation note"),
}


def _choice_labels(config: Any, found: dict[str, str] | None = None) -> dict[str, str]:
    """Names of the choice keys a campaign configures (``{"key": ..., "label": ..., "label_en": ...}`` entries
    anywhere in its config), in the reader's language."""
    found = {} if found is None else found
    english = (get_language() or "vi").startswith("en")
    if isinstance(config, dict):
        key, label = config.get("key"), config.get("label")
        if isinstance(key, str) and isinstance(label, str):
            found.setdefault(key, config.get("label_en") or label if english else label)
        for value in config.values():
            _choice_labels(value, found)
    elif isinstance(config, list):
        for value in config:
            _choice_labels(value, found)
    return found


def _summary_value(value: Any, names: dict[str, str]) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        text = " ".join(names.get(value, value).split())
        return text if len(text) <= SUMMARY_TEXT else text[:SUMMARY_TEXT - 1] + "…"
    if isinstance(value, list):
        if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value) and len(value) <= 8:
            return _summary_value(", ".join(names.get(v, str(v)) if isinstance(v, str) else str(v) for v in value),
                                  {})
        return ngettext("%(n)s entry", "%(n)s entries", len(value)) % {"n": len(value)}
    if isinstance(value, dict):
        parts = [f"{_summary_key(k)}: {_summary_value(v, names)}" for k, v in list(value.items())[:4]]
        return _summary_value("; ".join(parts), {})
    return _summary_value(str(value), {})


def _summary_key(key: Any) -> str:
    if key in SUMMARY_FIELDS:
        return str(SUMMARY_FIELDS[key])
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def generic_answer_summary(answer: Any, config: dict | None = None) -> list[tuple[str, str]]:
    """(field, value) lines for any answer: the fallback of ``TaskType.answer_summary``."""
    names = _choice_labels(config or {})
    if not isinstance(answer, dict):
        return [("", _summary_value(answer, names))]
    lines = [(_summary_key(key), _summary_value(value, names)) for key, value in answer.items()
             if not str(key).startswith("_")]
    return lines[:SUMMARY_LINES]
