"""The text vote in the OCR and speech transcription types, the tie rule through a campaign re-score, BLAS threads."""
import numpy as np
from celery.signals import worker_init, worker_process_init
from threadpoolctl import threadpool_info

from annotations.models import Consensus
from config.celery_app import _blas_limits, limit_blas_threads
from consensus.engine import rescore_campaign
from contributors.models import TrustScore
from tasks.models import Item
from tasks.types import get_task_type
from tests.test_consensus_scoring import seed

OCR = get_task_type("ocr")
SPEECH = get_task_type("speech_transcription")


def test_ocr_and_transcription_vote_syllables_at_three_answers_and_keep_the_medoid_at_two():
    texts = ["Con chào bố mẹ ạ.", "Con chao bố mẹ ạ.", "Con chào bố mẹ."]
    full_page = OCR.default_config()
    agg = OCR.aggregate([{"text": t} for t in texts], config=full_page, weights=[0.6, 0.6, 0.6])
    assert agg.method == "rover_text" and agg.result == {"text": "Con chào bố mẹ ạ."}
    agg = SPEECH.aggregate([{"text": t} for t in texts], config={}, weights=None)
    assert agg.method == "rover_text" and agg.result == {"text": "Con chào bố mẹ ạ.", "no_speech": False}
    two = OCR.aggregate([{"text": texts[1]}, {"text": texts[2]}], config=full_page, weights=[0.4, 0.9])
    assert two.method == "medoid_text" and two.result == {"text": texts[2]}  # the more trusted answer
    fields = {**full_page, "mode": "fields", "fields": [{"key": "ten", "label": "Tên"}]}
    agg = OCR.aggregate([{"fields": {"ten": t}} for t in texts], config=fields, weights=[1.0, 1.0, 1.0])
    assert agg.method == "rover_text_per_field" and agg.result == {"fields": {"ten": "Con chào bố mẹ ạ."}}
    regions = {**full_page, "mode": "regions"}
    box = {"shape": "rect", "x": 10, "y": 10, "w": 100, "h": 20}
    agg = OCR.aggregate([{"regions": [{**box, "text": t}]} for t in texts], config=regions, weights=[1.0, 1.0, 1.0])
    assert agg.method == "iou_match_rover_text" and agg.result["regions"][0]["text"] == "Con chào bố mẹ ạ."


def test_no_speech_wins_when_most_heard_none():
    agg = SPEECH.aggregate([{"text": ""}, {"text": "ừ"}, {"text": ""}], config={})
    assert agg.result == {"text": "", "no_speech": True}


def test_a_tie_is_decided_and_credited_by_the_same_rule(make_campaign, make_contributor):
    """Two answers that disagree, equal trust, threshold 0.5: the first answered wins, in the stored result and
    in trust, although its class index is the higher one."""
    campaign = make_campaign(items=[{"payload": {"text": "một bình luận"}}], overlap=2, max_overlap=2,
                             confidence_threshold=0.5)
    classes = [c["key"] for c in campaign.config["categories"]]
    item = Item.objects.get(campaign=campaign)
    first, second = make_contributor(), make_contributor()
    seed(campaign, [(item, first, {"categories": [classes[1]]}), (item, second, {"categories": [classes[0]]})])
    rescore_campaign(campaign_id=campaign.pk)
    consensus = Consensus.objects.get(item=item)
    assert consensus.state == "finalised" and consensus.result["categories"] == [classes[1]]
    trust = dict((u, (s, a)) for u, s, a in TrustScore.objects.filter(task_type="moderation").values_list(
        "contributor__user_id", "consensus_seen", "consensus_agreed"))
    assert trust[first.pk] == (1, 1) and trust[second.pk] == (1, 0)


def test_each_worker_process_uses_one_blas_thread():
    assert any(r() is limit_blas_threads for _key, r in worker_process_init.receivers)
    assert any(r() is limit_blas_threads for _key, r in worker_init.receivers)
    limits = limit_blas_threads()
    try:
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert blas and all(lib["num_threads"] == 1 for lib in blas)
        np.linalg.solve(np.eye(3) * 2.0, np.ones(3))
    finally:
        limits.restore_original_limits()
        _blas_limits.clear()
