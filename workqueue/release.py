"""Release: a contributor hands a lease back (skip) or flags its item (report); either way the slot returns to
the queue and this contributor is not offered the item again (the predicate excludes any item they held)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.schema import SchemaError
from tasks.models import Assignment

from . import counters


def _release(assignment: Assignment, state: str, reason: str) -> Assignment:
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.state != Assignment.State.LEASED:
            raise SchemaError("assignment", _("This assignment is no longer open."))
        locked.state = state
        locked.reason = reason[:2000]
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "reason", "finished_at"])
        counters.give_back(locked.item_id, locked.campaign_id, locked.region)
    return locked


def skip_assignment(*, assignment: Assignment, reason: str = "") -> Assignment:
    """Give the item back to the queue; this contributor will not be offered it again."""
    return _release(assignment, Assignment.State.SKIPPED, reason)


def report_problem(*, assignment: Assignment, reason: str) -> Assignment:
    if not reason.strip():
        raise SchemaError("reason", _("Please describe the problem."))
    return _release(assignment, Assignment.State.REPORTED, reason)
