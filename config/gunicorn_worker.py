"""Gunicorn's sync worker, with each response leaving in one TCP segment where it fits.

Gunicorn writes a response's headers and its body with two ``send`` calls on a socket with Nagle's
algorithm off, so a small JSON answer (every queue request) crosses the network as two segments and
wakes the client twice; then it half-closes and waits for the client's FIN. Corking the accepted
socket (Linux ``TCP_CORK``) lets the kernel join headers, body and FIN into full segments: the
half-close flushes them. Large bodies still leave as they fill segments; nothing else changes.
"""
from __future__ import annotations

import socket

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

CORK = getattr(socket, "TCP_CORK", None)
WORKER_CLASS = f"{__name__}.CorkedSyncWorker"  # as gunicorn's worker_class setting names it


class CorkedSyncWorker(SyncWorker):
    def accept(self, listener):
        client, addr = listener.accept()
        client.setblocking(1)
        util.close_on_exec(client)
        if CORK is not None and client.family in (socket.AF_INET, socket.AF_INET6):
            client.setsockopt(socket.IPPROTO_TCP, CORK, 1)
        self.handle(listener, client, addr)
