"""Contributors through the Django test client: sign-up, verification, profile, levels, identity, privacy."""
from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from annotations import speed_scan
from contributors import selectors, services
from contributors.models import (
    ContributorProfile,
    DeviceSighting,
    FraudSignal,
    IdentityDocument,
    ProfileChange,
    Qualification,
    StatusChange,
)
from contributors.provinces import provinces

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "mây-trắng-bay-2025"


def fresh_client() -> Client:
    """A client from its own IP, so allauth's per-IP limits (kept in the shared cache) never collide."""
    n = uuid.uuid4().int
    return Client(REMOTE_ADDR=f"10.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}")


def unique(name: str) -> str:
    """A fresh address per run: allauth rate-limits confirmation mails per address in the shared cache."""
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def signup(client, email, password=PASSWORD, password2=None, fingerprint="device-a"):
    return client.post(reverse("account_signup"), {
        "email": email, "password1": password, "password2": password2 or password, "device_fingerprint": fingerprint,
    })


def confirm_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body).group(1)


PROFILE = {
    "display_name": "Phạm Thu Hà", "birth_year": "1996", "gender": "female", "region": "central",
    "province": "Thành phố Huế", "dialect": "central", "languages": ["vi", "en"], "device_type": "phone",
    "consent": "on",
}


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#c33").save(buf, format="PNG")
    return buf.getvalue()


# --- provinces ------------------------------------------------------------------------------------


def test_the_34_provinces_match_the_vietnam_provinces_package_and_have_a_region():
    from vietnam_provinces import Province

    ours = {p["code"]: p for p in provinces()}
    theirs = {int(p.code.value): p.name for p in Province.iter_all()}
    assert len(ours) == 34
    assert {code: p["name"] for code, p in ours.items()} == theirs
    assert {p["region"] for p in ours.values()} == {"north", "central", "south"}


# --- sign-up and verification -------------------------------------------------------------------


def test_signup_needs_email_verification_then_lands_on_the_profile():
    client = fresh_client()
    email = unique("lan")
    response = signup(client, email)
    assert response.status_code == 302
    user = User.objects.get(email=email)
    assert ContributorProfile.objects.filter(user=user).exists()
    assert DeviceSighting.objects.filter(user=user, event="signup").exclude(fingerprint="").exists()
    assert len(mail.outbox) == 1
    # Not verified: no session, and the label pages send to the log-in.
    assert selectors.verification_level(user) == 0
    assert client.get(reverse("label-home")).status_code == 302
    login = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert login.status_code == 302 and "confirm-email" in login["Location"]
    link = confirm_link(mail.outbox[-1])
    page = client.get(link)
    assert page.status_code == 200 and email.encode() in page.content
    done = client.post(link)
    assert done.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert selectors.verification_level(user) == 1
    assert done["Location"] == reverse("contributor-profile")  # logged in, the profile is next
    assert client.get(done["Location"]).status_code == 200
    landing = client.get(reverse("label-home"))
    assert landing.status_code == 200
    # After log-in an incomplete contributor is sent to the profile.
    client.logout()
    login = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert login["Location"] == reverse("contributor-profile")
    client.post(reverse("contributor-profile"), PROFILE)
    client.logout()
    login = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert login["Location"] == reverse("contributor-dashboard")


def test_duplicate_email_is_refused_with_a_clear_message():
    client = fresh_client()
    signup(client, "dup@example.com")
    response = signup(fresh_client(), "DUP@example.com")
    assert response.status_code == 200
    assert "already registered" in response.content.decode()
    assert User.objects.filter(email__iexact="dup@example.com").count() == 1


def test_weak_password_is_refused_and_nothing_is_stored():
    response = signup(fresh_client(), "weak@example.com", password="12345678")
    assert response.status_code == 200
    body = response.content.decode()
    assert "too short" in body or "too common" in body or "entirely numeric" in body
    assert not User.objects.filter(email="weak@example.com").exists()


