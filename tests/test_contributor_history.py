"""A contributor's own history (issue 20): answers summarised readably (never JSON), gold mistakes with the
expected answer, review decisions with the reason, paginated, in Vietnamese and English; contests of a
rejection, a gold mistake or a suspension from that page, answered by staff of the right scope, the answer
read back by the contributor. Through HTTP with the test client, on the real database."""
from __future__ import annotations

import random

import pytest
from django.test import Client

from audit.models import AuditEvent
from contributors.models import ContributorProfile
from contributors.services import change_status
from review.history import PER_PAGE
from review.models import Dispute
from review.services import decide_review
from workqueue.lease import NoWork, lease_next_item
from workqueue.submit import submit_annotation

SAFE = {"categories": ["safe"]}


def work(user, campaign, payload=SAFE):
    got = lease_next_item(user=user, campaign=campaign, rng=random.Random(1))
    assert not isinstance(got, NoWork), got
    return submit_annotation(user=user, assignment_id=got.pk, payload=payload).annotation


def client_for(user, language="en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


@pytest.mark.django_db
def test_history_shows_readable_answers_decisions_and_gold_mistakes_only_to_their_author(
        make_campaign, make_contributor, people):
    user, other = make_contributor(), make_contributor()
    campaign = make_campaign(items=[{"payload": {"text": f"Bình luận {i}"}} for i in range(3)], overlap=2)
    rejected = work(user, campaign, {"categories": ["spam"]})
    accepted = work(user, campaign)
    decide_review(annotation=rejected, reviewer=people["manager"], decision="reject", reason="Đây không phải thư rác")
    decide_review(annotation=accepted, reviewer=people["manager"], decision="accept")
    gold = make_campaign(items=[{"payload": {"text": "Câu kiểm tra"}, "gold_answer": {"categories": ["hate"]}}],
                         overlap=1, gold_rate=1.0)
    missed = work(user, gold)
    assert missed.is_gold and missed.gold_correct is False
    theirs = work(other, campaign, {"categories": ["hate"]})

    page = client_for(user).get("/me/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-answer="{rejected.pk}"' in html and f'data-answer="{accepted.pk}"' in html
    assert f'data-answer="{theirs.pk}"' not in html  # nobody else's answers
    assert "Categories" in html and "<dd>Spam / scam</dd>" in html  # a readable summary, not the JSON
    assert '{"categories"' not in html and "[&quot;" not in html
    assert "Đây không phải thư rác" in html and 'data-decision="reject"' in html and 'data-decision="accept"' in html
    assert "Expected answer" in html and "data-gold-mistake" in html
    # the rejected answer and the missed gold question can be contested; the accepted one cannot
    assert f"/me/history/contest/{rejected.pk}/" in html and f"/me/history/contest/{missed.pk}/" in html
    assert f"/me/history/contest/{accepted.pk}/" not in html

    mistakes = client_for(user).get("/me/history/?show=mistakes").content.decode()
    assert f'data-answer="{missed.pk}"' in mistakes and f'data-answer="{rejected.pk}"' not in mistakes
    reviewed = client_for(user).get("/me/history/?show=reviewed").content.decode()
    assert f'data-answer="{rejected.pk}"' in reviewed and f'data-answer="{missed.pk}"' not in reviewed
    assert client_for(user).get("/me/history/?show=nonsense&page=x").status_code == 200

    vi = client_for(user, "vi").get("/me/history/").content.decode()
    assert "Lịch sử của tôi" in vi and "Đáp án đúng" in vi and "Khiếu nại quyết định này" in vi
    assert "Danh mục" in vi and "Spam / lừa đảo" in vi and "Thù ghét" in vi  # field and choice names, in Vietnamese
    assert Client().get("/me/history/").status_code == 302  # login first


@pytest.mark.django_db
def test_history_is_paginated_newest_first(make_campaign, make_contributor):
    user = make_contributor()
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(PER_PAGE + 3)], overlap=1)
    answers = [work(user, campaign) for _ in range(PER_PAGE + 3)]
    me = client_for(user)
    first = me.get("/me/history/").content.decode()
    assert first.count('class="history-entry') == PER_PAGE and f'data-answer="{answers[-1].pk}"' in first
    assert 'id="page-next"' in first and "Page 1 of 2" in first
    second = me.get("/me/history/?page=2").content.decode()
    assert second.count('class="history-entry') == 3 and f'data-answer="{answers[0].pk}"' in second
    assert "Trang 2 / 2" in client_for(user, "vi").get("/me/history/?page=2").content.decode()


