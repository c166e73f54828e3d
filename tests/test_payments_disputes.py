"""The dispute path (issue 25): a contributor contests a rejected answer or a suspension from their statement;
staff (scoped per organisation; trust and safety for suspensions) uphold or overturn with an answer; an overturn
pays the answer through the ledger exactly once or reinstates; the contributor reads the outcome. Audited."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from annotations.models import Annotation
from audit.models import AuditEvent
from contributors.models import ContributorProfile
from contributors.services import change_status
from core.schema import SchemaError
from payments import earnings
from payments.checks import breaches
from payments.models import Account, Earning, LedgerTransaction
from review.disputes import decide_dispute, open_answer_dispute, open_suspension_dispute
from review.models import Dispute
from review.services import decide_review
from tasks.models import Campaign
from tests.test_payments import balance, paid_campaign_factory, work

Kind = Account.Kind


@pytest.fixture
def paid_campaign(make_campaign):
    return paid_campaign_factory(make_campaign)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_review_rejection_contested_and_overturned_is_paid_once(paid_campaign, make_contributor, people):
    campaign = paid_campaign(pay=1000, fee_bps=1000, budget=10_000, items=3)
    user = make_contributor()
    answer = work(user, campaign)
    decide_review(annotation=answer, reviewer=people["manager"], decision="reject", reason="Sai nhãn")
    assert Earning.objects.get(annotation_id=answer.pk).state == Earning.State.REJECTED

    me = _client(user)
    page = me.get("/me/earnings/").content.decode()
    assert f'action="/me/earnings/contest/{answer.pk}/"' in page and "Contest this decision" in page
    me.cookies["django_language"] = "vi"
    assert "Khiếu nại quyết định này" in me.get("/me/earnings/").content.decode()
    me.cookies["django_language"] = "en"
    too_short = me.post(f"/me/earnings/contest/{answer.pk}/", {"reason": "sai"}, follow=True).content.decode()
    assert "at least 10 characters" in too_short and not Dispute.objects.exists()
    me.post(f"/me/earnings/contest/{answer.pk}/", {"reason": "Câu này rõ ràng là an toàn, xin xem lại."})
    dispute = Dispute.objects.get()
    assert (dispute.kind, dispute.state, dispute.decision_reason) == ("answer", "open", "Sai nhãn")
    stranger = _client(make_contributor())
    assert stranger.post(f"/me/earnings/contest/{answer.pk}/", {"reason": "Không phải câu của tôi đâu."}).status_code == 404
    again = me.post(f"/me/earnings/contest/{answer.pk}/", {"reason": "Một lần nữa, xin xem lại."}, follow=True)
    assert "already contested" in again.content.decode() and Dispute.objects.count() == 1

    # the staff queue is scoped: the other organisation's manager neither lists nor opens it
    outsider = _client(people["outsider"])
    assert f"/admin/review/dispute/{dispute.pk}/" not in outsider.get("/admin/review/dispute/").content.decode()
    assert outsider.get(f"/admin/review/dispute/{dispute.pk}/change/").status_code in (302, 404)
    with pytest.raises(PermissionDenied):
        decide_dispute(dispute=dispute, by=people["outsider"], overturn=True, answer="Không")
    assert not _client(people["safety"]).get("/admin/review/dispute/").content.decode().count(
        f"/admin/review/dispute/{dispute.pk}/")

    staff = _client(people["manager"])
    assert f"/admin/review/dispute/{dispute.pk}/" in staff.get("/admin/review/dispute/").content.decode()
    form = staff.get(f"/admin/review/dispute/{dispute.pk}/change/").content.decode()
    assert "Câu này rõ ràng là an toàn" in form and user.contributor.pseudonym in form and user.email not in form
    empty = staff.post(f"/admin/review/dispute/{dispute.pk}/change/", {"outcome": "overturn", "staff_answer": " "})
    assert empty.status_code == 200 and Dispute.objects.get().state == "open"
    done = staff.post(f"/admin/review/dispute/{dispute.pk}/change/",
                      {"outcome": "overturn", "staff_answer": "Bạn đúng: câu này an toàn. Đã trả tiền."})
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.OVERTURNED and dispute.decided_by_id == people["manager"].pk
    earning = Earning.objects.get(annotation_id=answer.pk)
    assert earning.state == Earning.State.PENDING and earning.source == Earning.Source.REVIEW
    assert balance(Kind.PENDING, contributor=user.pk) == 1000
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 1100
    # a second decision (a double click, another reviewer) changes nothing
    with pytest.raises(SchemaError):
        decide_dispute(dispute=dispute, by=people["manager"], overturn=True, answer="Lần nữa")
    earnings.on_review(annotation=answer, accepted=True, reason="")
    assert LedgerTransaction.objects.filter(kind="accept", annotation_id=answer.pk).count() == 1
    assert breaches() == []

    page = me.get("/me/earnings/").content.decode()
    assert 'data-state="overturned"' in page and "Bạn đúng: câu này an toàn" in page
    assert set(AuditEvent.objects.filter(action__startswith="dispute.").values_list("action", flat=True)) == {
        "dispute.opened", "dispute.decided"}


@pytest.mark.django_db
def test_a_failed_gold_contest_upheld_stays_unpaid_and_a_reversal_overturned_pays_again(
        paid_campaign, make_contributor, people):
    campaign = paid_campaign(pay=1000, fee_bps=0, items=3)
    user = make_contributor()
    gold, reversed_answer, accepted = work(user, campaign), work(user, campaign), work(user, campaign)
    Annotation.objects.filter(pk=gold.pk).update(is_gold=True, gold_correct=False)
    assert earnings.settle_gold() == 1
    earnings.accept(annotation=reversed_answer, source=Earning.Source.AUTO)
    earnings.reverse(annotation=reversed_answer, reason="Chuyên gia sửa lại")
    earnings.accept(annotation=accepted, source=Earning.Source.AUTO)

    with pytest.raises(SchemaError) as paid:
        open_answer_dispute(user=user, annotation_id=accepted.pk, reason="Tôi muốn thêm tiền cho câu này")
    assert paid.value.field == "annotation"
    with pytest.raises(SchemaError) as not_mine:
        open_answer_dispute(user=make_contributor(), annotation_id=gold.pk, reason="Câu của người khác đấy")
    assert not_mine.value.field == "annotation"

    upheld = open_answer_dispute(user=user, annotation_id=gold.pk, reason="Đáp án mẫu của câu kiểm tra sai rồi")
    decide_dispute(dispute=upheld, by=people["manager"], overturn=False,
                   answer="Đáp án mẫu đúng: bình luận có lời lẽ xúc phạm.")
    assert Earning.objects.get(annotation_id=gold.pk).state == Earning.State.REJECTED
    assert Dispute.objects.get(pk=upheld.pk).state == Dispute.State.UPHELD

    overturned = open_answer_dispute(user=user, annotation_id=reversed_answer.pk, reason="Câu trả lời của tôi đúng")
    decide_dispute(dispute=overturned, by=people["manager"], overturn=True, answer="Đúng, chúng tôi trả lại.")
    assert Earning.objects.get(annotation_id=reversed_answer.pk).state == Earning.State.PENDING
    keys = sorted(LedgerTransaction.objects.filter(annotation_id=reversed_answer.pk).values_list("key", flat=True))
    assert keys == [f"accept:{reversed_answer.pk}", f"accept:{reversed_answer.pk}:1", f"reverse:{reversed_answer.pk}"]
    assert balance(Kind.PENDING, contributor=user.pk) == 2000
    assert breaches() == []


@pytest.mark.django_db
def test_a_suspension_is_contested_and_trust_and_safety_reinstate(make_contributor, people):
    user = make_contributor()
    me = _client(user)
    with pytest.raises(SchemaError) as active:
        open_suspension_dispute(user=user, reason="Tôi không bị khoá mà?")
    assert active.value.field == "status"
    change_status(profile=user.contributor, status="suspended", reason="Độ chính xác câu kiểm tra thấp",
                  by=people["safety"])
    page = me.get("/me/earnings/").content.decode()
    assert 'id="contest-suspension"' in page and "Độ chính xác câu kiểm tra thấp" in page
    me.post("/me/earnings/contest/suspension/", {"reason": "Mạng chập chờn làm tôi chọn nhầm nhiều câu."})
    dispute = Dispute.objects.get(kind="suspension")
    with pytest.raises(SchemaError):
        open_suspension_dispute(user=user, reason="Một lần nữa xin xem xét.")
    assert 'id="suspension-waiting"' in me.get("/me/earnings/").content.decode()

    # an organisation's manager never sees contests of suspensions; trust and safety do
    assert f"/admin/review/dispute/{dispute.pk}/" not in _client(people["manager"]).get(
        "/admin/review/dispute/").content.decode()
    with pytest.raises(PermissionDenied):
        decide_dispute(dispute=dispute, by=people["manager"], overturn=True, answer="Mở lại")
    safety = _client(people["safety"])
    assert f"/admin/review/dispute/{dispute.pk}/" in safety.get("/admin/review/dispute/").content.decode()
    safety.post(f"/admin/review/dispute/{dispute.pk}/change/",
                {"outcome": "overturn", "staff_answer": "Đã xem lại: mở khoá tài khoản."})
    assert ContributorProfile.objects.get(user=user).status == ContributorProfile.Status.ACTIVE
    assert Dispute.objects.get(pk=dispute.pk).state == Dispute.State.OVERTURNED
    assert AuditEvent.objects.filter(action="contributor.status", actor=people["safety"]).count() == 2
    assert "Đã xem lại: mở khoá tài khoản." in me.get("/me/earnings/").content.decode()
