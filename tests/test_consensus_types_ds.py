"""Dawid-Skene for RLHF pairwise, hallucination claims and speech validation through the real campaign
re-score on PostgreSQL: simulated crowds with known truth and careless or adversarial contributors, gold
clamping, result keys for pages and exports, trust agreement, legacy data; RLHF position bias."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation, CampaignScoring, Consensus
from annotations.selectors import rlhf_position_bias
from consensus.engine import rescore_campaign, score_item_consensus
from contributors.models import TrustScore
from exports.layouts import LAYOUTS, LayoutContext
from exports.selectors import export_records
from tasks.models import Assignment, Item
from tasks.types import get_task_type

pytestmark = pytest.mark.django_db

RLHF = get_task_type("rlhf")
HALLUCINATION = get_task_type("hallucination")
VALIDATION = get_task_type("speech_validation")


# --- a simulated crowd ---------------------------------------------------------------------------


def honest(accuracy, classes):
    def answer(truth, rng):
        if rng.random() < accuracy:
            return truth
        return [c for c in classes if c != truth][rng.integers(len(classes) - 1)]
    return answer


def swapper(mapping):
    """An adversarial contributor: answers the opposite of what they see."""
    return lambda truth, rng: mapping.get(truth, truth)


def constant(label):
    """A careless contributor: the same answer whatever the item."""
    return lambda truth, rng: label


def crowd(truth, behaviours, per_item, seed):
    """(item row, worker row, label) with ``per_item`` distinct workers per item."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, t in enumerate(truth):
        for w in rng.choice(len(behaviours), per_item, replace=False).tolist():
            rows.append((i, w, behaviours[w](t, rng)))
    return rows


def majority(labels):
    """Plain majority vote (first-seen wins a tie), the baseline."""
    return Counter(labels).most_common(1)[0][0]


def seed_answers(campaign, rows, *, views=None):
    """Store answers as submitted ones (bulk: the crowd is large); ``rows`` = (item, user, payload)."""
    now = timezone.now()
    assignments = Assignment.objects.bulk_create([
        Assignment(item=item, campaign=campaign, contributor=user, state="submitted", expires_at=now,
                   finished_at=now, view=(views[n] if views else {}))
        for n, (item, user, _payload) in enumerate(rows)
    ])
    Annotation.objects.bulk_create([
        Annotation(assignment=a, item=item, campaign=campaign, contributor=user, payload=payload,
                   is_gold=item.is_gold)
        for a, (item, user, payload) in zip(assignments, rows, strict=True)
    ])
    Item.objects.filter(campaign=campaign).update(done_count=0, open_slots=0)


def exported(campaign, layout_name):
    layout = LAYOUTS[layout_name]
    ctx = LayoutContext()
    return [row for rec in export_records(campaign, layout, {}) for row in layout.build(rec, ctx)]


def agreement_rate(user, task_type):
    row = TrustScore.objects.get(contributor__user=user, task_type=task_type)
    return row.consensus_agreed / row.consensus_seen


# --- RLHF pairwise ---------------------------------------------------------------------------------

PAIR = {"prompt": "Câu hỏi", "responses": [{"text": "trả lời một"}, {"text": "trả lời hai"}]}


def pairwise_payload(canonical, config, rng, *, shown_left_always=False):
    """A real validated answer: the contributor saw a random order and clicked a SHOWN position."""
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    if shown_left_always:
        shown = "A"
    elif canonical in (0, 1):
        shown = "A" if order[0] == canonical else "B"
    else:
        shown = canonical
    answer = {"choice": shown, **({"strength": 2} if shown in ("A", "B") else {})}
    return RLHF.validate_annotation(answer, config=config, item_payload=PAIR, view={"order": order}), order


@pytest.fixture
def workers(make_contributor):
    return [make_contributor() for _ in range(9)]


