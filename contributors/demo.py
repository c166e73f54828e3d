"""Demo qualification tests: one per task type that can be graded against gold (``TaskType.demo_qualification``)."""
from __future__ import annotations

from core.schema import SchemaError
from tasks.types import all_task_types

from .models import QualificationTest
from .services import create_qualification_test, ensure_profile, grant_qualification


def load_demo_qualifications(contributors) -> list[QualificationTest]:
    """Create a test per task type that offers one; the demo contributors are qualified.

    Called by web.demo.load_demo; safe to run again.
    """
    created = []
    for task in all_task_types():
        if QualificationTest.objects.filter(task_type=task.key).exists():
            continue
        spec = task.demo_qualification()
        if spec is None or not spec.items:
            continue
        gold = [{"payload": entry["payload"], "gold_answer": entry["gold_answer"]} for entry in spec.items]
        try:
            created.append(create_qualification_test(
                task_type=task.key, title=f"{task.label}: bài kiểm tra", items=gold, config=spec.config,
                pass_mark=1.0 if len(gold) < 3 else 0.8, max_attempts=3, cooldown_minutes=30,
                instructions=spec.instructions,
            ))
        except SchemaError as exc:
            # a demo whose gold does not fit its own schema is a bug in that type's package: say which
            raise SchemaError(f"{task.key}.{exc.field}", exc.message) from exc
    for user in contributors:
        profile = ensure_profile(user)
        for test in QualificationTest.objects.all():
            grant_qualification(profile=profile, task_type=test.task_type)
    return created
