"""Budgets under real concurrency on PostgreSQL (issue 25, "Must show"): many contributors lease and submit into a
campaign whose budget runs out mid-run, while answers are accepted as they come. No lease beyond the budget, no
answer paid twice, ``ledger_check`` clean afterwards."""
from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, connections

from annotations.models import Annotation
from payments import earnings
from payments.budgets import set_budget
from payments.checks import breaches
from payments.models import Account, Earning, LedgerTransaction
from tasks.models import Assignment, Campaign
from tests.test_queue_concurrency import contributors
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


def test_many_submitters_into_a_budget_that_runs_out(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(N_ITEMS)], overlap=2,
                             max_overlap=2, pay_per_task=1000, fee_bps=1000)
    set_budget(campaign=campaign, budget=BUDGET_TASKS * COST)
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
                    for source in (Earning.Source.CONSENSUS, Earning.Source.AUTO):
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
    campaign.refresh_from_db()
    answers = Annotation.objects.filter(campaign=campaign).count()
    assert answers == BUDGET_TASKS  # every đồng of the budget became an answer, none more
    assert campaign.budget_used == BUDGET_TASKS * COST <= campaign.budget
    assert not Assignment.objects.filter(campaign=campaign, state="leased").exists()
    assert set(refused) <= {"budget", "inactive", "empty"} and refused
    assert campaign.status == Campaign.Status.PAUSED  # spent: it paused itself
    accepts = LedgerTransaction.objects.filter(kind="accept").values_list("annotation_id", flat=True)
    assert len(accepts) == len(set(accepts)) == answers  # each answer paid exactly once
    assert Account.objects.get(kind="budget", campaign=campaign).balance == 0
    assert breaches() == []
