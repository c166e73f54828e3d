"""Redis unavailable: pages still serve, submissions still commit, /readyz says so, a sweep catches up."""
import pytest
from django.db import connection

from annotations.models import Annotation, Consensus
from consensus.tasks import rescore_active_campaigns
from tests.helpers import bulk_contributors, database_url, free_port, gunicorn, http_call

pytestmark = pytest.mark.django_db(transaction=True)


def test_submissions_commit_while_redis_is_down_and_the_sweep_scores_them_later(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "Trúng thưởng 100 triệu, bấm ngay!"}}], overlap=2)
    contributors = bulk_contributors(2)
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {"DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": dead_redis,
           "CELERY_TASK_ALWAYS_EAGER": "0"}
    with gunicorn(env, workers=1, log_name="gunicorn-broker-down.log") as port:
        status, body = http_call(port, "GET", "/readyz")
        assert status == 503
        assert body["checks"]["database"] == "ok" and body["checks"]["broker"].startswith("down")
        for _user, session in contributors:
            status, _ = http_call(port, "GET", "/label/", session=session)
            assert status == 200
            status, body = http_call(port, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)
            assert status == 200, body
            assignment = body["assignment"]
            status, body = http_call(port, "POST", f"/api/v1/assignments/{assignment['id']}/submit/",
                                     session=session, body={"payload": {"categories": ["spam"]}},
                                     headers={"Idempotency-Key": f"k-{session[:6]}"})
            assert status == 201, body
    assert Annotation.objects.filter(campaign=campaign).count() == 2
    assert not Consensus.objects.filter(campaign=campaign).exists()  # the job could not be enqueued
    assert rescore_active_campaigns() >= 1  # what beat runs once Redis is back
    consensus = Consensus.objects.get(campaign=campaign)
    assert consensus.state == "finalised" and consensus.result["categories"] == ["spam"]
