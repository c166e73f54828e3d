"""Set-up the database benches share: create their PostgreSQL database, point Django at it.

A bench imports this as ``_setup`` when run as a script (``bench/`` is ``sys.path[0]``) and as
``bench._setup`` when the tests import it as ``bench.<name>``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the database named in ``url`` unless it exists; ``fresh`` drops it first."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str, **env: str) -> None:
    """Set Django up on ``url`` with no Redis (local-memory cache); ``env`` sets further variables first."""
    os.environ["DATABASE_URL"] = url
    # Production settings refuse to start without a secret; a bench on its own database uses its own.
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 48)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
