"""Contributors are the platform's: customers see pseudonyms, platform staff roles see identity data, and
every access to identity data is in an access log the contributor reads. Plus the audit log's rows."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from contributors.models import ContributorProfile, DeviceSighting, IdentityDocument, StatusChange
from organizations.access import PLATFORM_ROLE_GROUP_NAMES, PlatformRole
from organizations.models import Membership
from review.roles import sync_role_groups
from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def people(org, make_contributor, make_campaign, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    sync_role_groups()
    contributor = make_contributor("lan.nguyen@example.vn")
    profile = contributor.contributor
    document = IdentityDocument(profile=profile, file_kind="png", size_bytes=len(PNG))
    document.file.save("id.png", ContentFile(PNG), save=True)
    DeviceSighting.objects.create(user=contributor, event="login", fingerprint="f" * 64, ip="198.51.100.7")
    campaign = make_campaign(overlap=1)
    assignment = lease_next_item(user=contributor, campaign=campaign)
    submit_annotation(user=contributor, assignment_id=assignment.pk, payload={"categories": ["safe"]})
    customers = {}
    for role in Membership.Role:
        user = make_contributor(f"{role}@lab-a.example")
        Membership.objects.create(organization=org, user=user, role=role)
        customers[role] = user
    staff = {}
    for role, name in PLATFORM_ROLE_GROUP_NAMES.items():
        user = make_contributor(f"{role}@platform.example")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=name))
        staff[role] = user
    return {"contributor": contributor, "profile": profile, "document": document, "campaign": campaign,
            "customers": customers, "staff": staff}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def identity_urls(people):
    doc = people["document"]
    return [
        "/admin/contributors/contributorprofile/",
        f"/admin/contributors/contributorprofile/{people['profile'].pk}/change/",
        f"/admin/contributors/identitydocument/{doc.pk}/change/",
        f"/me/identity/documents/{doc.pk}/file/",
        "/admin/contributors/devicesighting/",
    ]


@pytest.mark.parametrize("role", list(Membership.Role))
def test_customer_roles_see_pseudonyms_never_contact_details_or_identity(people, role):
    client = client_for(people["customers"][role])
    for url in identity_urls(people):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/audit/auditevent/").status_code == 403
    # Their own organisation's answers show the contributor by pseudonym, not by e-mail or name.
    page = client.get("/admin/annotations/annotation/")
    assert page.status_code == 200
    assert b"lan.nguyen@example.vn" not in page.content
    assert people["profile"].pseudonym.encode() in page.content
    annotation = people["campaign"].annotations.first()
    page = client.get(f"/admin/annotations/annotation/{annotation.pk}/change/")
    assert page.status_code == 200 and b"lan.nguyen@example.vn" not in page.content
    # ...and cannot find out whether an e-mail address belongs to a contributor.
    from review.selectors import review_queue

    user = people["customers"][role]
    assert not review_queue(user, kind="all", contributor="lan.nguyen@example.vn", unreviewed_only=False).exists()
    if role == Membership.Role.MANAGER:
        by_pseudonym = review_queue(user, kind="all", contributor=people["profile"].pseudonym, unreviewed_only=False)
        assert by_pseudonym.exists()
    assert not AuditEvent.objects.filter(action__startswith="identity.").exists()


def test_platform_staff_roles_see_identity_data_and_every_access_is_logged(people):
    officer = client_for(people["staff"][PlatformRole.TRUST_SAFETY])
    page = officer.get("/admin/contributors/contributorprofile/")
    assert page.status_code == 200 and b"lan.nguyen@example.vn" in page.content
    assert officer.get("/admin/contributors/devicesighting/").status_code == 200
    doc = people["document"]
    assert officer.get(f"/admin/contributors/identitydocument/{doc.pk}/change/").status_code == 200
    file = officer.get(f"/me/identity/documents/{doc.pk}/file/", REMOTE_ADDR="203.0.113.5")
    assert file.status_code == 200 and b"".join(file.streaming_content) == PNG

    events = AuditEvent.objects.filter(subject=people["contributor"]).order_by("id")
    assert [e.action for e in events] == ["identity.viewed", "identity.downloaded"]
    assert events[1].ip == "203.0.113.5" and events[1].actor == people["staff"][PlatformRole.TRUST_SAFETY]
    assert events[1].actor_role == PlatformRole.TRUST_SAFETY

    # The contributor reads who accessed their identity data; another contributor sees nothing of it.
    mine = client_for(people["contributor"])
    page = mine.get("/me/data/")
    assert page.status_code == 200 and b"identity-access" in page.content and b"trust_safety" in page.content
    log = mine.get("/me/data/", {"access_log": "1"}).json()["identity_access"]
    assert len(log) == 2 and {row["role"] for row in log} == {"trust_safety"}
    assert "identity_access" in mine.get("/me/data/", {"download": "1"}).json()
    customer = client_for(people["customers"][Membership.Role.ADMIN])
    assert customer.get("/me/data/", {"access_log": "1"}).json()["identity_access"] == []


def test_an_organisation_admin_cannot_grant_a_role_that_reaches_contributor_data(people, org):
    admin = client_for(people["customers"][Membership.Role.ADMIN])
    outsider = people["contributor"]
    res = admin.post("/admin/organizations/membership/add/",
                     {"organization": org.pk, "user": outsider.pk, "role": Membership.Role.SUPPORT})
    assert res.status_code == 302
    assert Membership.objects.filter(user=outsider, role=Membership.Role.SUPPORT).exists()
    granted = client_for(outsider)
    for url in identity_urls(people):
        assert granted.get(url).status_code == 403, url
    # Platform roles are groups on the account, which organisation admins cannot edit.
    assert admin.get(f"/admin/auth/user/{outsider.pk}/change/").status_code == 403
    assert admin.get("/admin/auth/group/").status_code == 403
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_GRANTED, subject=outsider)
    assert event.actor == people["customers"][Membership.Role.ADMIN] and event.detail["to"] == "support"
    assert event.ip == "127.0.0.1" and event.organization_id == org.pk


def test_audit_rows_for_tokens_exports_roles_and_suspensions_readable_and_exportable_by_platform_staff(people, org):
    admin_user = people["customers"][Membership.Role.ADMIN]
    api = APIClient(REMOTE_ADDR="192.0.2.10")
    api.force_login(admin_user)
    created = api.post("/api/v1/tokens/", {"name": "pipeline", "scopes": ["datasets:read"]}, format="json")
    assert created.status_code == 201
    token_id = created.json()["id"]
    assert api.delete(f"/api/v1/tokens/{token_id}/").status_code == 204
    export = api.post(f"/api/v1/campaigns/{people['campaign'].pk}/exports/", {"format": "jsonl", "layout": "raw"},
                      format="json")
    assert export.status_code == 202
    # a role change through the admin
    membership = Membership.objects.get(user=people["customers"][Membership.Role.SUPPORT])
    res = client_for(admin_user).post(f"/admin/organizations/membership/{membership.pk}/change/",
                                      {"organization": org.pk, "user": membership.user_id, "role": "reviewer"})
    assert res.status_code == 302
    # a suspension by trust and safety
    tns = client_for(people["staff"][PlatformRole.TRUST_SAFETY])
    res = tns.post("/admin/contributors/contributorprofile/", {
        "action": "suspend", "_selected_action": [people["profile"].pk], "apply": "1", "reason": "Gian lận"})
    assert res.status_code in (200, 302)
    assert ContributorProfile.objects.get(pk=people["profile"].pk).status == ContributorProfile.Status.SUSPENDED

    rows = {e.action: e for e in AuditEvent.objects.all()}
    assert rows["token.created"].actor == admin_user and rows["token.created"].ip == "192.0.2.10"
    assert rows["token.created"].detail["scopes"] == ["datasets:read"]
    assert rows["token.revoked"].target == f"organizations.apitoken:{token_id}"
    assert rows["export.requested"].organization_id == org.pk and rows["export.requested"].ip == "192.0.2.10"
    assert rows["role.changed"].detail == {"from": "support", "to": "reviewer"}
    suspended = rows["contributor.status"]
    assert suspended.subject == people["contributor"] and suspended.detail["to"] == "suspended"
    assert suspended.actor == people["staff"][PlatformRole.TRUST_SAFETY] and suspended.ip == "127.0.0.1"

    # Readable by the privacy officer (read-only) and exportable as CSV; not by trust and safety.
    officer = client_for(people["staff"][PlatformRole.PRIVACY_OFFICER])
    page = officer.get("/admin/audit/auditevent/")
    assert page.status_code == 200 and b"token.created" in page.content
    event = AuditEvent.objects.first()
    assert officer.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    csv = officer.post("/admin/audit/auditevent/", {
        "action": "export_csv", "_selected_action": list(AuditEvent.objects.values_list("pk", flat=True))})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    body = csv.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("id,created_at,action") and "contributor.status" in body
    assert tns.get("/admin/audit/auditevent/").status_code == 403


def profile_form_post(client, profile, **fields) -> object:
    """POST the profile's change form as the browser would: its hidden inputs (the inlines' management
    forms) plus ``fields``."""
    url = f"/admin/contributors/contributorprofile/{profile.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode()))
    data.pop("csrfmiddlewaretoken", None)
    return page, client.post(url, {**data, **fields})


def test_a_privacy_officer_cannot_change_a_contributors_status_through_the_profile_form(people):
    profile = people["profile"]
    officer = client_for(people["staff"][PlatformRole.PRIVACY_OFFICER])
    page, res = profile_form_post(officer, profile, status="suspended", status_reason="Không có lý do")
    assert b'name="status"' not in page.content  # shown, not editable
    assert res.status_code in (302, 403)
    profile.refresh_from_db()
    assert profile.status == ContributorProfile.Status.ACTIVE and not profile.status_reason
    assert not StatusChange.objects.filter(profile=profile).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CONTRIBUTOR_STATUS_CHANGED).exists()

    # Trust and safety moderate: the same form changes the status, through the audited service.
    tns = client_for(people["staff"][PlatformRole.TRUST_SAFETY])
    page, res = profile_form_post(tns, profile, status="suspended", status_reason="Gian lận")
    assert b'name="status"' in page.content and res.status_code == 302
    profile.refresh_from_db()
    assert profile.status == ContributorProfile.Status.SUSPENDED
    assert AuditEvent.objects.get(action=AuditEvent.Action.CONTRIBUTOR_STATUS_CHANGED).subject == profile.user


def test_platform_role_changes_in_the_user_admin_are_audited(people):
    root = get_user_model().objects.create_superuser("root@platform.example", "root@platform.example", "x-42-y")
    client = client_for(root)
    person = people["customers"][Membership.Role.SUPPORT]
    officers = Group.objects.get(name=PLATFORM_ROLE_GROUP_NAMES[PlatformRole.PRIVACY_OFFICER])
    url = f"/admin/auth/user/{person.pk}/change/"

    def save(groups, email=person.email):
        data = {"username": person.username, "email": email, "first_name": "", "last_name": "", "is_active": "on",
                "is_staff": "on", "groups": groups, "date_joined_0": "2025-01-01", "date_joined_1": "08:00:00"}
        res = client.post(url, data, REMOTE_ADDR="203.0.113.9")
        assert res.status_code == 302, res.content[-3000:]

    rows = AuditEvent.objects.filter(action=AuditEvent.Action.PLATFORM_ROLES_CHANGED)
    save([officers.pk])
    assert person.groups.filter(pk=officers.pk).exists()
    granted = rows.get()
    assert granted.subject == person and granted.actor == root and granted.actor_role == "superuser"
    assert granted.ip == "203.0.113.9" and granted.target == f"auth.user:{person.pk}"
    assert granted.detail == {"from": [], "to": ["privacy_officer"], "granted": ["privacy_officer"], "withdrawn": []}
    save([officers.pk], email="support2@lab-a.example")  # no role change: no row
    assert rows.count() == 1
    save([])
    withdrawn = rows.order_by("-id").first()
    assert rows.count() == 2 and withdrawn.detail["withdrawn"] == ["privacy_officer"] and withdrawn.detail["to"] == []
