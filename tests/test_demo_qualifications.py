"""Issue 20: every demo task type that can be graded against gold has a qualification test, its gold fits the
type's own schema, the qualification page renders the type's controls, and the gold answers pass through the
API. Recording and field-visit types declare that they have none (what they grade is done on the spot)."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from contributors.demo import load_demo_qualifications
from contributors.models import QualificationAttempt, QualificationTest
from contributors.services import create_qualification_test
from tasks.types import all_task_types, get_task_type

NO_TEST = {"speech_recording", "field_visit"}  # their demo_qualification returns None, with the reason why


def raw_gold(task_type: str) -> list:
    """The gold answers as the page would send them (the stored ones are the type's cleaned form)."""
    return [entry["gold_answer"] for entry in get_task_type(task_type).demo_qualification().items]


def one_demo_test(task_type: str) -> QualificationTest:
    """The demo loader's test for one type, without building every other type's demo."""
    spec = get_task_type(task_type).demo_qualification()
    return create_qualification_test(task_type=task_type, title=task_type, config=spec.config,
                                     items=[{"payload": e["payload"], "gold_answer": e["gold_answer"]}
                                            for e in spec.items])


@pytest.fixture
def demo_tests(db):
    load_demo_qualifications([])
    return {t.task_type: t for t in QualificationTest.objects.prefetch_related("items")}


def test_every_demo_task_type_has_a_qualification_test(demo_tests):
    keys = {task.key for task in all_task_types() if list(task.demo())}
    assert NO_TEST <= keys
    assert set(demo_tests) == keys - NO_TEST, sorted(keys - NO_TEST - set(demo_tests))
    for key in NO_TEST:
        assert get_task_type(key).demo_qualification() is None
    for test in demo_tests.values():
        assert test.items.count() >= 1 and test.pass_mark > 0


@pytest.mark.parametrize("task_type", sorted(t.key for t in all_task_types() if t.key not in NO_TEST))
def test_the_page_renders_the_type_and_gold_answers_pass(db, make_contributor, task_type):
    test = one_demo_test(task_type)
    user = make_contributor()
    client = Client()
    client.force_login(user)
    client.post(reverse("contributor-qualification", args=[task_type]))
    attempt = QualificationAttempt.objects.get(profile__user=user, test=test)
    page = client.get(reverse("contributor-qualification", args=[task_type])).content.decode()
    assert f'data-task-type="{task_type}"' in page and 'id="qualification-config"' in page
    for script in test.task.scripts:
        assert script.rsplit("/", 1)[-1] in page  # the type's own widget script is loaded

    # shown in the original order (a shuffled view would need the page to map positions: the browser test does)
    attempt.views = [{}] * len(attempt.item_ids)
    attempt.save(update_fields=["views"])
    gold = raw_gold(task_type)
    positions = dict(test.items.values_list("pk", "position"))
    answers = [gold[positions[item_id]] for item_id in attempt.item_ids]
    response = client.post(reverse("api-qualification-submit", args=[attempt.pk]), {"answers": answers},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    attempt.refresh_from_db()
    assert attempt.state == QualificationAttempt.State.PASSED, (attempt.correct, attempt.total)


def test_a_wrong_answer_fails_where_gold_is_strict(db, make_contributor):
    """The gold is not a rubber stamp: the hallucination test fails an answer that calls every claim supported."""
    one_demo_test("hallucination")
    user = make_contributor()
    client = Client()
    client.force_login(user)
    client.post(reverse("contributor-qualification", args=["hallucination"]))
    attempt = QualificationAttempt.objects.get(profile__user=user)
    gold = raw_gold("hallucination")[0]
    url = gold["claims"][0]["evidence_url"]
    wrong = {"claims": [{"verdict": "supported", "evidence_url": url, "quote": "vịnh Bắc Bộ, tỉnh Quảng Ninh"}
                        for _claim in gold["claims"]], "overall": "accurate", "severity": "none"}
    client.post(reverse("api-qualification-submit", args=[attempt.pk]), {"answers": [wrong]},
                content_type="application/json")
    attempt.refresh_from_db()
    assert attempt.state == QualificationAttempt.State.FAILED


def test_media_of_a_qualification_question_is_signed_for_its_own_attempt_only(db, make_contributor):
    """Media types fetch their file per question (a test has no assignment); only the attempt's owner gets it."""
    one_demo_test("speech_validation")
    user, other = make_contributor(), make_contributor()
    client, stranger = Client(), Client()
    client.force_login(user)
    stranger.force_login(other)
    client.post(reverse("contributor-qualification", args=["speech_validation"]))
    attempt = QualificationAttempt.objects.get(profile__user=user)
    url = reverse("contributor-qualification-media", args=[attempt.pk, 1])
    page = client.get(reverse("contributor-qualification", args=["speech_validation"])).content.decode()
    assert reverse("contributor-qualification-media", args=[attempt.pk, 0]) in page
    media = client.get(url).json()["media"]
    assert set(media) == {"audio"} and media["audio"].startswith("/")
    assert client.get(media["audio"]).status_code == 200
    assert stranger.get(url).status_code == 404
    assert client.get(reverse("contributor-qualification-media", args=[attempt.pk, 99])).status_code == 404
    client.post(reverse("api-qualification-submit", args=[attempt.pk]),
                {"answers": [{"verdict": "unclear"}] * len(attempt.item_ids)}, content_type="application/json")
    assert client.get(url).status_code == 404  # a submitted attempt's media is no longer served
