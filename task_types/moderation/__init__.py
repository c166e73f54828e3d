"""Content moderation: the type (task.py), its export layout, page partial, script."""
from .task import Moderation

task_type = Moderation()
