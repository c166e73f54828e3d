"""Beat: settle what no outcome call decided (gold, finalised items a re-score wrote, auto-accept) and release
pending pay past its dispute window; pay last month's quality-tier bonuses (once: they are keyed by month)."""
from celery import shared_task
from django.db.models import Exists, OuterRef

from annotations.models import Annotation, Consensus

from .bonuses import settle_last_month
from .earnings import auto_accept_due, release_due, settle_gold, settle_items
from .models import Earning


@shared_task(acks_late=True)
def settle() -> dict:
    unsettled = (Consensus.objects.filter(state=Consensus.State.FINALISED)
                 .filter(Exists(Annotation.objects.filter(item_id=OuterRef("item_id"), is_gold=False)
                                .filter(~Exists(Earning.objects.filter(annotation_id=OuterRef("pk"))))))
                 .values_list("item_id", flat=True)[:2000])
    return {"consensus": settle_items(list(unsettled)), "gold": settle_gold(), "auto": auto_accept_due(),
            "released": release_due(), "tier_bonuses": settle_last_month()}
