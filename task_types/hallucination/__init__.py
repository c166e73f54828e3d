"""Hallucination audit: the type (task.py), its export layout, page partial, script."""
from .task import HallucinationAudit

task_type = HallucinationAudit()
