"""Celery tasks of the tasks app (queue ``default``): the item import. The queue's sweep is workqueue.tasks."""
from .import_jobs import run_import_job_task  # noqa: F401  (registers the item-import job with the worker)
