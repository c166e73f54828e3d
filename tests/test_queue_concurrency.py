"""The queue under real concurrency on PostgreSQL: threads with their own connections race for slots.

Skipped on SQLite, which serialises writers (the embedded demo) and has no row locks to test.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from annotations.models import Annotation
from tasks.models import Assignment, Item
from workqueue.expiry import reclaim_expired_leases
from workqueue.lease import NoWork, lease_next_item
from workqueue.submit import submit_annotation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED need PostgreSQL"),
]


def contributors(n: int, *, region: str = "north") -> list:
    """Verified contributors with complete profiles, made in bulk (no password hashing)."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from contributors.models import ContributorProfile

    User = get_user_model()
    base = User.objects.count()
    users = User.objects.bulk_create(
        [User(username=f"race{base + i}@example.com", email=f"race{base + i}@example.com", password="!") for i in range(n)]
    )
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
    ContributorProfile.objects.bulk_create([
        ContributorProfile(user=u, display_name=f"Người {i}", birth_year=1990, region=region,
                           province="Thành phố Huế", consent_version=getattr(settings, "CONTRIBUTOR_TERMS_VERSION", ""),
                           consent_at=timezone.now())
        for i, u in enumerate(users)
    ])
    return list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("pk"))


def race(fn, args_list: list) -> list:
    """Run fn(*args) in one thread each, released together by a barrier; each thread's own connection."""
    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)
    errors: list = []

    def run(i, args):
        try:
            barrier.wait()
            results[i] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def assert_consistent(campaign) -> None:
    for item in Item.objects.filter(campaign=campaign):
        leased = item.assignments.filter(state=Assignment.State.LEASED).count()
        done = Annotation.objects.filter(item=item).count()
        assert (item.leased_count, item.done_count) == (leased, done), item
        assert item.open_slots == item.target_overlap - leased - done >= 0, item


def test_many_contributors_racing_for_the_last_slot_exactly_one_wins(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "Slot cuối"}}], overlap=3)
    early = contributors(2)
    for user in early:
        lease = lease_next_item(user=user, campaign=campaign)
        submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]})
    racers = contributors(24)
    outcomes = race(lambda u: lease_next_item(user=u, campaign=campaign), [(u,) for u in racers])
    winners = [o for o in outcomes if isinstance(o, Assignment)]
    assert len(winners) == 1
    assert all(o.code == "empty" for o in outcomes if isinstance(o, NoWork))
    item = Item.objects.get(campaign=campaign)
    assert (item.leased_count, item.done_count, item.open_slots) == (1, 2, 0)
    assert_consistent(campaign)


def test_one_contributor_in_many_tabs_gets_one_lease(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(10)], overlap=1)
    (user,) = contributors(1)
    outcomes = race(lambda: lease_next_item(user=user, campaign=campaign), [()] * 10)
    ids = {o.pk for o in outcomes if isinstance(o, Assignment)}
    assert len(ids) == 1, outcomes
    assert Assignment.objects.filter(contributor=user).count() == 1
    assert_consistent(campaign)


def test_concurrent_labelling_fills_every_item_to_exactly_its_overlap(make_campaign):
    n_items, overlap = 30, 3
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(n_items)], overlap=overlap)
    workers = contributors(12)

    def label_until_empty(user) -> int:
        done = busy = 0
        while True:
            lease = lease_next_item(user=user, campaign=campaign)
            if isinstance(lease, NoWork) and lease.code == "busy" and busy < 5:
                busy += 1  # "try again", as the page does: the queue lost a race three times in a row
                continue
            if isinstance(lease, NoWork):
                assert lease.code == "empty", lease
                return done
            submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]},
                              idempotency_key=f"{user.pk}-{lease.pk}")
            done += 1

    counts = race(label_until_empty, [(u,) for u in workers])
    assert sum(counts) == n_items * overlap
    per_item = Annotation.objects.filter(campaign=campaign).values_list("item_id", flat=True)
    assert sorted(set(per_item)) == sorted(Item.objects.filter(campaign=campaign).values_list("id", flat=True))
    assert all(list(per_item).count(i) == overlap for i in set(per_item))
    pairs = list(Assignment.objects.filter(campaign=campaign).values_list("item_id", "contributor_id"))
    assert len(pairs) == len(set(pairs))
    assert_consistent(campaign)


def test_region_quota_holds_under_a_race(make_campaign):
    # 10 answers; north may hold ceil(30% x 10) = 3 of them however many race for it.
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(10)], overlap=1,
                             region_quotas={"north": 30, "central": 30, "south": 40})
    racers = contributors(16, region="north")
    outcomes = race(lambda u: lease_next_item(user=u, campaign=campaign), [(u,) for u in racers])
    assert sum(isinstance(o, Assignment) for o in outcomes) == 3
    assert {o.code for o in outcomes if isinstance(o, NoWork)} == {"quota_full"}
    assert Assignment.objects.filter(campaign=campaign, region="north").count() == 3
    assert_consistent(campaign)


