"""No English and no raw keys on the pages a contributor reads in Vietnamese.

The catalogue test (test_i18n.py) proves every string we marked is translated; this one proves the strings
that reach the page are marked: it renders the contributor's pages in Vietnamese and fails on any text node
or visible attribute that is an English message of the project or of django-allauth (which ships no
Vietnamese), and on raw choice keys (task-type keys, region keys, severity keys) shown as text.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import allauth
import polib
import pytest
from django.conf import settings

from tasks.types import all_task_types

pytestmark = pytest.mark.django_db

ALLOWED = {"Email", "E-mail", "OK", "Google", "VietQR", "OTP", "ID", "CSV", "JSON", "Parquet", "English",
           # key names, as printed on keyboards, in the shortcut lists
           "Delete", "Enter", "Tab", "Esc", "Escape", "Space", "Shift", "Backspace", "Ctrl", "Alt"}
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


def english_messages() -> set[str]:
    """Every English msgid of allauth and of our catalogues that the interface could show."""
    catalogues = [Path(allauth.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"]
    catalogues += [p for p in Path(settings.BASE_DIR).glob("**/locale/vi/LC_MESSAGES/django.po") if ".venv" not in p.parts]
    found, same_in_vietnamese = set(), set()
    for path in catalogues:
        for entry in polib.pofile(str(path)):
            if entry.msgstr and entry.msgstr == entry.msgid:  # a loanword Vietnamese uses as is ("Check-in")
                same_in_vietnamese.add(" ".join(entry.msgid.split()))
            for text in (entry.msgid, entry.msgid_plural):
                text = " ".join((text or "").split())
                if len(text) > 2 and re.search(r"[A-Za-z]{3}", text) and "%" not in text and "{" not in text:
                    found.add(text)
    return found - ALLOWED - same_in_vietnamese


def raw_keys() -> set[str]:
    keys = {t.key for t in all_task_types() if "_" in t.key}
    return keys | {"north", "central", "south", "low", "medium", "high", "critical"}


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.texts.append(value)
            if tag == "input" and name == "value" and value and dict(attrs).get("type") in ("submit", "button"):
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data)


def leftovers(html: str, english: set[str], keys: set[str]) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    bad = []
    for text in parser.texts:
        text = " ".join(text.split())
        bare = text.strip(" :*·•|()")
        if text in english or bare in english or bare in keys:
            bad.append(text)
    return bad


@pytest.fixture
def vietnamese(settings):
    settings.LANGUAGE_CODE = "vi"
    settings.LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]


def test_the_contributors_pages_show_no_english_and_no_raw_keys(client, vietnamese):
    """Signed out (log-in, sign-up with a too-short password, reset) and signed in (dashboard, profile,
    qualifications, personal data, the labelling home, and every demo campaign's labelling page)."""
    english, keys = english_messages(), raw_keys()
    pages: dict[str, str] = {}
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        pages[url] = client.get(url).content.decode()
    pages["signup (errors)"] = client.post("/accounts/signup/", {
        "email": "a@example.com", "password1": "short", "password2": "short"}).content.decode()
    pages["login (errors)"] = client.post("/accounts/login/", {
        "login": "nobody@example.com", "password": "wrong-password-1"}).content.decode()

    from web.demo import load_demo

    demo = load_demo()
    client.force_login(demo["contributors"][0])
    for url in ("/me/", "/me/profile/", "/me/qualifications/", "/me/data/", "/label/"):
        pages[url] = client.get(url).content.decode()
    for campaign in demo["campaigns"]:  # every task type's labelling page, with its options
        pages[f"/label/{campaign.pk}/ ({campaign.task_type})"] = client.get(f"/label/{campaign.pk}/").content.decode()

    found = {url: leftovers(html, english, keys) for url, html in pages.items()}
    found = {url: bad for url, bad in found.items() if bad}
    assert not found, f"English or raw keys on Vietnamese pages: {found}"


def test_admin_headings_are_vietnamese_without_glued_english_plurals(client, django_user_model, vietnamese):
    """Every project model names itself in Vietnamese, singular and plural ("chiến dịch", never "chiến dịchs":
    Django adds an English "s" when no plural is given), and every app heading is translated."""
    from django.apps import apps
    from django.utils import translation

    project = [c for c in apps.get_app_configs() if Path(c.path).is_relative_to(settings.BASE_DIR)
               and ".venv" not in Path(c.path).parts]
    bad = []
    with translation.override("vi"):
        for config in project:
            for model in config.get_models():
                plural, singular = str(model._meta.verbose_name_plural), str(model._meta.verbose_name)
                english = model._meta.original_attrs.get("verbose_name_plural")
                if plural.endswith("s") or english is None or plural == english._args[0]:
                    bad.append(f"{config.label}.{model.__name__}: {singular} / {plural}")
            if list(config.get_models()) and not hasattr(config.verbose_name, "_args"):  # not marked for translation
                bad.append(f"app {config.label}: {config.verbose_name}")
    assert not bad, bad

    admin = django_user_model.objects.create_superuser("root@example.com", "root@example.com", "correct-horse-42")
    client.force_login(admin)
    html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Chiến dịch và hàng đợi" in html and "Chiến dịchs" not in html and "Nhãns" not in html
    assert not re.search(r"[à-ỹđ]s\b", html), re.findall(r"\w*[à-ỹđ]s\b", html)[:5]
