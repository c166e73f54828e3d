"""One brute-force limit for every log-in form (issue 18): /admin/login/ took 40 wrong passwords, then the right one.

The limit is per (IP, account) and per IP, in a bounded window: the owner, elsewhere or after the window,
still signs in.
"""
import time

import pytest
from django.test import Client
from django.urls import reverse

from organizations.models import Membership
from tests.test_admin_console import make_member

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    from django.core.cache import cache

    # Fast hashing, so forty attempts fit well inside a short window (the window starts at the first failure).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    cache.clear()
    yield
    cache.clear()


def admin_login(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                 "next": reverse("admin:index")}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_is_limited_and_the_owner_signs_in_elsewhere_and_after_the_window(org, settings):
    owner = make_member(org, Membership.Role.MANAGER)
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 4
    attacker = Client()
    admin_login(attacker, owner.email, "wrong")
    first_failure = time.monotonic()  # the window started before this
    for i in range(39):
        admin_login(attacker, owner.email, f"wrong-{i}")
    res = admin_login(attacker, owner.email, PASSWORD)
    assert time.monotonic() - first_failure < 3.5, "too slow to test the window"
    assert res.status_code == 200 and not signed_in(attacker)
    # Knowing the address locked only the attacker's own (IP, account): the owner signs in from elsewhere.
    elsewhere = Client()
    assert admin_login(elsewhere, owner.email, PASSWORD, ip="198.51.100.20").status_code == 302
    assert signed_in(elsewhere)
    # And the window is bounded: after it, the right password works from the same address too.
    time.sleep(max(0.0, 4.3 - (time.monotonic() - first_failure)))
    assert admin_login(attacker, owner.email, PASSWORD).status_code == 302
    assert signed_in(attacker)


def test_per_ip_limit_across_accounts(org, settings):
    settings.LOGIN_FAILURES_PER_IP = 8
    members = [make_member(org, Membership.Role.MANAGER, email=f"m{i}@example.com") for i in range(5)]
    client = Client()
    for i in range(8):  # spread over accounts, under the per-account limit for each
        admin_login(client, members[i % 4].email, "wrong")
    res = admin_login(client, members[4].email, PASSWORD)
    assert res.status_code == 200 and not signed_in(client)
    other_ip = Client()
    assert admin_login(other_ip, members[4].email, PASSWORD, ip="198.51.100.21").status_code == 302


def test_admin_and_allauth_forms_share_the_limit(org, make_contributor):
    user = make_contributor(password=PASSWORD)
    client = Client()
    for i in range(5):
        admin_login(client, user.email, f"wrong-{i}")
    res = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD},
                      REMOTE_ADDR="203.0.113.7")
    assert res.status_code in (200, 429) and not signed_in(client)
    other = Client()
    other.post(reverse("account_login"), {"login": user.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.22")
    assert signed_in(other)
