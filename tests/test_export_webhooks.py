"""Webhooks: HMAC signature, retries with back-off, SSRF refusals, events fired once."""
from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading

import pytest

from exports import webhooks
from exports.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


class Receiver:
    """A real local HTTP server that answers with the queued status codes and records requests."""

    def __init__(self, statuses=(200,)):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body, self.path))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                if code in (301, 302, 307):
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the test server listens on loopback
    made = []

    def make(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_delivery_is_signed_and_verifiable(org, receiver):
    server = receiver()
    hook = Webhook.objects.create(organization=org, url=server.url, events=["export.ready"])
    [delivery] = webhooks.notify(organization=org, event="export.ready", object_id=5, data={"export": 5})
    delivery, retry = webhooks.attempt_delivery(delivery.pk)
    assert delivery.status == "delivered" and retry is None and delivery.last_status_code == 200
    headers, body, path = server.requests[0]
    assert path == "/hook?x=1"
    timestamp, mac = (part.split("=", 1)[1] for part in headers["X-Webhook-Signature"].split(","))
    expected = hmac.new(hook.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    payload = json.loads(body)
    assert payload["event"] == "export.ready" and payload["data"] == {"export": 5} and payload["attempt"] == 1
    assert headers["X-Webhook-Event"] == "export.ready"


def test_failures_are_retried_with_backoff_then_given_up(org, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    server = receiver(statuses=(500, 503, 500))
    Webhook.objects.create(organization=org, url=server.url)
    [delivery] = webhooks.notify(organization=org, event="export.ready", object_id=1, data={})
    delays = []
    for _ in range(3):
        delivery, retry = webhooks.attempt_delivery(delivery.pk)
        delays.append(retry)
    assert delays == [30, 120, None]
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.last_error == "HTTP 500"
    assert len(server.requests) == 3


def test_retry_succeeds_after_a_failure(org, receiver):
    server = receiver(statuses=(502, 204))
    Webhook.objects.create(organization=org, url=server.url)
    [delivery] = webhooks.notify(organization=org, event="campaign.completed", object_id=1, data={})
    assert webhooks.attempt_delivery(delivery.pk)[1] is not None
    delivery, retry = webhooks.attempt_delivery(delivery.pk)
    assert delivery.status == "delivered" and retry is None and delivery.attempts == 2


def test_redirects_are_not_followed(org, receiver):
    server = receiver(statuses=(302,))
    Webhook.objects.create(organization=org, url=server.url)
    [delivery] = webhooks.notify(organization=org, event="export.ready", object_id=2, data={})
    delivery, retry = webhooks.attempt_delivery(delivery.pk)
    assert delivery.status == "pending" and delivery.last_status_code == 302 and retry is not None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/x", "http://localhost/x", "http://10.0.0.5/x", "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/x", "http://[::ffff:127.0.0.1]/x",
    "http://100.64.0.1/x", "http://0.0.0.0/x", "http://[fd00:ec2::254]/x",
])
def test_private_addresses_are_refused(org, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_ALLOW_HTTP = True
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.post(url, b"{}", {})
    hook = Webhook.objects.create(organization=org, url=url)
    delivery = WebhookDelivery.objects.create(webhook=hook, event="export.ready", object_id=1)
    delivery, retry = webhooks.attempt_delivery(delivery.pk)
    assert delivery.last_status_code is None and "address" in delivery.last_error


def test_dns_answers_are_checked(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    # "localhost" is a name, not a literal: the check happens on its resolved addresses.
    with pytest.raises(webhooks.UnsafeURL, match="resolves to a private"):
        webhooks.resolve_public("localhost", 80)
    assert webhooks.address_is_public("93.184.216.34")
    assert not webhooks.address_is_public("::ffff:10.1.2.3")


def test_register_over_api_refuses_private_urls(token_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = token_client()
    for url in ("http://127.0.0.1/hook", "https://10.1.1.1/hook", "ftp://example.com/x", "https://u:p@example.com/"):
        res = client.post("/api/v1/webhooks/", {"url": url}, format="json")
        assert res.status_code == 400 and res.json()["error"]["field"] == "url", url
    res = client.post("/api/v1/webhooks/", {"url": "https://ml.example.com/hook", "events": ["export.ready"]},
                      format="json")
    assert res.status_code == 201 and len(res.json()["secret"]) >= 32
    hook_id = res.json()["id"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{hook_id}/").json()
    bad = client.post("/api/v1/webhooks/", {"url": "https://ml.example.com/hook", "events": ["nope"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "events"
    reader = token_client(scopes=["datasets:read"])
    assert reader.get("/api/v1/webhooks/").status_code == 403


def test_campaign_completion_fires_once(org, make_campaign, django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    hook = Webhook.objects.create(organization=org, url="https://ml.example.com/hook",
                                  events=["campaign.completed"])
    Webhook.objects.create(organization=org, url="https://ml.example.com/other", events=["export.ready"])
    campaign = make_campaign()
    with django_capture_on_commit_callbacks() as callbacks:
        campaign.status = "completed"
        campaign.save()
        campaign.save()  # saved again: still one event
    for callback in callbacks:
        callback()
    deliveries = WebhookDelivery.objects.all()
    assert [(d.webhook_id, d.event, d.object_id) for d in deliveries] == [(hook.pk, "campaign.completed", campaign.pk)]


def test_malformed_urls_are_refused_cleanly():
    for url in ("https://example.com:99999/x", "http://[::1/x", "https:///nohost"):
        with pytest.raises(webhooks.UnsafeURL):
            webhooks.check_url(url)
