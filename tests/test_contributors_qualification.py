"""Qualification tests through the page and the API: grading, retries, cool-down, double submission."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contributors import selectors, services
from contributors.models import Qualification, QualificationAttempt, QualificationTest
from core.schema import SchemaError
from web.contributors import selectors as page_selectors

pytestmark = pytest.mark.django_db

GOLD = [
    ({"text": "Chúc cả nhà cuối tuần vui vẻ!"}, "safe"),
    ({"text": "Nhận ngay 5 triệu, gửi mã OTP cho mình nhé."}, "spam"),
    ({"text": "Đồ ngu, cút khỏi đây."}, "harassment"),
]


@pytest.fixture
def moderation_test(db):
    return services.create_qualification_test(
        task_type="moderation", title="Kiểm duyệt: bài kiểm tra", pass_mark=0.66, max_attempts=2, cooldown_minutes=60,
        items=[{"payload": p, "gold_answer": {"categories": [c]}} for p, c in GOLD],
    )


def answers_for(attempt, *, wrong: int = 0) -> list[dict]:
    """Right answers in the attempt's (shuffled) order, the first ``wrong`` of them wrong."""
    by_text = {p["text"]: c for p, c in GOLD}
    items = {i.pk: i for i in attempt.test.items.all()}
    out = []
    for n, item_id in enumerate(attempt.item_ids):
        right = by_text[items[item_id].payload["text"]]
        out.append({"categories": ["violence" if n < wrong else right]})
    return out


def start(client, task_type="moderation"):
    return client.post(reverse("api-qualification-start", args=[task_type]), content_type="application/json")


def submit(client, attempt_id, answers):
    return client.post(reverse("api-qualification-submit", args=[attempt_id]), {"answers": answers},
                       content_type="application/json")


def test_creating_a_test_validates_every_item_and_stores_nothing_on_error():
    with pytest.raises(SchemaError) as err:
        services.create_qualification_test(task_type="moderation", title="x", items=[
            {"payload": {"text": "ok"}, "gold_answer": {"categories": ["safe"]}},
            {"payload": {"text": "ok"}, "gold_answer": {"categories": ["no-such-category"]}},
        ])
    assert err.value.field.startswith("items[1]")
    assert not QualificationTest.objects.exists()


def test_fail_then_cooldown_then_pass_unlocks_level_3_and_the_campaign(
    make_contributor, make_campaign, moderation_test, client
):
    campaign = make_campaign(requires_qualification=True)
    user = make_contributor()
    client.force_login(user)
    assert page_selectors.campaign_blocker(user, campaign)["code"] == "qualification"
    response = start(client)
    assert response.status_code == 201
    body = response.json()
    assert len(body["items"]) == 3 and body["number"] == 1
    assert "gold" not in response.content.decode() and "harassment" not in response.content.decode()
    attempt = QualificationAttempt.objects.get(pk=body["id"])
    # Starting again resumes the open attempt rather than opening a second one.
    assert start(client).json()["id"] == attempt.pk
    failed = submit(client, attempt.pk, answers_for(attempt, wrong=2))
    assert failed.status_code == 200
    assert failed.json()["state"] == "failed" and failed.json()["correct"] == 1
    assert failed.json()["score"] == pytest.approx(1 / 3)
    assert not Qualification.objects.exists()
    # Cool-down: a retry right away is refused with the waiting time.
    refused = start(client)
    assert refused.status_code == 429 and "minutes" in refused.json()["error"]["message"]
    QualificationAttempt.objects.filter(pk=attempt.pk).update(submitted_at=attempt.started_at - timedelta(hours=2))
    second = start(client).json()
    assert second["number"] == 2
    attempt2 = QualificationAttempt.objects.get(pk=second["id"])
    passed = submit(client, attempt2.pk, answers_for(attempt2, wrong=1))
    assert passed.json()["state"] == "passed" and passed.json()["score"] == pytest.approx(2 / 3)
    qualification = Qualification.objects.get(profile__user=user, task_type="moderation")
    assert qualification.attempt_id == attempt2.pk
    fresh = get_user_model().objects.get(pk=user.pk)
    assert selectors.is_qualified(fresh, "moderation") and selectors.verification_level(fresh) == 3
    assert page_selectors.campaign_blocker(fresh, campaign) is None
    assert client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]
    assert start(client).json()["error"]["code"] == "qualified"


def test_submitting_twice_is_refused_and_changes_nothing(make_contributor, moderation_test, client):
    client.force_login(make_contributor())
    attempt_id = start(client).json()["id"]
    attempt = QualificationAttempt.objects.get(pk=attempt_id)
    first = submit(client, attempt_id, answers_for(attempt))
    assert first.json()["state"] == "passed"
    again = submit(client, attempt_id, answers_for(attempt, wrong=3))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_submitted" and "already submitted" in again.json()["error"]["message"]
    attempt.refresh_from_db()
    assert attempt.state == "passed" and attempt.correct == 3


