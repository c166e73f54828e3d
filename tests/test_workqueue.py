"""The queue's own rules, on both databases: one predicate for the pick, the portable pick and remaining_for;
counters recounted (manage.py queue_recount); the follow-ups a submit calls."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_save
from django.utils import timezone

from annotations.models import Annotation
from tasks.models import Assignment, Item, RegionTally
from workqueue import followups
from workqueue.eligibility import candidates, predicate_sql
from workqueue.lease import NoWork, lease_next_item
from workqueue.selectors import remaining_for
from workqueue.submit import submit_annotation

pytestmark = pytest.mark.django_db


def texts(n: int) -> list[dict]:
    return [{"payload": {"text": f"Câu {i}"}} for i in range(n)]


# --- one predicate -----------------------------------------------------------------------------------------

def test_source_contributor_of_every_item_has_nothing_left_and_gets_nothing(make_campaign, make_contributor):
    """The drift of issue 17: a speaker whose recordings are every item of a validation campaign was told
    "3 left" by remaining_for while lease_next_item answered "empty". Both now read the same predicate."""
    speaker, other = make_contributor(), make_contributor()
    campaign = make_campaign(items=texts(3))
    Item.objects.filter(campaign=campaign).update(source_contributor=speaker)
    assert remaining_for(speaker, campaign) == 0
    outcome = lease_next_item(user=speaker, campaign=campaign)
    assert isinstance(outcome, NoWork) and outcome.code == "empty"
    # Another contributor: both say the same, down to the last item.
    for left in (3, 2, 1):
        assert remaining_for(other, campaign) == left
        lease = lease_next_item(user=other, campaign=campaign)
        assert not isinstance(lease, NoWork)
        assert remaining_for(other, campaign) == left  # the held lease still counts
        submit_annotation(user=other, assignment_id=lease.pk, payload={"categories": ["safe"]})
    assert remaining_for(other, campaign) == 0
    assert isinstance(lease_next_item(user=other, campaign=campaign), NoWork)


def _predicate_ids(campaign, user, *, gold: bool) -> set[int]:
    """The predicate as the PostgreSQL pick runs it: its SQL text with named parameters, on a raw cursor."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT i.id FROM tasks_item i WHERE {predicate_sql('i', gold=gold)}",
                       {"campaign": campaign.pk, "user": user.pk, "gold": gold})
        return {row[0] for row in cursor.fetchall()}


def test_the_sql_predicate_and_the_queryset_admit_the_same_items(make_campaign, make_contributor):
    """Every clause exercised: full items, gold items (served whatever their slots), items the contributor
    provided, and items they held in each state; the raw SQL and the ORM queryset agree on both databases."""
    me, someone = make_contributor(), make_contributor()
    campaign = make_campaign(items=texts(8) + [{"payload": {"text": "vàng"}, "gold_answer": {"categories": ["safe"]}}]
                             * 2, overlap=2)
    items = list(Item.objects.filter(campaign=campaign, is_gold=False).order_by("id"))
    Item.objects.filter(pk=items[0].pk).update(open_slots=0)  # full
    Item.objects.filter(pk=items[1].pk).update(source_contributor=me)  # mine
    Item.objects.filter(pk=items[2].pk).update(source_contributor=someone)  # someone else's: fine for me
    now = timezone.now()
    for item, state in zip(items[3:7], Assignment.State.values, strict=False):
        Assignment.objects.create(item=item, campaign=campaign, contributor=me, state=state, leased_at=now,
                                  expires_at=now + timedelta(minutes=5))
    gold = list(Item.objects.filter(campaign=campaign, is_gold=True).order_by("id"))
    Item.objects.filter(pk=gold[0].pk).update(open_slots=0)  # gold ignores slots
    for user in (me, someone):
        for is_gold in (False, True):
            orm = set(candidates(campaign_id=campaign.pk, user_id=user.pk, gold=is_gold).values_list("id", flat=True))
            assert orm == _predicate_ids(campaign, user, gold=is_gold)
    assert set(candidates(campaign_id=campaign.pk, user_id=me.pk).values_list("id", flat=True)) == {
        items[2].pk, items[7].pk}
    assert set(candidates(campaign_id=campaign.pk, user_id=me.pk, gold=True).values_list("id", flat=True)) == {
        g.pk for g in gold}


