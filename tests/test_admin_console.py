"""The managers' console in the admin: organisation scoping, roles, the campaign form, lifecycle, import, preview."""
import io
import json
import zipfile

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse
from PIL import Image

from annotations.models import Annotation
from organizations.models import Membership
from review.roles import sync_role_groups
from tasks.models import Assignment, Campaign, ImportJob, Item
from tasks.services import create_campaign

pytestmark = pytest.mark.django_db


def make_member(org, role=Membership.Role.MANAGER, email=None):
    email = email or f"{role}-{org.slug}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password="correct-horse-42")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    Membership.objects.create(organization=org, user=user, role=role)
    user.refresh_from_db()
    return user


@pytest.fixture
def manager(org):
    return make_member(org)


def form_data(response) -> dict:
    """The POST body a browser would send for the admin form in ``response`` (initial values)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = value if isinstance(value, str) else (json.dumps(value) if isinstance(value, dict | list)
                                                            else str(value))
    return data


def answer(campaign, item, user, payload):
    from django.utils import timezone

    assignment = Assignment.objects.create(item=item, campaign=campaign, contributor=user, state="submitted",
                                           expires_at=timezone.now())
    return Annotation.objects.create(assignment=assignment, item=item, campaign=campaign, contributor=user,
                                     payload=payload)


# --- roles and scoping -------------------------------------------------------------------------------


def test_membership_gives_role_group_and_admin_access(org):
    user = make_member(org, Membership.Role.REVIEWER)
    assert user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["Reviewers"]
    assert user.has_perm("annotations.view_annotation")
    assert not user.has_perm("tasks.change_campaign")
    Membership.objects.filter(user=user).update(role=Membership.Role.MANAGER)
    Membership.objects.get(user=user).save()
    user = get_user_model().objects.get(pk=user.pk)
    assert list(user.groups.values_list("name", flat=True)) == ["Project managers"]
    assert user.has_perm("tasks.change_campaign") and user.has_perm("review.add_reviewdecision")


def test_manager_sees_only_own_organisation(client, org, other_org, manager, make_campaign, make_contributor):
    mine = make_campaign(organization=org)
    theirs = make_campaign(organization=other_org)
    theirs.name = "Secret campaign of Lab B"
    theirs.save()
    contributor = make_contributor()
    their_item = theirs.items.first()
    their_answer = answer(theirs, their_item, contributor, {"categories": ["safe"]})
    client.force_login(manager)

    page = client.get(reverse("admin:tasks_campaign_changelist"))
    assert page.status_code == 200
    assert mine.name.encode() in page.content and b"Secret campaign" not in page.content
    for url in [
        reverse("admin:tasks_campaign_change", args=[theirs.pk]),
        reverse("admin:tasks_item_change", args=[their_item.pk]),
        reverse("admin:annotations_annotation_change", args=[their_answer.pk]),
        reverse("admin:tasks_campaign_import", args=[theirs.pk]),
        reverse("admin:tasks_campaign_preview", args=[theirs.pk]),
        reverse("review:dashboard", args=[theirs.pk]),
        reverse("review:dashboard-json", args=[theirs.pk]),
        reverse("review:item", args=[their_item.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    items = client.get(reverse("admin:tasks_item_changelist"))
    assert items.status_code == 200
    shown = {obj.pk for obj in items.context["cl"].result_list}
    assert shown == set(mine.items.values_list("pk", flat=True))
    # A raw id of another organisation's campaign is refused in forms (the choice queryset is scoped).
    add = client.get(reverse("admin:tasks_campaign_add"))
    org_choices = [str(v) for v, _ in add.context["adminform"].form.fields["organization"].choices if v]
    assert org_choices == [str(org.pk)]


def test_superuser_sees_everything(client, org, other_org, make_campaign, admin_user):
    theirs = make_campaign(organization=other_org)
    client.force_login(admin_user)
    assert client.get(reverse("admin:tasks_campaign_change", args=[theirs.pk])).status_code == 200


# --- the campaign form -------------------------------------------------------------------------------


def test_create_campaign_from_type_form(client, org, manager):
    client.force_login(manager)
    page = client.get(reverse("admin:tasks_campaign_add") + "?task_type=moderation")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "cfg__categories" in form.fields and "cfg__multi_label" in form.fields
    assert "key | label" in str(form.fields["cfg__categories"].help_text)
    data = form_data(page)
    data.update({"name": "Bình luận tháng 11", "cfg__categories": "safe | An toàn | Safe\nspam | Spam\nhate | Thù ghét",
                 "cfg__multi_label": "on", "overlap": "3", "max_overlap": "5", "gold_rate": "0.1",
                 "quota_north": "50", "quota_central": "25", "quota_south": "25"})
    res = client.post(reverse("admin:tasks_campaign_add") + "?task_type=moderation", data)
    assert res.status_code == 302, res.context["adminform"].form.errors if res.context else res
    campaign = Campaign.objects.get(name="Bình luận tháng 11")
    assert campaign.organization == org and campaign.status == Campaign.Status.DRAFT
    assert [c["key"] for c in campaign.config["categories"]] == ["safe", "spam", "hate"]
    assert campaign.config["categories"][0]["label_en"] == "Safe"
    assert campaign.config["multi_label"] is True
    assert campaign.region_quotas == {"north": 50, "central": 25, "south": 25}
    assert campaign.created_by == manager


@pytest.mark.parametrize(
    "change, field, needle",
    [
        ({"gold_rate": "1.5"}, "gold_rate", "between 0 and 1"),
        ({"overlap": "0"}, "overlap", "at least 1"),
        ({"overlap": "4", "max_overlap": "2"}, "max_overlap", "at least the overlap"),
        ({"quota_north": "50", "quota_central": "30", "quota_south": "30"}, None, "100"),
        ({"instructions": "Đọc kỹ <script>alert(1)</script>"}, "instructions", "script"),
        ({"instructions": '<img src=x onerror="alert(1)">'}, "instructions", "onerror"),
        ({"cfg__categories": "only | Một"}, "cfg__categories", "at least 2"),
        ({"cfg__categories": "a | A\na | B"}, "cfg__categories", "unique"),
        ({"cfg__categories": "Bad Key | X\nok | Y"}, "cfg__categories", "categories[0].key"),
    ],
)
def test_contradictory_campaign_refused_with_clear_message(client, manager, change, field, needle):
    client.force_login(manager)
    page = client.get(reverse("admin:tasks_campaign_add") + "?task_type=moderation")
    data = {**form_data(page), "name": "bad", **change}
    res = client.post(reverse("admin:tasks_campaign_add") + "?task_type=moderation", data)
    assert res.status_code == 200
    form = res.context["adminform"].form
    errors = form.errors.get(field, []) if field else form.non_field_errors()
    assert any(needle in str(e) for e in errors), form.errors
    assert not Campaign.objects.filter(name="bad").exists()


def test_labels_cannot_change_after_answers(client, org, manager, make_campaign, make_contributor):
    campaign = make_campaign(organization=org)
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_change", args=[campaign.pk])
    data = form_data(client.get(url))
    renamed = data["cfg__categories"].replace("An toàn", "Bình thường")
    assert client.post(url, {**data, "cfg__categories": renamed}).status_code == 302  # display text: fine
    answer(campaign, campaign.items.first(), make_contributor(), {"categories": ["safe"]})
    data = form_data(client.get(url))
    res = client.post(url, {**data, "cfg__categories": data["cfg__categories"] + "\nnew_label | Mới"})
    assert res.status_code == 200
    assert "already answered" in str(res.context["adminform"].form.errors)
    campaign.refresh_from_db()
    assert "new_label" not in [c["key"] for c in campaign.config["categories"]]


# --- lifecycle ---------------------------------------------------------------------------------------


def test_lifecycle_guards(client, org, manager):
    campaign = create_campaign(organization=org, name="Draft", task_type="moderation", gold_rate=0.0)
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_transition", args=[campaign.pk])
    page = client.get(reverse("admin:tasks_campaign_change", args=[campaign.pk]))
    assert b"no items to label" in page.content
    res = client.post(url, {"to": "active"}, follow=True)
    assert "no items to label" in " ".join(str(m) for m in res.context["messages"])
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    Item.objects.create(campaign=campaign, payload={"text": "x"}, target_overlap=3, open_slots=3)
    client.post(url, {"to": "active"})
    campaign.refresh_from_db()
    assert campaign.status == "active"
    client.post(url, {"to": "archived"})  # active -> archived is not a move
    campaign.refresh_from_db()
    assert campaign.status == "active"
    for step in ("paused", "completed", "archived"):
        client.post(url, {"to": step})
        campaign.refresh_from_db()
        assert campaign.status == step


# --- import ------------------------------------------------------------------------------------------


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def run_jobs(campaign):
    """Run the campaign's pending import jobs here (the admin only queues them: with a broker they go to a
    worker; the browser test covers that path)."""
    from tasks.import_jobs import run_import_job

    for job in ImportJob.objects.filter(campaign=campaign, status=ImportJob.Status.PENDING):
        run_import_job(job.pk)


def test_import_with_bad_line_then_fixed(client, org, manager):
    campaign = create_campaign(organization=org, name="Import", task_type="moderation")
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_import", args=[campaign.pk])
    bad = b'{"text": "m\xe1\xbb\x99t"}\n{"context": "no text"}\n{"text": "ba"}\n'
    res = client.post(url, {"file": _upload("items.jsonl", bad)})
    assert res.status_code == 302
    run_jobs(campaign)
    job = ImportJob.objects.get(campaign=campaign)
    status = client.get(reverse("admin:tasks_campaign_import_status", args=[campaign.pk, job.pk])).json()
    assert status["finished"] and status["status"] == "failed" and status["imported"] == 0
    assert status["errors"] == [{"line": 2, "field": "payload.text", "message": "This field is required."}]
    report = client.get(reverse("admin:tasks_campaign_import_report", args=[campaign.pk, job.pk]))
    assert report["Content-Disposition"].startswith("attachment")
    assert "2,payload.text,This field is required." in report.content.decode("utf-8-sig")
    assert not Item.objects.filter(campaign=campaign).exists()
    client.post(url, {"file": _upload("items.jsonl", bad.replace(b'"context"', b'"text"'))})
    run_jobs(campaign)
    job = ImportJob.objects.filter(campaign=campaign).latest("id")
    assert client.get(reverse("admin:tasks_campaign_import_status", args=[campaign.pk, job.pk])).json()[
        "imported"] == 3
    assert Item.objects.filter(campaign=campaign).count() == 3


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(out, "PNG")
    return out.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_import_refuses_missing_files_and_traversal(client, org, manager):
    campaign = create_campaign(organization=org, name="Zip", task_type="moderation")
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_import", args=[campaign.pk])
    manifest = b'{"text": "a", "source": "scans/a.png"}\n{"text": "b", "source": "scans/missing.png"}\n'
    client.post(url, {"file": _upload("media.zip", _zip({"manifest.jsonl": manifest, "scans/a.png": _png()}))})
    job = ImportJob.objects.latest("id")
    assert job.status == "failed"
    assert job.errors == [{"line": 2, "field": "payload.source", "message": "The file 'scans/missing.png' is not in the zip."}]
    client.post(url, {"file": _upload("evil.zip", _zip({"manifest.jsonl": manifest, "../../etc/x.png": _png()}))})
    job = ImportJob.objects.latest("id")
    assert job.status == "failed" and "Unsafe path" in job.errors[0]["message"]
    bad_ref = b'{"text": "a", "source": "../secret.png"}\n'
    client.post(url, {"file": _upload("ref.zip", _zip({"manifest.jsonl": bad_ref}))})
    assert "Unsafe file reference" in ImportJob.objects.latest("id").errors[0]["message"]
    res = client.post(url, {"file": _upload("nomanifest.zip", _zip({"a.png": _png()}))}, follow=True)
    assert "no manifest" in " ".join(str(m) for m in res.context["messages"])
    assert not Item.objects.filter(campaign=campaign).exists()


def test_zip_import_stores_media_and_rewrites_references(client, org, manager):
    campaign = create_campaign(organization=org, name="Zip ok", task_type="moderation")
    client.force_login(manager)
    manifest = b'{"text": "a", "source": "scans/a.png"}\n'
    client.post(reverse("admin:tasks_campaign_import", args=[campaign.pk]),
                {"file": _upload("media.zip", _zip({"manifest.jsonl": manifest, "scans/a.png": _png()}))})
    run_jobs(campaign)
    item = Item.objects.get(campaign=campaign)
    assert item.payload["source"].startswith(f"campaigns/{campaign.pk}/")
    assert item.payload["source"].endswith("scans/a.png")


# --- preview -----------------------------------------------------------------------------------------


def test_preview_renders_label_page_without_leasing(client, org, manager, make_campaign):
    campaign = make_campaign(organization=org)
    client.force_login(manager)
    page = client.get(reverse("admin:tasks_campaign_preview", args=[campaign.pk]))
    assert page.status_code == 200
    assert b'id="labeler-config"' in page.content and b"label/labeler.js" in page.content
    assert b"<script>" not in page.content  # no inline code (CSP)
    nxt = client.post(reverse("admin:tasks_campaign_preview_next", args=[campaign.pk]), content_type="application/json")
    assert nxt.json()["assignment"]["item"]["payload"]["text"].startswith("Bình luận")
    bad = client.post(reverse("admin:tasks_campaign_preview_answer", args=[campaign.pk, 1]),
                      {"payload": {"categories": ["nope"]}}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["field"].startswith("categories")
    ok = client.post(reverse("admin:tasks_campaign_preview_answer", args=[campaign.pk, 1]),
                     {"payload": {"categories": ["spam"]}}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["preview"] is True
    assert not Assignment.objects.exists() and not Annotation.objects.exists()


def test_preview_of_draft_without_items_uses_demo_sample(client, org, manager):
    campaign = create_campaign(organization=org, name="Empty", task_type="moderation")
    client.force_login(manager)
    nxt = client.post(reverse("admin:tasks_campaign_preview_next", args=[campaign.pk]), content_type="application/json")
    assert nxt.json()["assignment"]["item"]["payload"]["text"]


def test_export_from_admin_uses_export_engine(client, org, manager, make_campaign, other_org):
    from exports.models import Export

    campaign = make_campaign(organization=org)
    client.force_login(manager)
    url = reverse("admin:tasks_campaign_export", args=[campaign.pk])
    page = client.get(url)
    assert page.status_code == 200 and b'value="moderation"' in page.content
    res = client.post(url, {"layout": "nope", "format": "jsonl"}, follow=True)
    assert "layout" in " ".join(str(m) for m in res.context["messages"])
    assert not Export.objects.exists()
    client.post(url, {"layout": "raw", "format": "jsonl", "finalised_only": "1"})
    export = Export.objects.get(campaign=campaign)
    status = client.get(reverse("admin:tasks_campaign_export_status", args=[campaign.pk, export.pk])).json()
    assert status["id"] == export.pk and status["layout"] == "raw"
    theirs = make_campaign(organization=other_org)
    assert client.get(reverse("admin:tasks_campaign_export", args=[theirs.pk])).status_code == 404


def test_identity_documents_only_for_platform_staff(org):
    """Contributors are the platform's (issue 18): no organisation role, Support included, reaches their data;
    the platform's trust-and-safety group does (tests/security/test_contributor_privacy.py goes through pages)."""
    from django.contrib.auth.models import Group

    from organizations.access import PLATFORM_ROLE_GROUP_NAMES, PlatformRole

    manager = make_member(org, Membership.Role.MANAGER, email="m-id@example.com")
    admin = make_member(org, Membership.Role.ADMIN, email="a-id@example.com")
    support = make_member(org, Membership.Role.SUPPORT, email="s-id@example.com")
    for member in (manager, admin, support):
        assert not member.has_perm("contributors.view_identitydocument")
        assert not member.has_perm("contributors.view_contributorprofile")
        assert not member.has_perm("contributors.change_contributorprofile")
    assert not support.has_perm("tasks.change_campaign")
    sync_role_groups()
    staff = make_member(org, Membership.Role.SUPPORT, email="tns@example.com")
    Membership.objects.filter(user=staff).delete()
    staff.groups.add(Group.objects.get(name=PLATFORM_ROLE_GROUP_NAMES[PlatformRole.TRUST_SAFETY]))
    staff = type(staff).objects.get(pk=staff.pk)
    assert staff.has_perm("contributors.view_identitydocument")
    assert staff.has_perm("contributors.change_contributorprofile")


