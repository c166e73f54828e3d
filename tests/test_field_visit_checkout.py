"""The field visit's check-out: after the check-in, not in the future; the visit's length is stored."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.schema import SchemaError
from tests.test_field_visit import campaign, photo, visit  # noqa: F401 - the fixture


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
