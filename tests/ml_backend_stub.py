"""A configurable model backend speaking ``annotate-ml/1`` (docs/ml-backends.md), started by the tests as a
real process: ``python tests/ml_backend_stub.py`` prints ``PORT <n>`` and serves until killed.

Behaviour is switched at run time with ``POST /_control`` (JSON, any subset):
- ``mode``: ``ok`` (answers), ``timeout`` (sleeps ``delay`` seconds, default 5, before answering), ``error``
  (HTTP 500), ``wrong_schema`` (valid protocol, answers outside the task's annotation schema), ``garbage``
  (a 200 that is not the protocol);
- ``answer``: the default suggested answer; ``answers_by_text``: {substring of data.text: answer};
- ``score``: a fixed score, or ``"by_item"`` for a spread of scores from the item id (score and a two-class
  distribution), so active-learning tests get different uncertainties;
- ``token``: the bearer token required (401 without it).
``GET /_requests`` returns what it received (path, auth header, item ids), ``POST /_reset`` forgets it.
Standard library only: the stub needs nothing the platform installs.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = "annotate-ml/1"
STATE = {"mode": "ok", "answer": {"categories": ["safe"]}, "answers_by_text": {}, "score": 0.9, "delay": 5.0,
         "token": "", "version": 1, "labels": ["safe", "spam"]}
LOG: list[dict] = []
LOCK = threading.Lock()


def _score_for(item_id: int) -> float:
    return round(0.5 + (item_id * 37 % 50) / 100, 2)  # 0.50 .. 0.99


def _suggestion(item: dict) -> dict:
    text = str((item.get("data") or {}).get("text", ""))
    answer = STATE["answer"]
    for needle, candidate in STATE["answers_by_text"].items():
        if needle in text:
            answer = candidate
            break
    if STATE["mode"] == "wrong_schema":
        answer = {"categories": ["not-a-category"], "unexpected": True}
    score = _score_for(item["id"]) if STATE["score"] == "by_item" else float(STATE["score"])
    first = (answer.get("categories") or [STATE["labels"][0]])[0] if isinstance(answer, dict) else "x"
    other = next((label for label in STATE["labels"] if label != first), "other")
    return {"item": item["id"], "answer": answer, "score": score,
            "distribution": {first: score, other: round(1 - score, 4)}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):  # noqa: N802
        if self.path == "/_requests":
            with LOCK:
                return self._send(200, {"requests": list(LOG)})
        if self.path == "/health":
            return self._send(200, {"protocol": PROTOCOL, "status": "ok", "task_types": ["moderation"],
                                    "model_version": f"stub-{STATE['version']}"})
        return self._send(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        body = self._body()
        if self.path == "/_control":
            STATE.update(body)
            return self._send(200, {"ok": True, "state": STATE})
        if self.path == "/_reset":
            with LOCK:
                LOG.clear()
            return self._send(200, {"ok": True})
        with LOCK:
            LOG.append({"path": self.path, "auth": self.headers.get("Authorization", ""),
                        "items": [i.get("id") for i in body.get("items", [])],
                        "examples": len(body.get("examples", [])), "mode": STATE["mode"]})
        if STATE["token"] and self.headers.get("Authorization") != f"Bearer {STATE['token']}":
            return self._send(401, {"error": "bad token"})
        mode = STATE["mode"]
        if mode == "timeout":
            time.sleep(float(STATE["delay"]))
        if mode == "error":
            return self._send(500, {"error": "model crashed"})
        if mode == "garbage":
            return self._send(200, {"hello": "world"})
        if self.path == "/predict":
            return self._send(200, {"protocol": PROTOCOL, "model_version": f"stub-{STATE['version']}",
                                    "suggestions": [_suggestion(i) for i in body.get("items", [])]})
        if self.path == "/train":
            STATE["version"] += 1
            return self._send(200, {"protocol": PROTOCOL, "model_version": f"stub-{STATE['version']}",
                                    "trained_on": len(body.get("examples", []))})
        return self._send(404, {"error": "not found"})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
