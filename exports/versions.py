"""Named dataset versions: freeze an export as v1, v2…, diff it against the previous one, publish it.

A version owns a read-only copy of its export's archive (so it downloads byte-identical forever, even after
the export is deleted), the dataset card, per-file checksums, and a manifest of one digest per item: the
changelog of the next version is a diff of two manifests (items added, items removed, labels changed) plus
the rows the version's filters dropped. Publishing writes the archive's files in the Hugging Face layout
(README.md with its YAML ``configs``, ``data/<split>.<format>``, media) to a directory that
``datasets.load_dataset(path)`` reads, or to an S3-compatible bucket.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.schema import SchemaError
from tasks.models import Campaign

from .engine import COPY_CHUNK, file_sha256
from .layouts import supported_layouts
from .models import DatasetVersion, Export, Webhook
from .selectors import base_queryset
from .services import export_file_path, export_root
from .webhooks import notify

EXAMPLES_MAX = 100  # item ids listed per changelog entry (the counts are always complete)
PUBLISH_TARGETS = ("disk", "s3")


def version_path(version: DatasetVersion) -> Path | None:
    path = (export_root() / version.path).resolve()
    if export_root().resolve() not in path.parents or not path.is_file():
        return None
    return path


def _row_key(row: dict, index: int):
    for name in ("item_id", "external_id"):
        if row.get(name) is not None:
            return row[name]
    return f"row-{index}"


def _iter_rows(zf: zipfile.ZipFile, entry: dict, fmt: str):
    with zf.open(entry["name"]) as fh:
        if fmt == "jsonl":
            for line in fh:
                if line.strip():
                    yield orjson.loads(line)
        elif fmt == "csv":
            yield from csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
        else:
            import pyarrow.parquet as pq  # heavy: loaded where used

            # Parquet entries are stored uncompressed in the archive, so the member is seekable as it is.
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=2000):
                yield from batch.to_pylist()


def item_manifest(archive: Path, files: list[dict], fmt: str) -> dict[str, str]:
    """{item key: SHA-256 of the item's rows} over every split: what a changelog compares."""
    digests: dict[str, hashlib._Hash] = {}
    index = 0
    with zipfile.ZipFile(archive) as zf:
        for entry in files:
            for row in _iter_rows(zf, entry, fmt):
                key = str(_row_key(row, index))
                index += 1
                digests.setdefault(key, hashlib.sha256()).update(
                    orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str))
    return {key: digest.hexdigest() for key, digest in digests.items()}


def changelog(previous: dict[str, str] | None, current: dict[str, str], *, previous_name: str | None,
              rows_dropped: int, previous_rows: int, rows: int) -> dict:
    """What changed since the previous version (None: this is the first)."""
    previous = previous or {}
    added = sorted(current.keys() - previous.keys(), key=_sort_key)
    removed = sorted(previous.keys() - current.keys(), key=_sort_key)
    changed = sorted((k for k in current.keys() & previous.keys() if current[k] != previous[k]), key=_sort_key)
    return {
        "previous": previous_name, "rows": rows, "rows_previous": previous_rows if previous_name else None,
        "items": len(current), "items_added": len(added), "items_removed": len(removed),
        "labels_changed": len(changed), "rows_dropped_by_filters": rows_dropped,
        "examples": {"added": added[:EXAMPLES_MAX], "removed": removed[:EXAMPLES_MAX],
                     "labels_changed": changed[:EXAMPLES_MAX]},
    }