def test_rlhf_pairwise_dawid_skene_beats_the_vote(make_campaign, workers):
    config = RLHF.validate_config({"mode": "pairwise"})
    rng = np.random.default_rng(3)
    n_items, n_gold = 150, 3
    truth = rng.choice([0, 1, "tie"], size=n_items, p=[0.45, 0.45, 0.1]).tolist()
    truth = [t if t == "tie" else int(t) for t in truth]
    classes = [0, 1, "tie"]
    # The gold items' known answer is the opposite of what the crowd sees: only clamping can give it.
    gold = {i: 1 - truth[i] if truth[i] in (0, 1) else 0 for i in range(n_gold)}
    items = [{"payload": PAIR, **({"gold_answer": RLHF.validate_gold(
        {"choice": "AB"[gold[i]], "strength": 3}, config, PAIR)} if i in gold else {})} for i in range(n_items)]
    campaign = make_campaign("rlhf", items=items, config=config, overlap=5, max_overlap=7, confidence_threshold=0.7)
    item_objs = list(Item.objects.filter(campaign=campaign).order_by("id"))
    behaviours = [honest(0.85, classes)] * 4 + [honest(0.65, classes)] * 2 + [swapper({0: 1, 1: 0})] * 3
    answers = crowd(truth, behaviours, per_item=5, seed=4)
    rows, views = [], []
    for i, w, label in answers:
        payload, order = pairwise_payload(label, config, rng)
        rows.append((item_objs[i], workers[w], payload))
        views.append({"order": order})
    seed_answers(campaign, rows, views=views)

    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene" and figures["errors"] == 0

    results = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    said = {}
    for i, _w, label in answers:
        said.setdefault(i, []).append(label)
    scored = range(n_gold, n_items)
    ds_acc = np.mean([results[item_objs[i].pk].result["choice"] == truth[i] for i in scored])
    vote_acc = np.mean([majority(said[i]) == truth[i] for i in scored])
    print(f"rlhf pairwise: DS {ds_acc:.3f} vs majority vote {vote_acc:.3f}")
    assert ds_acc > vote_acc + 0.05 and ds_acc > 0.9

    # Gold clamped to its known answer against the whole crowd.
    for i, g in gold.items():
        c = results[item_objs[i].pk]
        assert c.result["choice"] == g and c.result["chosen"] == g and c.result["labels"]["preference"] == "AB"[g]
    # The result keeps the keys the DPO / reward exports and the review page read, consistent with the choice.
    some = results[item_objs[10].pk].result
    assert {"ranking", "scores", "chosen", "rejected", "margin", "votes", "choice", "position_bias",
            "n_responses", "labels", "posteriors"} <= set(some)
    for c in results.values():
        if c.result["choice"] in (0, 1):
            assert c.result["chosen"] == c.result["choice"] and c.result["ranking"][0] == c.result["choice"]
        else:
            assert c.result["chosen"] is None and c.result["rejected"] is None
    dpo = exported(campaign, "dpo")
    decisive = [c for c in results.values() if c.result["choice"] in (0, 1)]
    assert len(dpo) == len(decisive) and {"prompt", "chosen", "rejected", "margin"} <= set(dpo[0])
    chosen_text = {r["item_id"]: r["chosen"][0]["content"] for r in dpo}
    assert all(chosen_text[c.item_id] == PAIR["responses"][c.result["chosen"]]["text"] for c in decisive)
    assert len(exported(campaign, "reward")) == 2 * n_items

    # Trust: the adversarial contributors agree with the consensus far less than careful ones.
    assert agreement_rate(workers[0], "rlhf") > 0.75 > 0.3 > agreement_rate(workers[8], "rlhf")
    report = CampaignScoring.objects.get(campaign=campaign).report
    assert set(report["questions"]) == {"preference"}
    assert report["questions"]["preference"]["classes"] == ["A", "B", "tie", "both_bad"]

    # agrees_with_consensus compares in canonical order: a shown "B" with a swapped view is original response 0.
    decided = next(c for c in decisive if c.result["choice"] == 0).result
    agree = RLHF.validate_annotation({"choice": "B", "strength": 1}, config=config, item_payload=PAIR,
                                     view={"order": [1, 0]})
    differ = RLHF.validate_annotation({"choice": "B", "strength": 1}, config=config, item_payload=PAIR,
                                      view={"order": [0, 1]})
    assert RLHF.agrees_with_consensus(agree, decided, config=config) is True
    assert RLHF.agrees_with_consensus(differ, decided, config=config) is False
    assert RLHF.agrees_with_consensus({}, decided, config=config) is None
    # Between re-scores one item is scored with the stored fit, to the same decision.
    again = score_item_consensus(item_objs[20].pk)
    assert again.method == "dawid_skene" and again.result["choice"] == results[item_objs[20].pk].result["choice"]


