"""The client's transport rules, against a scripted HTTP transport (no server needed): back-off honours
Retry-After, one Idempotency-Key across a write's retries, errors carry the server's field, and the CLI
maps each failure to its documented exit code."""
from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client" / "src"))

import vnannotate  # noqa: E402
from vnannotate import cli  # noqa: E402


def scripted(answers: list[httpx.Response], seen: list[httpx.Request]):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)
    return httpx.MockTransport(handler)


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(vnannotate.client.time, "sleep", waited.append)
    return waited


def test_a_write_is_retried_after_429_and_503_with_one_idempotency_key(sleeps):
    seen: list[httpx.Request] = []
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={}), httpx.Response(503, json={}),
               httpx.Response(201, json={"id": 5, "name": "c", "status": "draft"})]
    client = vnannotate.Client("http://api.test", "a.b", transport=scripted(answers, seen), backoff=0.5)
    campaign = client.create_campaign("c", task_type="moderation")
    assert campaign.id == 5
    assert sleeps[0] == 7  # the server's Retry-After wins over the back-off
    assert 0.25 <= sleeps[1] <= 1.0  # then exponential back-off with jitter: 0.5 * 2**1 * [0.5, 1]
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and seen[0].headers["Authorization"] == "Token a.b"


def test_errors_carry_the_server_field_and_give_up_after_the_last_retry(sleeps):
    body = {"error": {"status": 400, "code": "invalid", "message": "Unknown split option.", "field": "split.foo",
                      "fields": {"split.foo": ["Unknown split option."]}}}
    client = vnannotate.Client("http://api.test", "a.b", transport=scripted([httpx.Response(400, json=body)], []))
    with pytest.raises(vnannotate.ValidationError) as caught:
        client.request("POST", "/api/v1/campaigns/1/exports/", json={})
    assert caught.value.field == "split.foo" and "split.foo: Unknown split option." in str(caught.value)
    assert cli.exit_code(caught.value) == cli.EXIT_INVALID

    failing = [httpx.Response(502, text="bad gateway") for _ in range(3)]
    client = vnannotate.Client("http://api.test", "a.b", retries=2, transport=scripted(failing, []))
    with pytest.raises(vnannotate.ServerError) as caught:
        client.request("GET", "/api/v1/campaigns/")
    assert len(sleeps) == 2 and cli.exit_code(caught.value) == cli.EXIT_NETWORK


def test_cursor_paging_follows_next(sleeps):
    pages = [httpx.Response(200, json={"next": "http://api.test/api/v1/campaigns/?cursor=abc", "results": [
        {"id": 1}, {"id": 2}]}), httpx.Response(200, json={"next": None, "results": [{"id": 3}]})]
    seen: list[httpx.Request] = []
    client = vnannotate.Client("http://api.test", "a.b", transport=scripted(pages, seen))
    assert [row["id"] for row in client.paginate("/api/v1/campaigns/", {"status": "active"})] == [1, 2, 3]
    assert seen[0].url.params["status"] == "active" and seen[1].url.params["cursor"] == "abc"


def test_a_checksum_mismatch_leaves_nothing_on_disk(tmp_path, sleeps):
    answer = httpx.Response(200, content=b"zip bytes", headers={"X-Checksum-SHA256": "0" * 64})
    client = vnannotate.Client("http://api.test", "a.b", transport=scripted([answer], []), progress=False)
    with pytest.raises(vnannotate.ChecksumError):
        client.download("/api/v1/exports/1/download/", tmp_path / "out" / "a.zip")
    assert list((tmp_path / "out").iterdir()) == []
    assert cli.exit_code(vnannotate.ChecksumError("x")) == cli.EXIT_DOWNLOAD
