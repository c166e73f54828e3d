"""Consensus scoring through the database: states, dynamic overlap, trust fed once, campaign re-score
with Dawid-Skene, legacy data, expert corrections, and the bench at smoke size."""
import numpy as np
import pytest

from annotations.models import Annotation, CampaignScoring, Consensus, ConsensusJob
from consensus.engine import decide_states, rescore_campaign, score_item_consensus
from contributors.models import TrustScore
from tasks.models import Assignment, Item
from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def answer(campaign, user, categories):
    """One real answer through the queue and the submit service."""
    assignment = lease_next_item(user=user, campaign=campaign)
    assert isinstance(assignment, Assignment), assignment
    return submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": categories}).annotation


def trust_seen(user, task_type="moderation"):
    row = TrustScore.objects.filter(contributor__user=user, task_type=task_type).first()
    return (row.consensus_seen, row.consensus_agreed) if row else (0, 0)


def test_state_rule_table():
    states, more = decide_states(
        n_answers=[0, 2, 3, 3, 3, 5, 4, 3], target_overlap=[3, 3, 3, 3, 3, 5, 5, 3], max_overlap=5,
        confidence=[0, 1, 0.9, 0.5, 0.5, 0.5, 1, 0.2], threshold=0.7,
        previous_needs_more=[False, False, False, False, False, False, True, False],
        is_gold=[False] * 7 + [True],
    )
    # empty, waiting, confident, unsure (more), unsure (more), unsure at max (disputed), awaiting extra, gold
    assert states.tolist() == [0, 0, 2, 1, 1, 3, 1, 2]
    assert more.tolist() == [False, False, False, True, True, False, False, False]


def test_agreeing_answers_finalise_and_feed_trust_once(make_campaign, make_contributor,
                                                        django_capture_on_commit_callbacks):
    campaign = make_campaign(items=[{"payload": {"text": "Nhận quà miễn phí"}}], overlap=3, confidence_threshold=0.6)
    users = [make_contributor() for _ in range(3)]
    for user, label in zip(users, ["spam", "spam", "hate"], strict=True):
        with django_capture_on_commit_callbacks(execute=True):
            answer(campaign, user, [label])
    consensus = Consensus.objects.get(item__campaign=campaign)  # eager Celery: scored at the third answer
    assert consensus.state == "finalised" and consensus.result["categories"] == ["spam"]
    assert consensus.n_answers == 3 and consensus.confidence == pytest.approx(2 / 3)
    assert consensus.algorithm_version.startswith("2/")
    assert [trust_seen(u) for u in users] == [(1, 1), (1, 1), (1, 0)]
    # The same verdicts are stored on the answers (the dashboard counts them with one GROUP BY).
    stored = dict(Annotation.objects.filter(campaign=campaign).values_list("contributor_id", "agrees_with_consensus"))
    assert [stored[u.pk] for u in users] == [True, True, False]
    # Re-running (a redelivered job) changes nothing and counts nothing twice.
    score_item_consensus(consensus.item_id)
    rescore_campaign(campaign_id=campaign.pk)
    assert [trust_seen(u) for u in users] == [(1, 1), (1, 1), (1, 0)]
    assert Consensus.objects.get(pk=consensus.pk).counted_answers == sorted(
        Annotation.objects.filter(campaign=campaign).values_list("id", flat=True))


def test_disagreement_asks_for_more_then_disputes(make_campaign, make_contributor,
                                                  django_capture_on_commit_callbacks):
    campaign = make_campaign(items=[{"payload": {"text": "Khó đoán"}}], overlap=3, max_overlap=4,
                             confidence_threshold=0.9)
    item = Item.objects.get(campaign=campaign)
    for label in ["spam", "hate", "safe"]:
        with django_capture_on_commit_callbacks(execute=True):
            answer(campaign, make_contributor(), [label])
    item.refresh_from_db()
    consensus = Consensus.objects.get(item=item)
    assert consensus.state == "needs_more"
    assert (item.target_overlap, item.open_slots) == (4, 1)
    score_item_consensus(item.pk)  # a re-run does not ask twice
    item.refresh_from_db()
    assert item.target_overlap == 4 and Consensus.objects.get(item=item).state == "needs_more"
    with django_capture_on_commit_callbacks(execute=True):
        answer(campaign, make_contributor(), ["spam"])
    consensus.refresh_from_db()
    assert consensus.state == "disputed" and consensus.n_answers == 4
    item.refresh_from_db()
    assert item.target_overlap == 4  # never past max_overlap


def seed(campaign, rows):
    """Answers written directly (legacy data the schema would now refuse, or many answers fast)."""
    from django.utils import timezone

    out = []
    for item, user, payload in rows:
        a = Assignment.objects.create(item=item, campaign=campaign, contributor=user, state="submitted",
                                      expires_at=timezone.now())
        out.append(Annotation.objects.create(assignment=a, item=item, campaign=campaign, contributor=user,
                                             payload=payload))
    Item.objects.filter(campaign=campaign).update(done_count=0, open_slots=0)
    return out