def test_rlhf_legacy_answers_give_defined_results(make_campaign, workers):
    config = RLHF.validate_config({"mode": "pairwise"})
    campaign = make_campaign("rlhf", items=[{"payload": PAIR}] * 4, config=config, overlap=3)
    outside, malformed, empty, fine = Item.objects.filter(campaign=campaign).order_by("id")
    good = {"choice": "A", "strength": 2, "order": [1, 0]}  # original response 1
    seed_answers(campaign, [
        (outside, workers[0], {"choice": "Z", "order": [0, 1]}), (outside, workers[1], good),
        (outside, workers[2], good),
        (malformed, workers[0], {"choice": "B", "order": [7]}), (malformed, workers[1], good),
        (empty, workers[0], {}), (empty, workers[1], {}),
        (fine, workers[0], good), (fine, workers[1], good), (fine, workers[2], good),
    ])
    for item in (outside, malformed, empty, fine):
        score_item_consensus(item.pk)  # no exception escapes
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["dropped_labels"] == 1  # the choice outside the set (empty answers answer no question)
    states = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    assert states[fine.pk].result["chosen"] == 1 and states[fine.pk].state == "finalised"
    assert states[outside.pk].result["votes"]["1"] == 2
    assert states[malformed.pk].method == "error"  # order [7] cannot map a shown "B"
    assert RLHF.categorical_labels({"choice": "Z"}, config) == {"preference": -1}
    assert RLHF.categorical_labels({}, config) == {}


def test_rlhf_rubric_ordinal_questions():
    config = RLHF.validate_config({"mode": "rubric", "max_responses": 2})
    space = RLHF.label_space(config)
    assert set(space) == {f"rating.{i}.{c}" for i in (0, 1) for c in ("helpfulness", "harmlessness", "honesty")}
    assert space["rating.0.honesty"] == ["1", "2", "3", "4", "5", "6", "7"]
    assert RLHF.label_metric("rating.0.honesty", config) == "ordinal"
    good, bad = {"helpfulness": 7, "harmlessness": 6, "honesty": 6}, {"helpfulness": 2, "harmlessness": 2, "honesty": 1}
    shown_swapped = RLHF.validate_annotation({"ratings": [bad, good]}, config=config, item_payload=PAIR,
                                             view={"order": [1, 0]})
    labels = RLHF.categorical_labels(shown_swapped, config)
    assert labels["rating.0.helpfulness"] == 6 and labels["rating.1.honesty"] == 0  # canonical order, 0-based
    assert RLHF.categorical_labels({"ratings": [{"helpfulness": 99}, "x"], "order": [0, 1]}, config) == {
        "rating.0.helpfulness": -1}
    agg = RLHF.aggregate([shown_swapped], config=config)
    decided = {q: (space[q][v], 0.9) for q, v in labels.items()}
    decided["rating.1.honesty"] = ("5", 0.6)  # the campaign model thinks response 1 is more honest
    out = RLHF.apply_campaign_labels(agg, decided, config=config)
    assert out.result["ratings"][1]["honesty"]["consensus"] == 5 and out.result["ratings"][1]["honesty"]["median"] == 1
    assert out.result["overall"][1] == pytest.approx((2 + 2 + 5) / 3, abs=1e-4)
    assert out.result["chosen"] == 0 and out.confidence == agg.confidence
    near = RLHF.validate_annotation({"ratings": [{**good, "honesty": 5}, {**bad, "honesty": 4}]}, config=config,
                                    item_payload=PAIR, view={"order": [0, 1]})
    far = RLHF.validate_annotation({"ratings": [{**good, "helpfulness": 3}, bad]}, config=config,
                                   item_payload=PAIR, view={"order": [0, 1]})
    assert RLHF.agrees_with_consensus(near, out.result, config=config) is True  # within one point
    assert RLHF.agrees_with_consensus(far, out.result, config=config) is False
    # k-way ranking stays with Bradley-Terry: no categorical question.
    assert RLHF.label_space(RLHF.validate_config({"mode": "ranking"})) == {}


