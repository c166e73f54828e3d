"""Issue 26 gaps: Dawid-Skene on matched span labels (synthetic crowd, planted bug, the real re-score),
the spaCy JSON training layout, the Hugging Face token-classification Parquet with ClassLabel metadata,
authorship on reward rows, and the Open Assistant tree import endpoint."""
from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from annotations.models import Annotation, Consensus
from consensus import dawid_skene as ds
from consensus.engine import rescore_campaign
from task_types.spans import campaign_labels, core
from task_types.spans.hf import feature_dict
from tasks.models import Item
from tests.api_data import answer_items
from tests.test_export_engine import build, read_rows

LABELS = ["PER", "LOC", "ORG"]
OASST = Path("/work/shared/fixtures/conversations/oasst_en_100_tree.jsonl")


# --- 1. Dawid-Skene on span labels ---------------------------------------------------------------------------

def crowd(seed: int, n_items: int = 150, accuracy=(0.55, 0.55, 0.55, 0.55, 0.95)):
    """Items of two spans with fixed boundaries; contributor w keeps the true label with ``accuracy[w]``,
    else says one of the other labels at random. Four careless contributors, then one careful one (last, so
    a vote whose ties go to the first answer does not favour it)."""
    rng = random.Random(seed)
    per_item, truth = [], []
    for _ in range(n_items):
        spans = [(0, 5, rng.choice(LABELS)), (10, 14, rng.choice(LABELS))]
        truth.append([label for _s, _e, label in spans])
        per_item.append([(w, [{"id": f"s{k}", "start": s, "end": e,
                               "label": label if rng.random() < a else rng.choice([x for x in LABELS if x != label])}
                              for k, (s, e, label) in enumerate(spans)]) for w, a in enumerate(accuracy)])
    return per_item, truth


def label_accuracy(seeds=(0, 1, 2)) -> tuple[float, float]:
    """(DS, per-item vote) share of span labels equal to the truth, over the seeds' crowds."""
    ds_right = vote_right = total = 0
    for seed in seeds:
        per_item, truth = crowd(seed)
        decided = campaign_labels.decide_group_labels(per_item, LABELS)
        for answers, choice, true in zip(per_item, decided, truth, strict=True):
            ds_right += sum(c[0] == t for c, t in zip(choice, true, strict=True))
            voted = core.consensus_spans([spans for _w, spans in answers])
            vote_right += sum(v["label"] == t for v, t in zip(voted, true, strict=True))
            total += len(true)
    return ds_right / total, vote_right / total


def majority_instead_of_ds(data, **_kw):
    """The planted bug: 'Dawid-Skene' that is the plain vote."""
    labels, share = ds.majority_vote(data)
    posteriors = np.eye(data.n_classes)[np.maximum(labels, 0)] * share[:, None]
    return ds.DawidSkeneResult(posteriors, labels, np.zeros((data.n_workers, data.n_classes, data.n_classes)),
                               np.zeros(data.n_classes), 0, True, data.dropped)


@pytest.mark.parametrize("bug", [None, "majority_vote"])
def test_dawid_skene_recovers_span_labels_better_than_the_vote(bug, monkeypatch):
    if bug:
        monkeypatch.setattr(campaign_labels.ds, "dawid_skene", majority_instead_of_ds)
    ds_accuracy, vote_accuracy = label_accuracy()
    # Measured (seeds 0-2, 150 items x 2 spans, accuracies 4 x 0.55 / 0.95): DS 0.938, vote 0.825; the
    # planted bug 0.79. At 60 items per crowd DS is not reliably better (0.78-0.90 per seed): it needs data.
    failed = not (ds_accuracy >= 0.9 and ds_accuracy >= vote_accuracy + 0.08)
    assert failed == bool(bug), (ds_accuracy, vote_accuracy)


TEXT = "Anh Nam sống ở Huế với chị Lan."


def piece(word: str, label: str, k: int) -> dict:
    start = TEXT.index(word)
    return {"id": f"s{k}", "start": start, "end": start + len(word), "label": label}


