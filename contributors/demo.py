"""Demo qualification tests: one per task type, from the gold items of its demo campaigns."""
from __future__ import annotations

from core.schema import SchemaError
from tasks.types import all_task_types

from .models import QualificationTest
from .services import create_qualification_test, ensure_profile, grant_qualification


def load_demo_qualifications(contributors) -> list[QualificationTest]:
    """Create a test per task type that has demo gold items; the demo contributors are qualified.

    Called by web.demo.load_demo; safe to run again.
    """
    created = []
    for task in all_task_types():
        if QualificationTest.objects.filter(task_type=task.key).exists():
            continue
        gold = [
            {"payload": entry["payload"], "gold_answer": entry["gold_answer"]}
            for spec in task.demo() for entry in spec.items if entry.get("gold_answer") is not None
        ]
        specs = task.demo()
        if not gold or not specs:
            continue
        try:
            created.append(create_qualification_test(
                task_type=task.key, title=f"{task.label}: bài kiểm tra", items=gold, config=specs[0].config,
                pass_mark=1.0 if len(gold) < 3 else 0.8, max_attempts=3, cooldown_minutes=30,
                instructions=specs[0].instructions,
            ))
        except SchemaError:
            continue  # a type whose demo gold does not fit its own schema gets no demo test
    for user in contributors:
        profile = ensure_profile(user)
        for test in QualificationTest.objects.all():
            grant_qualification(profile=profile, task_type=test.task_type)
    return created