def test_rlhf_rubric_through_the_campaign_rescore(make_campaign, workers):
    config = RLHF.validate_config({"mode": "rubric", "max_responses": 2, "rationale": "off"})
    crits = [c["key"] for c in config["criteria"]]
    rng = np.random.default_rng(31)
    n_items = 80
    truth = rng.integers(1, 8, size=(n_items, 2, len(crits)))
    campaign = make_campaign("rlhf", items=[{"payload": PAIR}] * n_items, config=config, overlap=5)
    item_objs = list(Item.objects.filter(campaign=campaign).order_by("id"))

    def careful(t, rng):  # within one point of the truth
        return [[int(np.clip(v + rng.integers(-1, 2) * (rng.random() < 0.3), 1, 7)) for v in row] for row in t]

    def careless(t, rng):  # rates everything 4
        return [[4] * len(crits) for _row in t]

    behaviours = [careful] * 6 + [careless] * 3
    rows, views = [], []
    for i, w, _ in crowd(range(n_items), [lambda t, rng: t] * len(behaviours), per_item=5, seed=32):
        ratings = behaviours[w](truth[i].tolist(), rng)
        order = [0, 1] if rng.random() < 0.5 else [1, 0]
        shown = [dict(zip(crits, ratings[o], strict=True)) for o in order]
        rows.append((item_objs[i], workers[w], RLHF.validate_annotation(
            {"ratings": shown}, config=config, item_payload=PAIR, view={"order": order})))
        views.append({"order": order})
    seed_answers(campaign, rows, views=views)
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene" and figures["errors"] == 0 and figures["dropped_labels"] == 0
    results = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    close = [abs(results[item_objs[i].pk].result["ratings"][r][c]["consensus"] - truth[i][r][k]) <= 1
             for i in range(n_items) for r in range(2) for k, c in enumerate(crits)]
    print(f"rlhf rubric: decided rating within one point of the truth for {np.mean(close):.3f}")
    assert np.mean(close) > 0.9
    some = results[item_objs[3].pk]
    assert some.confidence == pytest.approx(RLHF.aggregate(
        list(Annotation.objects.filter(item_id=item_objs[3].pk).values_list("payload", flat=True)),
        config=config).confidence)  # the rubric keeps its spread-based confidence
    assert {"ratings", "overall", "ranking", "chosen", "rejected", "margin", "n_responses"} <= set(some.result)
    assert len(exported(campaign, "reward")) == 2 * n_items
    report = CampaignScoring.objects.get(campaign=campaign).report
    assert report["questions"]["rating.0.honesty"]["metric"] == "ordinal"
    # Trust: ratings within one point agree (the vectorised re-score and agrees_with_consensus alike).
    assert agreement_rate(workers[0], "rlhf") > 0.3 > agreement_rate(workers[8], "rlhf")


# --- hallucination -------------------------------------------------------------------------------

CLAIMS = ["Nhận định một.", "Nhận định hai.", "Nhận định ba."]
H_ITEM = {"prompt": "Hỏi", "response": " ".join(CLAIMS), "claims": CLAIMS}


def claim_answer(verdict, j, w):
    claim = {"verdict": verdict}
    if verdict in ("supported", "contradicted"):
        claim.update(evidence_url=f"https://vi.wikipedia.org/wiki/Muc_{j}_{w % 2}", quote="đoạn trích dẫn đủ dài")
    if verdict == "contradicted":
        claim["correction"] = f"Câu {j} đã sửa lại cho đúng."
    return claim


def hallucination_payload(verdicts, w):
    bad = "contradicted" in verdicts
    return {"claims": [claim_answer(v, j, w) for j, v in enumerate(verdicts)],
            "overall": "major_errors" if bad else "accurate", "severity": "high" if bad else "none"}


