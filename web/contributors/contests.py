"""A contributor's contest sent from any of their pages (the earnings statement, the history): one place that
opens the dispute and tells the contributor how it went, so both pages say the same thing."""
from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _

from core.schema import SchemaError
from review.disputes import open_answer_dispute, open_suspension_dispute


def send_answer_contest(request, annotation_id: int) -> None:
    """The caller has already made sure the answer is the contributor's own (a 404 otherwise)."""
    try:
        open_answer_dispute(user=request.user, annotation_id=annotation_id, reason=request.POST.get("reason", ""))
    except SchemaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your contest is sent; staff will answer here."))


def send_suspension_contest(request) -> None:
    try:
        open_suspension_dispute(user=request.user, reason=request.POST.get("reason", ""))
    except SchemaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your contest is sent to trust-and-safety staff; they will answer here."))
