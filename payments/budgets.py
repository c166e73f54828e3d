"""Budgets: the cap a campaign's queue never leases past (``Campaign.budget``; the hold is ``budget_used``, written by
the queue's lease statement) and its mirror in the ledger (top-ups from customer funding)."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Action as AuditAction
from audit.services import record as audit
from core.schema import SchemaError
from tasks.models import Campaign

from . import ledger
from .checks import expected_budget_used
from .earnings import ensure_funded
from .models import Account, LedgerTransaction

Kind = Account.Kind


def set_budget(*, campaign: Campaign, budget, by=None) -> Campaign:
    """Set (top up or lower) a campaign's budget; lowering below what leases and answers hold is refused."""
    new = ledger.whole_dong(budget, "budget")
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.budget is None:
            # From uncapped to capped: what live leases and unrejected answers already hold counts at once.
            locked.budget_used = expected_budget_used(locked)
        if new < locked.budget_used:
            raise SchemaError("budget", _("The budget cannot be lowered below what is already committed "
                                          "(%(used)s đồng).") % {"used": locked.budget_used})
        old = None if locked.budget is None else int(locked.budget)
        funded = -sum(ledger_funding(locked))
        locked.budget = new
        Campaign.objects.filter(pk=locked.pk).update(budget=new, budget_used=locked.budget_used)
        if new < funded:
            ledger.post(key=f"fund:{locked.pk}:{new}:lower:{funded}", kind=LedgerTransaction.Kind.TOP_UP,
                        campaign_id=locked.pk, memo=f"budget lowered to {new}",
                        legs=[(ledger.account(Kind.BUDGET, campaign_id=locked.pk), new - funded),
                              (ledger.platform(Kind.FUNDING), funded - new)])
        else:
            ensure_funded(locked)
        if locked.status == Campaign.Status.PAUSED and new - locked.budget_used >= locked.cost_per_task:
            Campaign.objects.filter(pk=locked.pk).update(status=Campaign.Status.ACTIVE)
            locked.status = Campaign.Status.ACTIVE
        audit(action=AuditAction.BUDGET_SET, by=by, organization=locked.organization_id,
              target=f"campaign {locked.pk}", detail={"from": old, "to": new})
    return locked


def ledger_funding(campaign: Campaign) -> list[int]:
    """The funding legs of the campaign's top-ups (negative: money in)."""
    return list(LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TOP_UP, campaign=campaign,
                                                 entries__account__kind=Kind.FUNDING)
                .values_list("entries__amount", flat=True))