def test_hallucination_claims_dawid_skene_beats_the_vote(make_campaign, workers):
    config = HALLUCINATION.validate_config({})
    rng = np.random.default_rng(8)
    n_items, n_gold = 120, 2
    verdicts = ["supported", "contradicted", "unverifiable"]
    truth = rng.choice(verdicts, size=(n_items, len(CLAIMS)), p=[0.5, 0.3, 0.2]).tolist()
    gold_verdicts = ["unverifiable", "unverifiable", "not_claim"]  # nobody in the crowd says this
    items = [{"payload": H_ITEM, **({"gold_answer": hallucination_payload(gold_verdicts, 0)} if i < n_gold else {})}
             for i in range(n_items)]
    campaign = make_campaign("hallucination", items=items, config=config, overlap=5, max_overlap=7,
                             confidence_threshold=0.6)
    item_objs = list(Item.objects.filter(campaign=campaign).order_by("id"))
    flip = {"supported": "contradicted", "contradicted": "supported"}
    behaviours = [honest(0.85, verdicts)] * 4 + [honest(0.65, verdicts)] * 2 + [swapper(flip)] * 3
    said: dict[tuple[int, int], list[str]] = {}
    rows = []
    per_item = crowd(range(n_items), [lambda t, rng: t] * len(behaviours), per_item=5, seed=9)
    for i, w, _ in per_item:
        answer = [behaviours[w](truth[i][j], rng) for j in range(len(CLAIMS))]
        for j, v in enumerate(answer):
            said.setdefault((i, j), []).append(v)
        rows.append((item_objs[i], workers[w], hallucination_payload(answer, w)))
    seed_answers(campaign, rows)

    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene" and figures["errors"] == 0
    results = {c.item_id: c.result for c in Consensus.objects.filter(campaign=campaign)}
    pairs = [(i, j) for i in range(n_gold, n_items) for j in range(len(CLAIMS))]
    ds_acc = np.mean([results[item_objs[i].pk]["claims"][j]["verdict"] == truth[i][j] for i, j in pairs])
    vote_acc = np.mean([majority(said[(i, j)]) == truth[i][j] for i, j in pairs])
    print(f"hallucination claims: DS {ds_acc:.3f} vs majority vote {vote_acc:.3f}; re-score {figures['timings']}")
    assert ds_acc > vote_acc + 0.05 and ds_acc > 0.9

    for i in range(n_gold):  # gold clamped
        assert [c["verdict"] for c in results[item_objs[i].pk]["claims"]] == gold_verdicts
    for i in range(n_gold, n_items):
        r = results[item_objs[i].pk]
        decided = [c["verdict"] for c in r["claims"]]
        assert r["hallucinated_claims"] == [j for j, v in enumerate(decided) if v == "contradicted"]
        assert r["contains_hallucination"] is ("contradicted" in decided)
        assert 0 < r["hallucination_confidence"] <= 1
        assert set(r["labels"]) == {"claim.0", "claim.1", "claim.2"}
        for c in r["claims"]:
            assert {"verdict", "confidence", "votes", "evidence_urls", "correction", "corrections"} <= set(c)
            # A claim decided contradicted carries the representative correction; others none.
            assert (c["correction"] is not None) == (c["verdict"] == "contradicted" and bool(c["corrections"]))
        assert r["overall"] in ("accurate", "major_errors") and r["severity"] in ("high", "none")
    # Evidence URLs stay merged over every answer, whatever the decided verdict.
    assert any(len(c["evidence_urls"]) == 2 for r in results.values() for c in r["claims"])

    rows = {r["item_id"]: r for r in exported(campaign, "hallucination")}
    assert len(rows) == n_items
    for i in range(n_gold, n_items):
        row, r = rows[item_objs[i].pk], results[item_objs[i].pk]
        assert row["hallucinated"] is r["contains_hallucination"]
        assert [c["verdict"] for c in row["claims"]] == [c["verdict"] for c in r["claims"]]
        assert [c["claim"] for c in row["claims"]] == CLAIMS

    report = CampaignScoring.objects.get(campaign=campaign).report
    assert set(report["questions"]) == {"claim.0", "claim.1", "claim.2"}  # unanswered claim indices not reported
    assert agreement_rate(workers[0], "hallucination") > agreement_rate(workers[8], "hallucination")

    some = results[item_objs[5].pk]
    agree = hallucination_payload([c["verdict"] for c in some["claims"]], 1)
    differ = hallucination_payload(["not_claim"] * 3, 1)
    assert HALLUCINATION.agrees_with_consensus(agree, some, config=config) is True
    assert HALLUCINATION.agrees_with_consensus(differ, some, config=config) is False
    again = score_item_consensus(item_objs[30].pk)
    assert again.method == "dawid_skene" and again.result["claims"] == results[item_objs[30].pk]["claims"]


