"""Field visits: the check-out (after the check-in, not in the future; the visit's length stored) and back-checks
(a share of places visited again by a second contributor; their agreement is the place's consensus)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.schema import SchemaError
from tests.test_field_visit import book, campaign, photo, submit, visit  # noqa: F401 - the fixture


@pytest.mark.django_db
def test_checkout_after_checkin_gives_the_visit_length(campaign):  # noqa: F811
    task, item = campaign.task, campaign.items.order_by("id").first()

    def check(**changes):
        payload = {**visit(photos=[photo(7)]), **changes}
        return task.validate_annotation(payload, config=campaign.config, item_payload=item.payload, view={})

    came = timezone.now() - timedelta(minutes=20)
    stored = check(checkin={**visit()["checkin"], "at": came.isoformat()},
                   checkout_at=(came + timedelta(minutes=12)).isoformat())
    assert stored["visit_seconds"] == 720
    for checkout, why in ((came - timedelta(minutes=1), "before the check-in"),
                          (timezone.now() + timedelta(hours=2), "in the future")):
        with pytest.raises(SchemaError) as caught:
            check(checkin={**visit()["checkin"], "at": came.isoformat()}, checkout_at=checkout.isoformat())
        assert caught.value.field == "checkout_at" and why in caught.value.message
    assert "visit_seconds" not in check()  # an older phone without a check-out still sends


@pytest.mark.django_db
def test_a_backchecked_place_is_visited_again_by_someone_else(campaign, make_contributor):  # noqa: F811
    from django.test import Client

    from annotations.models import Annotation
    from task_types.field_visit.task import FieldVisit

    items = list(campaign.items.order_by("id"))
    share = 0.5
    chosen = [FieldVisit.is_backchecked(i, share) for i in range(1000, 1100)]
    assert 48 <= sum(chosen) <= 52  # the draw holds the share over any run of places
    campaign.config = {**campaign.config, "backcheck_share": 1.0}
    campaign.save(update_fields=["config"])
    alice, bob = Client(), Client()
    alice.force_login(make_contributor())
    bob.force_login(make_contributor())
    lease = book(alice, campaign, items[0].pk).json()["assignment"]["id"]
    assert submit(alice, lease, visit(photos=[photo(11)])).status_code in (200, 201)
    items[0].refresh_from_db()
    assert (items[0].target_overlap, items[0].open_slots) == (2, 1)
    assert book(alice, campaign, items[0].pk).json()["error"]["code"] == "full"  # never the same visitor
    lease = book(bob, campaign, items[0].pk).json()["assignment"]["id"]
    assert submit(bob, lease, visit(photos=[photo(12)], answers={"store_open": "yes", "facings": 30})).status_code in (200, 201)
    items[0].refresh_from_db()
    assert (items[0].target_overlap, items[0].done_count, items[0].open_slots) == (2, 2, 0)
    answers = [a.payload for a in Annotation.objects.filter(item=items[0]).order_by("id")]
    agreed = campaign.task.aggregate(answers, config=campaign.config)
    assert agreed.result["visits"] == 2 and agreed.agreement == 1.0  # both saw the shop open with 30 facings
