"""DELETE /api/v1/campaigns/{id}/ against a re-score job (issue 18: a foreign-key violation at commit, a 500).

The delete locks the campaign row and refuses (409) while a re-score is queued or running; the job holds
the row while it writes, and exits cleanly ("gone") when its campaign was deleted.
"""
import threading

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from annotations.models import CampaignScoring, ConsensusJob
from consensus import tasks as consensus_tasks
from consensus.engine import start_campaign_rescore
from organizations.models import Membership
from review.roles import sync_role_groups
from tasks.models import Campaign
from tasks.services import create_campaign


@pytest.fixture
def draft(org):
    return create_campaign(organization=org, name="Draft", task_type="moderation")


@pytest.mark.django_db
def test_delete_is_refused_while_a_rescore_is_queued(draft, org, token_client, monkeypatch):
    from consensus import tasks
    from consensus.engine import start_campaign_rescore

    monkeypatch.setattr(tasks.run_consensus_job, "delay", lambda *a, **k: None)  # stays queued
    job = start_campaign_rescore(campaign=draft, trigger="api")
    client = token_client(org)
    res = client.delete(reverse("campaign-detail", args=[draft.pk]))
    assert res.status_code == 409 and "re-score" in res.json()["error"]["message"]
    assert Campaign.objects.filter(pk=draft.pk).exists()
    ConsensusJob.objects.filter(pk=job.pk).update(status=ConsensusJob.Status.SUCCEEDED)
    assert client.delete(reverse("campaign-detail", args=[draft.pk])).status_code == 204
    assert not Campaign.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db
def test_job_exits_cleanly_when_its_campaign_is_deleted_mid_run(draft, monkeypatch):
    from consensus import engine as services
    from consensus import tasks

    job = ConsensusJob.objects.create(campaign=draft, trigger="api")
    real = services._quality_report_data

    def deleted_meanwhile(*args, **kwargs):
        Campaign.objects.filter(pk=draft.pk).delete()  # a delete that won the race
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_quality_report_data", deleted_meanwhile)
    assert tasks.run_consensus_job.apply(args=[job.pk]).get() == "gone"
    assert not CampaignScoring.objects.filter(campaign_id=draft.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_delete_waits_for_the_jobs_writes_then_removes_them(org, token_client):
    """The job holds the campaign row while it writes its scoring; a DELETE arriving then waits, and its
    cascade sees (and removes) what the job committed: 204, never an IntegrityError."""
    from consensus import engine as services

    draft = create_campaign(organization=org, name="Draft", task_type="moderation")
    client = token_client(org)
    inside, release = threading.Event(), threading.Event()
    real = services._save_scoring
    outcome = {}

    def slow_save(*args, **kwargs):
        real(*args, **kwargs)
        inside.set()
        release.wait(20)  # still in the job's transaction, holding the campaign row

    def job():
        try:
            services._save_scoring = slow_save
            outcome["job"] = services.rescore_campaign(campaign_id=draft.pk)["method"]
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["job"] = exc
        finally:
            services._save_scoring = real
            connection.close()

    def delete():
        try:
            outcome["delete"] = client.delete(reverse("campaign-detail", args=[draft.pk])).status_code
        finally:
            connection.close()

    worker = threading.Thread(target=job)
    worker.start()
    assert inside.wait(30)
    deleter = threading.Thread(target=delete)
    deleter.start()
    deleter.join(1.0)
    assert deleter.is_alive(), "the delete must wait for the job's write transaction"
    release.set()
    worker.join(30)
    deleter.join(30)
    assert isinstance(outcome["job"], str), outcome["job"]
    assert outcome["delete"] == 204
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    assert not CampaignScoring.objects.filter(campaign_id=draft.pk).exists()


@pytest.mark.django_db
def test_admin_delete_goes_through_the_same_guard(draft, org, make_contributor, monkeypatch):
    """The admin's delete page is the API's delete: refused while a re-score is queued, then allowed."""
    sync_role_groups()
    manager = make_contributor("manager@lab-a.example")
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    monkeypatch.setattr(consensus_tasks.run_consensus_job, "delay", lambda *a, **k: None)  # stays queued
    job = start_campaign_rescore(campaign=draft, trigger="api")
    client = Client()
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_delete", args=[draft.pk])
    assert client.get(url).status_code == 200  # a draft without answers: the page offers the delete
    res = client.post(url, {"post": "yes"}, follow=True)
    assert Campaign.objects.filter(pk=draft.pk).exists()
    assert res.redirect_chain[0][0] == reverse("admin:tasks_campaign_change", args=[draft.pk])
    assert b"re-score" in res.content
    assert not LogEntry.objects.filter(action_flag=DELETION, object_id=str(draft.pk)).exists()
    ConsensusJob.objects.filter(pk=job.pk).update(status=ConsensusJob.Status.SUCCEEDED)
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Campaign.objects.filter(pk=draft.pk).exists()