def test_hallucination_legacy_answers_give_defined_results(make_campaign, workers):
    config = HALLUCINATION.validate_config({})
    campaign = make_campaign("hallucination", items=[{"payload": H_ITEM}] * 3, config=config, overlap=2)
    outside, too_many, empty = Item.objects.filter(campaign=campaign).order_by("id")
    fine = hallucination_payload(["supported", "contradicted", "supported"], 0)
    bogus = {**fine, "claims": [{"verdict": "bogus"}, *fine["claims"][1:]]}
    extra = {**fine, "claims": fine["claims"] + [{"verdict": "supported"}]}  # a 4th claim on a 3-claim item
    huge = {**fine, "claims": [{"verdict": "supported"}] * 100}  # beyond MAX_CLAIMS
    seed_answers(campaign, [
        (outside, workers[0], bogus), (outside, workers[1], fine),
        (too_many, workers[0], extra), (too_many, workers[1], huge), (too_many, workers[2], fine),
        (empty, workers[0], {}), (empty, workers[1], {"claims": "not a list"}),
    ])
    for item in (outside, too_many, empty):
        score_item_consensus(item.pk)
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["dropped_labels"] == 1
    results = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    assert results[outside.pk].result["claims"][1]["verdict"] == "contradicted"
    assert [c["verdict"] for c in results[too_many.pk].result["claims"][:3]] == ["supported", "contradicted",
                                                                                "supported"]
    assert results[empty.pk].method in ("per_claim_vote", "error")
    labels = HALLUCINATION.categorical_labels(huge, config)
    assert len(labels) == 80 and HALLUCINATION.categorical_labels({"claims": "x"}, config) == {}
    assert HALLUCINATION.categorical_labels({"claims": [None, {"verdict": "bogus"}]}, config) == {
        "claim.0": -1, "claim.1": -1}
    # Decided labels for a claim index the result does not have, or a malformed question, are ignored.
    agg = HALLUCINATION.aggregate([fine], config=config)
    shared = agg.result  # the re-score shares one aggregate between items with the same answers
    out = HALLUCINATION.apply_campaign_labels(agg, {"claim.9": ("supported", 0.9), "claim.x": ("supported", 0.9),
                                                    "claim.1": ("supported", 0.8)}, config=config)
    assert [c["verdict"] for c in out.result["claims"]] == ["supported", "supported", "supported"]
    assert out.result["contains_hallucination"] is False and out.result["claims"][1]["correction"] is None
    assert shared["claims"][1]["verdict"] == "contradicted" and shared["contains_hallucination"] is True


# --- speech validation ---------------------------------------------------------------------------


@pytest.fixture
def clip(settings, tmp_path):
    from assets.decoding import inspect_audio
    from assets.services import store_media
    from tests import media_samples as ms

    settings.MEDIA_ROOT = tmp_path / "media"
    data = ms.ogg(ms.voice(2.0, 16000), 16000)
    info = inspect_audio(data)
    store_media(key="campaigns/audio/ds-clip.ogg", data=data, kind="audio", content_type=info.content_type,
                info=info.as_dict())
    return "campaigns/audio/ds-clip.ogg"