def test_platform_limits_signups_per_device(settings):
    settings.CONTRIBUTOR_SIGNUPS_PER_DEVICE_PER_DAY = 2
    for n in range(2):
        assert signup(fresh_client(), f"farm{n}@example.com", fingerprint="same-phone").status_code == 302
    refused = signup(fresh_client(), "farm2@example.com", fingerprint="same-phone")
    assert refused.status_code == 200
    assert "Too many accounts were created from this device" in refused.content.decode()
    assert not User.objects.filter(email="farm2@example.com").exists()
    # Both accounts on one device are flagged for staff.
    flagged = FraudSignal.objects.filter(kind=FraudSignal.Kind.SHARED_DEVICE)
    assert flagged.count() == 2
    assert flagged.first().detail["accounts"] == 2


def test_password_reset_sends_a_working_link():
    client = fresh_client()
    user = verified_user(unique("reset"))
    assert client.post(reverse("account_reset_password"), {"email": user.email}).status_code == 302
    url = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(url, follow=True)
    assert form.status_code == 200
    new = "một-mật-khẩu-mới-77"
    done = client.post(form.redirect_chain[-1][0] if form.redirect_chain else url,
                       {"password1": new, "password2": new})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_login_page_renders_in_vietnamese_and_english():
    client = fresh_client()
    page = client.get(reverse("account_login"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="device_fingerprint"' in html and "<script>" not in html.replace("<script src", "")
    client.cookies["django_language"] = "en"
    assert client.get(reverse("account_signup")).status_code == 200


# --- profile --------------------------------------------------------------------------------------


def verified_user(email=None):
    email = email or f"u{uuid.uuid4().hex[:8]}@example.com"
    user = User.objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_profile_bad_input_is_refused_and_nothing_is_half_saved():
    user = verified_user()
    client = fresh_client()
    client.force_login(user)
    next_year = str(timezone.now().year + 1)
    response = client.post(reverse("contributor-profile"), {**PROFILE, "birth_year": next_year})
    assert response.status_code == 200
    assert "Birth year cannot be in the future." in response.content.decode()
    wrong_region = client.post(reverse("contributor-profile"), {**PROFILE, "region": "north"})
    assert "is not in the region you chose" in wrong_region.content.decode()
    no_consent = client.post(reverse("contributor-profile"), {k: v for k, v in PROFILE.items() if k != "consent"})
    assert "agree to the contributor terms" in no_consent.content.decode()
    profile = ContributorProfile.objects.get(user=user)
    assert profile.birth_year is None and profile.display_name == "" and not ProfileChange.objects.exists()
    assert selectors.verification_level(user) == 1


def test_profile_completion_unlocks_level_2_and_edits_are_kept_in_history():
    user = verified_user()
    client = fresh_client()
    client.force_login(user)
    response = client.post(reverse("contributor-profile"), PROFILE)
    assert response.status_code == 302 and response["Location"] == reverse("contributor-dashboard")
    profile = ContributorProfile.objects.get(user=user)
    assert profile.is_complete and profile.consent_version == "2025-1" and profile.consent_at
    assert profile.languages == ["vi", "en"]
    assert selectors.verification_level(user) == 2
    client.post(reverse("contributor-profile"), {**PROFILE, "province": "Thành phố Đà Nẵng"})
    changes = list(ProfileChange.objects.filter(profile=profile).order_by("id"))
    assert len(changes) == 2
    assert changes[1].changes == {"province": ["Thành phố Huế", "Thành phố Đà Nẵng"]}
    page = client.get(reverse("contributor-profile"))
    assert "Change history" in page.content.decode() or "Lịch sử" in page.content.decode()


def test_verification_levels_climb_in_order(make_contributor):
    user = make_contributor()
    profile = user.contributor
    assert selectors.verification_level(user) == 2
    profile.identity_verified_at = timezone.now()
    profile.save()
    assert selectors.verification_level(user) == 2  # identity alone does not skip the qualification rung
    services.grant_qualification(profile=profile, task_type="moderation")
    assert selectors.verification_level(user) == 4
    profile.identity_verified_at = None
    profile.save()
    assert selectors.verification_level(user) == 3
    assert selectors.is_qualified(user, "moderation") and not selectors.is_qualified(user, "other")


# --- identity documents ------------------------------------------------------------------------------


@pytest.fixture
def private_media(tmp_path):
    """The identity storage pointed at a temporary folder (the field's storage is bound at import)."""
    from django.core.files.storage import FileSystemStorage

    field = IdentityDocument._meta.get_field("file")
    original = field.storage
    field.storage = FileSystemStorage(location=str(tmp_path / "private"), base_url=None)
    yield tmp_path / "private"
    field.storage = original


def test_identity_upload_refuses_fakes_and_oversize_and_stores_privately(make_contributor, private_media, settings):
    user = make_contributor()
    client = fresh_client()
    client.force_login(user)
    url = reverse("contributor-identity")
    fake = SimpleUploadedFile("id.png", b"<html>not an image</html>", content_type="image/png")
    response = client.post(url, {"document": fake})
    assert "Send a photo (JPEG, PNG or WebP) or a PDF" in response.content.decode()
    broken = SimpleUploadedFile("id.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, content_type="image/png")
    assert "Send a photo" in client.post(url, {"document": broken}).content.decode()
    settings.CONTRIBUTOR_ID_MAX_BYTES = 1024
    big = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n" + b"x" * 2000, content_type="application/pdf")
    assert "The file is too large" in client.post(url, {"document": big}).content.decode()
    assert not IdentityDocument.objects.exists()
    assert not private_media.exists() or not any(private_media.rglob("*.*"))
    settings.CONTRIBUTOR_ID_MAX_BYTES = 5 * 1024 * 1024
    good = SimpleUploadedFile("anything.txt", png_bytes(), content_type="text/plain")
    assert client.post(url, {"document": good}).status_code == 302
    document = IdentityDocument.objects.get()
    assert document.file_kind == "png" and document.state == "pending"
    stored = private_media / document.file.name
    assert stored.exists()
    assert user.contributor.pseudonym in document.file.name and "anything" not in document.file.name
    # A second upload while one waits is refused.
    again = client.post(url, {"document": SimpleUploadedFile("b.png", png_bytes())})
    assert "still waiting for review" in again.content.decode()
    # Never served publicly: the contributor (not staff) cannot fetch it, staff can.
    file_url = reverse("identity-document-file", args=[document.pk])
    assert client.get(file_url).status_code == 403
    assert fresh_client().get(file_url).status_code in (302, 403)
    staff = User.objects.create_superuser("staff@example.com", "staff@example.com", PASSWORD)
    admin_client = fresh_client()
    admin_client.force_login(staff)
    served = admin_client.get(file_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "private, no-store"
    assert b"".join(served.streaming_content) == png_bytes()


def test_staff_reject_needs_a_reason_approve_gives_level_4_and_files_are_purged(make_contributor, private_media):
    user = make_contributor()
    services.grant_qualification(profile=user.contributor, task_type="moderation")
    document = services.upload_identity_document(user=user, upload=SimpleUploadedFile("id.png", png_bytes()))
    staff = User.objects.create_superuser("staff2@example.com", "staff2@example.com", PASSWORD)
    admin_client = fresh_client()
    admin_client.force_login(staff)
    change_url = reverse("admin:contributors_identitydocument_change", args=[document.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    refused = admin_client.post(change_url, {"decision": "reject", "rejection_reason": ""})
    assert "Give the contributor a reason" in refused.content.decode()
    document.refresh_from_db()
    assert document.state == "pending"
    assert admin_client.post(change_url, {"decision": "approve", "rejection_reason": ""}).status_code == 302
    document.refresh_from_db()
    assert document.state == "approved" and document.reviewed_by == staff
    assert selectors.verification_level(User.objects.get(pk=user.pk)) == 4
    path = private_media / document.file.name
    assert path.exists()
    assert services.purge_identity_documents() == 0  # within the retention period
    later = timezone.now() + timedelta(days=31)
    assert services.purge_identity_documents(now=later) == 1
    document.refresh_from_db()
    assert not path.exists() and not document.file and document.file_deleted_at


# --- status set by staff ------------------------------------------------------------------------------


def test_staff_suspend_needs_a_reason_and_the_contributor_sees_it(make_contributor, make_campaign):
    campaign = make_campaign()
    user = make_contributor()
    staff = User.objects.create_superuser("boss@example.com", "boss@example.com", PASSWORD)
    admin_client = fresh_client()
    admin_client.force_login(staff)
    url = reverse("admin:contributors_contributorprofile_change", args=[user.contributor.pk])
    refused = admin_client.post(url, {"status": "suspended", "status_reason": "", **_empty_inlines()})
    assert refused.status_code == 200 and "Give the contributor a reason" in refused.content.decode()
    assert ContributorProfile.objects.get(user=user).status == "active"
    saved = admin_client.post(url, {"status": "suspended", "status_reason": "Sao chép câu trả lời", **_empty_inlines()})
    assert saved.status_code == 302
    profile = ContributorProfile.objects.get(user=user)
    assert profile.status == "suspended" and profile.status_reason == "Sao chép câu trả lời"
    change = StatusChange.objects.get(profile=profile)
    assert change.changed_by == staff and change.to_status == "suspended"
    # The contributor sees status and reason, and gets no task from the page or the API.
    client = fresh_client()
    client.force_login(user)
    dashboard = client.get(reverse("contributor-dashboard")).content.decode()
    assert "Sao chép câu trả lời" in dashboard
    page = client.get(reverse("label-campaign", args=[campaign.pk])).content.decode()
    assert "Sao chép câu trả lời" in page and "labeler-config" not in page
    api = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assert api.json()["assignment"] is None and api.json()["code"] == "suspended"
    # Ban through the admin action (with its reason), then reinstate.
    action = admin_client.post(reverse("admin:contributors_contributorprofile_changelist"), {
        "action": "ban", "_selected_action": [profile.pk], "apply": "1", "reason": "Nhiều tài khoản"})
    assert action.status_code == 302
    assert ContributorProfile.objects.get(user=user).status == "banned"
    admin_client.post(reverse("admin:contributors_contributorprofile_changelist"), {
        "action": "reinstate", "_selected_action": [profile.pk]})
    profile.refresh_from_db()
    assert profile.status == "active" and profile.status_reason == ""
    assert client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]


def _empty_inlines() -> dict:
    data = {}
    for prefix in ("status_changes", "fraud_signals", "trust_scores", "qualifications", "changes"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    return data


# --- anti-fraud -------------------------------------------------------------------------------------


def test_impossible_speeds_are_flagged_from_server_times(make_contributor, make_campaign, settings):
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    campaign = make_campaign(overlap=1)
    fast, slow = make_contributor(), make_contributor()
    for user, age in ((fast, 0), (slow, 5)):
        for _ in range(2):
            assignment = lease_next_item(user=user, campaign=campaign)
            type(assignment).objects.filter(pk=assignment.pk).update(
                leased_at=timezone.now() - timedelta(seconds=age))
            submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})
    assert speed_scan.scan_task_speeds(after_id=0) == 1
    signal = FraudSignal.objects.get(kind=FraudSignal.Kind.IMPOSSIBLE_SPEED)
    assert signal.profile.user == fast and signal.count == 2
    assert signal.detail["fastest_ms"] < settings.CONTRIBUTOR_MIN_TASK_MS
    assert speed_scan.scan_task_speeds() == 0  # the high-water mark: nothing is counted twice


def test_login_records_the_device_and_shared_ips_raise_a_signal(settings):
    settings.CONTRIBUTOR_FRAUD_SHARED_IP = 2
    for n in range(2):
        user = verified_user(f"ip{n}@example.com")
        services.ensure_profile(user)
        client = Client(REMOTE_ADDR="203.0.113.9")
        response = client.post(reverse("account_login"), {
            "login": user.email, "password": PASSWORD, "device_fingerprint": f"dev-{n}"})
        assert response.status_code == 302
    assert DeviceSighting.objects.filter(event="login", ip="203.0.113.9").count() == 2
    assert FraudSignal.objects.filter(kind=FraudSignal.Kind.SHARED_IP).count() == 2


# --- dashboard ------------------------------------------------------------------------------------


def test_dashboard_shows_level_next_step_work_and_earnings(make_contributor, make_campaign):
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    open_campaign = make_campaign(pay_per_task="1500")
    locked = make_campaign(requires_qualification=True)
    user = make_contributor()
    for _ in range(2):
        assignment = lease_next_item(user=user, campaign=open_campaign)
        submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})
    client = fresh_client()
    client.force_login(user)
    response = client.get(reverse("contributor-dashboard"))
    ctx = response.context
    assert ctx["level"] == 2 and ctx["next_step"]["url"] == reverse("contributor-qualifications")
    assert ctx["done_today"] == 2 and ctx["done_week"] == 2
    assert [r["tasks"] for r in ctx["per_campaign"]] == [2] and ctx["earned_total"] == 3000
    assert [e["campaign"] for e in ctx["campaigns"]] == [open_campaign]
    assert [(e["campaign"], e["blocker"]["code"]) for e in ctx["blocked_campaigns"]] == [(locked, "qualification")]
    earned = re.search(r'id="earned-total">([^<]*)<', response.content.decode()).group(1)
    assert re.sub(r"\D", "", earned) == "3000"


# --- personal data ------------------------------------------------------------------------------------


def test_personal_data_export_and_erasure_keep_annotations_pseudonymised(make_contributor, make_campaign, private_media):
    from annotations.models import Annotation
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    campaign = make_campaign()
    user = make_contributor("erase.me@example.com")
    assignment = lease_next_item(user=user, campaign=campaign)
    submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["spam"]})
    document = services.upload_identity_document(user=user, upload=SimpleUploadedFile("id.png", png_bytes()))
    file_path = private_media / document.file.name
    client = fresh_client()
    client.force_login(user)
    exported = client.get(reverse("contributor-data") + "?download=1")
    data = json.loads(b"".join([exported.content]))
    assert data["account"]["email"] == "erase.me@example.com"
    assert data["annotations"][0]["payload"] == {"categories": ["spam"]}
    client.post(reverse("contributor-erase"))
    profile = ContributorProfile.objects.get(user=user)
    assert profile.erasure_requested_at
    staff = User.objects.create_superuser("dpo@example.com", "dpo@example.com", PASSWORD)
    admin_client = fresh_client()
    admin_client.force_login(staff)
    changelist = reverse("admin:contributors_contributorprofile_changelist")
    confirm = admin_client.post(changelist, {"action": "erase_personal_data", "_selected_action": [profile.pk]})
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    admin_client.post(changelist, {"action": "erase_personal_data", "_selected_action": [profile.pk], "apply": "1"})
    user.refresh_from_db()
    profile.refresh_from_db()
    assert "erase.me" not in user.email and not user.is_active and not user.has_usable_password()
    assert profile.status == "erased" and profile.display_name == "" and profile.birth_year is None
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not IdentityDocument.objects.filter(profile=profile).exists() and not file_path.exists()
    annotation = Annotation.objects.get(assignment=assignment)
    assert annotation.contributor_id == user.pk and annotation.payload == {"categories": ["spam"]}
    assert fresh_client().post(reverse("account_login"), {"login": "erase.me@example.com", "password": "correct-horse-42"}
                               ).status_code == 200
    assert Qualification.objects.count() == 0


