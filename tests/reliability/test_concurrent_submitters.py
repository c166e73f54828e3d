"""200 concurrent contributors over HTTP against a real gunicorn: nothing lost, nothing twice.

Every acknowledged submission is stored exactly once, overlap is never exceeded, and a submission
whose response was dropped (connection closed before reading it) is retried with the same
Idempotency-Key and answered with the first result.
"""
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from annotations.models import Annotation
from tasks.models import Assignment, Item
from tests.helpers import bulk_contributors, database_url, gunicorn, http_call

N_CONTRIBUTORS = 200
N_ITEMS, OVERLAP = 120, 3

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is proven on PostgreSQL"),
]


def test_200_concurrent_submitters_store_each_acknowledged_answer_exactly_once(make_campaign, celery_worker_process):
    campaign = make_campaign(
        items=[{"payload": {"text": f"Bình luận {i}"}} for i in range(N_ITEMS)], overlap=OVERLAP, max_overlap=OVERLAP
    )
    sessions = [session for _user, session in bulk_contributors(N_CONTRIBUTORS)]
    acked: list[int] = []
    replays: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(N_CONTRIBUTORS)

    def contributor(port: int, index: int, session: str):
        try:
            start.wait(timeout=60)
            for round_ in range(2):
                status, body = http_call(port, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session=session)
                if status != 200:
                    raise AssertionError(f"next: {status} {body}")
                assignment = body["assignment"]
                if assignment is None:
                    return
                path = f"/api/v1/assignments/{assignment['id']}/submit/"
                payload = {"payload": {"categories": ["safe" if index % 3 else "spam"]}, "time_spent_ms": 1000}
                headers = {"Idempotency-Key": f"{session[:8]}-{round_}"}
                if index % 10 == 0:
                    http_call(port, "POST", path, session=session, body=payload, headers=headers, drop_response=True)
                    time.sleep(0.05)
                status, body = http_call(port, "POST", path, session=session, body=payload, headers=headers)
                if status not in (200, 201):
                    raise AssertionError(f"submit: {status} {body}")
                with lock:
                    acked.append(body["annotation_id"])
                    if index % 10 == 0:
                        replays.append(status)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            with lock:
                errors.append(f"{index}: {exc!r}")

    with gunicorn({"DATABASE_URL": database_url(connection.settings_dict)}, workers=4, threads=8,
                  log_name="gunicorn-load.log") as port:
        threads = [threading.Thread(target=contributor, args=(port, i, s)) for i, s in enumerate(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors[:5]
    assert len(acked) == N_ITEMS * OVERLAP  # the other requests were told there is no work
    stored = set(Annotation.objects.filter(campaign=campaign).values_list("id", flat=True))
    counts = Counter(acked)
    assert set(counts) == stored  # every acknowledged answer is stored, nothing unacknowledged
    assert all(n == 1 for n in counts.values())  # and each exactly once
    assert Assignment.objects.filter(campaign=campaign, state="submitted").count() == N_ITEMS * OVERLAP
    for item in Item.objects.filter(campaign=campaign):
        assert item.done_count == Annotation.objects.filter(item=item).count() <= item.target_overlap
        assert item.leased_count == 0
    pairs = list(Annotation.objects.filter(campaign=campaign).values_list("item_id", "contributor_id"))
    assert len(set(pairs)) == len(pairs)  # nobody answered an item twice
    assert replays and all(status in (200, 201) for status in replays)
