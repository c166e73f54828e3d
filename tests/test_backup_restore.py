"""Backup -> restore -> the same data (issue 21): platform/backup.sh and platform/restore.sh on PostgreSQL.

A campaign with answers, consensus and a built export archive is backed up, restored into a fresh database and
a fresh media folder, and a Django process on the restored copy serves the same campaign, answers, consensus
and export download (byte for byte) as a process on the original.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import psycopg
import pytest
from django.db import connection

from tests.api_data import answer_items
from tests.helpers import ROOT, database_url

pytestmark = [pytest.mark.django_db(transaction=True)]

SERVE = """
import hashlib, json
from django.test import Client
h = {"HTTP_AUTHORIZATION": "Token " + KEY}
c = Client()
out = {"campaign": c.get(f"/api/v1/campaigns/{CID}/", **h).json(),
       "annotations": c.get(f"/api/v1/campaigns/{CID}/annotations/", **h).json(),
       "consensus": c.get(f"/api/v1/campaigns/{CID}/consensus/", **h).json(),
       "export": c.get(f"/api/v1/exports/{EID}/", **h).json()}
r = c.get(f"/api/v1/exports/{EID}/download/", **h)
out["download"] = [r.status_code, hashlib.sha256(b"".join(r.streaming_content)).hexdigest()]
print("SERVED=" + json.dumps(out, sort_keys=True))
"""


def _serve(db_url: str, media, key: str, campaign_id: int, export_id: int) -> dict:
    env = {**os.environ, "TESTING": "1", "DATABASE_URL": db_url, "MEDIA_ROOT": str(media),
           "DJANGO_LANGUAGE_CODE": "en"}
    for name in ("REDIS_URL", "EXPORT_ROOT", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    code = f"KEY, CID, EID = {key!r}, {campaign_id}, {export_id}\n" + SERVE
    run = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    line = [x for x in run.stdout.splitlines() if x.startswith("SERVED=")]
    assert line, run.stdout + run.stderr
    return json.loads(line[0][len("SERVED="):])


def test_backup_restores_into_a_fresh_database_and_storage(settings, tmp_path, make_campaign, make_contributor,
                                                           api_token, eager_tasks):
    if connection.vendor != "postgresql" or not shutil.which("pg_dump"):
        pytest.skip("PostgreSQL backups (pg_dump/pg_restore)")
    from exports.services import request_export

    media = tmp_path / "media"
    settings.MEDIA_ROOT, settings.EXPORT_ROOT = media, media / "exports"
    campaign = make_campaign(items=[{"payload": {"text": f"Bình luận {i}"}} for i in range(4)], overlap=3)
    people = [make_contributor(region=r) for r in ("north", "central", "south")]
    answer_items(campaign, people, lambda i, c: {"categories": ["spam" if (i + c) % 3 == 0 else "safe"]})
    export = request_export(campaign=campaign, fmt="jsonl", layout="raw")  # built in process (eager_tasks)
    export.refresh_from_db()
    assert export.status == "succeeded" and (media / "exports" / export.path).exists()
    key = api_token()

    source_url = database_url(connection.settings_dict)
    backup = tmp_path / "backup"
    env = {**os.environ, "DATABASE_URL": source_url, "MEDIA_ROOT": str(media),
           "PRIVATE_MEDIA_ROOT": str(tmp_path / "private")}
    subprocess.run(["bash", "platform/backup.sh", str(backup)], cwd=ROOT, env=env, check=True, capture_output=True)

    name = f"restored_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = source_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    try:
        restored_url, restored_media = source_url.rsplit("/", 1)[0] + f"/{name}", tmp_path / "restored-media"
        run = subprocess.run(["bash", "platform/restore.sh", str(backup)], cwd=ROOT, capture_output=True, text=True,
                             env={**env, "DATABASE_URL": restored_url, "MEDIA_ROOT": str(restored_media),
                                  "PRIVATE_MEDIA_ROOT": str(tmp_path / "restored-private")})
        assert run.returncode == 0, run.stderr
        original = _serve(source_url, media, key, campaign.pk, export.pk)
        restored = _serve(restored_url, restored_media, key, campaign.pk, export.pk)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert original["download"] == [200, export.sha256]
    assert len(original["annotations"]["results"]) == 12
    assert restored == original

    # A damaged backup is refused before anything is restored.
    (backup / "media.tar.gz").write_bytes(b"not the archive")
    run = subprocess.run(["bash", "platform/restore.sh", str(backup)], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
    assert run.returncode != 0 and "FAILED" in run.stdout + run.stderr