def test_login_is_limited_per_device_on_top_of_allauths_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_device": "2/h/key"}
    device = f"device-{uuid.uuid4().hex}"
    user = verified_user(unique("dev"))
    for _ in range(2):
        wrong = fresh_client().post(reverse("account_login"), {
            "login": user.email, "password": "not-the-password", "device_fingerprint": device})
        assert "Too many log-in attempts" not in wrong.content.decode()
    blocked = fresh_client().post(reverse("account_login"), {
        "login": user.email, "password": PASSWORD, "device_fingerprint": device})
    assert blocked.status_code == 200 and "Too many log-in attempts from this device" in blocked.content.decode()
    other_device = fresh_client().post(reverse("account_login"), {
        "login": user.email, "password": PASSWORD, "device_fingerprint": device + "-2"})
    assert other_device.status_code == 302


def test_google_login_is_off_without_its_environment():
    html = fresh_client().get(reverse("account_login")).content.decode()
    assert "Continue with" not in html


def test_verification_level_costs_one_query_on_the_queue_path(make_contributor, django_assert_num_queries):
    user = make_contributor()
    profile = ContributorProfile.objects.get(user=user)
    with django_assert_num_queries(1):
        assert selectors.verification_level(user, profile) == 2


def test_terms_page_is_public_and_the_profile_links_to_it():
    page = fresh_client().get(reverse("contributor-terms"))
    assert page.status_code == 200 and "2025-1" in page.content.decode()
    client = fresh_client()
    client.force_login(verified_user())
    assert reverse("contributor-terms") in client.get(reverse("contributor-profile")).content.decode()


