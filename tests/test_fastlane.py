"""The queue's fast lane (tasks/fastlane.py) through a real gunicorn: same answers as the DRF views.

A DRF view always sends ``Allow``; the lane never does, which is how these tests tell who answered.
"""
import http.client
import json
import os
import uuid
from urllib.parse import urlparse

import pytest
from django.db import connection

from annotations.models import Annotation
from tasks.models import Assignment
from tests.helpers import bulk_contributors, database_url, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
CSRF = "b" * 32
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy",
                    "Content-Security-Policy")


def call(port, method, path, *, session=None, body=None, headers=None, csrf=True):
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if session:
        hdrs["Cookie"] = f"sessionid={session}; csrftoken={CSRF}"
        if csrf:
            hdrs["X-CSRFToken"] = CSRF
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else "", headers=hdrs)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, (json.loads(data) if data else {}), dict(res.getheaders())


def served_by_lane(headers: dict) -> bool:
    return "Allow" not in headers


@pytest.fixture(params=["database sessions", "Redis sessions"])
def server(request):
    """The lane without Redis (sessions in PostgreSQL) and with it (cached_db sessions, where the lane reads the
    session and counts the throttle hit in one round trip once it has seen the session key)."""
    env = {"DATABASE_URL": database_url(connection.settings_dict), "CELERY_TASK_ALWAYS_EAGER": "1",
           "REDIS_URL": None, "API_TOKEN_RATE": "40/min"}
    if request.param == "Redis sessions":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("no Redis here")
        import redis

        url = urlparse(os.environ["REDIS_URL"])._replace(path="/14").geturl()  # a database of its own, emptied
        redis.Redis.from_url(url).flushdb()
        env["REDIS_URL"] = url
    with gunicorn(env, workers=1, threads=2, log_name="gunicorn-fastlane.log") as port:
        yield port


def test_next_and_submit_are_served_by_the_lane_with_the_full_stack_headers(make_campaign, server):
    campaign = make_campaign(items=[{"payload": {"text": "Quán này ngon <b>lắm</b>"}}], overlap=2)
    (user, session), (_other, other_session) = bulk_contributors(2)

    status, body, headers = call(server, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)
    assert status == 200 and served_by_lane(headers), (status, body)
    assert int(headers["Content-Length"]) == len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    assignment = body["assignment"]
    assert body["code"] == "ok" and assignment["campaign"] == campaign.pk and assignment["task_type"] == "moderation"
    assert assignment["item"]["payload"]["text"] == "Quán này ngon <b>lắm</b>" and "is_gold" not in assignment["item"]
    assert Assignment.objects.get(pk=assignment["id"]).contributor_id == user.pk

    # The same open lease on a reload, and the same headers the full stack sends on its own answers.
    status, again, _ = call(server, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)
    assert again["assignment"]["id"] == assignment["id"]
    status, _, django_headers = call(server, "POST", "/api/v1/campaigns/999999/next/", session=session)
    assert status == 404 and not served_by_lane(django_headers)
    for name in SECURITY_HEADERS:
        assert headers.get(name) and headers.get(name) == django_headers.get(name), name

    key = uuid.uuid4().hex
    answer = {"payload": {"categories": ["safe"]}, "time_spent_ms": 4200}
    path = f"/api/v1/assignments/{assignment['id']}/submit/"
    status, body, headers = call(server, "POST", path, session=session, body=answer, headers={"Idempotency-Key": key})
    assert status == 201 and served_by_lane(headers) and body["replayed"] is False, body
    stored = Annotation.objects.get(pk=body["annotation_id"])
    assert stored.payload == {"categories": ["safe"]} and stored.time_spent_ms == 4200 and stored.contributor_id == user.pk

    status, replay, headers = call(server, "POST", path, session=session, body=answer, headers={"Idempotency-Key": key})
    assert status == 200 and replay == {**body, "replayed": True} and served_by_lane(headers)
    assert Annotation.objects.filter(assignment_id=assignment["id"]).count() == 1

    # Someone else's assignment: the lane hands it over, Django says 404; nothing stored.
    status, _, headers = call(server, "POST", path, session=other_session, body=answer)
    assert status == 404 and not served_by_lane(headers)
    assert Annotation.objects.count() == 1


