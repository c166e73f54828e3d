"""A staticfiles finder for the scripts, styles and images kept in the task-type package folders.

"task_types/<folder>/<file>" is served from that folder (collectstatic copies it under the same name).
Only asset suffixes are served, so a package's Python code and templates never become public files.
"""
from __future__ import annotations

from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.utils import get_files
from django.core.files.storage import FileSystemStorage

from .discovery import URL_PREFIX, folder_file, type_folders

STATIC_SUFFIXES = frozenset({".js", ".css", ".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".woff", ".woff2",
                             ".map"})


class _AssetStorage(FileSystemStorage):
    """One folder's files, listing only asset suffixes (collectstatic walks what ``listdir`` returns)."""

    def listdir(self, path):
        dirs, files = super().listdir(path)
        dirs = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        return dirs, [f for f in files if any(f.lower().endswith(s) for s in STATIC_SUFFIXES)]


class Finder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)  # Django < 6.1 still passes ``all``
        found = folder_file(path, STATIC_SUFFIXES)
        if found is None:
            return []  # what Django's own finders answer for "not here", in both modes
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns):
        for name, folder in type_folders().items():
            storage = _AssetStorage(location=str(folder))
            storage.prefix = f"{URL_PREFIX}/{name}"
            for path in get_files(storage, ignore_patterns):
                yield path, storage
