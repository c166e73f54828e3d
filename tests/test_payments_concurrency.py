"""Budgets under real concurrency on PostgreSQL (issue 25, "Must show"): many contributors lease and submit into a
campaign whose budget runs out mid-run, while answers are accepted as they come. No lease beyond the budget, no
answer paid twice, ``ledger_check`` clean afterwards."""
from __future__ import annotations

import io
import random
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from annotations.models import Annotation
from payments import earnings
from payments.budgets import set_budget
from payments.checks import breaches
from payments.models import Account, Earning, EarningRule, LedgerTransaction
from tasks.models import Assignment, Campaign
from tests.helpers import wait_for
from tests.reliability.test_worker_killed import kill, publish, start_worker, stop
from tests.test_queue_concurrency import contributors
from workqueue import followups
from workqueue.lease import NoWork, lease_next_item
from workqueue.submit import submit_annotation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

N_USERS = 200  # the figure
# PostgreSQL here allows 100 connections: 48 threads (one connection each, as a web server's workers would hold)
# serve the 200 contributors, each thread interleaving its contributors' requests round by round.
N_THREADS = 48
COST = 1100  # pay 1000 + 10 % fee
N_ITEMS = 120
BUDGET_TASKS = 150  # the budget covers 150 answers; the items would take 240 and the contributors offer 800


def budgeted_campaign(make_campaign) -> Campaign:
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(N_ITEMS)], overlap=2,
                             max_overlap=2, pay_per_task=1000, fee_bps=1000)
    set_budget(campaign=campaign, budget=BUDGET_TASKS * COST)
    return campaign


def run_contributors(campaign: Campaign, *, settle_inline: bool) -> list[str]:
    """N_USERS contributors lease and submit until refused; returns the refusal codes."""
    users = contributors(N_USERS)
    barrier = threading.Barrier(N_THREADS)
    refused: list[str] = []
    errors: list[BaseException] = []

    def serve(batch):
        try:
            barrier.wait()
            own = Campaign.objects.get(pk=campaign.pk)
            rngs = {user.pk: random.Random(user.pk) for user in batch}
            active = list(batch)
            for _round in range(4):
                for user in list(active):
                    lease = lease_next_item(user=user, campaign=own, rng=rngs[user.pk])
                    if isinstance(lease, NoWork):
                        refused.append(lease.code)
                        active.remove(user)
                        continue
                    answer = submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]},
                                               idempotency_key=f"k{lease.pk}").annotation
                    # Two settlers race for the same answer (a consensus call and the beat sweep).
                    for source in (Earning.Source.CONSENSUS, Earning.Source.AUTO)[:2 if settle_inline else 0]:
                        earnings.accept(annotation=answer, source=source)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=serve, args=(users[i::N_THREADS],)) for i in range(N_THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    print(f"{N_USERS} contributors on {N_THREADS} connections: {time.monotonic() - started:.1f} s")
    assert not errors, errors[:3]
    return refused


def assert_paid_once_within_budget(campaign: Campaign) -> None:
    campaign.refresh_from_db()
    answers = Annotation.objects.filter(campaign=campaign).count()
    assert answers == BUDGET_TASKS  # every đồng of the budget became an answer, none more
    assert campaign.budget_used == BUDGET_TASKS * COST <= campaign.budget
    assert not Assignment.objects.filter(campaign=campaign, state="leased").exists()
    assert campaign.status == Campaign.Status.PAUSED  # spent: it paused itself
    accepts = LedgerTransaction.objects.filter(kind="accept").values_list("annotation_id", flat=True)
    assert len(accepts) == len(set(accepts)) == answers  # each answer paid exactly once
    assert Earning.objects.filter(campaign=campaign).count() == answers
    assert Account.objects.get(kind="budget", campaign=campaign).balance == 0
    assert breaches() == []


def test_many_submitters_into_a_budget_that_runs_out(make_campaign):
    campaign = budgeted_campaign(make_campaign)
    refused = run_contributors(campaign, settle_inline=True)
    assert set(refused) <= {"budget", "inactive", "empty"} and refused
    assert_paid_once_within_budget(campaign)


@pytest.mark.slow
@pytest.mark.skipif(settings.CELERY_TASK_ALWAYS_EAGER, reason="needs a real broker (Redis) to redeliver")
def test_settle_sweep_survives_a_sigkilled_worker(make_campaign, monkeypatch):
    """The same run, settled by the beat sweep in a real Celery worker that is SIGKILLed mid-batch: the
    redelivered sweep (acks_late) finishes the batch and pays no answer twice."""
    # Only the sweep may settle here: no consensus job (whose outcome also pays) may reach the suite's worker.
    monkeypatch.setattr(followups, "_on_item_full", {})
    monkeypatch.setattr(followups, "_on_answer", {})
    campaign = budgeted_campaign(make_campaign)
    EarningRule.objects.create(campaign=campaign, auto_accept_hours=0, hold_hours=0)  # all due at once
    run_contributors(campaign, settle_inline=False)
    assert not Earning.objects.exists()
    queue = f"paykill-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, "worker-killed-payments.log")
    try:
        publish("payments.tasks.settle", [], queue)
        wait_for(lambda: LedgerTransaction.objects.filter(kind="accept").count() >= 10, timeout=60, interval=0.01)
        kill(worker)
        paid = LedgerTransaction.objects.filter(kind="accept").count()
        assert paid < BUDGET_TASKS, "the sweep finished before the kill: make the campaign bigger"
        worker = start_worker(queue, "worker-killed-payments.log")
        wait_for(lambda: Earning.objects.filter(state=Earning.State.AVAILABLE).count() == BUDGET_TASKS,
                 timeout=120, interval=0.3)
    finally:
        stop(worker)
    print(f"killed after {paid} of {BUDGET_TASKS} accepts; the redelivered sweep finished the batch")
    assert_paid_once_within_budget(campaign)
    releases = LedgerTransaction.objects.filter(kind="release").values_list("annotation_id", flat=True)
    assert len(releases) == len(set(releases)) == BUDGET_TASKS
    out = io.StringIO()
    call_command("ledger_check", stdout=out)  # raises CommandError on any breach
    assert "ledger clean" in out.getvalue()