def test_deletion_guards_and_console_links(client, org, manager, make_campaign, make_contributor):
    active = make_campaign(organization=org)
    draft = create_campaign(organization=org, name="Bản nháp", task_type="moderation")
    client.force_login(manager)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200 and reverse("review:queue").encode() in index.content
    assert client.get(reverse("admin:tasks_campaign_delete", args=[active.pk])).status_code == 403
    assert client.get(reverse("admin:tasks_campaign_delete", args=[draft.pk])).status_code == 200
    item = active.items.first()
    assert client.get(reverse("admin:tasks_item_delete", args=[item.pk])).status_code == 403
    note = answer(active, item, make_contributor(), {"categories": ["safe"]})
    assert client.get(reverse("admin:annotations_annotation_delete", args=[note.pk])).status_code == 403
    changelist = client.get(reverse("admin:tasks_campaign_changelist"))
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)


def test_every_task_type_round_trips_its_default_config(client, manager):
    """The generic schema-to-form mapping: each type's defaults, shown and posted back, give its config."""
    from tasks.types import all_task_types

    client.force_login(manager)
    for task in all_task_types():
        url = reverse("admin:tasks_campaign_add") + f"?task_type={task.key}"
        data = {**form_data(client.get(url)), "name": f"round trip {task.key}", "task_type": task.key}
        res = client.post(url, data)
        assert res.status_code == 302, (task.key, res.context["adminform"].form.errors if res.context else "")
        campaign = Campaign.objects.get(name=f"round trip {task.key}")
        assert campaign.config == task.validate_config(task.default_config()), task.key


