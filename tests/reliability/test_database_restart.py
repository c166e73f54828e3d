"""The database restarts under a running web server: requests fail cleanly with 503, then recover.

Uses a private PostgreSQL cluster (initdb in a temporary folder, its own port) and a real gunicorn,
so stopping the database disturbs nothing else on the machine.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))

pytestmark = pytest.mark.skipif(
    not PG_BIN or os.geteuid() != 0 or shutil.which("runuser") is None,
    reason="needs PostgreSQL server binaries and root (to run them as the postgres user)",
)


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class PrivatePostgres:
    def __init__(self):
        self.bin = PG_BIN[-1]
        self.dir = tempfile.mkdtemp(prefix="pg-reliability-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")

    def run(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, cwd="/")

    def init(self) -> None:
        self.run(f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(f"{self.bin}/pg_ctl", "-D", self.data, "-o", options, "-l", f"{self.dir}/log", "-w", "start")

    def stop(self) -> None:
        self.run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def cleanup(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def test_database_restart_gives_503_then_recovers_without_restarting_web():
    pg = PrivatePostgres()
    web = None
    try:
        pg.init()
        pg.start()
        pg.run(f"{pg.bin}/createdb", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "annotate")
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg.port}/annotate",
            "SECRET_KEY": "reliability-test-key-" + "x" * 40,
            "DEBUG": "0",
            "TESTING": "1",
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        env.pop("REDIS_URL", None)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2",
             "--timeout", "30"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        api = f"{base}/api/v1/campaigns/"
        token = {"Authorization": "Token abc.def"}
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        assert get(f"{base}/readyz")[0] == 200
        assert get(api, token)[0] == 401  # token lookup reaches the database

        pg.stop()
        for _ in range(4):  # every worker, on old and new connections
            status, body = get(api, token)
            assert status == 503, body[:300]
            assert b"database_unavailable" in body
        status, body = get(f"{base}/readyz")
        assert status == 503 and b"down" in body

        pg.start()
        deadline = time.time() + 30
        statuses = []
        while time.time() < deadline:
            statuses = [get(api, token)[0] for _ in range(4)]
            if all(s == 401 for s in statuses):
                break
            time.sleep(0.5)
        assert statuses == [401] * 4
        assert get(f"{base}/readyz")[0] == 200
        assert web.poll() is None  # the same web process recovered by itself
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=20)
        pg.cleanup()
