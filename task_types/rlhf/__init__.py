"""RLHF preference: the type (task.py), its DPO and reward export layouts, page partial, script."""
from .task import RLHFPreference

task_type = RLHFPreference()