def test_speech_validation_dawid_skene_respects_the_rule(make_campaign, workers, clip):
    config = VALIDATION.validate_config({"accept_after": 2, "reject_after": 2})
    rng = np.random.default_rng(12)
    n_items, n_gold = 150, 2
    truth = rng.choice(["matches", "does_not_match"], size=n_items).tolist()
    truth[0] = truth[1] = "matches"
    items = [{"payload": {"audio": clip, "sentence": f"Câu số {i}"},
              **({"gold_answer": {"verdict": "does_not_match"}} if i < n_gold else {})} for i in range(n_items)]
    campaign = make_campaign("speech_validation", items=items, config=config, overlap=5, max_overlap=5,
                             confidence_threshold=0.7)
    item_objs = list(Item.objects.filter(campaign=campaign).order_by("id"))
    votes = ["matches", "does_not_match"]

    def sometimes_unclear(behaviour):
        return lambda t, rng: "unclear" if rng.random() < 0.05 else behaviour(t, rng)

    behaviours = ([sometimes_unclear(honest(0.9, votes))] * 4 + [honest(0.7, votes)] * 2
                  + [constant("matches")] * 3)  # rubber-stampers
    answers = crowd(truth, behaviours, per_item=5, seed=13)
    seed_answers(campaign, [(item_objs[i], workers[w], {"verdict": v}) for i, w, v in answers])

    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene" and figures["errors"] == 0
    results = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    said: dict[int, list[str]] = {}
    for i, _w, v in answers:
        said.setdefault(i, []).append(v)
    decision_of = {"accepted": "matches", "rejected": "does_not_match"}
    scored = range(n_gold, n_items)
    ds_acc = np.mean([decision_of.get(results[item_objs[i].pk].result["decision"]) == truth[i] for i in scored])
    vote_acc = np.mean([majority([v for v in said[i] if v != "unclear"]) == truth[i] for i in scored])
    rule_acc = np.mean([decision_of.get(VALIDATION.aggregate([{"verdict": v} for v in said[i]], config=config)
                                        .result["decision"]) == truth[i] for i in scored])
    print(f"speech validation: DS {ds_acc:.3f} vs majority vote {vote_acc:.3f} vs accept/reject rule {rule_acc:.3f}")
    assert ds_acc > vote_acc + 0.05 and ds_acc > rule_acc and ds_acc > 0.9

    for c in results.values():
        r = c.result
        # The type's rule holds: accepted needs 2 matches, rejected 2 mismatches; pending has no confidence.
        if r["decision"] == "accepted":
            assert r["up_votes"] >= 2 and r["labels"]["vote"] == "matches"
        elif r["decision"] == "rejected":
            assert r["down_votes"] >= 2 and r["labels"]["vote"] == "does_not_match"
        else:
            assert c.confidence == 0.0
        assert {"decision", "votes", "reasons", "up_votes", "down_votes"} <= set(r)
    for i in range(n_gold):  # gold clamped against a crowd that says "matches"
        assert results[item_objs[i].pk].result["labels"]["vote"] == "does_not_match"
        assert results[item_objs[i].pk].state == "finalised"
    rows = {r["item_id"]: r for r in exported(campaign, "speech")}
    some = item_objs[40].pk
    assert (rows[some]["up_votes"], rows[some]["down_votes"]) == (results[some].result["up_votes"],
                                                                  results[some].result["down_votes"])
    assert Consensus.objects.filter(campaign=campaign, result__decision="accepted").exists()  # assets coverage reads it

    assert agreement_rate(workers[0], "speech_validation") > agreement_rate(workers[8], "speech_validation")
    accepted = next(c.result for c in results.values() if c.result["decision"] == "accepted")
    assert VALIDATION.agrees_with_consensus({"verdict": "matches"}, accepted, config=config) is True
    assert VALIDATION.agrees_with_consensus({"verdict": "does_not_match"}, accepted, config=config) is False
    assert VALIDATION.agrees_with_consensus({"verdict": "unclear"}, accepted, config=config) is None
    # Without a campaign fit (the per-item rule) the decision itself is compared.
    rule_only = VALIDATION.aggregate([{"verdict": "matches"}] * 2, config=config).result
    assert VALIDATION.agrees_with_consensus({"verdict": "matches"}, rule_only, config=config) is True
    assert VALIDATION.agrees_with_consensus({"verdict": "does_not_match"}, {"decision": "pending"},
                                            config=config) is None


def test_speech_validation_campaign_labels_and_legacy_data(make_campaign, workers, clip):
    config = VALIDATION.validate_config({"accept_after": 2, "reject_after": 3})
    assert VALIDATION.categorical_labels({"verdict": "unclear"}, config) == {}
    assert VALIDATION.categorical_labels({"verdict": "yes please"}, config) == {"vote": -1}
    assert VALIDATION.categorical_labels({}, config) == {}
    two_up = VALIDATION.aggregate([{"verdict": "matches"}] * 2 + [{"verdict": "does_not_match"}], config=config)
    # The campaign model says "does not match" but only one mismatch was given (3 needed): pending, no confidence.
    out = VALIDATION.apply_campaign_labels(two_up, {"vote": ("does_not_match", 0.95)}, config=config)
    assert out.result["decision"] == "pending" and out.confidence == 0.0
    out = VALIDATION.apply_campaign_labels(two_up, {"vote": ("matches", 0.8)}, config=config)
    assert out.result["decision"] == "accepted" and out.confidence == 0.8

    campaign = make_campaign("speech_validation", items=[{"payload": {"audio": clip, "sentence": "Câu"}}] * 3,
                             config=config, overlap=2)
    outside, empty, fine = Item.objects.filter(campaign=campaign).order_by("id")
    seed_answers(campaign, [
        (outside, workers[0], {"verdict": "maybe"}), (outside, workers[1], {"verdict": "matches"}),
        (empty, workers[0], {}), (empty, workers[1], {}),
        (fine, workers[0], {"verdict": "matches"}), (fine, workers[1], {"verdict": "matches"}),
    ])
    for item in (outside, empty, fine):
        score_item_consensus(item.pk)
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["dropped_labels"] == 1 and figures["errors"] == 0
    results = {c.item_id: c for c in Consensus.objects.filter(campaign=campaign)}
    assert results[fine.pk].result["decision"] == "accepted"
    assert results[outside.pk].result["decision"] == "pending" and results[empty.pk].result["decision"] == "pending"


