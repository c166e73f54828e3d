"""Finding the task-type packages: registration, and the folders their templates and static files live in.

The roots are the packages named in the ``TASK_TYPE_PACKAGES`` setting (default ``["task_types"]``).
Every subpackage of a root is a folder; a folder whose ``__init__`` exports ``task_type`` (a TaskType
instance) is a type and is registered. Templates and static files of a folder are named
``task_types/<folder>/<file>`` whatever the root, so a page never needs to know where a type came from.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from tasks.types import TaskType, register, unregister

URL_PREFIX = "task_types"  # template and static names: "task_types/<folder>/<file>"
DEFAULT_PACKAGES = ["task_types"]


def type_roots() -> list[str]:
    return list(getattr(settings, "TASK_TYPE_PACKAGES", DEFAULT_PACKAGES))


def type_folders() -> dict[str, Path]:
    """Every type package folder by name, across the roots (the first root wins a name)."""
    return _folders(tuple(type_roots()))


@lru_cache(maxsize=8)
def _folders(roots: tuple[str, ...]) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for root in roots:
        package = importlib.import_module(root)
        for info in pkgutil.iter_modules(package.__path__):
            if info.ispkg and not info.name.startswith("_"):
                folders.setdefault(info.name, Path(info.module_finder.path) / info.name)
    return folders


_discovered: set[str] = set()  # keys registered by discovery (types registered by hand are left alone)


def discover() -> list[TaskType]:
    """Import every folder of every root and register the types they export.

    Run again when TASK_TYPE_PACKAGES changes (apps.py): types of a root no longer listed are unregistered.
    """
    found = []
    for root in type_roots():
        package = importlib.import_module(root)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if not info.ispkg or info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{root}.{info.name}")
            task_type = getattr(module, "task_type", None)
            if isinstance(task_type, TaskType):
                found.append(register(task_type))
    keys = {t.key for t in found}
    for key in _discovered - keys:
        unregister(key)
    _discovered.clear()
    _discovered.update(keys)
    return found


def folder_file(name: str, suffixes: frozenset[str]) -> Path | None:
    """The file behind "task_types/<folder>/<path>" when its suffix is one of ``suffixes``, else None."""
    parts = name.replace("\\", "/").split("/")
    if len(parts) < 3 or parts[0] != URL_PREFIX or any(p in ("", ".", "..") for p in parts[1:]):
        return None
    folder = type_folders().get(parts[1])
    if folder is None:
        return None
    path = folder.joinpath(*parts[2:])
    if path.suffix.lower() not in suffixes or not path.is_file():
        return None
    return path
