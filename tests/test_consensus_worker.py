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