def test_refusals_are_answered_by_the_regular_path(make_campaign, server):
    campaign = make_campaign(items=[{"payload": {"text": "Một"}}], overlap=1)
    (_user, session), (_u2, second) = bulk_contributors(2)
    next_path = f"/api/v1/campaigns/{campaign.pk}/next/"

    status, body, headers = call(server, "POST", next_path, session=session, csrf=False)
    assert status == 403 and not served_by_lane(headers)
    assert not Assignment.objects.exists()
    status, body, _ = call(server, "POST", next_path)  # no session at all
    assert status in (401, 403)

    status, body, _ = call(server, "POST", next_path, session=session)
    path = f"/api/v1/assignments/{body['assignment']['id']}/submit/"
    status, body, headers = call(server, "POST", path, session=session, body={"payload": {"categories": ["nope"]}})
    assert status == 400 and not served_by_lane(headers) and "categories" in json.dumps(body)
    status, body, _ = call(server, "POST", path, session=session, body={"payload": {"categories": ["spam"]},
                                                                         "time_spent_ms": "soon"})
    assert status == 400 and "time_spent_ms" in json.dumps(body)
    assert not Annotation.objects.exists()  # nothing half-stored by a refused attempt in the lane

    status, body, _ = call(server, "POST", path, session=session, body={"payload": {"categories": ["spam"]}})
    assert status == 201
    status, body, headers = call(server, "POST", path, session=session, body={"payload": {"categories": ["spam"]}})
    assert status == 409 and body["error"]["code"] == "already_submitted" and not served_by_lane(headers)

    # The queue is empty for the second contributor: the reason comes translated from the regular path.
    status, body, headers = call(server, "POST", next_path, session=second, headers={"Accept-Language": "en"})
    assert status == 200 and body["assignment"] is None and body["code"] == "empty" and not served_by_lane(headers)
    assert "No more items" in body["reason"]
    status, body, _ = call(server, "POST", next_path, session=second, headers={"Accept-Language": "vi"})
    assert body["code"] == "empty" and "No more items" not in body["reason"]


def test_the_lane_applies_the_per_user_rate_limit(make_campaign, server):
    campaign = make_campaign(items=[{"payload": {"text": "Một"}}], overlap=1)
    (_user, session), = bulk_contributors(1)
    statuses = [call(server, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)[0] for _ in range(45)]
    assert statuses[:40] == [200] * 40
    assert 429 in statuses[40:]


def test_the_lane_can_be_switched_off(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "Một"}}], overlap=1)
    (_user, session), = bulk_contributors(1)
    env = {"DATABASE_URL": database_url(connection.settings_dict), "CELERY_TASK_ALWAYS_EAGER": "1",
           "REDIS_URL": None, "QUEUE_FAST_LANE": "0"}
    with gunicorn(env, workers=1, log_name="gunicorn-no-fastlane.log") as port:
        status, body, headers = call(port, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)
    assert status == 200 and body["code"] == "ok" and not served_by_lane(headers)