# --- counters ---------------------------------------------------------------------------------------------

def test_queue_recount_reports_planted_drift_and_fixes_it(make_campaign, make_contributor, capsys):
    campaign = make_campaign(items=texts(3), overlap=1, region_quotas={"north": 50, "south": 50})
    clean = make_campaign(items=texts(2))
    users = [make_contributor(region="north") for _ in range(2)]
    leases = [lease_next_item(user=u, campaign=campaign) for u in users]
    submit_annotation(user=users[0], assignment_id=leases[0].pk, payload={"categories": ["safe"]})
    call_command("queue_recount")  # all consistent: exits normally
    assert "No drift" in capsys.readouterr().out

    first, second = leases[0].item_id, leases[1].item_id
    Item.objects.filter(pk=first).update(done_count=5)  # a lost decrement / a double count
    Item.objects.filter(pk=second).update(leased_count=0, open_slots=2)
    RegionTally.objects.filter(campaign=campaign, region="north").update(taken=9)
    with pytest.raises(SystemExit) as exit_:
        call_command("queue_recount")
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert f"campaign {campaign.pk}: 2 item(s), 1 region tally(ies) drifted" in out
    assert f"item {first}: done_count 5 -> 1" in out and f"item {second}: leased_count 0 -> 1" in out
    assert "region north: taken 9 -> 2" in out and f"campaign {clean.pk}" not in out

    call_command("queue_recount", "--fix", "--campaign", str(campaign.pk))
    assert "(fixed)" in capsys.readouterr().out
    call_command("queue_recount")
    assert "No drift" in capsys.readouterr().out
    row = Item.objects.get(pk=first)
    assert (row.leased_count, row.done_count, row.open_slots) == (0, 1, 0)
    assert RegionTally.objects.get(campaign=campaign, region="north").taken == 2


# --- follow-ups -------------------------------------------------------------------------------------------

def test_the_submit_calls_its_follow_ups_once_per_answer_without_signals(make_campaign, make_contributor,
                                                                         monkeypatch, django_capture_on_commit_callbacks):
    assert followups.registered() == {"answer": ["authenticity"], "item_full": ["consensus"]}
    assert not post_save.has_listeners(Annotation)  # nothing hangs off the model's save any more
    calls = []
    monkeypatch.setattr(followups, "_on_answer", {"test": lambda pk: calls.append(("answer", pk))})
    monkeypatch.setattr(followups, "_on_item_full", {"test": lambda pk: calls.append(("full", pk))})
    campaign = make_campaign(items=texts(1) + [{"payload": {"text": "vàng"}, "gold_answer": {"categories": ["safe"]}}],
                             overlap=2, gold_rate=0.0)
    gold = Item.objects.get(campaign=campaign, is_gold=True)
    Item.objects.filter(pk=gold.pk).update(priority=-1)
    users = [make_contributor() for _ in range(2)]
    answers = []
    for user in users:  # the common path (PostgreSQL's one statement; the ORM path on SQLite)
        lease = lease_next_item(user=user, campaign=campaign)
        with django_capture_on_commit_callbacks(execute=True):  # the test's transaction never commits
            answers.append(submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]}))
    item_id = answers[0].annotation.item_id
    assert calls == [("answer", answers[0].annotation.pk), ("answer", answers[1].annotation.pk), ("full", item_id)]
    # The general (locked) path, here for a gold item, calls the same follow-ups.
    calls.clear()
    late_user = make_contributor()
    Campaign = type(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(gold_rate=1.0)
    campaign.refresh_from_db()
    lease = lease_next_item(user=late_user, campaign=campaign)
    assert lease.item_id == gold.pk
    with django_capture_on_commit_callbacks(execute=True):
        result = submit_annotation(user=late_user, assignment_id=lease.pk, payload={"categories": ["safe"]})
    assert calls == [("answer", result.annotation.pk)]
