"""Stored XSS: payloads, instructions Markdown, contributor free text, file names, SVG uploads."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation

pytestmark = pytest.mark.django_db

SCRIPT = '<script>window.__xss=1</script>'
IMG = '<img src=x onerror="window.__xss=1">'
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1">'
       b'<script>window.__xss=1</script></svg>')


def assert_inert(html: str) -> None:
    """The markup arrives as text (escaped) or not at all, never as live HTML."""
    assert SCRIPT not in html and IMG not in html
    assert 'href="javascript:' not in html.lower()


def test_instructions_markdown_is_sanitised_on_the_labelling_page(client, make_campaign, make_contributor):
    campaign = make_campaign(instructions=f"# Hướng dẫn\n\n{SCRIPT}\n\n{IMG}\n\n[bấm](javascript:alert(1))\n\n**đậm**")
    client.force_login(make_contributor())
    html = client.get(reverse("label-campaign", args=[campaign.pk])).content.decode()
    assert "<strong>đậm</strong>" in html  # Markdown still renders
    assert_inert(html)


def test_payloads_and_free_text_are_escaped_in_manager_pages(client, make_campaign, make_contributor,
                                                            django_user_model):
    campaign = make_campaign(items=[{"payload": {"text": f"Bình luận {SCRIPT} {IMG}", "context": SCRIPT}}],
                             overlap=1)
    user = make_contributor()
    assignment = lease_next_item(user=user, campaign=campaign)
    submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["spam"]},
                      telemetry={"note": SCRIPT})
    admin = django_user_model.objects.create_superuser("root@example.com", "root@example.com", "pw-long-enough-1")
    client.force_login(admin)
    pages = [
        reverse("review:item", args=[assignment.item_id]),
        reverse("admin:tasks_item_change", args=[assignment.item_id]),
        reverse("admin:tasks_item_changelist"),
        reverse("admin:annotations_annotation_changelist"),
    ]
    for url in pages:
        res = client.get(url)
        assert res.status_code == 200, url
        html = res.content.decode()
        assert_inert(html)


def test_import_file_names_are_escaped(client, make_campaign, django_user_model, token_client):
    campaign = make_campaign(items=[])
    api = token_client()
    name = f'{IMG}.jsonl'
    res = api.post(reverse("campaign-imports", args=[campaign.pk]),
                   {"file": SimpleUploadedFile(name, b'{"text": "xin ch\\u00e0o"}\n')}, format="multipart")
    assert res.status_code in (201, 202, 400), res.content
    admin = django_user_model.objects.create_superuser("r2@example.com", "r2@example.com", "pw-long-enough-2")
    client.force_login(admin)
    html = client.get(reverse("admin:tasks_importjob_changelist")).content.decode()
    assert_inert(html)


def test_svg_is_refused_as_an_image(make_campaign, token_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = make_campaign("ocr", items=[], overlap=1, config={"mode": "full_page"})
    res = token_client().post(reverse("campaign-media-upload", args=[campaign.pk]),
                              {"file": SimpleUploadedFile("scan.svg", SVG, content_type="image/svg+xml"),
                               "name": "scan.svg"}, format="multipart")
    assert res.status_code == 400
    assert not list(tmp_path.rglob("*.svg"))
