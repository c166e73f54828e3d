"""A Celery worker killed (SIGKILL) in the middle of a consensus job and of an export.

After a new worker starts, the redelivered job completes; results are correct and nothing is
counted twice; the export file is whole or absent, never a truncated file marked ready.
"""
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation, Consensus, ConsensusJob
from contributors.models import TrustScore
from tasks.models import Assignment, Item
from tests.helpers import bulk_contributors, database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
N_ITEMS, OVERLAP, N_WORKERS = 12000, 3, 6
CATEGORIES = ["safe", "hate", "harassment", "spam", "violence"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(settings.CELERY_TASK_ALWAYS_EAGER, reason="needs a real broker (Redis) to redeliver"),
]


def private_broker_url() -> str:
    """Another Redis database than the suite's, so the session's worker never sees these jobs."""
    parts = urlparse(settings.CELERY_BROKER_URL)
    current = int((parts.path or "/0").lstrip("/") or 0)
    return parts._replace(path=f"/{(current + 8) % 16}").geturl()


def publish(task_name: str, args: list, queue: str) -> None:
    # A separate app without the project's routes: task_routes would override an explicit queue.
    # Not set as current: shared tasks would otherwise publish to this (closed) app's broker for the
    # rest of the session, and the session's worker would never see another job.
    with Celery("killtest", broker=private_broker_url(), set_as_current=False) as app:
        app.send_task(task_name, args=args, queue=queue)


def start_worker(queue: str, log_name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "CELERY_TASK_ALWAYS_EAGER": "0",
           "CELERY_VISIBILITY_TIMEOUT": "3", "REDIS_URL": private_broker_url(),
           "CELERY_BROKER_URL": private_broker_url()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    path = ROOT / "test-artifacts" / log_name
    start = path.stat().st_size if path.exists() else 0
    log = open(path, "a")  # noqa: SIM115 - the worker owns it until it exits
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-c", "1", "-l", "info",
         "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )

    def ready() -> bool:
        # Redis drops messages published to a queue nobody has bound yet: publish only once it listens.
        with open(path, "rb") as f:
            f.seek(start)
            return b" ready." in f.read()

    wait_for(ready, timeout=120, interval=0.2)
    return proc


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill(proc)


def big_answered_campaign(make_campaign):
    """N_ITEMS moderation items, each answered by OVERLAP of N_WORKERS contributors (80% accurate)."""
    campaign = make_campaign(items=[], overlap=OVERLAP, max_overlap=OVERLAP, confidence_threshold=0.0)
    users = [user for user, _session in bulk_contributors(N_WORKERS)]
    rng = random.Random(5)
    now = timezone.now()
    items = Item.objects.bulk_create(
        Item(campaign=campaign, payload={"text": f"Bình luận {i}"}, target_overlap=OVERLAP, done_count=OVERLAP,
             leased_count=0, open_slots=0)
        for i in range(N_ITEMS)
    )
    assignments, answers = [], []
    for index, item in enumerate(items):
        truth = rng.choice(CATEGORIES)
        for k in range(OVERLAP):
            user = users[(index + k) % N_WORKERS]
            label = truth if rng.random() < 0.8 else rng.choice(CATEGORIES)
            assignments.append(Assignment(item=item, campaign=campaign, contributor=user, state="submitted",
                                          leased_at=now, expires_at=now, finished_at=now))
            answers.append({"categories": [label]})
    assignments = Assignment.objects.bulk_create(assignments, batch_size=5000)
    Annotation.objects.bulk_create(
        (Annotation(assignment=a, item_id=a.item_id, campaign=campaign, contributor=a.contributor, payload=p)
         for a, p in zip(assignments, answers, strict=True)),
        batch_size=5000,
    )
    return campaign


def test_killed_consensus_job_and_export_complete_after_restart(make_campaign, token_client, org):
    from exports.models import Export
    from exports.services import export_file_path

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    campaign = big_answered_campaign(make_campaign)
    queue = f"killtest-{uuid.uuid4().hex[:8]}"

    # --- consensus: kill mid-job, restart, the job completes once ---------------------------------
    job = ConsensusJob.objects.create(campaign=campaign, trigger="manual")
    worker = start_worker(queue, "worker-killed.log")
    try:
        publish("consensus.tasks.run_consensus_job", [job.pk], queue)
        wait_for(lambda: ConsensusJob.objects.get(pk=job.pk).status == "running", timeout=60, interval=0.02)
        time.sleep(0.3)
        kill(worker)
        killed = ConsensusJob.objects.get(pk=job.pk)
        assert killed.status == "running", "the job finished before the kill: make the campaign bigger"
        worker = start_worker(queue, "worker-killed.log")
        done = wait_for(lambda: (j := ConsensusJob.objects.get(pk=job.pk)).status in ("succeeded", "failed") and j,
                        timeout=180, interval=0.5)
        assert done.status == "succeeded", done.error
        assert done.attempts >= 2
    finally:
        stop(worker)
    assert Consensus.objects.filter(campaign=campaign).count() == N_ITEMS
    assert not Consensus.objects.filter(campaign=campaign).exclude(n_answers=OVERLAP).exists()
    assert Consensus.objects.filter(campaign=campaign, state="finalised").count() == N_ITEMS
    # Trust evidence from finalised items is counted once per answer, not once per attempt.
    counted = TrustScore.objects.filter(task_type="moderation").aggregate(n=Sum("consensus_seen"))["n"]
    assert counted == N_ITEMS * OVERLAP

    # --- export: kill mid-build; never a truncated file marked ready; rebuilt whole ------------------
    export = Export.objects.create(organization=org, campaign=campaign, format="jsonl", layout="raw")
    api = token_client()
    worker = start_worker(queue, "worker-killed.log")
    try:
        publish("exports.tasks.build_export", [export.pk], queue)
        wait_for(lambda: Export.objects.get(pk=export.pk).status == "running", timeout=60, interval=0.02)
        time.sleep(0.3)
        kill(worker)
        killed = Export.objects.get(pk=export.pk)
        assert killed.status == "running", "the export finished before the kill: make the campaign bigger"
        assert export_file_path(killed) is None or not export_file_path(killed).exists()
        res = api.get(reverse("export-download", args=[export.pk]))
        assert res.status_code in (404, 409), res.status_code
        worker = start_worker(queue, "worker-killed.log")
        ready = wait_for(lambda: (e := Export.objects.get(pk=export.pk)).status in ("succeeded", "failed") and e,
                         timeout=180, interval=0.5)
        assert ready.status == "succeeded", ready.error
    finally:
        stop(worker)
    path = export_file_path(ready)
    assert path is not None and path.exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ready.sha256
    assert ready.rows_written == N_ITEMS * OVERLAP
