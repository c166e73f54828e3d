"""A template loader for the page partials kept in the task-type package folders.

"task_types/<folder>/<file>.html" is read from that folder, so a type's template lives beside its code.
"""
from __future__ import annotations

from django.template import Origin
from django.template.loaders.filesystem import Loader as FilesystemLoader

from .discovery import folder_file

TEMPLATE_SUFFIXES = frozenset({".html", ".txt"})


class Loader(FilesystemLoader):
    def get_template_sources(self, template_name):
        path = folder_file(template_name, TEMPLATE_SUFFIXES)
        if path is not None:
            yield Origin(name=str(path), template_name=template_name, loader=self)
