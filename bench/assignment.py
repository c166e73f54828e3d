"""Queue benchmark: next -> submit cycles over HTTP through a real gunicorn against PostgreSQL.

    .venv/bin/python bench/assignment.py                       # 100,000 items, overlap 3, N = 1 8 32 128
    .venv/bin/python bench/assignment.py --clients 32 --seconds 20 --worker-class gthread --workers 3 --threads 4
    .venv/bin/python bench/assignment.py --smoke               # tiny sizes (the test suite runs this)
    .venv/bin/python bench/assignment.py --metrics off         # Prometheus metrics as no-ops (default: on,
                                                               # multiprocess mode as in production)

Creates (or reuses) the database given by --database-url (default ``annotate_bench``), migrates it,
seeds one moderation campaign and the contributors (verified, profile complete, a session each),
starts gunicorn (sync workers, 2 x cores + 1, as platform/gunicorn.conf.py; or gthread with HTTP keep-alive)
and runs N simulated contributors, each looping
``POST /next/`` then ``POST /submit/`` (with an Idempotency-Key) for a fixed time. Prints cycles/s,
p50/p99 latency of each request and of the whole cycle, then checks the stored state: no item
beyond its overlap, no (item, contributor) twice, counters equal to the rows they count.
The last line is the result as JSON.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

try:  # run as a script: bench/ is sys.path[0]
    from _setup import django_setup, ensure_database
except ModuleNotFoundError:  # imported by the tests as bench.<name>
    from bench._setup import django_setup, ensure_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench"
SECRET_KEY = "bench-secret-key-" + "x" * 50  # the seeding process signs sessions the server must read


# --- set-up ------------------------------------------------------------------------------------


def seed(*, items: int, overlap: int, contributors: int) -> tuple[int, list[tuple[str, str]]]:
    """One active campaign with ``items`` items and ``contributors`` signed-in contributors."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string
    from django.utils import timezone

    from contributors.models import ContributorProfile
    from organizations.models import Organization
    from tasks.models import Campaign, Item
    from tasks.services import create_campaign, new_item

    run = uuid.uuid4().hex[:8]
    org = Organization.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    campaign = create_campaign(organization=org, name=f"bench {run}", task_type="moderation", overlap=overlap,
                               max_overlap=overlap, lease_seconds=600)
    batch = []
    for i in range(items):
        batch.append(new_item(campaign, payload={"text": f"Bình luận thử số {i} của {run}"}))
        if len(batch) == 5000:
            Item.objects.bulk_create(batch)
            batch = []
    Item.objects.bulk_create(batch)
    campaign.status = Campaign.Status.ACTIVE
    campaign.save(update_fields=["status"])
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench-{run}-{i}@example.com", email=f"bench-{run}-{i}@example.com") for i in range(contributors)]
    )
    for user in users:
        user.set_unusable_password()  # sessions below stand in for a log-in; no hashing cost in set-up
    User.objects.bulk_update(users, ["password"])
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
    )
    now = timezone.now()
    terms = getattr(settings, "CONTRIBUTOR_TERMS_VERSION", "")  # consent to the current terms completes a profile
    ContributorProfile.objects.bulk_create([
        ContributorProfile(user=u, display_name=f"Bench {i}", birth_year=1990, region="north",
                           province="Thành phố Hà Nội", consent_version=terms, consent_at=now)
        for i, u in enumerate(users)
    ])
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "core.auth_backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        csrf = _get_new_csrf_string()
        cookies.append((f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}", csrf))
    return campaign.pk, cookies


def verify(campaign_id: int) -> dict:
    """Violations of the queue's guarantees in the stored state (all zero when correct)."""
    from django.db import connection

    checks = {
        "items_over_overlap": """
            SELECT count(*) FROM tasks_item WHERE campaign_id = %s AND NOT is_gold
              AND leased_count + done_count > target_overlap""",
        "items_with_more_answers_than_overlap": """
            SELECT count(*) FROM (SELECT a.item_id FROM annotations_annotation a JOIN tasks_item i ON i.id = a.item_id
              WHERE a.campaign_id = %s GROUP BY a.item_id, i.target_overlap HAVING count(*) > i.target_overlap) x""",
        "duplicate_item_contributor": """
            SELECT count(*) FROM (SELECT 1 FROM tasks_assignment WHERE campaign_id = %s
              GROUP BY item_id, contributor_id HAVING count(*) > 1) x""",
        "counter_mismatches": """
            SELECT count(*) FROM tasks_item i
            LEFT JOIN (SELECT item_id, count(*) FILTER (WHERE state = 'leased') AS leased,
                              count(*) FILTER (WHERE state = 'submitted') AS done
                       FROM tasks_assignment WHERE campaign_id = %s GROUP BY item_id) a ON a.item_id = i.id
            WHERE i.campaign_id = %s AND (i.leased_count <> coalesce(a.leased, 0) OR i.done_count <> coalesce(a.done, 0)
              OR i.open_slots <> i.target_overlap - i.leased_count - i.done_count)""",
    }
    out = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql, [campaign_id] * sql.count("%s"))
            out[name] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM annotations_annotation WHERE campaign_id = %s", [campaign_id])
        out["annotations"] = cursor.fetchone()[0]
    return out


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(*, url: str, port: int | str, workers: int, threads: int, db_pool: bool, redis_url: str,
                   worker_class: str = "sync", metrics: bool = True) -> subprocess.Popen:
    from config.gunicorn_worker import WORKER_CLASS

    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "WARNING",
        "DB_POOL": "1" if db_pool else "0", "DB_POOL_MIN": str(threads), "DB_POOL_MAX": str(threads),
        "SECRET_KEY": SECRET_KEY, "CELERY_TASK_ALWAYS_EAGER": "0", "TESTING": "0",
        # Connections live through the run: a backend closed mid-level would take its CPU time out of the count.
        "DB_CONN_MAX_AGE": "3600",
    })
    # Consensus jobs are queued to Redis as in production (no worker runs during the bench, so the
    # web tier is measured alone; the queue is purged afterwards). Without Redis they run in process.
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
    env.pop("PYTEST_CURRENT_TEST", None)
    # Metrics as in production: prometheus-client's multiprocess mode, one sample file per worker (core/metrics.py);
    # --metrics off measures the same code with every metric call a no-op (METRICS=0).
    env["METRICS"] = "1" if metrics else "0"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if metrics:
        import tempfile

        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
    cmd = [
        str(ROOT / ".venv/bin/gunicorn") if (ROOT / ".venv/bin/gunicorn").exists() else "gunicorn",
        "config.wsgi:application", "--bind", f"unix:{port}" if isinstance(port, str) else f"127.0.0.1:{port}",
        "--workers", str(workers),
        *(["--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "60"] if worker_class == "gthread"
          else ["--worker-class", WORKER_CLASS]),
        "--log-level", "warning", "--backlog", "2048",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            probe = _Http(port)
            probe.request("GET", "/healthz", b"Host: localhost\r\n", b"")
            probe.close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited at start") from None
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def purge_consensus_jobs(redis_url: str) -> None:
    """Drop the consensus jobs nobody consumed during the bench (and their debounce keys)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    from authenticity.tasks import SCORING_BATCH as authenticity_batch
    from consensus.tasks import SCORING_BATCH as consensus_batch

    client.delete("consensus", "default", *consensus_batch.keys(), *authenticity_batch.keys())
    for key in client.scan_iter("*consensus:pending:*"):
        client.delete(key)


def cpu_seconds(pids) -> dict[int, float]:
    """utime + stime of each live process, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def server_pids(master: int) -> list[int]:
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def database_pids(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [r[0] for r in rows]


# --- the load ----------------------------------------------------------------------------------


class _Http:
    """A minimal HTTP/1.1 client on one socket: the request bytes built by hand, the response read by its
    Content-Length, a new connection when the server closes it (gunicorn's sync workers close after each
    response). The load generator shares the machine's two cores with the server it measures, so it should
    spend as little CPU as it can (http.client took about 1.6 times as much: 1.5 against 0.9 ms a cycle)."""

    def __init__(self, port: int | str):
        self.port = port  # a TCP port on 127.0.0.1, or the path of a Unix socket
        self.sock = None
        self.buffer = b""

    def post(self, path: str, head: bytes, body: bytes) -> tuple[int, bytes]:
        return self.request("POST", path, head, body)

    def request(self, method: str, path: str, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            if isinstance(self.port, str):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(30)
                self.sock.connect(self.port)
            else:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                          % (method.encode(), path.encode(), head, len(body), body))
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        self.buffer = rest
        if length is None:  # no length (a chunked or closing response): the body ends when the server closes
            while self._fill(eof_ok=True):
                pass
            body = _unchunk(self.buffer) if b"transfer-encoding: chunked" in header.lower() else self.buffer
            self.close()
            return status, body
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, body

    def _fill(self, eof_ok: bool = False) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            if eof_ok:
                return False
            raise ConnectionError("server closed the connection mid-response")
        self.buffer += chunk
        return True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _unchunk(data: bytes) -> bytes:
    out = []
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[:size])
        data = data[size + 2:]


def contributor_loop(port: int | str, campaign_id: int, cookie: str, csrf: str, until: float, out: list) -> None:
    """One contributor: next -> submit as fast as the server answers."""
    http = _Http(port)
    host = "localhost" if isinstance(port, str) else f"127.0.0.1:{port}"
    head = (f"Host: {host}\r\nCookie: {cookie}\r\nX-CSRFToken: {csrf}\r\n"
            "Content-Type: application/json\r\n").encode()
    next_path = f"/api/v1/campaigns/{campaign_id}/next/"
    answer = json.dumps({"payload": {"categories": ["safe"]}, "time_spent_ms": 1000}).encode()
    next_ms, submit_ms, cycle_ms, errors = [], [], [], {}
    while time.time() < until:
        t0 = time.perf_counter()
        try:
            status, raw = http.post(next_path, head, b"")
            body = json.loads(raw)
            t1 = time.perf_counter()
            if status != 200 or not body.get("assignment"):
                key = f"next:{status}:{body.get('code', '')}"
                errors[key] = errors.get(key, 0) + 1
                if body.get("code") == "empty":
                    break
                continue
            assignment_id = body["assignment"]["id"]
            status, _raw = http.post(f"/api/v1/assignments/{assignment_id}/submit/",
                                     head + b"Idempotency-Key: %s\r\n" % uuid.uuid4().hex.encode(), answer)
            t2 = time.perf_counter()
        except (OSError, ValueError) as exc:
            key = f"transport:{type(exc).__name__}"
            errors[key] = errors.get(key, 0) + 1
            http.close()
            continue
        if status != 201:
            key = f"submit:{status}"
            errors[key] = errors.get(key, 0) + 1
            continue
        next_ms.append((t1 - t0) * 1000)
        submit_ms.append((t2 - t1) * 1000)
        cycle_ms.append((t2 - t0) * 1000)
    http.close()
    out.append((next_ms, submit_ms, cycle_ms, errors))


def load_process(port: int, campaign_id: int, sessions: list, until: float, queue) -> None:
    out: list = []
    threads = [threading.Thread(target=contributor_loop, args=(port, campaign_id, c, t, until, out)) for c, t in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((out, time.process_time()))  # the load generator's own CPU: it shares the machine's cores


def machine_speed_ms() -> float:
    """CPU time of a fixed pure-Python loop on an idle machine, in ms: how fast this machine's cores are right
    now. Shared virtual machines vary by 2x from one hour to the next, so every run prints it beside its
    figures (a run at 120 ms and one at 60 ms are not comparable cycle for cycle)."""
    best = float("inf")
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run_level(*, port: int, campaign_id: int, sessions: list, seconds: float, processes: int,
              server: int, url: str) -> dict:
    load_before = round(os.getloadavg()[0], 2)
    web_before = cpu_seconds(server_pids(server))
    db_before = cpu_seconds(database_pids(url))
    start = time.time() + 0.5
    until = start + seconds
    queue = multiprocessing.get_context("fork").Queue()
    chunks = [sessions[i::processes] for i in range(processes)]
    procs = [multiprocessing.get_context("fork").Process(target=load_process, args=(port, campaign_id, c, until, queue))
             for c in chunks if c]
    for p in procs:
        p.start()
    reports = [queue.get() for _ in procs]
    results = [r for out, _cpu in reports for r in out]
    client_cpu = sum(cpu for _out, cpu in reports)
    for p in procs:
        p.join()
    elapsed = max(time.time(), until) - start
    # CPU spent per cycle by the web processes and the database backends: unlike wall-clock figures,
    # this hardly moves when other work shares the machine, so it gives the capacity of dedicated cores.
    web_after = cpu_seconds(server_pids(server))
    db_after = cpu_seconds(database_pids(url) + list(db_before))
    web_cpu = sum(v - web_before.get(pid, 0.0) for pid, v in web_after.items())
    db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
    next_ms = [v for r in results for v in r[0]]
    submit_ms = [v for r in results for v in r[1]]
    cycle_ms = [v for r in results for v in r[2]]
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r[3].items():
            errors[k] = errors.get(k, 0) + v
    return {
        "clients": len(sessions), "seconds": round(elapsed, 2), "cycles": len(cycle_ms),
        "cycles_per_s": round(len(cycle_ms) / elapsed, 1),
        "next_p50_ms": round(percentile(next_ms, 50), 1), "next_p99_ms": round(percentile(next_ms, 99), 1),
        "submit_p50_ms": round(percentile(submit_ms, 50), 1), "submit_p99_ms": round(percentile(submit_ms, 99), 1),
        "cycle_p50_ms": round(percentile(cycle_ms, 50), 1), "cycle_p99_ms": round(percentile(cycle_ms, 99), 1),
        "cycle_mean_ms": round(statistics.fmean(cycle_ms), 1) if cycle_ms else None,
        "errors": errors,
        "web_cpu_ms_per_cycle": round(web_cpu * 1000 / len(cycle_ms), 2) if cycle_ms else None,
        "db_cpu_ms_per_cycle": round(db_cpu * 1000 / len(cycle_ms), 2) if cycle_ms else None,
        "client_cpu_ms_per_cycle": round(client_cpu * 1000 / len(cycle_ms), 2) if cycle_ms else None,
        "loadavg_1m_before": load_before,  # other work on the machine skews the figures; shown, not hidden
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
                        help="broker for the consensus jobs; empty: run them in process")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--clients", default="1,8,32,128", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unrecorded warm-up before the levels")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="sync (one request at a time per process, as platform/gunicorn.conf.py runs by default) "
                             "or gthread (threads, HTTP keep-alive)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn worker processes (default 2 x cores + 1)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread only)")
    parser.add_argument("--bind", choices=["tcp", "unix"], default="tcp",
                        help="how the load reaches gunicorn: TCP on 127.0.0.1 (default) or a Unix socket, as nginx "
                             "on the same host reaches it in a single-machine deployment")
    parser.add_argument("--db-pool", action="store_true", help="psycopg pool (DB_POOL=1) instead of persistent connections")
    parser.add_argument("--metrics", choices=["on", "off"], default="on",
                        help="Prometheus metrics in multiprocess mode as in production (on), or no-ops (off)")
    parser.add_argument("--no-migrate", action="store_true", help="the database is already migrated (the test suite)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: 300 items, N = 1 and 4, 3 s each")
    args = parser.parse_args(argv)
    if args.smoke:
        args.items, args.clients, args.seconds, args.workers, args.threads = 300, "1,4", 3.0, 2, 2
    levels = [int(n) for n in args.clients.split(",") if n.strip()]

    if not args.no_migrate:
        ensure_database(args.database_url)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True,
                       env={**os.environ, "DATABASE_URL": args.database_url, "SECRET_KEY": SECRET_KEY})
    django_setup(args.database_url, SECRET_KEY=SECRET_KEY)
    t0 = time.time()
    campaign_id, sessions = seed(items=args.items, overlap=args.overlap, contributors=max(levels))
    print(f"seeded campaign {campaign_id}: {args.items} items, overlap {args.overlap}, "
          f"{len(sessions)} contributors in {time.time() - t0:.1f} s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks_item") if not connection.in_atomic_block else None
    connection.close()

    port = str(ROOT / f".bench-{os.getpid()}.sock") if args.bind == "unix" else free_port()
    server = start_gunicorn(url=args.database_url, port=port, workers=args.workers, threads=args.threads,
                            db_pool=args.db_pool, redis_url=args.redis_url, worker_class=args.worker_class,
                            metrics=args.metrics == "on")
    shape = (f"{args.workers} workers x {args.threads} threads (gthread, keep-alive)" if args.worker_class == "gthread"
             else f"{args.workers} sync workers (a connection per request, as behind nginx)")
    print(f"gunicorn: {shape}, over {'a Unix socket' if args.bind == 'unix' else 'TCP'}, "
          f"{'psycopg pool' if args.db_pool else 'persistent connections'}; 2 load processes; "
          f"QUEUE_FAST_LANE={os.environ.get('QUEUE_FAST_LANE', '1')} DB_HEALTH_CHECKS={os.environ.get('DB_HEALTH_CHECKS', '1')}",
          flush=True)
    speed_before = machine_speed_ms()
    print(f"machine speed probe: {speed_before} ms (lower is faster)", flush=True)
    rows = []
    try:
        # Warm-up, not recorded: each worker imports and caches lazily on its first requests.
        warm = run_level(port=port, campaign_id=campaign_id, sessions=sessions[: min(len(sessions), 2 * args.workers)],
                         seconds=args.warmup, processes=1, server=server.pid, url=args.database_url)
        print(f"warm-up: {warm['cycles']} cycles", flush=True)
        for n in levels:
            row = run_level(port=port, campaign_id=campaign_id, sessions=sessions[:n], seconds=args.seconds,
                            processes=min(n, 2), server=server.pid, url=args.database_url)
            rows.append(row)
            print(f"N={n:>4}  {row['cycles_per_s']:>7} cycles/s  next p50/p99 {row['next_p50_ms']}/{row['next_p99_ms']} ms  "
                  f"submit p50/p99 {row['submit_p50_ms']}/{row['submit_p99_ms']} ms  "
                  f"cycle p50/p99 {row['cycle_p50_ms']}/{row['cycle_p99_ms']} ms  errors {row['errors'] or 0}  "
                  f"CPU/cycle web {row['web_cpu_ms_per_cycle']} ms db {row['db_cpu_ms_per_cycle']} ms "
                  f"load generator {row['client_cpu_ms_per_cycle']} ms  "
                  f"(load avg before: {row['loadavg_1m_before']})", flush=True)
    finally:
        stop(server)
        if isinstance(port, str):
            Path(port).unlink(missing_ok=True)
        if args.redis_url:
            purge_consensus_jobs(args.redis_url)
    speed_after = machine_speed_ms()
    print(f"machine speed probe after the run: {speed_after} ms", flush=True)
    violations = verify(campaign_id)
    print("verification:", json.dumps(violations), flush=True)
    result = {"levels": rows, "warmup_cycles": warm["cycles"], "verification": violations, "items": args.items, "overlap": args.overlap,
              "workers": args.workers, "threads": args.threads,
              "machine_speed_ms": [speed_before, speed_after], "worker_class": args.worker_class, "db_pool": args.db_pool, "metrics": args.metrics,
              "bind": args.bind}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
