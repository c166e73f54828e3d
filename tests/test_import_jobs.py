"""Item import as a job: upload over the API, progress, per-line error report, all or nothing, bounded memory."""
from __future__ import annotations

import io
import json
import resource

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks.import_jobs import error_report_csv, run_import_job, start_import_job
from tasks.importing import MAX_LINE_BYTES, import_items
from tasks.models import ImportJob, Item

pytestmark = pytest.mark.django_db


def jsonl_bytes(n: int, bad: dict[int, str] | None = None) -> bytes:
    lines = [json.dumps({"text": f"Bình luận số {i}", "external_id": f"e{i}"}, ensure_ascii=False) for i in range(n)]
    for line_no, text in (bad or {}).items():
        lines[line_no - 1] = text
    return ("\n".join(lines) + "\n").encode()


def test_job_imports_jsonl_and_reports(make_campaign):
    campaign = make_campaign(items=[])
    job = start_import_job(campaign=campaign, file=SimpleUploadedFile("items.jsonl", jsonl_bytes(4500)))
    assert job.status == "pending" and job.format == "jsonl" and job.size_bytes > 0
    job = run_import_job(job.pk)
    assert job.status == "succeeded", job.message
    assert job.imported == 4500 and job.lines_read == 4500 and job.bytes_read == job.size_bytes
    assert Item.objects.filter(campaign=campaign).count() == 4500
    assert not job.file  # the upload is not kept after the import


def test_job_with_bad_lines_imports_nothing_and_names_lines(make_campaign):
    campaign = make_campaign(items=[])
    data = jsonl_bytes(3000, bad={7: '{"text": ', 2500: '{"context": "no text"}'})
    job = run_import_job(start_import_job(campaign=campaign, file=SimpleUploadedFile("x.jsonl", data)).pk)
    assert job.status == "failed" and job.imported == 0 and job.error_count == 2
    assert [(e["line"], e["field"]) for e in job.errors] == [(7, ""), (2500, "payload.text")]
    assert not Item.objects.filter(campaign=campaign).exists()
    report = error_report_csv(job)
    assert report.splitlines()[0] == "line,field,message" and report.splitlines()[2].startswith("2500,payload.text,")


def test_job_is_idempotent_once_finished(make_campaign):
    campaign = make_campaign(items=[])
    job = start_import_job(campaign=campaign, file=SimpleUploadedFile("x.jsonl", jsonl_bytes(5)))
    run_import_job(job.pk)
    run_import_job(job.pk)  # a redelivered message
    assert Item.objects.filter(campaign=campaign).count() == 5


def test_parquet_and_csv_jobs(make_campaign):
    campaign = make_campaign(items=[])
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": ["Xin chào", "Tạm biệt"], "external_id": ["p1", "p2"]}), buf)
    job = run_import_job(start_import_job(campaign=campaign, file=SimpleUploadedFile("a.parquet", buf.getvalue())).pk)
    assert job.status == "succeeded" and job.imported == 2
    csv_data = 'text,external_id\n"Dòng một",c1\n"Dòng\nhai",c2\n'.encode()
    job = run_import_job(start_import_job(campaign=campaign, file=SimpleUploadedFile("b.csv", csv_data)).pk)
    assert job.status == "succeeded" and job.imported == 2
    assert Item.objects.get(campaign=campaign, external_id="c2").payload["text"] == "Dòng\nhai"


def test_unusable_uploads_are_refused_before_storing(make_campaign):
    from core.schema import SchemaError

    campaign = make_campaign(items=[])
    with pytest.raises(SchemaError) as exc:
        start_import_job(campaign=campaign, file=SimpleUploadedFile("items.xlsx", b"PK..."))
    assert exc.value.field == "file"
    with pytest.raises(SchemaError) as exc:
        start_import_job(campaign=campaign, file=SimpleUploadedFile("items.jsonl", b""))
    assert exc.value.field == "file"
    assert not ImportJob.objects.exists()


class NoNewlineStream(io.RawIOBase):
    """A 2 GB stream of 'a' with no newline, generated on the fly (nothing of that size is ever stored)."""

    def __init__(self, size: int = 2 * 1024**3, prefix: bytes = b""):
        self.size, self.pos, self.prefix = size, 0, prefix

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        chunk = bytearray(b"a" * n)
        start = self.pos
        if start < len(self.prefix):
            head = self.prefix[start:start + n]
            chunk[:len(head)] = head
        buffer[:n] = chunk
        self.pos += n
        return n


@pytest.mark.parametrize("fmt, prefix", [("jsonl", b'{"text": "'), ("csv", b'text\n"')])
def test_two_gigabytes_without_newline_is_refused_in_bounded_memory(make_campaign, fmt, prefix):
    campaign = make_campaign(items=[])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stream = io.BufferedReader(NoNewlineStream(prefix=prefix), buffer_size=1024 * 1024)
    report = import_items(campaign=campaign, stream=stream, fmt=fmt)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert not report.ok and report.imported == 0
    assert f"longer than {MAX_LINE_BYTES} bytes" in report.errors[0].message
    assert stream.raw.pos < 64 * 1024 * 1024  # stopped reading early: nowhere near 2 GB
    assert grown_mb < 100, grown_mb


def test_api_import_bad_requests(token_client, make_campaign, other_org):
    campaign = make_campaign(items=[])
    client = token_client()
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/imports/", {}, format="multipart")
    assert res.status_code == 400 and res.json()["error"]["field"] == "file"
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                      {"file": SimpleUploadedFile("x.exe", b"MZ")}, format="multipart")
    assert res.status_code == 400 and res.json()["error"]["field"] == "file"
    reader = token_client(scopes=["datasets:read"])
    res = reader.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                      {"file": SimpleUploadedFile("x.jsonl", b'{"text": "a"}')}, format="multipart")
    assert res.status_code == 403
    stranger = token_client(other_org)
    res = stranger.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                        {"file": SimpleUploadedFile("x.jsonl", b'{"text": "a"}')}, format="multipart")
    assert res.status_code == 404
    job = start_import_job(campaign=campaign, file=SimpleUploadedFile("x.jsonl", b'{"text": "a"}'))
    assert stranger.get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/imports/{job.pk}/errors/").status_code == 404
