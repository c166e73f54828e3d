"""config.gunicorn_worker: accepted sockets are corked; through a real gunicorn, small answers still leave at
once (the half-close flushes the cork) and large answers arrive whole."""
import socket
import statistics
import time

import pytest
from django.db import connection

from tests.helpers import database_url, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


def raw_get(port: int, path: str) -> tuple[bytes, float]:
    """(the whole response, seconds until the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = time.perf_counter()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 20):
            data += chunk
        return data, time.perf_counter() - start


@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")
def test_the_worker_corks_each_accepted_tcp_socket():
    from config.gunicorn_worker import CorkedSyncWorker

    worker = CorkedSyncWorker.__new__(CorkedSyncWorker)  # only accept() is exercised
    seen = []
    worker.handle = lambda listener, client, addr: seen.append(client.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_connection(listener.getsockname()):
        worker.accept(listener)
    assert seen == [1]


def test_through_gunicorn_small_answers_leave_without_waiting_on_the_cork_and_large_ones_arrive_whole():
    env = {"DATABASE_URL": database_url(connection.settings_dict), "CELERY_TASK_ALWAYS_EAGER": "1"}
    with gunicorn(env, workers=1) as port:
        elapsed = []
        for _ in range(20):
            whole, seconds = raw_get(port, "/healthz")
            assert whole.startswith(b"HTTP/1.1 200") and whole.endswith(b"}")
            elapsed.append(seconds)
        # The half-close flushes the corked socket: nothing waits for the kernel's 200 ms cork timer.
        assert statistics.median(elapsed) < 0.1, elapsed

        whole, _seconds = raw_get(port, "/api/schema/")  # the OpenAPI document, ~100s of kB
        head, _, body = whole.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        assert length > 64 * 1024 and len(body) == length
