"""Issue 18: start-up without a secret, unguessable archive paths, CSV formula injection, capped import reports,
damaged zip members, and the admin webhook form."""
import csv
import io
import json
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from exports.models import Webhook
from organizations.models import Membership
from tasks.import_jobs import run_import_job
from tasks.models import ImportJob, Item
from tasks.services import create_campaign
from tests import media_samples as ms
from tests.api_data import answer_items
from tests.test_admin_console import make_member

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**extra) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in ("SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return {**env, "DEBUG": "0", "TESTING": "0", "ALLOWED_HOSTS": "annotate.example.com", "SECURE_COOKIES": "1",
            "SECURE_SSL_REDIRECT": "1", **extra}


# --- 4. no fallback secret ----------------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key():
    for argv in ([sys.executable, "manage.py", "check"],
                 [sys.executable, "-c", "import django; django.setup()"]):
        out = subprocess.run(argv, cwd=ROOT, env={**_production_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode != 0, out.stdout
        assert "ImproperlyConfigured" in out.stderr and "SECRET_KEY is not set" in out.stderr, out.stderr[-2000:]


def test_check_deploy_is_not_clean_on_the_development_key():
    # TESTING=1 lets the process start on the development key; the deploy check must still fail.
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                         env=_production_env(TESTING="1"), capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "security.W009" in out.stdout + out.stderr
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                         env=_production_env(SECRET_KEY=secrets.token_urlsafe(64)), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture
def export_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


@pytest.mark.django_db
def test_export_archive_paths_are_not_guessable(export_root, make_campaign, make_contributor):
    from exports.services import request_export, run_export

    campaign = make_campaign(items=[{"payload": {"text": "Một"}}], overlap=1)
    answer_items(campaign, [make_contributor()], lambda i, c: {"categories": ["safe"]})
    a = run_export(request_export(campaign=campaign, fmt="jsonl", layout="raw").pk)
    b = run_export(request_export(campaign=campaign, fmt="jsonl", layout="raw").pk)
    for export in (a, b):
        parts = Path(export.path).parts
        assert len(parts) == 3 and parts[0] == str(campaign.pk) and len(parts[1]) >= 20, export.path
    assert Path(a.path).parts[1] != Path(b.path).parts[1]


# --- 6. CSV formula injection ----------------------------------------------------------------------------


DANGEROUS = ["=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ["raw", "moderation"])
def test_csv_export_cells_are_neutralised(export_root, make_campaign, make_contributor, layout):
    from exports.services import export_file_path, request_export, run_export

    campaign = make_campaign(items=[{"payload": {"text": value}} for value in DANGEROUS], overlap=1)
    for item, value in zip(Item.objects.filter(campaign=campaign).order_by("id"), DANGEROUS, strict=True):
        item.external_id = value
        item.save(update_fields=["external_id"])
    answer_items(campaign, [make_contributor()], lambda i, c: {"categories": ["safe"]})
    export = run_export(request_export(campaign=campaign, fmt="csv", layout=layout).pk)
    assert export.status == "succeeded", export.error
    archive = zipfile.ZipFile(export_file_path(export))
    rows = list(csv.DictReader(io.StringIO(archive.read(export.files[0]["name"]).decode())))
    assert len(rows) == len(DANGEROUS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (layout, row)
    assert sorted(r["external_id"] for r in rows) == sorted("'" + v for v in DANGEROUS)
    if layout == "moderation":
        assert sorted(r["text"] for r in rows) == sorted("'" + v for v in DANGEROUS)


# --- 7. capped import error reports -------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_report_truncates_echoed_values_and_caps_its_size(org, token_client):
    campaign = create_campaign(organization=org, name="Big lines", task_type="moderation")
    # Ten 2 MB lines whose text is too long (an error message must never echo such a value whole), then
    # enough small bad lines to go past the report's caps (count and size).
    lines = [json.dumps({"text": "x" * (2 * 1024 * 1024)}) for _ in range(10)]
    lines += [json.dumps({"text": 5}) for _ in range(1200)]
    data = ("\n".join(lines) + "\n").encode()
    client = token_client(org)
    res = client.post(reverse("campaign-imports", args=[campaign.pk]),
                      {"file": SimpleUploadedFile("items.jsonl", data)}, format="multipart")
    assert res.status_code == 202, res.content
    run_import_job(res.json()["id"])
    job = ImportJob.objects.get(pk=res.json()["id"])
    assert job.status == "failed" and job.error_count == 1210
    assert len(json.dumps(job.errors)) < 120_000  # tasks.importing.MAX_REPORT_CHARS and some JSON
    assert all(len(e["message"]) <= 500 for e in job.errors)
    assert 0 < len(job.errors) < 1210
    assert f"{1210 - len(job.errors)} more were left out" in job.message
    poll = client.get(reverse("import-detail", args=[job.pk]))
    assert poll.status_code == 200 and len(poll.content) < 100_000
    report = client.get(reverse("import-errors", args=[job.pk]))
    assert f"{1210 - len(job.errors)} more errors" in report.content.decode("utf-8-sig")
    assert not Item.objects.filter(campaign=campaign).exists()


# --- 8. a zip member larger than its header says ----------------------------------------------------------


def _lying_zip(files: dict[str, bytes], liar: str) -> bytes:
    """A zip whose member ``liar`` declares fewer uncompressed bytes than it holds (local and central headers)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    raw = bytearray(out.getvalue())
    declared = (len(files[liar]) - 100).to_bytes(4, "little")
    name = liar.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = raw.find(signature)
        while raw[at + name_at:at + name_at + len(name)] != name:
            at = raw.find(signature, at + 4)
        raw[at + size_at:at + size_at + 4] = declared
    return bytes(raw)


@pytest.mark.django_db
def test_admin_zip_with_a_member_larger_than_declared_is_a_clear_error(client, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = create_campaign(organization=org, name="Zip", task_type="ocr")
    client.force_login(make_member(org, Membership.Role.MANAGER))
    url = reverse("admin:tasks_campaign_import", args=[campaign.pk])
    upload = _lying_zip({"manifest.jsonl": b'{"image": "scans/a.png"}\n', "scans/a.png": ms.png(200, 100)},
                        "scans/a.png")
    res = client.post(url, {"file": SimpleUploadedFile("scans.zip", upload)})
    assert res.status_code == 302
    job = ImportJob.objects.get(campaign=campaign)
    assert job.status == "failed"
    assert job.errors == [{"line": 1, "field": "payload.image",
                           "message": "The zip member scans/a.png is damaged or larger than its declared size."}]
    # A manifest that lies about its size is named too.
    upload = _lying_zip({"manifest.csv": b"image\n" + b"scans/a.png\n" * 50, "scans/a.png": ms.png(200, 100)},
                        "manifest.csv")
    res = client.post(url, {"file": SimpleUploadedFile("scans.zip", upload)}, follow=True)
    assert res.status_code == 200
    shown = " ".join(str(m) for m in res.context["messages"])
    assert "manifest" in shown and "damaged" in shown
    assert not Item.objects.filter(campaign=campaign).exists()


# --- 9. the admin webhook form -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.0.0.5/x",
                                 "https://169.254.169.254/latest"])
def test_admin_webhook_form_refuses_unsafe_urls(client, org, url):
    client.force_login(make_member(org, Membership.Role.ADMIN))
    res = client.post(reverse("admin:exports_webhook_add"),
                      {"organization": org.pk, "url": url, "events": '["export.ready"]', "is_active": "on"})
    assert res.status_code == 200 and res.context["adminform"].form.errors.get("url"), res.status_code
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_admin_webhook_created_by_is_the_signed_in_user(client, org, other_org):
    me = make_member(org, Membership.Role.ADMIN)
    stranger = make_member(other_org, Membership.Role.ADMIN)
    client.force_login(me)
    res = client.post(reverse("admin:exports_webhook_add"), {
        "organization": org.pk, "url": "https://hooks.example.com/x", "events": '["export.ready"]', "is_active": "on",
        "created_by": stranger.pk,
    })
    assert res.status_code == 302, res.context["adminform"].form.errors if res.context else res
    assert Webhook.objects.get().created_by == me


@pytest.mark.django_db
def test_an_unrouted_api_path_answers_the_documented_error_body(client, token_client, org):
    """A non-numeric id matches no route: the API's JSON error body (documented as 404), not the HTML page."""
    res = token_client(org).get("/api/v1/campaigns/not-a-number/")
    assert res.status_code == 404 and res["Content-Type"].startswith("application/json")
    assert res.json()["error"] == {"status": 404, "code": "not_found", "message": "Not found."}
    page = client.get("/label/not-a-number/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