@pytest.mark.django_db
def test_rescore_decides_span_labels_by_dawid_skene_and_exports_load(make_campaign, make_contributor, settings,
                                                                    tmp_path):
    settings.MEDIA_ROOT, settings.EXPORT_ROOT = tmp_path / "media", tmp_path / "exports"
    settings.CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR = 4
    campaign = make_campaign("spans", overlap=3, items=[{"payload": {"text": TEXT}} for _ in range(6)],
                             config={"labels": [{"value": v} for v in LABELS]})
    people = [make_contributor() for _ in range(3)]
    rng = random.Random(5)
    truth = [("Nam", "PER"), ("Huế", "LOC"), ("Lan", "PER")]

    def answer(i, c):
        return {"spans": [piece(w, label if c == 0 or rng.random() < 0.6 else rng.choice(LABELS), k)
                          for k, (w, label) in enumerate(truth)], "relations": []}

    answer_items(campaign, people, answer)
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene"
    rows = list(Consensus.objects.filter(item__campaign=campaign).order_by("item_id"))
    assert {c.method for c in rows} == {"span_dawid_skene"}
    # The stored labels are the campaign fit's, computed again here from the stored answers.
    workers = {u: w for w, u in enumerate(sorted(p.pk for p in people))}
    per_item = [[(workers[a.contributor_id], a.payload["spans"]) for a in
                 Annotation.objects.filter(item_id=c.item_id).order_by("id")] for c in rows]
    decided = campaign_labels.decide_group_labels(per_item, LABELS)
    for c, choice in zip(rows, decided, strict=True):
        assert [(s["label"], s["posterior"]) for s in c.result["spans"]] == [(lab, round(p, 4)) for lab, p in choice]
    # Too few answers per contributor: the per-item vote, as before.
    settings.CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR = 100
    assert rescore_campaign(campaign_id=campaign.pk)["method"] == "weighted_vote"

    # 3. Hugging Face: the Parquet file names the campaign's tags; datasets loads ner_tags as ClassLabel.
    from datasets import ClassLabel, Features, load_dataset

    export = build(campaign, "token_classification", "parquet")
    data_dir = tmp_path / "hf"
    from exports.services import export_file_path

    zipfile.ZipFile(export_file_path(export)).extractall(data_dir)
    loaded = load_dataset("parquet", data_files=[str(data_dir / e["name"]) for e in export.files], split="train",
                          cache_dir=str(tmp_path / "hf-cache"))
    tags = loaded.features["ner_tags"].feature
    assert isinstance(tags, ClassLabel) and tags.names == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    first = Consensus.objects.get(item_id=loaded[0]["item_id"]).result["spans"]
    tokens = core.syllable_tokens(TEXT)
    assert [tags.int2str(t) for t in loaded[0]["ner_tags"]] == core.bio_tags(tokens, first)
    assert Features.from_dict(feature_dict(LABELS)) == loaded.features  # the metadata is datasets' own form

    # 2. spaCy JSON training format, one document per item, offsets into the raw text.
    [row, *_] = read_rows(build(campaign, "spacy_json"))["train"]
    doc = json.loads(row["doc"])
    [para] = doc["paragraphs"]
    assert para["raw"] == TEXT and doc["id"] == row["item_id"]
    stored = Consensus.objects.get(item_id=row["item_id"]).result["spans"]
    assert para["entities"] == [[s["start"], s["end"], s["label"]] for s in stored]
    assert [TEXT[s:e] for s, e, _l in para["entities"]] == ["Nam", "Huế", "Lan"]
    words = para["sentences"][0]["tokens"]
    assert "".join(t["orth"] + t["space"] for t in words) == TEXT
    assert [t["ner"] for t in words if t["orth"] in ("Nam", "Huế", "Lan")] == [f"U-{s['label']}" for s in stored]


def test_spacy_doc_whitespace_nesting_and_biluo():
    text = "  Bệnh viện Bạch Mai\nở  Hà Nội."
    spans = [{"start": text.index("Bệnh"), "end": text.index("Mai") + 3, "label": "ORG"},
             {"start": text.index("Bạch"), "end": text.index("Mai") + 3, "label": "LOC"},  # nested: dropped
             {"start": text.index("Hà"), "end": text.index("Nội") + 3, "label": "LOC"}]
    doc = core.spacy_doc(text, spans, core.syllable_tokens(text), doc_id=7)
    tokens = doc["paragraphs"][0]["sentences"][0]["tokens"]
    assert "".join(t["orth"] + t["space"] for t in tokens) == text  # whitespace tokens keep the text exact
    assert [t["id"] for t in tokens] == list(range(len(tokens)))
    assert all(t["space"] in ("", " ") for t in tokens)
    tagged = [(t["orth"], t["ner"]) for t in tokens if t["ner"] != "O"]
    assert tagged == [("Bệnh", "B-ORG"), ("viện", "I-ORG"), ("Bạch", "I-ORG"), ("Mai", "L-ORG"),
                      ("Hà", "B-LOC"), ("Nội", "L-LOC")]
    entities = doc["paragraphs"][0]["entities"]
    assert [text[s:e] for s, e, _l in entities] == ["Bệnh viện Bạch Mai", "Hà Nội"]


