"""Before taking work (issue 25): the labelling home's campaign cards show pay per task, the expected time per
task (median time of accepted answers), tasks left for this contributor and the acceptance rate, read with one
grouped statement for all the cards."""
from __future__ import annotations

import random
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotations.models import Annotation
from payments import earnings
from payments.budgets import set_budget
from payments.models import Earning
from payments.selectors import campaign_card_stats
from web.campaigns.views import expected_time
from workqueue.lease import lease_next_item
from workqueue.selectors import remaining_for
from workqueue.submit import submit_annotation


def _client(user, language: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def _answer(user, campaign, spent_ms: int) -> Annotation:
    lease = lease_next_item(user=user, campaign=campaign, rng=random.Random(1))
    answer = submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]}).annotation
    Annotation.objects.filter(pk=answer.pk).update(time_spent_ms=spent_ms)
    return answer


def _campaign(make_campaign, n_items: int = 6, pay: int = 12_500):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(n_items)], overlap=1,
                             max_overlap=1, pay_per_task=pay)
    set_budget(campaign=campaign, budget=10_000_000)
    campaign.refresh_from_db()
    return campaign


def _card(html: str, campaign) -> str:
    start = html.index(f'data-card="{campaign.pk}"')
    return html[start:html.index("</li>", start)]


@pytest.fixture
def decided(make_campaign, make_contributor):
    """Six items; another contributor answered four: three accepted (30 s, 50 s, 70 s) and one rejected (5 s)."""
    campaign = _campaign(make_campaign)
    worker = make_contributor()
    answers = [_answer(worker, campaign, ms) for ms in (30_000, 50_000, 70_000, 5_000)]
    for answer in answers[:3]:
        earnings.accept(annotation=answer, source=Earning.Source.AUTO)
    earnings.reject(annotation=answers[3], reason="Sai nhãn", source=Earning.Source.REVIEW)
    return {"campaign": campaign, "viewer": make_contributor()}


@pytest.mark.django_db
def test_card_shows_pay_expected_time_tasks_left_and_acceptance_rate(decided):
    campaign, viewer = decided["campaign"], decided["viewer"]
    assert remaining_for(viewer, campaign) == 2  # six items, overlap 1, four answered by someone else
    page = _client(viewer).get("/label/")
    assert page.status_code == 200
    card = _card(page.content.decode(), campaign)
    assert re.search(r'class="fact-pay">12,500 ₫<', card)
    assert 'class="fact-time">50 s<' in card  # median of 30, 50, 70 s; the rejected 5 s answer is not counted
    assert 'class="fact-left">2<' in card
    assert 'class="fact-acceptance">75 %<' in card  # 3 accepted of 4 decided


@pytest.mark.django_db
def test_card_in_vietnamese_groups_vnd_with_dots(decided):
    card = _card(_client(decided["viewer"], "vi").get("/label/").content.decode(), decided["campaign"])
    assert 'class="fact-pay">12.500 ₫<' in card
    assert "Thù lao mỗi nhiệm vụ" in card and "Tỉ lệ được chấp nhận" in card


@pytest.mark.django_db
def test_reversal_counts_against_the_acceptance_rate_and_new_campaign_says_not_known(decided, make_campaign):
    campaign = decided["campaign"]
    accepted = Earning.objects.filter(campaign=campaign, state=Earning.State.PENDING).order_by("id").first()
    Earning.objects.filter(pk=accepted.pk).update(state=Earning.State.REVERSED)
    fresh = _campaign(make_campaign, n_items=3, pay=0)
    stats = campaign_card_stats([campaign.pk, fresh.pk])
    assert stats[campaign.pk]["accepted"] == 2 and stats[campaign.pk]["decided"] == 4
    assert stats[campaign.pk]["acceptance_rate"] == 50
    assert fresh.pk not in stats
    card = _card(_client(decided["viewer"]).get("/label/").content.decode(), fresh)
    assert "not known yet" in card and "no decisions yet" in card and 'class="fact-left">3<' in card


def test_expected_time_reads_as_seconds_then_minutes():
    assert expected_time(None) == ""
    assert expected_time(200) == "1 s"
    assert expected_time(45_400) == "45 s"
    assert expected_time(180_000) == "3 min"


@pytest.mark.django_db
def test_card_stats_are_one_grouped_statement_for_all_cards(decided, make_campaign, django_assert_max_num_queries):
    client = _client(decided["viewer"])
    client.get("/label/")  # warm the session, the profile and content types
    with CaptureQueriesContext(connection) as one:
        client.get("/label/")
    for _ in range(4):
        _campaign(make_campaign, n_items=2)
    with CaptureQueriesContext(connection) as five:
        page = client.get("/label/")
    assert page.content.decode().count('class="fact-pay"') == 5
    earning_table = Earning._meta.db_table
    assert sum(earning_table in q["sql"] for q in five.captured_queries) == 1  # one statement, five cards
    per_card = (len(five.captured_queries) - len(one.captured_queries)) / 4
    assert per_card <= 3  # only remaining_for (unseen items, held lease) and the eligibility check grow per card
    with django_assert_max_num_queries(len(one.captured_queries) + 4 * 3):
        client.get("/label/")
