"""The interface is Vietnamese by default and English on request, from the committed catalogue."""

import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

CATALOGUES = sorted(
    p for p in Path(settings.BASE_DIR).glob("**/locale/vi/LC_MESSAGES/django.po") if ".venv" not in p.parts
)


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_catalogue_is_complete_and_compiled(catalogue):
    """Every catalogue (the project's, an app's or a task type's) is complete and its .mo is current."""
    po = polib.pofile(str(catalogue))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    assert po.metadata["Plural-Forms"].startswith("nplurals=1;")
    # The committed .mo (CI may lack GNU gettext) must hold the same translations as the .po.
    mo = polib.mofile(str(catalogue.with_suffix(".mo")))
    compiled = {e.msgid: e.msgstr or e.msgstr_plural.get(0, "") for e in mo}
    stale = [e.msgid for e in po.translated_entries() if e.msgid not in compiled]
    assert not stale, f"django.mo is older than django.po; run compilemessages: {stale[:10]}"


@pytest.fixture
def vietnamese_default(settings):
    """The project's default; tests/conftest.py switches other tests to English."""
    settings.LANGUAGE_CODE = "vi"
    settings.LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]


@pytest.mark.django_db
def test_login_page_in_vietnamese_by_default_and_english_on_request(client, vietnamese_default):
    vi = client.get("/accounts/login/").content.decode()
    assert '<html lang="vi">' in vi
    assert "Đăng nhập" in vi and "Quên mật khẩu?" in vi
    assert "Forgot your password?" not in vi

    en = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in en
    assert "Forgot your password?" in en and "Create an account" in en
    assert "Quên mật khẩu?" not in en


@pytest.mark.django_db
def test_label_home_follows_the_language_switch(client, make_contributor, make_campaign, vietnamese_default):
    make_campaign("moderation")
    client.force_login(make_contributor())

    vi = client.get("/label/").content.decode()
    assert "Nhiệm vụ hiện có" in vi  # "Available tasks"
    assert "Bắt đầu gán nhãn" in vi  # "Start labelling"
    assert "Kiểm duyệt nội dung" in vi  # the task type's lazy label
    assert "Start labelling" not in vi
    # The switcher names each language in its own tongue, whatever the interface language.
    assert ">English</option>" in vi and "Tiếng Việt</option>" in vi

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/label/"})
    assert response.status_code == 302 and response["Location"] == "/label/"
    en = client.get("/label/").content.decode()
    assert '<html lang="en">' in en
    assert "Available tasks" in en and "Start labelling" in en and "Content moderation" in en
    assert "Bắt đầu gán nhãn" not in en

    client.post("/i18n/setlang/", {"language": "vi", "next": "/label/"})
    assert "Bắt đầu gán nhãn" in client.get("/label/").content.decode()


def test_the_configured_default_is_vietnamese():
    """Without the test suite's override the platform starts in Vietnamese."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_LANGUAGE_CODE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.LANGUAGE_CODE)"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert out.stdout.strip() == "vi"


def test_record_the_noun_and_record_the_verb_are_translated_apart():
    """The campaign admin's "Record" section (who created it, when) is not the recorder's "Record" button."""
    from django.utils import translation
    from django.utils.translation import gettext, pgettext

    with translation.override("vi"):
        assert pgettext("campaign admin section", "Record") == "Thông tin tạo"
        assert gettext("Record") == "Ghi âm"