def test_account_management_pages_render_in_the_platform_layout():
    client = fresh_client()
    client.force_login(verified_user())
    for name in ("account_email", "account_change_password"):
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert "contributors/contributors.css" in page.content.decode()
        assert reverse("contributor-dashboard") in page.content.decode()


def test_new_terms_version_asks_for_consent_again(make_contributor, settings):
    user = make_contributor()
    settings.CONTRIBUTOR_TERMS_VERSION = "2026-1"
    profile = ContributorProfile.objects.get(user=user)
    assert not profile.is_complete and selectors.verification_level(user, profile) == 1
    client = fresh_client()
    client.force_login(user)
    data = {**PROFILE, "region": "north", "province": "Thành phố Hà Nội"}
    page = client.post(reverse("contributor-profile"), {k: v for k, v in data.items() if k != "consent"})
    assert "agree to the contributor terms" in page.content.decode()
    client.post(reverse("contributor-profile"), data)
    profile.refresh_from_db()
    assert profile.consent_version == "2026-1" and profile.is_complete
    change = ProfileChange.objects.filter(profile=profile).latest("id")
    assert change.changes["consent_version"] == ["2025-1", "2026-1"]


def test_every_contributor_admin_page_renders(make_contributor, make_campaign, private_media, settings):
    settings.CONTRIBUTOR_FRAUD_SHARED_IP = 1
    user = make_contributor()
    profile = ContributorProfile.objects.get(user=user)
    services.record_gold_answer(user=user, task_type="moderation", correct=True)
    services.record_device_sighting(user=user, event="login", fingerprint="ab" * 32, ip="198.51.100.7")
    services.upload_identity_document(user=user, upload=SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n"))
    services.update_profile(user=user, data={"dialect": "north"}, consent=False)
    test = services.create_qualification_test(
        task_type="moderation", title="T", items=[{"payload": {"text": "x"}, "gold_answer": {"categories": ["safe"]}}])
    attempt = services.start_qualification_attempt(user=user, task_type="moderation")
    services.submit_qualification_attempt(user=user, attempt_id=attempt.pk, answers=[{"categories": ["safe"]}])
    staff = User.objects.create_superuser(unique("root"), "root@example.com", PASSWORD)
    client = fresh_client()
    client.force_login(staff)
    objects = {
        "contributorprofile": profile, "identitydocument": IdentityDocument.objects.get(),
        "qualificationtest": test, "qualificationattempt": attempt, "qualification": Qualification.objects.get(),
        "fraudsignal": FraudSignal.objects.get(), "devicesighting": DeviceSighting.objects.get(),
        "trustscore": profile.trust_scores.get(),
    }
    for model, obj in objects.items():
        assert client.get(reverse(f"admin:contributors_{model}_changelist")).status_code == 200, model
        assert client.get(reverse(f"admin:contributors_{model}_change", args=[obj.pk])).status_code == 200, model
    assert client.get(reverse("admin:contributors_qualificationtest_add")).status_code == 200
    assert client.get(reverse("admin:contributors_qualification_add")).status_code == 200
    other = make_contributor()
    granted = client.post(reverse("admin:contributors_qualification_add"), {
        "profile": ContributorProfile.objects.get(user=other).pk, "task_type": "moderation"})
    assert granted.status_code == 302
    assert Qualification.objects.get(profile__user=other).granted_by == staff
