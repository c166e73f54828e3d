"""The Django project package.

Named ``config`` (not ``platform``) because a top-level package called ``platform`` would
shadow the standard library module of that name and break ``import uuid``.
"""
from .celery_app import app as celery_app

__all__ = ["celery_app"]