# --- RLHF position bias -----------------------------------------------------------------------------


def seed_pairwise_crowd(make_campaign, workers, *, left_always, seed, n_items=60):
    config = RLHF.validate_config({"mode": "pairwise"})
    campaign = make_campaign("rlhf", items=[{"payload": PAIR}] * n_items, config=config, overlap=5)
    item_objs = list(Item.objects.filter(campaign=campaign).order_by("id"))
    rng = np.random.default_rng(seed)
    truth = rng.choice([0, 1], size=n_items).tolist()
    rows, views = [], []
    for i, w, label in crowd(truth, [honest(0.8, [0, 1, "tie"])] * len(workers), per_item=5, seed=seed):
        payload, order = pairwise_payload(label, config, rng, shown_left_always=left_always)
        rows.append((item_objs[i], workers[w], payload))
        views.append({"order": order})
    seed_answers(campaign, rows, views=views)
    return campaign


def test_position_bias_statistic(make_campaign, workers, token_client, client, django_assert_max_num_queries):
    biased = seed_pairwise_crowd(make_campaign, workers, left_always=True, seed=21)
    fair = seed_pairwise_crowd(make_campaign, workers, left_always=False, seed=22)
    with django_assert_max_num_queries(1):
        bias = rlhf_position_bias(biased)
    assert bias["n"] == 300 and bias["left"] == 300 and bias["right"] == 0 and bias["share_left"] == 1.0
    assert bias["p_value"] < 1e-50
    even = rlhf_position_bias(fair)
    print(f"position bias: left-clicking crowd share {bias['share_left']} p={bias['p_value']:.2g}; "
          f"fair crowd share {even['share_left']} p={even['p_value']:.3f} (n={even['n']}, ties {even['ties']})")
    assert even["n"] + even["ties"] == 300 and abs(even["share_left"] - 0.5) < 0.08 and even["p_value"] > 0.01

    # Over the quality API with an organisation token (live, even before any re-score).
    body = token_client().get(reverse("campaign-quality", args=[biased.pk])).json()
    assert body["position_bias"]["share_left"] == 1.0 and body["position_bias"]["p_value"] < 1e-50
    rescore_campaign(campaign_id=fair.pk)
    body = token_client().get(reverse("campaign-quality", args=[fair.pk])).json()
    assert body["position_bias"] == rlhf_position_bias(fair) and body["method"] == "dawid_skene"
    # Other task types and k-way ranking have none.
    moderation = make_campaign("moderation")
    assert token_client().get(reverse("campaign-quality", args=[moderation.pk])).json()["position_bias"] is None
    ranking = make_campaign("rlhf", items=[{"payload": {**PAIR, "responses": PAIR["responses"] * 2}}],
                            config={"mode": "ranking"})
    assert rlhf_position_bias(ranking) is None
    # The admin quality page shows it.
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-12345-x"))
    page = client.get(reverse("admin:annotations_campaignquality_change", args=[biased.pk]))
    assert page.status_code == 200 and b"300 / 0" in page.content


def test_empty_campaign_position_bias(make_campaign):
    campaign = make_campaign("rlhf", items=[{"payload": PAIR}], config={"mode": "pairwise"})
    assert rlhf_position_bias(campaign) == {"n": 0, "left": 0, "right": 0, "ties": 0, "share_left": None,
                                            "p_value": None, "randomized_order": True}
