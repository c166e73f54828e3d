"""Budgets under real concurrency on PostgreSQL (issue 25, "Must show"): many contributors lease and submit into a
campaign whose budget runs out mid-run, while answers are accepted as they come. No lease beyond the budget, no
answer paid twice, ``ledger_check`` clean afterwards."""
from __future__ import annotations

import random
import threading

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

N_USERS = 60
COST = 1100  # pay 1000 + 10 % fee
BUDGET_TASKS = 45  # the budget covers 45 answers; the contributors would give 120


def test_many_submitters_into_a_budget_that_runs_out(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(60)], overlap=2,
                             max_overlap=2, pay_per_task=1000, fee_bps=1000)
    set_budget(campaign=campaign, budget=BUDGET_TASKS * COST)
    users = contributors(N_USERS)
    barrier = threading.Barrier(N_USERS)
    refused: list[str] = []
    errors: list[BaseException] = []

    def contributor(user):
        try:
            barrier.wait()
            rng = random.Random(user.pk)
            own = Campaign.objects.get(pk=campaign.pk)
            for _round in range(4):
                lease = lease_next_item(user=user, campaign=own, rng=rng)
                if isinstance(lease, NoWork):
                    refused.append(lease.code)
                    return
                answer = submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]},
                                           idempotency_key=f"k{lease.pk}").annotation
                # Two settlers race for the same answer (a consensus call and the beat sweep).
                for source in (Earning.Source.CONSENSUS, Earning.Source.AUTO):
                    earnings.accept(annotation=answer, source=source)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contributor, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
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
