"""SFT writing: the type (task.py), its chat-format export layout, page partial, script."""
from .task import SFT

task_type = SFT()