@pytest.mark.django_db
def test_contest_a_review_rejection_in_an_unpaid_campaign_staff_answer_read_back(
        make_campaign, make_contributor, people):
    user = make_contributor()
    campaign = make_campaign(overlap=1)
    assert not campaign.pay_per_task  # no earnings at all: the review decision alone is contestable
    answer = work(user, campaign)
    decide_review(annotation=answer, reviewer=people["manager"], decision="reject", reason="Sai nhãn rồi")
    me = client_for(user)

    short = me.post(f"/me/history/contest/{answer.pk}/", {"reason": "sai"}, follow=True).content.decode()
    assert "at least 10 characters" in short and not Dispute.objects.exists()
    stranger = client_for(make_contributor())
    refused = stranger.post(f"/me/history/contest/{answer.pk}/", {"reason": "Câu này không phải của tôi."})
    assert refused.status_code == 404 and not Dispute.objects.exists()  # another's answer: as if it did not exist

    sent = me.post(f"/me/history/contest/{answer.pk}/",
                   {"reason": "Bình luận này an toàn, xin xem lại.", "next": "/me/history/?show=reviewed"})
    assert sent.status_code == 302 and sent["Location"] == "/me/history/?show=reviewed"
    dispute = Dispute.objects.get()
    assert (dispute.kind, dispute.state, dispute.decision_reason, dispute.contributor_id) == (
        "answer", "open", "Sai nhãn rồi", user.pk)
    assert AuditEvent.objects.filter(action="dispute.opened", organization=campaign.organization).exists()
    # an open redirect is not followed
    again = me.post(f"/me/history/contest/{answer.pk}/", {"reason": "Một lần nữa xin xem.", "next": "https://evil.example/"})
    assert again["Location"] == "/me/history/" and Dispute.objects.count() == 1
    assert "Waiting for staff" in me.get("/me/history/").content.decode()

    # staff queue in the admin: the campaign's organisation only
    outsider = client_for(people["outsider"])
    assert outsider.get(f"/admin/review/dispute/{dispute.pk}/change/").status_code in (302, 404)
    assert f"/admin/review/dispute/{dispute.pk}/change/" not in outsider.get("/admin/review/dispute/").content.decode()
    staff = client_for(people["manager"])
    assert f"/admin/review/dispute/{dispute.pk}/change/" in staff.get("/admin/review/dispute/").content.decode()
    # the review console links to the queue with the count waiting, scoped like the queue
    assert "1 contest by a contributor waits for an answer" in staff.get("/review/").content.decode()
    assert "0 contests by contributors wait" in outsider.get("/review/").content.decode()
    staff.post(f"/admin/review/dispute/{dispute.pk}/change/",
               {"outcome": "overturn", "staff_answer": "Bạn đúng: bình luận an toàn."})
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.OVERTURNED and dispute.decided_by == people["manager"]
    assert AuditEvent.objects.filter(action="dispute.decided", organization=campaign.organization).exists()

    html = me.get("/me/history/?show=contested").content.decode()
    assert "Bạn đúng: bình luận an toàn." in html and 'data-state="overturned"' in html
    assert 'data-decision="accept"' in html  # the overturn accepted the answer through decide_review
    vi = client_for(user, "vi").get("/me/history/?show=contested").content.decode()
    assert "Trả lời của nhân viên" in vi and "Khiếu nại của bạn" in vi


@pytest.mark.django_db
def test_contest_a_gold_mistake_upheld(make_campaign, make_contributor, people):
    user = make_contributor()
    gold = make_campaign(items=[{"payload": {"text": "Câu kiểm tra"}, "gold_answer": {"categories": ["hate"]}}],
                         overlap=1, gold_rate=1.0)
    missed = work(user, gold)
    me = client_for(user)
    me.post(f"/me/history/contest/{missed.pk}/", {"reason": "Đáp án mẫu sai, câu này an toàn."})
    dispute = Dispute.objects.get(annotation=missed)
    assert "gold question" in dispute.decision_reason
    staff = client_for(people["manager"])
    staff.post(f"/admin/review/dispute/{dispute.pk}/change/", {"outcome": "uphold", "staff_answer": "Đáp án mẫu đúng."})
    html = me.get("/me/history/?show=mistakes").content.decode()
    assert "Đáp án mẫu đúng." in html and 'data-state="upheld"' in html


