"""The HTTP side of protocol ``annotate-ml/1`` (docs/ml-backends.md): one call, its failure classified.

No retries or breaker here (services and tasks own those); redirects are not followed, a response body is
never copied into the log beyond a short error text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .models import BackendCall
from .tokens import unseal

PROTOCOL = "annotate-ml/1"
BATCH_SIZE = 64  # items per /predict call (the protocol's limit)


@dataclass
class CallFailed(Exception):
    outcome: str
    detail: str = ""
    http_status: int | None = None
    duration_ms: int = 0

    @property
    def transient(self) -> bool:
        """Worth retrying: timeouts, connection failures, 5xx and 429 (a wrong schema will not fix itself)."""
        if self.outcome == BackendCall.Outcome.HTTP_ERROR:
            return (self.http_status or 0) >= 500 or self.http_status == 429
        return self.outcome in (BackendCall.Outcome.TIMEOUT, BackendCall.Outcome.CONNECTION)


def _headers(backend) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    token = unseal(backend.token_encrypted)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def call(backend, method: str, path: str, body: dict | None = None) -> tuple[dict, int]:
    """(the response's JSON object, duration in ms); raises CallFailed."""
    url = backend.url.rstrip("/") + path
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with httpx.Client(timeout=backend.timeout_seconds, follow_redirects=False) as http:
            response = http.request(method, url, json=body, headers=_headers(backend))
    except httpx.TimeoutException as exc:
        raise CallFailed(BackendCall.Outcome.TIMEOUT, type(exc).__name__, duration_ms=elapsed()) from exc
    except httpx.HTTPError as exc:
        raise CallFailed(BackendCall.Outcome.CONNECTION, type(exc).__name__, duration_ms=elapsed()) from exc
    if response.status_code >= 300:
        try:
            message = str((response.json() or {}).get("error", ""))[:200]
        except ValueError:
            message = ""
        raise CallFailed(BackendCall.Outcome.HTTP_ERROR, message or f"HTTP {response.status_code}",
                         http_status=response.status_code, duration_ms=elapsed())
    try:
        data = response.json()
    except ValueError as exc:
        raise CallFailed(BackendCall.Outcome.WRONG_SCHEMA, "not JSON", http_status=response.status_code,
                         duration_ms=elapsed()) from exc
    if not isinstance(data, dict) or data.get("protocol") != PROTOCOL:
        raise CallFailed(BackendCall.Outcome.WRONG_SCHEMA, f"protocol is not {PROTOCOL}",
                         http_status=response.status_code, duration_ms=elapsed())
    return data, elapsed()


def parse_suggestions(data: dict, asked: set[int]) -> tuple[list[dict], int]:
    """The well-formed suggestions of a /predict answer for items that were asked about, and how many were
    malformed (counted as wrong schema). Raises CallFailed when the answer has no suggestion list at all."""
    raw = data.get("suggestions")
    if not isinstance(raw, list):
        raise CallFailed(BackendCall.Outcome.WRONG_SCHEMA, "no suggestions list")
    good: dict[int, dict] = {}
    bad = 0
    for entry in raw:
        if not isinstance(entry, dict):
            bad += 1
            continue
        item, answer, score = entry.get("item"), entry.get("answer"), entry.get("score")
        distribution = entry.get("distribution")
        if (not isinstance(item, int) or item not in asked or not isinstance(answer, dict)
                or isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1
                or (distribution is not None and not _is_distribution(distribution))):
            bad += 1
            continue
        if item in good:  # one suggestion per item: a repeat is malformed (the first stands)
            bad += 1
            continue
        good[item] = {"item": item, "answer": answer, "score": float(score), "distribution": distribution}
    return list(good.values()), bad


def _is_distribution(value) -> bool:
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    for k, v in value.items()))
