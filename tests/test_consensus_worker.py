"""Consensus computed by a real Celery worker process (when a broker is configured)."""
import pytest
from django.urls import reverse

from annotations.models import Consensus
from tests.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_scores_item_once_overlap_is_reached(client, make_campaign, make_contributor, celery_worker_process):
    campaign = make_campaign(items=[{"payload": {"text": "Nhận quà miễn phí tại đây"}}], overlap=3)
    for label in ["spam", "spam", "spam"]:
        client.force_login(make_contributor())
        a = client.post(reverse("task-next", args=[campaign.pk])).json()["assignment"]
        res = client.post(reverse("assignment-submit", args=[a["id"]]), {"payload": {"categories": [label]}}, content_type="application/json")
        assert res.status_code == 201
    consensus = wait_for(lambda: Consensus.objects.filter(item__campaign=campaign, state="finalised").first(), timeout=60)
    assert consensus.result["categories"] == ["spam"]
    assert consensus.confidence == 1.0
    assert consensus.n_answers == 3


def test_worker_runs_a_campaign_rescore_job_with_progress(org, celery_worker_process):
    """The on-demand re-score goes through the broker to a real worker and records its progress."""
    from annotations.models import CampaignScoring, ConsensusJob
    from bench.consensus import seed_campaign
    from consensus.engine import start_campaign_rescore
    from contributors.models import TrustScore

    campaign, _truth, _users = seed_campaign(org, n_items=200, n_workers=10, k=3, per_item=5, seed=8)
    job = start_campaign_rescore(campaign=campaign, trigger="api")
    done = wait_for(lambda: ConsensusJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
                    timeout=90)
    assert done.status == "succeeded", done.error
    assert done.progress == 1.0 and done.method == "dawid_skene" and done.n_answers == 1000
    assert Consensus.objects.filter(item__campaign=campaign).count() == 200
    assert CampaignScoring.objects.get(campaign=campaign).report["questions"]["category"]["alpha"] is not None
    counted = sum(TrustScore.objects.filter(contributor__user_id__in=_users.tolist())
                  .values_list("consensus_seen", flat=True))
    assert counted == done.counts["trust_counted"] > 0
    # Run it again (as a redelivered message would): same results, nothing counted twice.
    again = start_campaign_rescore(campaign=campaign)
    wait_for(lambda: ConsensusJob.objects.filter(pk=again.pk, status="succeeded").exists(), timeout=90)
    assert sum(TrustScore.objects.filter(contributor__user_id__in=_users.tolist())
               .values_list("consensus_seen", flat=True)) == counted