def test_the_lane_serves_a_session_only_while_django_would(make_campaign, server):
    """A password change, a deactivated account or a logout ends the session in the lane as in Django."""
    from contributors.models import ContributorProfile

    campaign = make_campaign(items=[{"payload": {"text": "Một"}}, {"payload": {"text": "Hai"}}], overlap=4)
    (changed, s1), (inactive, s2), (_gone, s3), (suspended, s4) = bulk_contributors(4)
    path = f"/api/v1/campaigns/{campaign.pk}/next/"
    for session in (s1, s2, s3, s4):
        status, body, headers = call(server, "POST", path, session=session)
        assert status == 200 and served_by_lane(headers) and body["assignment"], body
    Assignment.objects.update(state=Assignment.State.SKIPPED)

    changed.set_password("a new password 2025")
    changed.save()
    inactive.is_active = False
    inactive.save()
    status, _, _ = call(server, "POST", "/accounts/logout/", session=s3)
    assert status in (200, 302)
    ContributorProfile.objects.filter(user=suspended).update(status=ContributorProfile.Status.SUSPENDED)
    for session in (s1, s2, s3):
        status, body, headers = call(server, "POST", path, session=session)
        assert status in (401, 403) and not served_by_lane(headers), body
    status, body, headers = call(server, "POST", path, session=s4)
    assert status == 200 and body["assignment"] is None and body["code"] == "suspended" and not served_by_lane(headers)
    assert not Assignment.objects.filter(state=Assignment.State.LEASED).exists()


@pytest.fixture
def queued_tasks(settings):
    """Follow-up jobs (authenticity, consensus) go to the broker instead of running in this thread: their
    statements are a worker's, not the request's. The batches they leave in Redis are emptied after."""
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous
    from authenticity.tasks import SCORING_BATCH as authenticity_batch
    from consensus.tasks import SCORING_BATCH as consensus_batch
    from core.cache import redis_client

    if redis_client() is not None:
        redis_client().delete(*consensus_batch.keys(), *authenticity_batch.keys())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the two-statement paths are PostgreSQL's (SQLite takes "
                                                              "the portable ORM path)")
def test_a_next_and_submit_cycle_through_the_lane_runs_two_statements_a_request(make_campaign, queued_tasks):
    """The lane's reads take only the fields the queue uses (tasks.selectors.QUEUE_*_FIELDS); one the code
    touched without it being read would cost a query of its own and show up here."""
    import io
    import sys

    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import CaptureQueriesContext

    from web.campaigns.fastlane import FastLane

    campaign = make_campaign(items=[{"payload": {"text": "Một"}}, {"payload": {"text": "Hai"}}], overlap=1,
                             instructions="# Hướng dẫn\n" + "Đọc kỹ. " * 2000)
    ((user, session),) = bulk_contributors(1)
    lane = FastLane(WSGIHandler())

    def post(path: str, body: bytes = b"", **headers) -> tuple[str, dict, dict]:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": f"sessionid={session}; csrftoken={CSRF}", "HTTP_X_CSRFTOKEN": CSRF,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1", **headers,
        }
        answer = {}

        def start_response(status, response_headers):
            answer.update(status=status, headers=dict(response_headers))

        content = b"".join(lane(environ, start_response))
        return answer["status"], json.loads(content), answer["headers"]

    def statements(queries) -> list[str]:
        return [q["sql"] for q in queries if "django_session" not in q["sql"]]  # session storage varies by set-up

    post(f"/api/v1/campaigns/{campaign.pk}/next/")  # warm: the session key becomes known to the lane
    assignment = Assignment.objects.get(contributor=user)
    path = f"/api/v1/assignments/{assignment.pk}/submit/"
    post(path, json.dumps({"payload": {"categories": ["safe"]}}).encode())

    with CaptureQueriesContext(connection) as next_queries:
        status, body, headers = post(f"/api/v1/campaigns/{campaign.pk}/next/")
    assert status.startswith("200") and served_by_lane(headers) and body["code"] == "ok", body
    assert len(statements(next_queries.captured_queries)) == 2, statements(next_queries.captured_queries)

    path = f"/api/v1/assignments/{body['assignment']['id']}/submit/"
    with CaptureQueriesContext(connection) as submit_queries:
        status, body, headers = post(path, json.dumps({"payload": {"categories": ["spam"]}}).encode(),
                                     HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert status.startswith("201") and served_by_lane(headers), body
    assert len(statements(submit_queries.captured_queries)) == 2, statements(submit_queries.captured_queries)
    assert Annotation.objects.get(pk=body["annotation_id"]).payload == {"categories": ["spam"]}
