"""CSRF, session fixation, log-in brute force, and API tokens at rest."""
import pytest
from django.test import Client
from django.urls import reverse

from organizations.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the shared cache: start each attack from a clean slate."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_session_api_refuses_state_change_without_csrf_token(make_campaign, make_contributor):
    campaign = make_campaign()
    user = make_contributor()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    res = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assert res.status_code == 403
    assert "CSRF" in res.json()["error"]["message"]
    assert not user.assignments.exists()


def test_login_form_refuses_post_without_csrf_token(make_contributor):
    user = make_contributor(password="correct-horse-42")
    client = Client(enforce_csrf_checks=True)
    res = client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-42"})
    assert res.status_code == 403
    assert "_auth_user_id" not in client.session


def test_session_key_rotates_at_login(client, make_contributor):
    user = make_contributor(password="correct-horse-42")
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    res = client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-42"})
    assert res.status_code == 302
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_brute_force_is_rate_limited(client, make_contributor):
    user = make_contributor(password="correct-horse-42")
    for i in range(6):
        client.post(reverse("account_login"), {"login": user.email, "password": f"wrong-{i}"})
    # Even the right password is refused while the limit holds, with allauth's rate-limit error.
    res = client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-42"})
    assert res.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    if res.status_code == 200:
        codes = [e.code for errors in res.context["form"].errors.as_data().values() for e in errors]
        assert "too_many_login_attempts" in codes


def test_api_tokens_are_hashed_at_rest(api_token, token_client):
    key = api_token()
    prefix, secret = key.split(".", 1)
    token = ApiToken.objects.get(prefix=prefix)
    assert secret not in token.key_hash and len(token.key_hash) == 64
    stored = str(list(ApiToken.objects.values_list()))
    assert secret not in stored