def _sort_key(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _read_only_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, COPY_CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_read_only(data: bytes, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)
    os.chmod(dst, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def freeze_export(*, export: Export, notes: str = "", created_by=None) -> DatasetVersion:
    """Freeze a succeeded export as the campaign's next version. Bad input raises SchemaError('export')."""
    if export.status != Export.Status.SUCCEEDED:
        raise SchemaError("export", f"Export {export.pk} is {export.status}; freeze it once it has succeeded.")
    source = export_file_path(export)
    if source is None:
        raise SchemaError("export", f"The file of export {export.pk} is gone; request a new export.")
    if file_sha256(source) != export.sha256:
        raise SchemaError("export", f"The file of export {export.pk} does not match its checksum.")
    layout = supported_layouts(export.campaign.task)[export.layout]
    if export.format not in Export.Format.values:
        raise SchemaError("export", f"Export {export.pk} is a {export.format} file tree; versions are frozen from "
                                    f"row exports ({', '.join(Export.Format.values)}).")
    manifest = item_manifest(source, export.files, export.format)
    with zipfile.ZipFile(source) as zf:
        card = zf.read("README.md").decode()
    all_rows = base_queryset(export.campaign, layout, {}).count()
    kept_rows = base_queryset(export.campaign, layout, export.filters).count()
    folder = f"versions/{export.campaign_id}/{secrets.token_urlsafe(16)}"
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=export.campaign_id).first()  # numbers one at a time
        previous = DatasetVersion.objects.filter(campaign_id=export.campaign_id).order_by("-number").first()
        number = previous.number + 1 if previous else 1
        prev_manifest = None
        if previous and previous.manifest_path:
            try:
                prev_manifest = orjson.loads((export_root() / previous.manifest_path).read_bytes())
            except OSError:
                prev_manifest = None
        version = DatasetVersion(
            organization_id=export.organization_id, campaign_id=export.campaign_id, export=export, number=number,
            notes=notes, layout=export.layout, format=export.format, filters=export.filters, split=export.split,
            size_bytes=export.size_bytes, sha256=export.sha256, files=export.files, rows=export.rows_written,
            card=card, created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        version.path = f"{folder}/{version.download_name}"
        version.manifest_path = f"{folder}/manifest.json"
        version.changelog = changelog(prev_manifest, manifest, previous_name=previous.name if previous else None,
                                      rows_dropped=max(all_rows - kept_rows, 0),
                                      previous_rows=previous.rows if previous else 0, rows=export.rows_written)
        _read_only_copy(source, export_root() / version.path)
        _write_read_only(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS), export_root() / version.manifest_path)
        if file_sha256(export_root() / version.path) != version.sha256:
            raise SchemaError("export", "The frozen copy does not match the export's checksum.")
        version.save()
    return version


# --- publishing ---------------------------------------------------------------------------------


def _layout_files(version: DatasetVersion, workdir: Path) -> list[Path]:
    """Unpack the archive into ``workdir`` in the Hugging Face layout, plus checksums and the changelog."""
    source = version_path(version)
    if source is None:
        raise SchemaError("version", f"The file of {version.name} is gone.")
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            target = (workdir / info.filename).resolve()
            if workdir.resolve() not in target.parents:
                raise SchemaError("version", f"Unsafe path in the archive: {info.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
    files = sorted(p for p in workdir.rglob("*") if p.is_file())
    sums = "".join(f"{file_sha256(p)}  {p.relative_to(workdir).as_posix()}\n" for p in files)
    (workdir / "SHA256SUMS").write_text(sums)
    (workdir / "version.json").write_bytes(orjson.dumps({
        "version": version.name, "campaign": version.campaign_id, "archive_sha256": version.sha256,
        "layout": version.layout, "format": version.format, "filters": version.filters, "rows": version.rows,
        "changelog": version.changelog, "created_at": version.created_at.isoformat()}, option=orjson.OPT_INDENT_2))
    return sorted(p for p in workdir.rglob("*") if p.is_file())


def _prefix(version: DatasetVersion) -> str:
    return f"{version.organization.slug}/campaign-{version.campaign_id}/{version.name}"


def publish_to_disk(version: DatasetVersion, workdir: Path) -> str:
    root = getattr(settings, "DATASET_PUBLISH_ROOT", None)
    if not root:
        raise SchemaError("target", "Publishing to disk is not configured (DATASET_PUBLISH_ROOT).")
    final = Path(root) / _prefix(version)
    if final.exists():  # versions are immutable: published once, the same files stay
        return str(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version.name}-", dir=final.parent))
    try:
        for path in _layout_files(version, workdir):
            dst = staging / path.relative_to(workdir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(final)


def s3_client():
    """boto3 client for DATASET_PUBLISH_S3 = {"bucket", "endpoint_url", "region", "access_key", "secret_key",
    "prefix"}; the destination is the platform's configuration, never a URL from the request (SSRF)."""
    import boto3

    conf = getattr(settings, "DATASET_PUBLISH_S3", None) or {}
    if not conf.get("bucket"):
        raise SchemaError("target", "Publishing to S3 is not configured (DATASET_PUBLISH_S3).")
    client = boto3.client("s3", endpoint_url=conf.get("endpoint_url") or None, region_name=conf.get("region") or None,
                          aws_access_key_id=conf.get("access_key") or None,
                          aws_secret_access_key=conf.get("secret_key") or None)
    return client, conf


def publish_to_s3(version: DatasetVersion, workdir: Path) -> str:
    client, conf = s3_client()
    prefix = "/".join(p for p in (conf.get("prefix", "").strip("/"), _prefix(version)) if p)
    for path in _layout_files(version, workdir):
        key = f"{prefix}/{path.relative_to(workdir).as_posix()}"
        with open(path, "rb") as body:
            client.put_object(Bucket=conf["bucket"], Key=key, Body=body,
                              Metadata={"sha256": file_sha256(path)})
    return f"s3://{conf['bucket']}/{prefix}/"


def publish_version(*, version: DatasetVersion, target: str) -> dict:
    """Publish a version (files, SHA256SUMS, version.json with the changelog); returns where it went."""
    if target not in PUBLISH_TARGETS:
        raise SchemaError("target", f"Unknown target; use one of: {', '.join(PUBLISH_TARGETS)}.")
    workdir = Path(tempfile.mkdtemp(prefix=f"publish-{version.pk}-"))
    try:
        location = (publish_to_disk if target == "disk" else publish_to_s3)(version, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    entry = {"target": target, "location": location, "at": timezone.now().isoformat()}
    with transaction.atomic():
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        locked.published = [*locked.published, entry]
        locked.save(update_fields=["published"])
        version.published = locked.published
        notify(organization=version.organization, event=Webhook.Event.VERSION_PUBLISHED, object_id=version.pk,
               key=f"{target}:{len(locked.published)}",
               data={"version": version.name, "version_id": version.pk, "campaign": version.campaign_id,
                     "target": target, "location": location, "sha256": version.sha256})
    return entry
