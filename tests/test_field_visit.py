"""Field visits: geofenced check-in, photos (not images, re-used, EXIF time), nothing half-stored,
booking a chosen place (per-place quota), nearest-first listing, impossible travel, export with GeoJSON."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from annotations.models import Annotation
from assets.models import MediaAsset
from core.schema import SchemaError
from task_types.survey import export
from tasks.models import Assignment

FORM = {"questions": [
    {"name": "store_open", "type": "select_one", "label": {"vi": "Mở cửa?", "en": "Open?"}, "required": True,
     "choices": [{"name": "yes", "label": {"vi": "Có", "en": "Yes"}}, {"name": "no", "label": {"vi": "Không", "en": "No"}}]},
    {"name": "facings", "type": "integer", "label": {"vi": "Số mặt hàng", "en": "Facings"}, "required": True,
     "relevant": "${store_open} = 'yes'", "constraint": ". >= 0 and . <= 500",
     "constraint_message": {"vi": "Từ 0 đến 500.", "en": "0 to 500."}},
]}
PLACE = {"name": "Tạp hóa Cô Ba", "address": "12 Lê Lợi, Q1", "lat": 10.7735, "lon": 106.7009, "opening_hours": "7-22"}


def photo(seed: int, *, exif_time: str | None = None) -> str:
    """A photo-like JPEG (blurred blocks of colour, distinct per seed), optionally with an EXIF time."""
    from tests.test_survey_mutations import jpeg

    image = Image.open(io.BytesIO(jpeg(seed)))
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_time:
        exif[306] = exif_time
    image.save(out, format="JPEG", exif=exif.tobytes() if exif_time else b"")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def window(hours: int = 4) -> dict:
    now = timezone.now()
    return {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=hours)).isoformat()}


def visit(lat=10.7736, lon=106.7010, accuracy=12.0, photos=None, answers=None, **checkin):
    return {"checkin": {"lat": lat, "lon": lon, "accuracy": accuracy, "at": timezone.now().isoformat(), **checkin},
            "answers": answers or {"store_open": "yes", "facings": 30},
            "photos": photos if photos is not None else [photo(1)]}


@pytest.fixture
def campaign(make_campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_campaign("field_visit", overlap=1, items=[
        {"payload": {"place": PLACE, "window": window()}},
        {"payload": {"place": {**PLACE, "name": "Mini Mart", "lat": 10.7721, "lon": 106.6983}, "window": window()}},
        {"payload": {"place": {**PLACE, "name": "Hà Nội shop", "lat": 21.0285, "lon": 105.8542}, "window": window()}},
    ], config={"form": FORM, "geofence_m": 100})


def book(client, campaign, item_id):
    return client.post(reverse("field-book", args=[campaign.pk]), {"item_id": item_id}, content_type="application/json")


def submit(client, assignment_id, payload, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(reverse("assignment-submit", args=[assignment_id]), {"payload": payload},
                       content_type="application/json", **headers)


@pytest.mark.django_db
def test_nearest_first_booking_and_one_contributor_per_place(campaign, make_contributor):
    alice, bob = Client(), Client()
    alice.force_login(make_contributor())
    bob.force_login(make_contributor())
    places = alice.get(reverse("field-places", args=[campaign.pk]), {"lat": 10.7722, "lon": 106.6984}).json()["places"]
    assert [p["place"]["name"] for p in places] == ["Mini Mart", "Tạp hóa Cô Ba", "Hà Nội shop"]
    assert places[0]["distance_m"] < 20 and places[2]["distance_m"] > 1_000_000
    first = places[0]["item_id"]
    booked = book(alice, campaign, first)
    assert booked.status_code == 200 and booked.json()["assignment"]["item"]["payload"]["place"]["name"] == "Mini Mart"
    refused = book(bob, campaign, first)  # overlap 1: one contributor per place and window
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "full"
    assert [p["place"]["name"] for p in bob.get(reverse("field-places", args=[campaign.pk]),
                                                 {"lat": 10.7722, "lon": 106.6984}).json()["places"]][0] == "Tạp hóa Cô Ba"
    assert book(alice, campaign, places[1]["item_id"]).json()["error"]["code"] == "booked"  # one booking at a time


@pytest.mark.django_db
def test_checkin_geofence_photos_and_nothing_half_stored(campaign, make_contributor):
    client = Client()
    client.force_login(make_contributor())
    item_id = campaign.items.get(payload__place__name="Tạp hóa Cô Ba").pk
    assignment = book(client, campaign, item_id).json()["assignment"]["id"]
    cases = [
        ({**visit(), "checkin": None}, "checkin", "Check in"),
        (visit(lat=10.7800), "checkin", "m from Tạp hóa Cô Ba"),  # ~720 m away
        (visit(accuracy=0), "checkin.accuracy", "imprecise"),  # a mock-location tell
        (visit(accuracy=900), "checkin.accuracy", "imprecise"),
        (visit(photos=[]), "photos", "at least 1"),
        (visit(photos=["data:image/jpeg;base64," + base64.b64encode(b"%PDF-1.4 not an image").decode()]),
         "photos[0]", "Photo 1: This file is not a readable image"),
        (visit(photos=[photo(2), photo(2)]), "photos[1]", "same picture as photo 1"),
        (visit(photos=[photo(3, exif_time="2001:01:01 10:00:00")]), "photos[0]", "outside the visit window"),
        (visit(answers={"store_open": "yes", "facings": 900}), "answers.facings", "Từ 0 đến 500."),
    ]
    for payload, field, needle in cases:
        response = submit(client, assignment, payload)
        assert response.status_code == 400, (field, response.content)
        error = response.json()["error"]
        assert error["field"] == field and needle in error["message"], (field, error)
    assert not Annotation.objects.exists() and not MediaAsset.objects.exists()
    ok = submit(client, assignment, visit(photos=[photo(4), photo(5)]), key="visit-1")
    assert ok.status_code == 201, ok.content
    again = submit(client, assignment, visit(photos=[photo(4), photo(5)]), key="visit-1")  # the outbox retrying
    assert again.status_code == 200 and Annotation.objects.count() == 1
    stored = Annotation.objects.get()
    assert stored.payload["checkin"]["distance_m"] < 20 and stored.payload["checkin"]["outside"] is False
    assert len(stored.payload["photos"]) == 2 and all(k.startswith("campaigns/") for k in stored.payload["photos"])
    assert MediaAsset.objects.filter(campaign=campaign).count() == 2
    with Image.open(campaign_media_path(stored.payload["photos"][0])) as published:
        assert not published.getexif()  # EXIF stripped from the published copy


def campaign_media_path(key):
    from django.conf import settings

    return settings.MEDIA_ROOT / key


@pytest.mark.django_db
def test_outside_with_reason_reused_photo_across_visits_and_export(campaign, make_contributor, settings):
    campaign.config = {**campaign.config, "allow_outside_geofence": True}
    campaign.save(update_fields=["config"])
    a, b = Client(), Client()
    a.force_login(make_contributor())
    b.force_login(make_contributor())
    first = book(a, campaign, campaign.items.get(payload__place__name="Tạp hóa Cô Ba").pk).json()["assignment"]["id"]
    far = visit(lat=10.7760)
    response = submit(a, first, far)
    assert response.json()["error"]["field"] == "checkin.outside_reason"
    far["checkin"]["outside_reason"] = "Cửa hàng trong hẻm, GPS lệch"
    assert submit(a, first, far).status_code == 201
    second = book(b, campaign, campaign.items.get(payload__place__name="Mini Mart").pk).json()["assignment"]["id"]
    reused = submit(b, second, visit(lat=10.7722, lon=106.6984, photos=[photo(1)]))  # far's photo again
    assert reused.status_code == 400 and reused.json()["error"]["field"] == "photos[0]"
    assert "already submitted" in reused.json()["error"]["message"]
    assert Assignment.objects.get(pk=second).state == Assignment.State.LEASED
    assert submit(b, second, visit(lat=10.7722, lon=106.6984, photos=[photo(6)])).status_code == 201
    out = settings.MEDIA_ROOT / "visits.zip"
    counts = export.export_campaign(campaign, out, fmt="parquet")
    assert counts["submissions"] == 2 and counts["photos"] == 2
    with zipfile.ZipFile(out) as z:
        geo = json.loads(z.read("visits.geojson"))
        names = z.namelist()
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(z.read("submissions.parquet"))).to_pylist()
    assert len(geo["features"]) == 2 and geo["features"][0]["properties"]["outside_geofence"] is True
    assert sum(n.startswith("media/") for n in names) == 2
    assert {r["outside_geofence"] for r in table} == {0, 1} and {r["facings"] for r in table} == {30}


@pytest.mark.django_db
def test_impossible_travel_is_flagged(make_campaign, make_contributor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = make_campaign("field_visit", overlap=1, items=[
        {"payload": {"place": PLACE, "window": window()}},
        {"payload": {"place": {**PLACE, "name": "Hà Nội shop", "lat": 21.0285, "lon": 105.8542}, "window": window()}},
    ], config={"form": FORM, "geofence_m": 100})
    client = Client()
    client.force_login(make_contributor())
    saigon = book(client, campaign, campaign.items.get(payload__place__name="Tạp hóa Cô Ba").pk).json()["assignment"]["id"]
    assert submit(client, saigon, visit(photos=[photo(7)])).status_code == 201
    hanoi = book(client, campaign, campaign.items.get(payload__place__name="Hà Nội shop").pk).json()["assignment"]["id"]
    assert submit(client, hanoi, visit(lat=21.0286, lon=105.8543, photos=[photo(8)])).status_code == 201
    assert Annotation.objects.get(item__payload__place__name="Hà Nội shop").payload["flags"] == ["impossible_travel"]


@pytest.mark.django_db
def test_review_page_and_export_are_the_organisations_only(campaign, make_contributor, org, other_org):
    from organizations.models import Membership

    worker = Client()
    worker.force_login(make_contributor())
    assignment = book(worker, campaign, campaign.items.first().pk).json()["assignment"]["id"]
    assert submit(worker, assignment, visit(photos=[photo(9)])).status_code == 201
    manager, outsider = make_contributor(), make_contributor()
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    Membership.objects.create(organization=other_org, user=outsider, role=Membership.Role.ADMIN)
    clients = {}
    for name, user in (("manager", manager), ("outsider", outsider), ("worker", None)):
        clients[name] = worker if user is None else Client()
        if user is not None:
            clients[name].force_login(user)
    page = clients["manager"].get(reverse("field-review", args=[campaign.pk]))
    assert page.status_code == 200 and "Tạp hóa Cô Ba" in page.content.decode()
    download = clients["manager"].get(reverse("field-export", args=[campaign.pk]))
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as z:
        assert {"submissions.csv", "codebook.csv", "visits.geojson"} <= set(z.namelist())
    for who in ("outsider", "worker"):
        assert clients[who].get(reverse("field-review", args=[campaign.pk])).status_code == 404, who
        assert clients[who].get(reverse("field-export", args=[campaign.pk])).status_code == 404, who
    bad = worker.get(reverse("field-places", args=[campaign.pk]), {"lat": "north", "lon": "1"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "lat"
    assert book(worker, campaign, 10**9).json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_mystery_shopping_rubric_score_is_computed_by_the_form_and_shown_on_the_review_page(
        make_campaign, make_contributor, org, settings, tmp_path):
    """The form's calculate question sums the rubric; the server recomputes it at submit (a client cannot send
    its own score) and the review page shows it per visit and on average."""
    from organizations.models import Membership

    settings.MEDIA_ROOT = tmp_path
    form = {"questions": [*FORM["questions"],
                          {"name": "greeted", "type": "integer", "label": {"vi": "Chào hỏi (0-5)", "en": "Greeting (0-5)"},
                           "required": True, "constraint": ". >= 0 and . <= 5"},
                          {"name": "score", "type": "calculate", "calculation": "${greeted} * 2", "label": {"en": "Score"}}]}
    with pytest.raises(SchemaError) as err:
        make_campaign("field_visit", overlap=1, items=[], config={"form": form, "score_question": "store_open"})
    assert err.value.field == "score_question"
    campaign = make_campaign("field_visit", overlap=1, items=[{"payload": {"place": PLACE, "window": window()}}],
                             config={"form": form, "geofence_m": 100, "score_question": "score", "score_max": 10})
    worker = Client()
    worker.force_login(make_contributor())
    assignment = book(worker, campaign, campaign.items.get().pk).json()["assignment"]["id"]
    answers = {"store_open": "yes", "facings": 30, "greeted": 4, "score": 99}  # a forged score is recomputed
    assert submit(worker, assignment, visit(answers=answers, photos=[photo(21)])).status_code == 201
    manager = make_contributor()
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    page = Client()
    page.force_login(manager)
    html = page.get(reverse("field-review", args=[campaign.pk])).content.decode()
    assert 'data-score="8.0"' in html and "Rubric score" in html and "/ 10" in html and 'id="rubric-mean"' in html
