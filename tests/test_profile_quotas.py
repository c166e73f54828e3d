"""Eligibility and quotas on profile attributes (``Campaign.profile_rules``), enforced by the queue with the
region quotas' tallies: validation naming the field, the refusal the contributor reads, a gender quota holding
under a race on PostgreSQL, the same rules on SQLite, and planted bugs the checks must catch."""
from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from contributors.models import ContributorProfile
from core.schema import SchemaError
from tasks import profile_rules
from tasks.models import Assignment, RegionTally
from tests.test_admin_console import manager  # noqa: F401, F811 - the fixture
from tests.test_queue_concurrency import assert_consistent, contributors, race
from workqueue import counters
from workqueue.lease import NoWork, lease_next_item
from workqueue.release import skip_assignment

GENDER_30 = {"quotas": {"gender": {"share": {"female": 30, "male": 70}}}}
YEAR = timezone.now().year


def people(n: int, *, gender: str = "female", age: int = 30, **fields) -> list:
    users = contributors(n, region=fields.pop("region", "north"))
    ContributorProfile.objects.filter(user__in=users).update(gender=gender, birth_year=YEAR - age, **fields)
    return users


def test_rules_are_validated_with_the_field_named(make_campaign, token_client):
    cases = [
        ({"eligible": {"shoe_size": ["42"]}}, "profile_rules.eligible.shoe_size"),
        ({"eligible": {"gender": ["robot"]}}, "profile_rules.eligible.gender"),
        ({"eligible": {"age_band": []}}, "profile_rules.eligible.age_band"),
        ({"quotas": {"languages": {"share": {"vi": 100}}}}, "profile_rules.quotas.languages"),
        ({"quotas": {"gender": {"share": {"female": 30, "male": 30}}}}, "profile_rules.quotas.gender.share"),
        ({"quotas": {"dialect": {"count": {"hue": 2.5}}}}, "profile_rules.quotas.dialect.count.hue"),
        ({"quotas": {"gender": {"percent": {"female": 100}}}}, "profile_rules.quotas.gender"),
        ({"limits": {}}, "profile_rules.limits"),
    ]
    for rules, field in cases:
        with pytest.raises(SchemaError) as caught:
            profile_rules.validate(rules)
        assert caught.value.field == field, (rules, caught.value.field)
    # the org API refuses the same with the field named, and stores nothing
    client = token_client()
    res = client.post("/api/v1/campaigns/", {"name": "x", "task_type": "moderation",
                                             "profile_rules": {"quotas": {"gender": {"share": {"female": 10}}}}},
                      format="json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "profile_rules.quotas.gender.share"
    good = {"eligible": {"age_band": ["25-34"]}, "quotas": {"gender": {"share": {"female": 50, "male": 50}}}}
    res = client.post("/api/v1/campaigns/", {"name": "y", "task_type": "moderation", "profile_rules": good},
                      format="json")
    assert res.status_code == 201 and res.json()["profile_rules"] == good


def test_the_value_lists_follow_the_profile():
    assert profile_rules.KNOWN_VALUES["gender"] == tuple(ContributorProfile.Gender.values)
    assert profile_rules.KNOWN_VALUES["device_type"] == tuple(ContributorProfile.Device.values)
    bands = {ContributorProfile(birth_year=YEAR - age).age_band for age in range(10, 90)}
    assert bands == set(profile_rules.KNOWN_VALUES["age_band"])


def test_the_label_home_says_why_a_campaign_is_closed_to_this_contributor(client, make_campaign):
    make_campaign(profile_rules={"eligible": {"age_band": ["18-24"]}})
    make_campaign(profile_rules={"eligible": {"languages": ["km"]}})
    older, = people(1, age=40)
    client.force_login(older)
    page = client.get("/label/").content.decode()
    assert "open only to contributors whose age band is one of: 18-24" in page
    assert "speak one of: km" in page
    young, = people(1, age=20, languages=["vi", "km"])
    campaign = make_campaign(profile_rules={"eligible": {"age_band": ["18-24"], "languages": ["km"]}})
    assert isinstance(lease_next_item(user=young, campaign=campaign), Assignment)
    refused = lease_next_item(user=older, campaign=campaign)
    assert isinstance(refused, NoWork) and refused.code == "profile"


def test_a_value_without_a_quota_is_refused_and_a_missing_attribute_asked_for(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": "Câu"}}], overlap=1, profile_rules=GENDER_30)
    other, = people(1, gender="other")
    unknown, = people(1, gender="")
    assert "not collecting answers from contributors with your gender" in lease_next_item(user=other, campaign=campaign).reason
    assert "Add your gender" in lease_next_item(user=unknown, campaign=campaign).reason


# --- the quota itself: a check the real queue passes and each planted bug fails -----------------------------

def check_share_quota_holds_and_gives_back(make_campaign) -> None:
    """10 answers wanted; women may hold ceil(30% x 10) = 3 (live leases + answers), and a count quota on the
    age band caps the 25-34 band at 4, both at once; a skip gives both slots back; nothing drifts."""
    rules = {"quotas": {**GENDER_30["quotas"], "age_band": {"count": {"25-34": 4, "35-44": 10}}}}
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(10)], overlap=1,
                             profile_rules=rules, region_quotas={"north": 50, "south": 50})
    women = people(5)
    outcomes = [lease_next_item(user=u, campaign=campaign) for u in women]
    leases = [o for o in outcomes if isinstance(o, Assignment)]
    assert len(leases) == 3, outcomes
    refused = [o for o in outcomes if isinstance(o, NoWork)]
    assert {o.code for o in refused} == {"quota_full"}
    assert "contributors with your gender" in refused[0].reason
    tallies = dict(RegionTally.objects.filter(campaign=campaign).values_list("region", "taken"))
    assert tallies == {"north": 3, "gender=female": 3, "age_band=25-34": 3}, tallies
    men = people(2, gender="male")
    assert isinstance(lease_next_item(user=men[0], campaign=campaign), Assignment)  # the 4th of the 25-34 band
    capped = lease_next_item(user=men[1], campaign=campaign)
    assert isinstance(capped, NoWork) and "your age band" in capped.reason, capped
    skip_assignment(assignment=leases[0], reason="")
    again = lease_next_item(user=women[3], campaign=campaign)
    assert isinstance(again, Assignment), again  # the skipped lease gave its gender and age slots back
    assert not counters.recount(campaign_ids=[campaign.pk])
    assert_consistent(campaign)


