"""Races a contributor can cause with two tabs: double submission and double start of a qualification."""
import threading

import pytest
from django.db import connection

from contributors import services
from contributors.models import Qualification, QualificationAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def race(fn, n=2):
    """Run fn in n threads released together; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def qualification_test(db):
    return services.create_qualification_test(
        task_type="moderation", title="T", pass_mark=1.0, max_attempts=3, cooldown_minutes=0,
        items=[{"payload": {"text": f"câu {i}"}, "gold_answer": {"categories": ["safe"]}} for i in range(3)],
    )


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs row locks (PostgreSQL)")
def test_two_tabs_submitting_one_attempt_grade_it_once(make_contributor, qualification_test):
    user = make_contributor()
    attempt = services.start_qualification_attempt(user=user, task_type="moderation")
    answers = [{"categories": ["safe"]}] * 3
    results = race(lambda: services.submit_qualification_attempt(user=user, attempt_id=attempt.pk, answers=answers))
    graded = [r for r in results if isinstance(r, QualificationAttempt)]
    refused = [r for r in results if isinstance(r, services.ContributorError)]
    assert len(graded) == 1 and len(refused) == 1 and refused[0].code == "already_submitted"
    assert Qualification.objects.filter(profile__user=user).count() == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs row locks (PostgreSQL)")
def test_two_tabs_starting_a_test_share_one_attempt(make_contributor, qualification_test):
    user = make_contributor()
    results = race(lambda: services.start_qualification_attempt(user=user, task_type="moderation"), n=3)
    assert all(isinstance(r, QualificationAttempt) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert QualificationAttempt.objects.count() == 1
