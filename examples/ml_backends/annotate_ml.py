"""The `annotate-ml/1` protocol wrapper (docs/ml-backends.md): a standard-library HTTP server a model plugs into.

A backend is a ``Model`` with ``task_types``, ``version(campaign)``, ``predict(campaign, items)`` and
``train(campaign, examples)``; ``serve(model)`` parses the command line, checks every request (protocol,
token, shape, batch size) and answers JSON. Standalone on purpose: no Django, no platform import, so a team
can copy this folder next to its own model and run it anywhere the platform can reach over HTTP.
"""
from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = "annotate-ml/1"
MAX_BATCH = 64  # the platform splits larger batches; a bigger one is a client bug, refused
MAX_BODY = 32 * 1024 * 1024  # 64 items of 20,000 characters fit many times over
MAX_EXAMPLES = 100_000


class BadRequest(Exception):
    """A request the backend refuses; ``status`` is the HTTP code, the message names the field."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Model:
    """What a backend implements. Campaign state lives in the model, keyed by campaign id."""

    task_types: tuple[str, ...] = ()

    def version(self, campaign: dict) -> str | None:
        """The version of this campaign's model (None before any training)."""
        raise NotImplementedError

    def latest_version(self) -> str | None:
        """The most recently trained version across campaigns, for /health."""
        return None

    def predict(self, campaign: dict, items: list[dict]) -> list[dict]:
        """Suggestions ``{"item", "answer", "score", "distribution"?}``; items it cannot handle left out."""
        raise NotImplementedError

    def train(self, campaign: dict, examples: list[dict]) -> int:
        """Fit on consensus answers; returns how many examples it trained on."""
        raise NotImplementedError


def _campaign(body: dict, model: Model) -> dict:
    campaign = body.get("campaign")
    if not isinstance(campaign, dict):
        raise BadRequest("campaign: an object with id, task_type and config is required")
    if not isinstance(campaign.get("id"), int | str) or isinstance(campaign.get("id"), bool):
        raise BadRequest("campaign.id: required (an integer or string)")
    if campaign.get("task_type") not in model.task_types:
        raise BadRequest(f"campaign.task_type: this backend handles {', '.join(model.task_types)}, "
                         f"not {campaign.get('task_type')!r}", status=422)
    if not isinstance(campaign.get("config", {}), dict):
        raise BadRequest("campaign.config: must be an object")
    campaign.setdefault("config", {})
    return campaign


def _list(body: dict, key: str, *, limit: int, required: tuple[str, ...]) -> list[dict]:
    rows = body.get(key)
    if not isinstance(rows, list):
        raise BadRequest(f"{key}: a list is required")
    if len(rows) > limit:
        raise BadRequest(f"{key}: at most {limit} per request, got {len(rows)}", status=413)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(f"{key}[{i}]: must be an object")
        for field in required:
            if field not in row:
                raise BadRequest(f"{key}[{i}].{field}: required")
        if not isinstance(row.get("data", {}), dict):
            raise BadRequest(f"{key}[{i}].data: must be an object")
    return rows


def make_handler(model: Model, *, token: str | None):
    lock = threading.Lock()  # one request at a time touches a model: fitting is not thread-safe

    class Handler(BaseHTTPRequestHandler):
        server_version = "annotate-ml-example/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet by default; --verbose logs to stderr
            if self.server.verbose:
                sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps({"protocol": PROTOCOL, **payload}, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if not token:
                return True
            given = self.headers.get("Authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

        def _body(self) -> dict:
            if "json" not in (self.headers.get("Content-Type") or ""):
                raise BadRequest("Content-Type must be application/json", status=415)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise BadRequest("Content-Length: not a number") from None
            if length > MAX_BODY:
                raise BadRequest(f"body: larger than {MAX_BODY} bytes", status=413)
            try:
                body = json.loads(self.rfile.read(length).decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise BadRequest(f"body: not valid UTF-8 JSON ({exc})") from None
            if not isinstance(body, dict):
                raise BadRequest("body: a JSON object is required")
            if body.get("protocol") != PROTOCOL:
                raise BadRequest(f"protocol: expected {PROTOCOL!r}, got {body.get('protocol')!r}")
            return body

        def do_GET(self):
            if self.path.rstrip("/") != "/health":
                return self._send(404, {"error": f"no such endpoint: GET {self.path}"})
            if not self._authorised():
                return self._send(401, {"error": "Authorization: a valid Bearer token is required"})
            self._send(200, {"status": "ok", "task_types": list(model.task_types),
                             "model_version": model.latest_version()})

        def do_POST(self):
            route = self.path.rstrip("/")
            if route not in ("/predict", "/train"):
                return self._send(404, {"error": f"no such endpoint: POST {self.path}"})
            if not self._authorised():
                return self._send(401, {"error": "Authorization: a valid Bearer token is required"})
            try:
                body = self._body()
                campaign = _campaign(body, model)
                with lock:
                    if route == "/predict":
                        items = _list(body, "items", limit=MAX_BATCH, required=("id", "data"))
                        suggestions = model.predict(campaign, items)
                        return self._send(200, {"model_version": model.version(campaign),
                                                "suggestions": suggestions})
                    examples = _list(body, "examples", limit=MAX_EXAMPLES, required=("item", "data", "answer"))
                    trained_on = model.train(campaign, examples)
                    return self._send(200, {"model_version": model.version(campaign), "trained_on": trained_on})
            except BadRequest as exc:
                return self._send(exc.status, {"error": str(exc)})
            except Exception as exc:  # a model bug is the backend's 500, with a message, never a hang
                return self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

    return Handler


def serve(model: Model, argv: list[str] | None = None, *, description: str = "") -> None:
    """Run the backend: ``--port N`` (required), ``--host``, ``--token`` (or ML_BACKEND_TOKEN), ``--verbose``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=os.environ.get("ML_BACKEND_TOKEN") or None,
                        help="require 'Authorization: Bearer TOKEN' (default: $ML_BACKEND_TOKEN, else none)")
    parser.add_argument("--verbose", action="store_true")
    extra = getattr(model, "add_arguments", None)
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    if hasattr(model, "configure"):
        model.configure(args)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model, token=args.token))
    server.verbose = args.verbose
    print(f"{type(model).__name__} speaking {PROTOCOL} on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