def test_invalid_answers_name_the_question_and_leave_the_attempt_open(make_contributor, moderation_test, client):
    client.force_login(make_contributor())
    attempt_id = start(client).json()["id"]
    attempt = QualificationAttempt.objects.get(pk=attempt_id)
    answers = answers_for(attempt)
    answers[1] = {"categories": ["not-a-category"]}
    bad = submit(client, attempt_id, answers)
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["field"].startswith("answers[1]") and error["message"].startswith("Question 2")
    short = submit(client, attempt_id, answers[:2])
    assert short.status_code == 400 and short.json()["error"]["field"] == "answers"
    not_list = client.post(reverse("api-qualification-submit", args=[attempt_id]), {"answers": "x"},
                           content_type="application/json")
    assert not_list.status_code == 400
    attempt.refresh_from_db()
    assert attempt.state == "open" and attempt.answers == [] and attempt.score is None


def test_attempts_are_limited_and_private(make_contributor, moderation_test, client):
    owner, other = make_contributor(), make_contributor()
    client.force_login(owner)
    for _ in range(2):
        attempt = QualificationAttempt.objects.get(pk=start(client).json()["id"])
        submit(client, attempt.pk, answers_for(attempt, wrong=3))
        QualificationAttempt.objects.filter(pk=attempt.pk).update(submitted_at=attempt.started_at - timedelta(days=1))
    refused = start(client)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_attempts"
    client.force_login(other)
    assert submit(client, attempt.pk, answers_for(attempt)).status_code == 404
    assert start(client, "no-such-type").status_code == 404


def test_incomplete_profiles_and_suspended_contributors_cannot_start(make_contributor, moderation_test, client):
    user = make_contributor()
    services.change_status(profile=user.contributor, status="suspended", reason="Kiểm tra gian lận")
    client.force_login(user)
    refused = start(client)
    assert refused.status_code == 403 and "Kiểm tra gian lận" in refused.json()["error"]["message"]
    from allauth.account.models import EmailAddress

    newcomer = get_user_model().objects.create_user("n@example.com", "n@example.com", "x-long-password-1")
    EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True, primary=True)
    client.force_login(newcomer)
    assert start(client).json()["error"]["code"] == "verification"


def test_the_page_shows_state_and_the_task_type_partial(make_contributor, moderation_test, client):
    client.force_login(make_contributor())
    url = reverse("contributor-qualification", args=["moderation"])
    page = client.get(url).content.decode()
    assert 'id="q-start"' in page and "qualification-config" not in page
    assert client.post(url).status_code == 302
    page = client.get(url).content.decode()
    assert 'id="qualification-config"' in page and 'data-role="categories"' in page
    assert "task_types/moderation/moderation.js" in page and "contributors/qualification.js" in page
    assert "harassment\"]" not in page  # gold answers are not in the page config
    listing = client.get(reverse("contributor-qualifications")).content.decode()
    assert "Kiểm duyệt: bài kiểm tra" in listing


def test_admin_validates_items_against_the_task_type(client):
    staff = get_user_model().objects.create_superuser("pm@example.com", "pm@example.com", "x-long-password-1")
    client.force_login(staff)
    data = {
        "task_type": "moderation", "title": "T", "instructions": "", "config": "{}", "pass_mark": "0.8",
        "max_attempts": "3", "cooldown_minutes": "10", "is_active": "on",
        "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "items-0-position": "0", "items-0-payload": '{"text": "xin chào"}', "items-0-gold_answer": '{"categories": ["nope"]}',
    }
    response = client.post(reverse("admin:contributors_qualificationtest_add"), data)
    assert response.status_code == 200 and "Question 1" in response.content.decode()
    assert not QualificationTest.objects.exists()
    data["items-0-gold_answer"] = '{"categories": ["safe"]}'
    assert client.post(reverse("admin:contributors_qualificationtest_add"), data).status_code == 302
    test = QualificationTest.objects.get()
    assert test.config["categories"] and test.items.get().gold_answer == {"categories": ["safe"]}


def test_demo_loader_creates_tests_and_qualifies_demo_contributors():
    from web.demo import load_demo

    result = load_demo()
    assert QualificationTest.objects.filter(task_type="moderation").exists()
    for user in result["contributors"]:
        assert selectors.is_qualified(user, "moderation")
    load_demo()  # idempotent
    assert QualificationTest.objects.filter(task_type="moderation").count() == 1


def test_every_demo_qualification_shows_the_same_controls_as_the_labelling_page(make_contributor, client):
    """A test's page includes the type's template with the test's config, exactly as a campaign of that config
    would: a template reading ``campaign.config`` (RLHF's mode, SFT's mode) must not come out empty."""
    from django.template.loader import render_to_string

    from contributors.demo import load_demo_qualifications
    from tasks.models import Campaign
    from tasks.types import get_task_type

    user = make_contributor()
    load_demo_qualifications([])
    client.force_login(user)
    tests = list(QualificationTest.objects.all())
    assert {"rlhf", "moderation"} <= {t.task_type for t in tests}
    for test in tests:
        services.start_qualification_attempt(user=user, task_type=test.task_type)
        html = client.get(reverse("contributor-qualification", args=[test.task_type])).content.decode()
        task = get_task_type(test.task_type)
        campaign = Campaign(task_type=test.task_type, config=test.config, name="x")  # unsaved: the labelling context
        expected = render_to_string(task.template, {"campaign": campaign})
        assert expected.strip() and expected in html, test.task_type
        if test.task_type == "rlhf":  # the defect: no answer controls at all
            assert 'name="choice" value="A"' in html
