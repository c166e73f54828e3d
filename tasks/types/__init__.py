"""Registry of task types: the queue, pages, import, API, consensus and export look a type up by key here.

The types themselves live in packages (``task_types/<key>/`` and any package named in the
``TASK_TYPE_PACKAGES`` setting); ``task_types.apps.TaskTypesConfig.ready()`` discovers them and calls
``register``. This registry sits in the tasks layer so every app above it can look types up without
importing the packages. See docs/architecture.md, "Adding a task type".
"""
from .base import Aggregate, DemoCampaign, SchemaError, TaskType

_REGISTRY: dict[str, TaskType] = {}


def register(task_type: TaskType) -> TaskType:
    """Add a type; registering a second, different type under a key already taken is an error."""
    current = _REGISTRY.get(task_type.key)
    if not task_type.key:
        raise ValueError(f"{type(task_type).__name__} has no key.")
    if current is not None and type(current) is not type(task_type):
        raise ValueError(f"Task type key {task_type.key!r} is taken by {type(current).__module__}.")
    _REGISTRY[task_type.key] = task_type
    return task_type


def unregister(key: str) -> None:
    """Remove a type (tests that add a fixture type take it out again)."""
    _REGISTRY.pop(key, None)


def get_task_type(key: str) -> TaskType:
    try:
        return _REGISTRY[key]
    except KeyError as exc:
        raise SchemaError("task_type", f"Unknown task type {key!r}.") from exc


def all_task_types() -> list[TaskType]:
    return list(_REGISTRY.values())


def task_type_choices() -> list[tuple[str, str]]:
    return [(t.key, str(t.label)) for t in _REGISTRY.values()]


__all__ = ["Aggregate", "DemoCampaign", "SchemaError", "TaskType", "all_task_types", "get_task_type", "register",
           "task_type_choices", "unregister"]