def test_retried_submits_with_one_key_store_one_answer(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "Một lần thôi"}}])
    (user,) = contributors(1)
    lease = lease_next_item(user=user, campaign=campaign)
    results = race(
        lambda: submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["spam"]},
                                  idempotency_key="same-key"),
        [()] * 8,
    )
    assert len({r.annotation.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Annotation.objects.filter(assignment=lease).count() == 1
    assert_consistent(campaign)


def test_sweeps_racing_with_picks_keep_counters_exact(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(8)], overlap=2)
    first = contributors(8)
    for user in first:
        lease_next_item(user=user, campaign=campaign)
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = contributors(8)
    jobs = [(lambda: reclaim_expired_leases(),)] * 4 + [(lambda u=u: lease_next_item(user=u, campaign=campaign),) for u in second]
    outcomes = race(lambda job: job(), jobs)
    assert sum(outcomes[:4]) <= 8  # each expired lease given back once, whichever sweeper won it
    reclaim_expired_leases()
    assert Assignment.objects.filter(state=Assignment.State.EXPIRED).count() == 8
    # A pick may find every open row locked by a sweeper for an instant: "empty" then, never a wrong lease.
    assert all(isinstance(o, Assignment) or o.code == "empty" for o in outcomes[4:])
    assert_consistent(campaign)


def test_submits_racing_with_expiry_sweeps_and_skips_count_each_answer_once(make_campaign):
    """The common submit reads without a lock and writes only if the lease is still open: a sweep or a skip
    landing between its read and its write sends it down the locked path (a late answer, or 409)."""
    from core.schema import SchemaError
    from workqueue.release import skip_assignment
    from workqueue.submit import SubmissionRefused

    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(12)], overlap=1)
    users = contributors(12)
    leases = [lease_next_item(user=u, campaign=campaign) for u in users]
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # every lease has run out

    def submit(user, lease):
        try:
            return submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]})
        except SubmissionRefused as exc:
            return exc.code

    def skip(lease):
        try:
            return skip_assignment(assignment=Assignment.objects.get(pk=lease.pk))
        except SchemaError:  # the submit or a sweep closed it first
            return "no longer open"

    skipped = leases[:4]  # their contributors skip while submitting; all race the sweepers
    jobs = ([(lambda u=u, a=a: submit(u, a),) for u, a in zip(users, leases, strict=True)]
            + [(lambda a=a: skip(a),) for a in skipped]
            + [(lambda: reclaim_expired_leases(),)] * 4)
    outcomes = race(lambda job: job(), jobs)
    for i, (lease, outcome) in enumerate(zip(leases, outcomes[:12], strict=True)):
        answers = Annotation.objects.filter(assignment_id=lease.pk).count()
        state = Assignment.objects.get(pk=lease.pk).state
        if isinstance(outcome, str):  # refused: the skip won; nothing stored
            assert i < 4 and outcome == "closed" and answers == 0 and state == Assignment.State.SKIPPED, (outcome, state)
        else:  # stored once, by the open-lease write or as a late answer after the sweep
            assert answers == 1 and state == Assignment.State.SUBMITTED and outcome.created, (outcome, state)
    assert_consistent(campaign)


def _label_in_child(user_id: int, campaign_id: int, start, out) -> None:
    """A forked process with its own database connection: lease and answer until the queue is empty."""
    from django.contrib.auth import get_user_model

    from tasks.models import Campaign

    connections.close_all()  # never share the parent's socket
    try:
        user = get_user_model().objects.get(pk=user_id)
        campaign = Campaign.objects.get(pk=campaign_id)
        start.wait(30)
        done = 0
        while isinstance(lease := lease_next_item(user=user, campaign=campaign), Assignment):
            submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]})
            done += 1
        out.put(("done", done, lease.code))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", repr(exc), ""))
    finally:
        connections.close_all()


def test_processes_labelling_concurrently_fill_items_exactly_to_overlap(make_campaign):
    import multiprocessing

    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(12)], overlap=2)
    workers = contributors(6)
    connections.close_all()  # children are forked: hand them no open connection
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    children = [ctx.Process(target=_label_in_child, args=(u.pk, campaign.pk, start, out)) for u in workers]
    for child in children:
        child.start()
    time.sleep(0.5)
    start.set()
    results = [out.get(timeout=120) for _ in children]
    for child in children:
        child.join(30)
    assert not [r for r in results if r[0] == "error"], results
    assert sum(r[1] for r in results) == 24  # 12 items x overlap 2, not one more
    assert {r[2] for r in results} == {"empty"}
    assert_consistent(campaign)
