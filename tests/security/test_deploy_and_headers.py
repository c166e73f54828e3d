"""Production settings pass `check --deploy`; pages carry the security headers and a strict CSP."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "annotate.example.com",
        "SECURE_COOKIES": "1",
        "SECURE_SSL_REDIRECT": "1",
        "TESTING": "0",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright in conftest, never in deployment
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


@pytest.mark.django_db
def test_labelling_page_forbids_inline_script_and_framing(client, make_campaign, make_contributor):
    campaign = make_campaign()
    client.force_login(make_contributor())
    res = client.get(reverse("label-campaign", args=[campaign.pk]))
    assert res.status_code == 200
    csp = res["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert res["X-Frame-Options"] == "DENY"
    assert res["Referrer-Policy"] == "same-origin"
    assert res["X-Content-Type-Options"] == "nosniff"
    html = res.content.decode()
    # The only <script> tags without src are JSON data blocks.
    import re

    for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html):
        assert 'type="application/json"' in tag, tag
    assert " onclick=" not in html and " onload=" not in html