# --- 4. reward rows carry authorship ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_reward_rows_carry_authenticity_of_contributor_written_responses(make_campaign, make_contributor, settings,
                                                                         tmp_path):
    settings.MEDIA_ROOT, settings.EXPORT_ROOT = tmp_path / "media", tmp_path / "exports"
    from authenticity.models import AuthenticityScore

    write = make_campaign("conversation", overlap=1, config={"mode": "write"}, items=[{"payload": {
        "tree_id": "t1", "messages": [{"role": "user", "content": "Ăn gì cho bữa sáng?", "id": "t1"}]}}])
    [written] = answer_items(write, [make_contributor()], lambda i, c: {"text": "Phở bò và một ly cà phê sữa."})
    AuthenticityScore.objects.create(annotation=written, score=0.3, flagged=True, campaign_id=write.pk,
                                     contributor_id=written.contributor_id)
    rank = make_campaign("conversation", overlap=2, config={"mode": "rank"}, items=[{"payload": {
        "tree_id": "t1", "messages": [{"role": "user", "content": "Ăn gì cho bữa sáng?", "id": "t1"}],
        "responses": [{"text": "Phở bò và một ly cà phê sữa.", "id": f"a{written.pk}"},
                      {"text": "Bánh mì.", "model": "m1"}]}}])
    answer_items(rank, [make_contributor() for _ in range(2)], lambda i, c: {"ranks": [2, 1]})
    rows = read_rows(build(rank, "reward"))["train"]
    assert [(r["response"], r["authenticity"], r["flagged"]) for r in rows] == [
        ("Phở bò và một ly cà phê sữa.", 0.3, True), ("Bánh mì.", None, None)]


# --- 5. Open Assistant tree import endpoint -------------------------------------------------------------------

def upload(client, campaign, lines: list[str]):
    body = io.BytesIO("\n".join(lines).encode())
    body.name = "trees.jsonl"
    return client.post(f"/api/v1/campaigns/{campaign.pk}/imports/oasst/", {"file": body}, format="multipart")


@pytest.mark.django_db
def test_oasst_import_endpoint(make_campaign, token_client, other_org):
    from organizations.models import ApiToken

    campaign = make_campaign("conversation", items=[], config={"mode": "rate"})
    lines = OASST.read_text().splitlines()[:3]
    client = token_client()
    # A bad line is named and nothing is stored, even though lines 1-2 were good.
    bad = json.loads(lines[0])
    bad["prompt"]["replies"][0]["role"] = "bot"
    response = upload(client, campaign, [*lines[:2], json.dumps(bad)])
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "line 3.prompt.replies[0].role"
    for junk, field in (("[1, 2]", "line 1"), ("{not json", "line 1"),
                        ('{"message_tree_id": "x", "prompt": {"role": "prompter", "text": "a", "replies": [3]}}',
                         "line 1.prompt.replies")):
        response = upload(client, campaign, [junk])
        assert (response.status_code, response.json()["error"]["field"]) == (400, field)
    assert not Item.objects.filter(campaign=campaign).exists()
    # Good lines: items for the campaign's mode.
    response = upload(client, campaign, lines)
    assert response.status_code == 201
    assert response.json()["imported"] == Item.objects.filter(campaign=campaign).count() > 0
    # Another organisation's token: 404; a read-only token: 403; another task type: refused, naming it.
    assert upload(token_client(other_org), campaign, lines).status_code == 404
    assert upload(token_client(scopes=[ApiToken.Scope.READ_DATASETS]), campaign, lines).status_code == 403
    spans = make_campaign("spans", items=[], config={"labels": [{"value": "PER"}]})
    response = upload(client, spans, lines)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "campaign")
