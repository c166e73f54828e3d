"""The quality report and re-score jobs over the API and in the admin; organisation scoping."""
from datetime import timedelta

import pytest
from django.urls import reverse

from annotations.models import ConsensusJob
from organizations.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def scored_campaign(org):
    from bench.consensus import seed_campaign
    from consensus.engine import rescore_campaign

    campaign, _truth, _users = seed_campaign(org, n_items=120, n_workers=8, k=3, per_item=4, seed=5)
    rescore_campaign(campaign_id=campaign.pk)
    return campaign


def test_quality_report_over_the_api(scored_campaign, token_client, other_org):
    client = token_client()
    res = client.get(reverse("campaign-quality", args=[scored_campaign.pk]))
    assert res.status_code == 200
    body = res.json()
    assert body["method"] == "dawid_skene"
    question = body["questions"]["category"]
    assert question["classes"] == ["c0", "c1", "c2"] and 0 < question["alpha"] <= 1
    assert sum(map(sum, question["confusion"])) == 480
    assert len(body["contributors"]) == 8
    assert all(c["contributor"] not in ("", "?") for c in body["contributors"])
    assert "user_id" not in body["contributors"][0]  # contributors appear by pseudonym only
    assert sum(body["states"].values()) == 120
    # Another organisation's token gets a 404, never the report.
    assert token_client(other_org).get(reverse("campaign-quality", args=[scored_campaign.pk])).status_code == 404


def test_rescore_job_over_the_api(scored_campaign, token_client, other_org, django_capture_on_commit_callbacks):
    client = token_client()
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(reverse("consensus-jobs", args=[scored_campaign.pk]))
    assert res.status_code == 202
    job_id = res.json()["id"]
    detail = client.get(reverse("consensus-job-detail", args=[scored_campaign.pk, job_id])).json()
    assert detail["status"] == "succeeded" and detail["progress"] == 1.0  # eager Celery in this test
    assert detail["counts"]["states"] and detail["timings"]["total"] > 0
    assert client.get(reverse("consensus-jobs", args=[scored_campaign.pk])).json()["results"][0]["id"] == job_id
    other = token_client(other_org)
    assert other.post(reverse("consensus-jobs", args=[scored_campaign.pk])).status_code == 404
    assert other.get(reverse("consensus-job-detail", args=[scored_campaign.pk, job_id])).status_code == 404
    read_only = token_client(scopes=[ApiToken.Scope.READ_DATASETS])
    assert read_only.post(reverse("consensus-jobs", args=[scored_campaign.pk])).status_code == 403


def test_a_queued_job_is_returned_not_duplicated(scored_campaign):
    from consensus.engine import start_campaign_rescore

    queued = ConsensusJob.objects.create(campaign=scored_campaign, status=ConsensusJob.Status.PENDING)
    assert start_campaign_rescore(campaign=scored_campaign).pk == queued.pk


def test_redelivered_job_reruns_without_double_counting(scored_campaign):
    """A worker killed mid-job leaves the row "running"; the redelivered message runs it again."""
    from django.utils import timezone

    from consensus.tasks import run_consensus_job
    from contributors.models import TrustScore

    seen = sum(TrustScore.objects.values_list("consensus_seen", flat=True))
    job = ConsensusJob.objects.create(campaign=scored_campaign, status=ConsensusJob.Status.RUNNING,
                                      started_at=timezone.now(), attempts=1, stage="trust", progress=0.85)
    assert run_consensus_job.apply(args=[job.pk]).get() == "succeeded"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2 and job.counts["trust_counted"] == 0
    assert sum(TrustScore.objects.values_list("consensus_seen", flat=True)) == seen
    assert run_consensus_job.apply(args=[job.pk]).get() == "done"  # a finished job is not re-run


def test_admin_quality_page_and_rescore_action(scored_campaign, client, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-12345-abc")
    client.force_login(admin)
    page = client.get(reverse("admin:annotations_campaignquality_change", args=[scored_campaign.pk]))
    assert page.status_code == 200
    assert b"Krippendorff" in page.content and b"c_" in page.content
    assert client.get(reverse("admin:annotations_campaignquality_changelist")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(reverse("admin:annotations_campaignquality_changelist"),
                          {"action": "rescore", "_selected_action": [scored_campaign.pk]})
    assert res.status_code == 302
    job = ConsensusJob.objects.get(campaign=scored_campaign)
    assert job.status == "succeeded" and job.trigger == "manual"
    assert client.get(reverse("admin:annotations_consensusjob_changelist")).status_code == 200


def test_beat_rescores_campaigns_with_new_answers_only(scored_campaign, django_capture_on_commit_callbacks):
    from consensus.tasks import rescore_active_campaigns

    with django_capture_on_commit_callbacks(execute=True):
        rescore_active_campaigns()
    assert not ConsensusJob.objects.filter(campaign=scored_campaign).exists()  # fitted after its last answer
    from annotations.models import Annotation, CampaignScoring

    CampaignScoring.objects.filter(campaign=scored_campaign).update(
        fitted_at=Annotation.objects.filter(campaign=scored_campaign).order_by("created_at").first().created_at
        - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        rescore_active_campaigns()
    job = ConsensusJob.objects.get(campaign=scored_campaign)
    assert job.trigger == "beat" and job.status == "succeeded"
