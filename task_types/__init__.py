"""The task types, one package per type key (``task_types/<key>/``), found by discovery.

Each package holds its TaskType subclass (``task.py``, exported as ``task_type`` from ``__init__.py``),
its export layouts, demo content, page partial, script and styles. ``apps.TaskTypesConfig.ready()``
registers every package that exports ``task_type``; packages without one (``media_common``,
``speech_common``) hold what several types share. See docs/architecture.md, "Adding a task type".
"""
