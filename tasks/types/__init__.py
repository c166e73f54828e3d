"""Registry of task types. Adding a type = one module here + its template and script."""
from .base import Aggregate, DemoCampaign, SchemaError, TaskType

_REGISTRY: dict[str, TaskType] = {}


def register(task_type: TaskType) -> TaskType:
    _REGISTRY[task_type.key] = task_type
    return task_type


def get_task_type(key: str) -> TaskType:
    try:
        return _REGISTRY[key]
    except KeyError as exc:
        raise SchemaError("task_type", f"Unknown task type {key!r}.") from exc


def all_task_types() -> list[TaskType]:
    return list(_REGISTRY.values())


def task_type_choices() -> list[tuple[str, str]]:
    return [(t.key, str(t.label)) for t in _REGISTRY.values()]


from . import moderation  # noqa: E402,F401,I001  (each module registers itself)
from . import rlhf  # noqa: E402,F401,I001
from . import hallucination  # noqa: E402,F401,I001
from . import sft  # noqa: E402,F401,I001
from . import ocr  # noqa: E402,F401,I001
from . import speech  # noqa: E402,F401,I001  (recording, validation, transcription)

__all__ = ["Aggregate", "DemoCampaign", "SchemaError", "TaskType", "all_task_types", "get_task_type", "register"]
