"""Throughput of authenticity scoring through the database: answers scored per second, per-answer latency,
and how the near-duplicate lookup scales with the campaign's size; plus the dataset report's time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotate_bench .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python bench/authenticity_throughput.py --answers 5000 --references 500

Creates a throw-away organisation (deleted at the end) with one free-text campaign; answers are drawn from
tests/data/authenticity/ (each one stitched from parts of three texts, so that answers share phrases the way
real answers to similar prompts do, without being copies).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _compose(pool: list[str], rng: random.Random) -> str:
    """A distinct answer: halves of three texts of the pool, so answers share phrases but are not copies."""
    parts = []
    for text in rng.sample(pool, 3):
        words = text.split()
        cut = rng.randint(len(words) // 3, max(len(words) // 3 + 1, 2 * len(words) // 3))
        parts.append(" ".join(words[:cut] if rng.random() < 0.5 else words[cut:]))
    return " ".join(parts)


def _setup(answers: int, references: int, rng: random.Random):
    from datetime import timedelta

    from authenticity_eval import compose, load_texts, pasted
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotations.models import Annotation
    from authenticity import services
    from contributors.models import ContributorProfile
    from organizations.models import Organization
    from tasks.models import Assignment, Campaign, Item

    texts = load_texts()
    human = texts["human_vi"] + texts["human_en"]
    llm = texts["llm_vi"] + texts["llm_en"]
    org = Organization.objects.create(name="bench authenticity", slug=f"bench-auth-{time.time_ns()}")
    campaign = Campaign.objects.create(organization=org, name="bench", task_type="moderation", status="active")
    users = []
    for i in range(20):
        email = f"bench-{time.time_ns()}-{i}@example.com"
        user = get_user_model().objects.create_user(username=email, email=email)
        ContributorProfile.objects.create(user=user, region=["north", "central", "south"][i % 3])
        users.append(user)
    items = Item.objects.bulk_create(
        Item(campaign=campaign, payload={"text": f"prompt {i}"}, target_overlap=1, open_slots=0, done_count=1)
        for i in range(answers)
    )
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(item=item, campaign=campaign, contributor=users[i % len(users)], state="submitted",
                   expires_at=now + timedelta(minutes=10))
        for i, item in enumerate(items)
    )
    rows = []
    for item, assignment in zip(items, assignments, strict=True):
        is_llm = rng.random() < 0.3
        body = _compose(llm if is_llm else human, rng)
        trace = pasted(body, rng) if is_llm else compose(body, rng)  # edit logs as the page records them
        rows.append(Annotation(assignment=assignment, item=item, campaign=campaign, contributor=assignment.contributor,
                               payload={"response": body}, telemetry=trace))
    # bulk_create sends no post_save, so nothing is enqueued: the bench scores the answers itself below.
    annotations = Annotation.objects.bulk_create(rows, batch_size=1000)
    if references:
        entries = [{"text": rng.choice(llm) + f" [{i}]"} for i in range(references)]
        services.add_reference_texts(campaign=campaign, entries=entries, rescore=False)
    return org, campaign, [a.pk for a in annotations]


def run(answers: int = 2000, references: int = 200, seed: int = 3) -> dict:
    from authenticity.selectors import dataset_report
    from authenticity.services import score_annotation

    rng = random.Random(seed)
    started = time.perf_counter()
    org, campaign, ids = _setup(answers, references, rng)
    setup_s = time.perf_counter() - started
    latencies = []
    flagged = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for annotation_id in ids:
        t = time.perf_counter()
        record = score_annotation(annotation_id)
        latencies.append((time.perf_counter() - t) * 1000)
        flagged += int(record.flagged)
    total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    first, last = latencies[: max(1, len(ids) // 10)], latencies[-max(1, len(ids) // 10):]
    t = time.perf_counter()
    report = dataset_report(campaign)
    report_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    dataset_report(campaign)  # the lexical block now comes from the cache
    cached_ms = (time.perf_counter() - t) * 1000
    result = {
        "scored": len(ids),
        "flagged": flagged,
        "references": references,
        "answers_per_second": round(len(ids) / total, 1),
        "cpu_ms_per_answer": round(cpu * 1000 / len(ids), 2),
        "load_average": round(os.getloadavg()[0], 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95) - 1 if len(latencies) > 1 else 0], 2),
        "first_tenth_mean_ms": round(statistics.fmean(first), 2),
        "last_tenth_mean_ms": round(statistics.fmean(last), 2),
        "dataset_report_ms": round(report_ms, 1),
        "dataset_report_cached_ms": round(cached_ms, 1),
        "setup_s": round(setup_s, 1),
    }
    assert report["scored_free_text"] == len(ids)
    org.delete()
    print(f"scored {result['scored']} answers ({result['flagged']} flagged, {references} reference texts): "
          f"{result['answers_per_second']} answers/s on one process, p50 {result['p50_ms']} ms, "
          f"p95 {result['p95_ms']} ms; {result['cpu_ms_per_answer']} ms of this process's CPU per answer "
          f"(the rest is PostgreSQL round trips); load average {result['load_average']}")
    print(f"near-duplicate lookup as the campaign grows: first tenth {result['first_tenth_mean_ms']} ms, "
          f"last tenth {result['last_tenth_mean_ms']} ms per answer")
    print(f"dataset report: {result['dataset_report_ms']} ms, then {result['dataset_report_cached_ms']} ms "
          f"with its lexical block cached")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--references", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    run(args.answers, args.references)


if __name__ == "__main__":
    main()
