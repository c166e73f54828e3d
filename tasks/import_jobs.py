"""Item import as a Celery job: the upload is stored, a worker streams it through ``import_items``.

The API and the admin both call ``start_import_job``; progress (bytes and lines read) is published
in the cache while the job runs, because the import itself is one transaction whose writes nobody
can see until it commits — all or nothing, with the per-line error report kept on the ImportJob.
"""
from __future__ import annotations

import csv
import io
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core.schema import SchemaError

from .importing import MAX_REPORTED_ERRORS, detect_format, import_items, omitted_note
from .models import Campaign, ImportJob

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "parquet")


def max_import_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 1100 * 1024**2))


def start_import_job(*, campaign: Campaign, file: File, created_by=None, fmt: str | None = None,
                     original_name: str | None = None) -> ImportJob:
    """Store an uploaded file and queue its import; returns the job (status ``pending``).

    ``file`` is a Django File / UploadedFile (a large upload is already a temporary file on disk);
    ``fmt`` is jsonl, csv or parquet, else detected from the file name. Raises SchemaError naming
    the field (``file`` or ``format``) for an unusable upload; nothing is stored then.
    """
    name = original_name or getattr(file, "name", "") or ""
    if fmt:
        if fmt not in FORMATS:
            raise SchemaError("format", "Unsupported import format; use jsonl, csv or parquet.")
    else:
        fmt = detect_format(name)
    size = getattr(file, "size", None) or 0
    if size == 0:
        raise SchemaError("file", "The file is empty.")
    if size > max_import_bytes():
        raise SchemaError("file", f"The file is larger than the limit of {max_import_bytes()} bytes.")
    with transaction.atomic():
        job = ImportJob.objects.create(
            campaign=campaign, created_by=created_by if getattr(created_by, "pk", None) else None,
            original_name=name[:255], format=fmt, size_bytes=size,
        )
        job.file.save(f"{job.pk}.{fmt}", file, save=False)
        job.save(update_fields=["file"])
        transaction.on_commit(lambda: run_import_job_task.delay(job.pk))
    return job


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def import_job_status(job: ImportJob, *, errors_limit: int = 100) -> dict:
    """What a progress bar needs: status, fraction done (bytes), counts, the first errors."""
    live = cache.get(_progress_key(job.pk)) if job.status == ImportJob.Status.RUNNING else None
    bytes_read = live["bytes_read"] if live else job.bytes_read
    lines_read = live["lines_read"] if live else job.lines_read
    done = job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    return {
        "id": job.pk, "campaign": job.campaign_id, "status": job.status, "format": job.format,
        "file_name": job.original_name, "size_bytes": job.size_bytes, "bytes_read": bytes_read,
        "progress": 1.0 if done else round(min(1.0, bytes_read / job.size_bytes), 4) if job.size_bytes else 0.0,
        "lines_read": lines_read, "imported": job.imported, "error_count": job.error_count,
        "errors": job.errors[:errors_limit], "message": job.message, "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def error_report_csv(job: ImportJob) -> str:
    """The per-line error report as CSV (line, field, message) for download."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "field", "message"])
    for error in job.errors:
        writer.writerow([error.get("line"), _cell(error.get("field")), _cell(error.get("message"))])
    if job.error_count > len(job.errors):
        writer.writerow(["", "", f"... and {job.error_count - len(job.errors)} more errors (report capped)."])
    return out.getvalue()


def _cell(value) -> str:
    """Neutralise spreadsheet formulas: error messages can quote the uploaded file's content."""
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def run_import_job(job_id: int) -> ImportJob:
    """Run one import job; idempotent (a finished job is left alone, a redelivered one starts over)."""
    job = ImportJob.objects.select_related("campaign").get(pk=job_id)
    if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.status = ImportJob.Status.RUNNING
    try:
        with job.file.open("rb") as fh:
            def progress(lines_read: int) -> None:
                cache.set(_progress_key(job.pk), {"bytes_read": fh.tell(), "lines_read": lines_read}, 24 * 3600)

            report = import_items(campaign=job.campaign, stream=fh, fmt=job.format, progress=progress)
        job.lines_read, job.imported = report.lines_read, report.imported
        job.error_count = report.error_count
        job.errors = [e.as_dict() for e in report.errors[:MAX_REPORTED_ERRORS]]
        job.bytes_read = job.size_bytes
        if report.ok:
            job.status, job.message = ImportJob.Status.SUCCEEDED, f"Imported {report.imported} items."
        else:
            job.status = ImportJob.Status.FAILED
            job.message = f"{report.error_count} bad line(s); nothing was imported." + omitted_note(
                report.error_count, len(job.errors))
    except SchemaError as exc:
        job.status, job.message = ImportJob.Status.FAILED, exc.message
    except Exception as exc:  # noqa: BLE001 - the job records any failure; nothing was committed
        log.exception("import job %s failed", job.pk)
        job.status, job.message = ImportJob.Status.FAILED, f"Import failed: {type(exc).__name__}."
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "lines_read", "imported", "error_count", "errors", "bytes_read",
                            "finished_at"])
    cache.delete(_progress_key(job.pk))
    if not getattr(settings, "IMPORT_KEEP_FILES", False):
        job.file.delete(save=False)  # the uploader has the file; a 1 GB copy is not worth keeping
        ImportJob.objects.filter(pk=job.pk).update(file="")
    return job


@shared_task(name="tasks.import_jobs.run_import_job", acks_late=True)
def run_import_job_task(job_id: int) -> str:
    return run_import_job(job_id).status