def test_zip_of_images_into_ocr_campaign_then_preview_serves_the_image(client, org, manager):
    """Zip with a manifest -> media stored through assets -> OCR items -> the preview gets signed URLs."""
    campaign = create_campaign(organization=org, name="OCR zip", task_type="ocr")
    client.force_login(manager)
    manifest = b'{"image": "scans/a.png", "doc_type": "receipt"}\n{"image": "scans/b.png"}\n'
    client.post(reverse("admin:tasks_campaign_import", args=[campaign.pk]), {"file": _upload("scans.zip", _zip(
        {"manifest.jsonl": manifest, "scans/a.png": _png(), "scans/b.png": _png()}))})
    run_jobs(campaign)
    job = ImportJob.objects.get(campaign=campaign)
    assert job.status == "succeeded", job.errors or job.message
    keys = sorted(Item.objects.filter(campaign=campaign).values_list("payload__image", flat=True))
    assert all(k.startswith(f"campaigns/{campaign.pk}/") for k in keys) and len(keys) == 2
    page = client.get(reverse("admin:tasks_campaign_preview", args=[campaign.pk]))
    assert b'id="preview-config"' in page.content and b"console/preview.js" in page.content
    nxt = client.post(reverse("admin:tasks_campaign_preview_next", args=[campaign.pk]), content_type="application/json")
    shown = nxt.json()["assignment"]["item"]["payload"]["image"]
    media = client.get(reverse("admin:tasks_campaign_preview_media", args=[campaign.pk, 1])).json()["media"]
    assert set(media) == {"image"}
    url = media["image"]["url"] if isinstance(media["image"], dict) else media["image"]  # assets' own format
    image = client.get(url)
    assert image.status_code == 200 and b"".join(image.streaming_content if image.streaming else [image.content])[:8] \
        == b"\x89PNG\r\n\x1a\n"
    assert shown in keys
