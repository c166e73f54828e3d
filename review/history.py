"""A contributor's own history: their answers, gold mistakes with the expected answer, review decisions with
the reason, and what became of each contest. Reads only; the contest itself is ``review.disputes``.

It lives in review because it joins what review owns (decisions, disputes) with the answers and earnings
below it. Every read is scoped to the one contributor: nobody sees another person's history here.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from annotations.models import Annotation
from payments.models import Earning

from .models import Dispute, ReviewDecision

PER_PAGE = 20
FILTERS = ("all", "mistakes", "reviewed", "contested")

REJECTING = (ReviewDecision.Decision.REJECT, ReviewDecision.Decision.CORRECT)
CONTESTABLE_EARNINGS = (Earning.State.REJECTED, Earning.State.REVERSED)


@dataclass
class HistoryEntry:
    """One answer as its author's history page shows it."""

    annotation: Annotation
    answer: list[tuple[str, str]]
    expected: list[tuple[str, str]] | None  # a gold question answered wrongly: what was expected
    decision: ReviewDecision | None  # the current review decision, if any
    earning: Earning | None
    dispute: Dispute | None
    contest_ground: str | None  # why it may be contested (the decision's reason), None when it may not


def contest_ground(*, annotation: Annotation, decision: ReviewDecision | None, earning: Earning | None) -> str | None:
    """The decision an answer's author may contest, as the reason staff will read beside theirs; None if none.

    A rejection or correction by a reviewer, a failed gold question, and an unpaid (rejected or reversed) answer
    can be contested; an accepted answer cannot.
    """
    if decision is not None and decision.decision in REJECTING:
        return decision.reason or str(decision.get_decision_display())
    if earning is not None and earning.state in CONTESTABLE_EARNINGS:
        return earning.reason or str(earning.get_state_display())
    if annotation.is_gold and annotation.gold_correct is False:
        return _("The answer to a gold question did not match the expected answer.")
    return None


def history_of(user, *, show: str = "all", page: int | str = 1) -> tuple[Page, list[HistoryEntry]]:
    """One page of the user's answers, newest first, filtered by ``show`` (one of FILTERS)."""
    answers = Annotation.objects.filter(contributor=user)
    if show == "mistakes":
        answers = answers.filter(is_gold=True, gold_correct=False)
    elif show == "reviewed":
        answers = answers.filter(Exists(ReviewDecision.objects.filter(annotation=OuterRef("pk"), is_current=True)))
    elif show == "contested":
        answers = answers.filter(Exists(Dispute.objects.filter(annotation=OuterRef("pk"))))
    answers = answers.select_related("campaign", "item").order_by("-created_at", "-id")
    current = Paginator(answers, PER_PAGE).get_page(page)
    rows = list(current.object_list)
    ids = [a.pk for a in rows]
    decisions = {d.annotation_id: d for d in ReviewDecision.objects.filter(annotation_id__in=ids, is_current=True)}
    paid = {e.annotation_id: e for e in Earning.objects.filter(annotation_id__in=ids, contributor=user)}
    disputes = {d.annotation_id: d for d in Dispute.objects.filter(annotation_id__in=ids, contributor=user)}
    entries = []
    for answer in rows:
        task, config = answer.campaign.task, answer.campaign.config
        wrong_gold = answer.is_gold and answer.gold_correct is False and answer.item.gold_answer is not None
        decision, earning = decisions.get(answer.pk), paid.get(answer.pk)
        entries.append(HistoryEntry(
            annotation=answer,
            # in the item's original order, as the review view shows it: rlhf's "A" then names the same response
            # as the expected gold answer beside it (gold is written in the original order)
            answer=task.answer_summary(task.review_answer(answer.payload, item_payload=answer.item.payload,
                                                          config=config), config=config),
            expected=task.answer_summary(answer.item.gold_answer, config=config) if wrong_gold else None,
            decision=decision, earning=earning, dispute=disputes.get(answer.pk),
            contest_ground=contest_ground(annotation=answer, decision=decision, earning=earning),
        ))
    return current, entries


def history_counts(user) -> dict[str, int]:
    """How many answers, gold mistakes, reviewed answers and contests the user has: the filter tabs' figures."""
    mine = Annotation.objects.filter(contributor=user)
    return {
        "all": mine.count(),
        "mistakes": mine.filter(is_gold=True, gold_correct=False).count(),
        "reviewed": mine.filter(Q(review_decisions__is_current=True)).distinct().count(),
        "contested": Dispute.objects.filter(contributor=user, kind=Dispute.Kind.ANSWER).count(),
    }
