"""config.rawsql.fetch_one builds the same instance the ORM would (JSON decoded, dates aware), on either database."""
import pytest

from config.rawsql import fetch_one
from tasks.models import Campaign


@pytest.mark.django_db
def test_fetch_one_matches_the_orm_field_by_field(make_campaign):
    campaign = make_campaign(region_quotas={"north": 40, "central": 30, "south": 30}, overlap=3)
    fetched = fetch_one(Campaign, "t.id = %s", [campaign.pk], extra={"answer": "41 + 1"})
    loaded = Campaign.objects.get(pk=campaign.pk)
    for field in Campaign._meta.concrete_fields:
        assert getattr(fetched, field.attname) == getattr(loaded, field.attname), field.name
    assert isinstance(fetched.config, dict) and fetched.region_quotas == {"north": 40, "central": 30, "south": 30}
    assert fetched.created_at.tzinfo is not None and fetched.answer == 42
    assert not fetched._state.adding and fetched.get_deferred_fields() == set()
    assert fetch_one(Campaign, "t.id = %s", [campaign.pk + 1000]) is None
