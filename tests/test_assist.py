"""Model assistance end to end (issue 23): a real backend process (tests/ml_backend_stub.py), the real Celery
worker on the ``assist`` queue, the HTTP endpoints, the admin, the export."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import zipfile
from datetime import timedelta

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from annotations.models import Consensus
from assist import selectors, services, tasks
from assist.models import AssistSettings, BackendCall, Exposure, ModelBackend, Suggestion
from assist.uncertainty import priority_of
from exports.layouts import SUGGESTION_COLUMNS
from exports.services import export_file_path, request_export, run_export
from tasks.models import Assignment, Item
from tests.helpers import ROOT, wait_for
from workqueue.counters import recount

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Stub:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ml_backend_stub.py")],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def control(self, **state) -> None:
        httpx.post(f"{self.url}/_control", json=state, timeout=5).raise_for_status()

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.url}/_requests", timeout=5).json()["requests"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.stop()


def _backend(campaign, stub, **fields) -> ModelBackend:
    fields.setdefault("timeout_seconds", 5)
    fields.setdefault("max_retries", 0)
    return ModelBackend.objects.create(campaign=campaign, name=fields.pop("name", "stub"), url=stub.url, **fields)


def _label(client, campaign, user, answer=None) -> tuple[dict, dict | None]:
    """One contributor cycle over HTTP: next, the page's suggestion, submit (``answer`` or the suggestion's)."""
    client.force_login(user)
    res = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assert res.status_code == 200, res.content
    assignment = res.json()["assignment"]
    got = client.post(reverse("assignment-suggestion", args=[assignment["id"]]), content_type="application/json")
    assert got.status_code == 200, got.content
    suggestion = got.json()["suggestion"]
    payload = answer if answer is not None else (suggestion or {}).get("answer") or {"categories": ["safe"]}
    res = client.post(reverse("assignment-submit", args=[assignment["id"]]), {"payload": payload},
                      content_type="application/json")
    assert res.status_code == 201, res.content
    return assignment, suggestion


def test_suggestions_arrive_for_imported_items_through_the_worker(make_campaign, token_client, other_org, stub,
                                                                  celery_worker_process):
    campaign = make_campaign(items=[])
    backend = _backend(campaign, stub)
    services.set_token(backend=backend, token="team-token")
    stub.control(token="team-token", answers_by_text={"quà": {"categories": ["spam"]}}, answer={"categories": ["safe"]})
    client = token_client()
    lines = [json.dumps({"text": f"Nhận quà số {i}" if i % 2 else f"Bình luận {i}"}, ensure_ascii=False)
             for i in range(70)]
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                      {"file": SimpleUploadedFile("items.jsonl", "\n".join(lines).encode())}, format="multipart")
    assert res.status_code == 202, res.content
    wait_for(lambda: Suggestion.objects.filter(campaign=campaign).count() == 70, timeout=60)
    received = [r for r in stub.requests() if r["path"] == "/predict"]
    assert sorted(len(r["items"]) for r in received) == [6, 64]  # batches of at most 64
    assert {r["auth"] for r in received} == {"Bearer team-token"}
    spam = Suggestion.objects.filter(campaign=campaign, answer__categories=["spam"]).count()
    assert spam == 35
    assert BackendCall.objects.filter(backend=backend, outcome="ok", kind="predict").count() == 2

    listing = client.get(reverse("suggestion-list", args=[campaign.pk])).json()
    assert len(listing["results"]) == 70 and listing["results"][0]["backend"] == "stub"
    one = client.get(reverse("suggestion-list", args=[campaign.pk]), {"item": listing["results"][0]["item"]}).json()
    assert len(one["results"]) == 1
    assert client.get(reverse("suggestion-list", args=[campaign.pk]), {"item": "x"}).status_code == 400
    assert token_client(other_org).get(reverse("suggestion-list", args=[campaign.pk])).status_code == 404


@pytest.mark.parametrize("mode, outcome", [("timeout", "timeout"), ("error", "http_error"),
                                           ("garbage", "wrong_schema"), ("wrong_schema", "wrong_schema")])
def test_failing_backend_leaves_labelling_untouched_and_is_reported(
        client, admin_client, make_campaign, make_contributor, stub, mode, outcome, celery_worker_process):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(4)], overlap=1)
    backend = _backend(campaign, stub, timeout_seconds=0.5, breaker_threshold=2, max_retries=1)
    stub.control(mode=mode, delay=3)
    tasks.request_suggestions.delay(campaign.pk, None, False)
    # Labelling goes on meanwhile, at its usual speed: the queue and submit never wait on a backend.
    user = make_contributor()
    started = time.monotonic()
    for _ in range(2):
        _, suggestion = _label(client, campaign, user)
        assert suggestion is None
    assert time.monotonic() - started < 5
    wait_for(lambda: BackendCall.objects.filter(backend=backend, outcome=outcome).exists(), timeout=60)
    assert not Suggestion.objects.filter(campaign=campaign).exists()  # nothing wrong is ever stored or shown
    if mode == "wrong_schema":
        call = BackendCall.objects.get(backend=backend, outcome=outcome)
        assert call.refused == 4 and call.suggestions == 0
    else:
        # A transient failure is retried once (after the back-off): two failures in a row open the breaker.
        if mode != "garbage":
            wait_for(lambda: BackendCall.objects.filter(backend=backend, outcome=outcome).count() == 2, timeout=60)
            backend.refresh_from_db()
            assert services.breaker_state(backend) == services.OPEN
    page = admin_client.get(reverse("admin:assist_modelbackend_change", args=[backend.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    key = "refused" if mode == "wrong_schema" else outcome
    count = 4 if mode == "wrong_schema" else BackendCall.objects.filter(backend=backend, outcome=outcome).count()
    assert f'data-failure="{key}">{count}<' in html, html[html.find("assist-health"):][:2000]
    # The page still serves and takes answers after the failures.
    _label(client, campaign, make_contributor())


def test_page_suggestion_control_acceptance_report_and_export(client, admin_client, make_campaign, make_contributor,
                                                              stub, monkeypatch):
    items = [{"payload": {"text": f"Mua ngay {i}!"}} for i in range(6)]
    campaign = make_campaign(items=items, overlap=3)
    AssistSettings.objects.create(campaign=campaign, policy="prefill", control_share=0.0)
    backend = _backend(campaign, stub)
    stub.control(answer={"categories": ["spam"]}, score=0.8)
    ids = list(campaign.items.values_list("id", flat=True))
    assert services.predict(backend=backend, item_ids=ids) == 6
    accepter, editor = make_contributor(), make_contributor()
    for _ in range(6):
        assignment, suggestion = _label(client, campaign, accepter)
        assert suggestion == {"answer": {"categories": ["spam"]}, "score": 0.8, "model_version": "stub-1",
                              "policy": "prefill"}
    for i in range(6):
        _label(client, campaign, editor, {"categories": ["safe"]} if i % 2 else {"categories": ["spam"]})
    # The page cannot claim what it was shown: the server's record is the only one.
    assert Exposure.objects.filter(campaign=campaign, shown=True).count() == 12
    assert services.classify_exposures(campaign_id=campaign.pk) == 12
    outcomes = dict(Exposure.objects.filter(contributor=editor).values_list("item_id", "outcome"))
    assert sorted(outcomes.values()) == ["accepted"] * 3 + ["rejected"] * 3
    assert set(Exposure.objects.filter(contributor=accepter).values_list("outcome", flat=True)) == {"accepted"}

    monkeypatch.setattr(selectors, "FLAG_MIN_SHOWN", 5)
    report = selectors.suggestion_report(campaign)
    assert [c["contributor_id"] for c in report["flagged"]] == [accepter.pk]
    assert report["assisted"]["answers"] == 12 and report["outcomes"] == {"accepted": 9, "rejected": 3}
    page = admin_client.get(reverse("review:dashboard", args=[campaign.pk]))
    assert page.status_code == 200 and b'id="assist-report"' in page.content

    export = run_export(request_export(campaign=campaign, fmt="jsonl", layout="raw").pk)
    archive = zipfile.ZipFile(export_file_path(export))
    rows = [json.loads(line) for line in archive.read("data/train.jsonl").splitlines()]
    assert set(SUGGESTION_COLUMNS) <= set(rows[0])
    by_answer = [(r["suggestion_shown"], r["suggestion_accepted"], r["suggestion_outcome"]) for r in rows]
    assert by_answer.count((True, True, "accepted")) == 9 and by_answer.count((True, False, "rejected")) == 3
    assert "suggestion_shown" in archive.read("README.md").decode()


def test_control_share_honoured_through_the_endpoint(client, make_campaign, make_contributor, stub):
    """Three contributors, 200 items each; with a share of 0.3 each one's controls within 4.5 sigma, and
    control items never get the suggestion (nor gold items)."""
    n = 200
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(n)]
                             + [{"payload": {"text": "vàng"}, "gold_answer": {"categories": ["safe"]}}], overlap=3)
    AssistSettings.objects.create(campaign=campaign, control_share=0.3)
    backend = _backend(campaign, stub)
    ids = list(campaign.items.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), 64):
        services.predict(backend=backend, item_ids=ids[start:start + 64])
    sigma = math.sqrt(0.3 * 0.7 / n)
    expires = timezone.now() + timedelta(hours=1)
    for _ in range(3):
        user = make_contributor()
        client.force_login(user)
        controls = 0
        for item in campaign.items.filter(is_gold=False):
            a = Assignment.objects.create(item=item, campaign=campaign, contributor=user, expires_at=expires)
            got = client.post(reverse("assignment-suggestion", args=[a.pk])).json()["suggestion"]
            exposure = Exposure.objects.get(assignment=a)
            assert exposure.control == services.is_control(user.pk, item.pk, 0.3)
            assert (got is None) == exposure.control
            controls += exposure.control
            Assignment.objects.filter(pk=a.pk).update(state=Assignment.State.SKIPPED)
        assert abs(controls / n - 0.3) <= 4.5 * sigma, controls
        gold = campaign.items.get(is_gold=True)
        a = Assignment.objects.create(item=gold, campaign=campaign, contributor=user, expires_at=expires)
        assert client.post(reverse("assignment-suggestion", args=[a.pk])).json()["suggestion"] is None
    other = make_contributor()
    client.force_login(other)
    assert client.post(reverse("assignment-suggestion", args=[a.pk])).status_code == 404  # not theirs


def test_uncertainty_orders_the_queue_and_sure_items_stop_once_gold_passes(client, make_campaign, make_contributor,
                                                                           stub):
    items = [{"payload": {"text": f"Câu {i}"}} for i in range(20)]
    gold = [{"payload": {"text": f"vàng {i}"}, "gold_answer": {"categories": ["safe"]}} for i in range(3)]
    campaign = make_campaign(items=items + gold, overlap=2)
    AssistSettings.objects.create(campaign=campaign, strategy="least_confident", control_share=0.0,
                                  sure_threshold=0.95, min_gold_items=3, gold_accuracy_required=1.0)
    backend = _backend(campaign, stub)
    stub.control(score="by_item", answers_by_text={"vàng": {"categories": ["spam"]}})  # wrong on gold
    ids = list(campaign.items.values_list("id", flat=True))
    services.predict(backend=backend, item_ids=ids)
    regular = Item.objects.filter(campaign=campaign, is_gold=False)
    scores = dict(Suggestion.objects.filter(item__in=regular).values_list("item_id", "score"))
    for item in regular:
        assert item.priority == priority_of(1 - scores[item.pk])
    assert services.gold_check(campaign)["passed"] is False
    assert not regular.filter(open_slots=0).exists()  # gold failed: nothing stops
    user = make_contributor()
    client.force_login(user)
    first = client.post(reverse("task-next", args=[campaign.pk])).json()["assignment"]
    least_sure = min(scores, key=lambda i: (scores[i], i))
    assert Assignment.objects.get(pk=first["id"]).item_id == least_sure

    stub.control(answers_by_text={})  # now right on gold: the check passes, sure items stop collecting
    services.predict(backend=backend, item_ids=ids)
    check = services.gold_check(campaign)
    assert check["passed"] and check["checked"] == 3 and check["accuracy"] == 1.0
    sure = {i for i, s in scores.items() if s >= 0.95}
    assert sure
    stopped = set(regular.filter(open_slots=0).values_list("id", flat=True))
    assert stopped == sure - {least_sure} or stopped == sure
    for item in Item.objects.filter(pk__in=stopped):
        assert item.target_overlap == item.leased_count + item.done_count
    assert recount(campaign_ids=[campaign.pk]) == []


def test_consensus_round_retrains_then_predicts_again(make_campaign, stub, celery_worker_process):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(3)], overlap=1)
    backend = _backend(campaign, stub, retrain_after_consensus=True)
    item = campaign.items.first()
    Consensus.objects.create(item=item, campaign=campaign, state=Consensus.State.FINALISED,
                             result={"categories": ["spam"]})
    tasks.after_consensus([item.pk])
    wait_for(lambda: any(r["path"] == "/train" for r in stub.requests()), timeout=60)
    assert [r["examples"] for r in stub.requests() if r["path"] == "/train"] == [1]
    wait_for(lambda: Suggestion.objects.filter(backend=backend, model_version="stub-2").count() == 3, timeout=60)
    backend.refresh_from_db()
    assert backend.model_version == "stub-2"


def test_console_ask_now_action_and_backend_form_keep_the_token_secret(admin_client, make_campaign, stub,
                                                                      eager_tasks):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(3)])
    res = admin_client.post(reverse("admin:assist_modelbackend_add"), {
        "campaign": campaign.pk, "name": "stub", "url": stub.url, "enabled": "on", "predict_on_import": "on",
        "timeout_seconds": "5", "max_retries": "0", "breaker_threshold": "5", "breaker_cooldown_seconds": "60",
        "token": "very-secret"})
    assert res.status_code == 302, res.content.decode()[:3000]
    backend = ModelBackend.objects.get(campaign=campaign)
    page = admin_client.get(reverse("admin:assist_modelbackend_change", args=[backend.pk])).content.decode()
    assert "very-secret" not in page and backend.token_encrypted
    stub.control(token="very-secret")
    res = admin_client.post(reverse("admin:assist_modelbackend_changelist"),
                            {"action": "ask_now", "_selected_action": [backend.pk]})
    assert res.status_code == 302
    assert Suggestion.objects.filter(backend=backend).count() == 3
    assert {r["auth"] for r in stub.requests()} == {"Bearer very-secret"}
    campaign_page = admin_client.get(reverse("admin:tasks_campaign_change", args=[campaign.pk])).content.decode()
    assert 'id="console-assist"' in campaign_page