def test_bad_input_gives_defined_results(make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": f"t{i}"}} for i in range(4)], overlap=2)
    one, other = make_contributor(), make_contributor()
    empty, legacy, same, broken = Item.objects.filter(campaign=campaign).order_by("id")
    seed(campaign, [
        (legacy, one, {"categories": ["no_such_label"]}), (legacy, other, {"categories": ["spam"]}),
        (same, one, {"categories": ["safe"]}), (same, other, {"categories": ["safe"]}),
        (broken, one, {"unexpected": True}), (broken, other, ["not", "an", "object"]),
    ])
    for item in (empty, legacy, same, broken):
        score_item_consensus(item.pk)  # no exception escapes
    states = dict(Consensus.objects.filter(campaign=campaign).values_list("item_id", "state"))
    assert states[empty.pk] == "collecting"
    assert states[same.pk] == "finalised"
    assert Consensus.objects.get(item=broken).method == "error"
    figures = rescore_campaign(campaign_id=campaign.pk)  # one contributor pair, a label outside the set
    assert figures["method"] == "weighted_vote"
    assert figures["errors"] == 1
    assert Consensus.objects.get(item=same).result["categories"] == ["safe"]
    assert Consensus.objects.get(item=broken).method == "error"
    assert not Consensus.objects.filter(item=empty).exclude(state="collecting").exists()


def test_campaign_rescore_uses_dawid_skene_and_beats_the_vote(make_campaign, org):
    from bench.consensus import seed_campaign

    campaign, truth, _users = seed_campaign(org, n_items=300, n_workers=15, k=4, per_item=5, seed=11, gold_items=20)
    job = ConsensusJob.objects.create(campaign=campaign)
    figures = rescore_campaign(campaign_id=campaign.pk, job=job)
    assert figures["method"] == "dawid_skene" and figures["n_answers"] == 1500
    assert ConsensusJob.objects.get(pk=job.pk).stage == "report" and figures["timings"]["total"] > 0
    keys = [f"c{i}" for i in range(4)]
    ids = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    results = dict(Consensus.objects.filter(campaign=campaign).values_list("item_id", "result"))
    ds_accuracy = np.mean([results[i]["categories"] == [keys[t]] for i, t in zip(ids, truth, strict=True)])
    vote_accuracy = np.mean([max(results[i]["votes"], key=results[i]["votes"].get) == keys[t]
                             for i, t in zip(ids, truth, strict=True)])
    assert ds_accuracy >= vote_accuracy and ds_accuracy > 0.8
    assert Consensus.objects.filter(campaign=campaign, method="dawid_skene").count() == 300
    # Gold items keep their known answer.
    assert all(results[i]["categories"] == [keys[t]] for i, t in zip(ids[:20], truth[:20], strict=True))
    report = CampaignScoring.objects.get(campaign=campaign).report
    assert report["method"] == "dawid_skene"
    assert 0 < report["questions"]["category"]["alpha"] < 1
    assert len(report["contributors"]) == 15
    seen = sum(TrustScore.objects.filter(task_type="moderation").values_list("consensus_seen", flat=True))
    assert seen == figures["trust_counted"] > 0
    again = rescore_campaign(campaign_id=campaign.pk)
    assert again["trust_counted"] == 0
    assert sum(TrustScore.objects.filter(task_type="moderation").values_list("consensus_seen", flat=True)) == seen
    # Between re-scores, a single item is scored with the stored fit (Dawid-Skene, not a plain vote).
    consensus = score_item_consensus(ids[100])
    assert consensus.method == "dawid_skene"


def test_expert_correction_is_never_overwritten(make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "x"}}], overlap=2)
    item = Item.objects.get(campaign=campaign)
    seed(campaign, [(item, make_contributor(), {"categories": ["spam"]}),
                    (item, make_contributor(), {"categories": ["spam"]})])
    Consensus.objects.create(item=item, campaign=campaign, state="finalised", result={"categories": ["hate"]},
                             method="expert_review", confidence=1.0)
    score_item_consensus(item.pk)
    rescore_campaign(campaign_id=campaign.pk)
    assert Consensus.objects.get(item=item).result == {"categories": ["hate"]}


def test_multi_label_dawid_skene_per_category(make_campaign, org, make_contributor):
    from tasks.types import get_task_type

    config = {**get_task_type("moderation").default_config(), "multi_label": True, "allow_escalation": False}
    campaign = make_campaign(items=[{"payload": {"text": f"t{i}"}} for i in range(30)], overlap=3, config=config)
    users = [make_contributor() for _ in range(4)]
    rows = []
    for n, item in enumerate(Item.objects.filter(campaign=campaign).order_by("id")):
        for u in users[:3] if n % 2 else users[1:]:
            rows.append((item, u, {"categories": ["hate", "spam"] if n % 3 else ["safe"]}))
    seed(campaign, rows)
    figures = rescore_campaign(campaign_id=campaign.pk)
    assert figures["method"] == "dawid_skene"
    first, second = Consensus.objects.filter(campaign=campaign).order_by("item_id")[:2]
    assert first.result["categories"] == ["safe"] and sorted(second.result["categories"]) == ["hate", "spam"]
    assert set(CampaignScoring.objects.get(campaign=campaign).report["questions"]) == {
        f"category.{c['key']}" for c in config["categories"]}


def test_bench_smoke(org, capsys):
    from bench import consensus as bench

    results = bench.main(["--smoke"])  # exits non-zero when one of its own checks fails
    assert results["failures"] == []
    assert results["algorithms"]["ds_ours"]["accuracy"] > 0.8
    assert results["db"]["second"]["trust_counted"] == 0
    assert results["db"]["accuracy"] > 0.8
    assert "Dawid-Skene" in capsys.readouterr().out