@pytest.mark.django_db
def test_contest_a_suspension_from_history_answered_by_trust_and_safety(make_contributor, people):
    user = make_contributor()
    profile = ContributorProfile.objects.get(user=user)
    change_status(profile=profile, status=ContributorProfile.Status.SUSPENDED, reason="Độ chính xác câu vàng thấp",
                  by=people["safety"])
    me = client_for(user)
    html = me.get("/me/history/").content.decode()
    assert "Độ chính xác câu vàng thấp" in html and 'id="history-contest-suspension"' in html
    me.post("/me/history/contest/suspension/", {"reason": "Tôi làm đúng hướng dẫn, xin xem lại."})
    dispute = Dispute.objects.get(kind="suspension")
    assert 'id="suspension-waiting"' in me.get("/me/history/").content.decode()
    # an organisation's manager does not answer suspensions; trust and safety does
    manager = client_for(people["manager"])
    assert f"/admin/review/dispute/{dispute.pk}/change/" not in manager.get("/admin/review/dispute/").content.decode()
    safety = client_for(people["safety"])
    safety.post(f"/admin/review/dispute/{dispute.pk}/change/", {"outcome": "overturn", "staff_answer": "Đã mở lại."})
    profile.refresh_from_db()
    assert profile.status == ContributorProfile.Status.ACTIVE
    html = me.get("/me/history/").content.decode()
    assert "Đã mở lại." in html and 'data-state="overturned"' in html and 'id="history-contest-suspension"' not in html


def test_generic_summary_reads_any_answer_without_json(english_interface):
    from tasks.types.base import generic_answer_summary

    config = {"options": [{"key": "a", "label": "Phương án A", "label_en": "Option A"}]}
    lines = dict(generic_answer_summary({
        "choice": "a", "regions": [{"x": 1}, {"x": 2}, {"x": 3}], "text": "chữ " * 100, "ok": True,
        "scores": {"helpful": 5, "safe": 4}, "_internal": 1}, config))
    assert lines["Choice"] == "Option A" and lines["Regions"] == "3 entries" and lines["Ok"] == "✓"
    assert len(lines["Text"]) == 120 and lines["Text"].endswith("…")
    assert lines["Scores"] == "Helpful: 5; Safe: 4" and "_internal" not in lines and "Internal" not in lines
    assert generic_answer_summary("chỉ một chuỗi") == [("", "chỉ một chuỗi")]


def test_summary_leaves_out_what_the_server_added(english_interface):
    """The SFT answer stores a diff and the arena answer the view's order: neither is something the contributor
    wrote, so neither is shown in their history."""
    from tasks.types import get_task_type

    sft = get_task_type("sft")
    config = sft.validate_config({"mode": "edit_draft"})
    lines = dict(sft.answer_summary({"response": "Câu đã sửa.", "diff": [["insert", "", "đã"]]}, config=config))
    assert lines == {"Response": "Câu đã sửa."}
    arena = get_task_type("arena")
    lines = dict(arena.answer_summary({"choice": "A", "order": [1, 0], "n_responses": 2},
                                      config=arena.validate_config({})))
    assert lines == {"Choice": "A"}


@pytest.mark.django_db
def test_history_page_queries_do_not_grow_with_the_answers(make_campaign, make_contributor, people,
                                                           django_assert_max_num_queries):
    user = make_contributor()
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(PER_PAGE)], overlap=1)
    answers = [work(user, campaign) for _ in range(PER_PAGE)]
    for answer in answers[::2]:
        decide_review(annotation=answer, reviewer=people["manager"], decision="reject", reason="Sai")
    me = client_for(user)
    me.get("/me/history/")  # warm the session and caches
    with django_assert_max_num_queries(20):
        assert me.get("/me/history/").content.decode().count('class="history-entry') == PER_PAGE