def test_share_and_count_quotas_hold_and_give_back(make_campaign):
    check_share_quota_holds_and_gives_back(make_campaign)


def _cap_per_item(monkeypatch):
    # The quota counted per item (one item's target) instead of per campaign (every regular item's target).
    import workqueue.lease
    import workqueue.selectors
    for module in (workqueue.lease, workqueue.selectors):
        monkeypatch.setattr(module, "regular_target", lambda campaign: campaign.overlap)


def _give_back_one_tally(monkeypatch):
    # A give-back that frees only the lease's first tally (the region), as before the tallies were many.
    from django.db.models import F

    from tasks.models import Item

    def give_back(item_id, campaign_id, region):
        Item.objects.filter(pk=item_id).update(leased_count=F("leased_count") - 1, open_slots=F("open_slots") + 1)
        RegionTally.objects.filter(campaign_id=campaign_id, region=region.split("|")[0]).update(taken=F("taken") - 1)

    monkeypatch.setattr(counters, "give_back", give_back)


@pytest.mark.parametrize("plant", [_cap_per_item, _give_back_one_tally])
def test_planted_quota_bugs_are_caught(plant, make_campaign, monkeypatch):
    plant(monkeypatch)
    with pytest.raises(AssertionError):
        check_share_quota_holds_and_gives_back(make_campaign)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_gender_and_age_quotas_hold_under_a_race(make_campaign):
    # 10 answers; women may hold ceil(30% x 10) = 3 however many race; men (all 35-44) are capped by their age
    # band's count, 2, well below their gender's 7.
    rules = {"quotas": {**GENDER_30["quotas"], "age_band": {"count": {"25-34": 5, "35-44": 2}}}}
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(10)], overlap=1,
                             profile_rules=rules)
    racers = people(10) + people(6, gender="male", age=40)
    outcomes = race(lambda u: lease_next_item(user=u, campaign=campaign), [(u,) for u in racers])
    won = [o for o in outcomes if isinstance(o, Assignment)]
    assert {o.code for o in outcomes if isinstance(o, NoWork)} == {"quota_full"}
    assert sum(o.region == "age_band=25-34|gender=female" for o in won) == 3
    assert sum(o.region == "age_band=35-44|gender=male" for o in won) == 2
    assert not counters.recount(campaign_ids=[campaign.pk])
    # expiry (PostgreSQL's one statement) gives every tally of every lease back
    Assignment.objects.filter(campaign=campaign).update(expires_at=timezone.now())
    from workqueue.expiry import reclaim_expired_leases
    assert reclaim_expired_leases(campaign_id=campaign.pk) == 5
    assert set(RegionTally.objects.filter(campaign=campaign).values_list("taken", flat=True)) == {0}
    assert_consistent(campaign)


def test_admin_campaign_form_sets_rules_and_names_the_wrong_field(client, manager):  # noqa: F811
    from django.urls import reverse

    from tasks.models import Campaign
    from tests.test_admin_console import form_data

    client.force_login(manager)
    url = reverse("admin:tasks_campaign_add") + "?task_type=moderation"
    data = {**form_data(client.get(url)), "name": "Khảo sát", "task_type": "moderation",
            "profile_rules": '{"quotas": {"gender": {"share": {"female": 60}}}}'}
    res = client.post(url, data)
    assert res.status_code == 200
    assert "profile_rules.quotas.gender.share" in str(res.context["adminform"].form.errors["profile_rules"])
    res = client.post(url, {**data, "profile_rules": '{"eligible": {"dialect": ["Huế"]}}'})
    assert res.status_code == 302
    assert Campaign.objects.get(name="Khảo sát").profile_rules == {"eligible": {"dialect": ["Huế"]}}


def test_field_visit_booking_takes_the_same_quota_slots(make_campaign, settings, tmp_path):
    from tests.test_field_visit import FORM, PLACE, window
    from workqueue.booking import book_item

    settings.MEDIA_ROOT = tmp_path
    campaign = make_campaign("field_visit", overlap=1, items=[
        {"payload": {"place": {**PLACE, "name": f"Cửa hàng {i}"}, "window": window()}} for i in range(3)],
        config={"form": FORM, "geofence_m": 100}, profile_rules={"quotas": {"dialect": {"count": {"hue": 1}}}})
    first, second = people(2, dialect="hue")
    items = list(campaign.items.order_by("id").values_list("id", flat=True))
    booked = book_item(user=first, campaign=campaign, item_id=items[0])
    assert isinstance(booked, Assignment) and booked.region == "dialect=hue"
    refused = book_item(user=second, campaign=campaign, item_id=items[1])
    assert isinstance(refused, NoWork) and refused.code == "quota_full" and "your dialect" in refused.reason
    skip_assignment(assignment=booked)
    assert isinstance(book_item(user=second, campaign=campaign, item_id=items[1]), Assignment)
    assert not counters.recount(campaign_ids=[campaign.pk])
