"""Survey forms (XLSForm or JSON): conversion (xlsform.py), the XPath-subset evaluator (xpath.py and its
page copy xpath.js), answer validation (form.py), the task type (task.py), wide exports (export.py)."""
from .task import Survey

task_type = Survey()
