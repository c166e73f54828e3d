"""The export engine: stream records into per-split files, then package them with the card and media.

Memory stays flat: records come from a server-side cursor, rows are written in batches (orjson lines,
pyarrow record batches, csv rows) and never held beyond one batch; media are copied in chunks.
Files are built under a temporary name, fsynced, then renamed, so a killed worker never leaves a
truncated archive marked ready. Splits are a hash of (seed, group key), so the same filters and seed
give the same rows in the same files, byte for byte.
"""
from __future__ import annotations

import csv
import ctypes
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .layouts import NO_AUTHORSHIP, NO_SUGGESTION, Layout, LayoutContext

BATCH_ROWS = 2_000  # rows per write; Parquet row groups of this size keep Arrow buffers small
SPLITS = ("train", "validation", "test")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry timestamps: reproducible archives
COPY_CHUNK = 1024 * 1024


@dataclass
class SplitPlan:
    """Ratios per split and the seed; ``split_of(key)`` is a pure function of (seed, key)."""

    ratios: dict[str, float]
    seed: int = 0
    by: str = "item"

    def __post_init__(self):
        total, self._bounds = 0.0, []
        for name in SPLITS:
            ratio = self.ratios.get(name, 0.0)
            if ratio > 0:
                total += ratio
                self._bounds.append((total, name))
        self._single = self._bounds[0][1] if len(self._bounds) == 1 else None
        self._last_key = self._last_split = None

    @property
    def names(self) -> list[str]:
        return [name for _, name in self._bounds]

    def split_of(self, key) -> str:
        if self._single:
            return self._single
        if key == self._last_key:
            return self._last_split
        digest = hashlib.blake2b(f"{self.seed}:{key}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "big") / 2**64
        split = self._bounds[-1][1]
        for bound, name in self._bounds:
            if u < bound:
                split = name
                break
        self._last_key, self._last_split = key, split
        return split


class _JsonlFile:
    def __init__(self, path: Path, layout: Layout, metadata: dict | None = None):
        self.file = open(path, "wb", buffering=COPY_CHUNK)  # noqa: SIM115 - closed in close()

    def write(self, rows: list[dict]) -> None:
        # One write per row into the buffered file: joining a batch first would keep every row's
        # orjson buffer alive at once (about 8 kB each, ~80 MB per 10,000 rows).
        dumps, opt, write = orjson.dumps, orjson.OPT_APPEND_NEWLINE, self.file.write
        for row in rows:
            write(dumps(row, option=opt))

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


class _ParquetFile:
    def __init__(self, path: Path, layout: Layout, metadata: dict | None = None):
        # Schema metadata (e.g. the ``huggingface`` features readers such as ``datasets`` apply) per campaign.
        self.schema = layout.schema.with_metadata(metadata) if metadata else layout.schema
        import pyarrow.parquet as pq  # heavy library: loaded on first use, not in every web process

        self.writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def write(self, rows: list[dict]) -> None:
        import pyarrow as pa  # heavy library: loaded on first use, not in every web process

        self.writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): contributors' text and
# imported values (OCR text, external_id) reach CSV exports, so such cells get a leading quote (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as written into an export CSV: text that a spreadsheet would evaluate is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _CsvFile:
    """CSV cells are flat: list and struct columns are written as JSON text."""

    def __init__(self, path: Path, layout: Layout, metadata: dict | None = None):
        self.file = open(path, "w", encoding="utf-8", newline="", buffering=COPY_CHUNK)  # noqa: SIM115
        self.names = layout.schema.names
        import pyarrow as pa  # heavy library: loaded on first use, not in every web process

        self.nested = {f.name for f in layout.schema if pa.types.is_nested(f.type)}
        self.writer = csv.writer(self.file)
        self.writer.writerow(self.names)

    def write(self, rows: list[dict]) -> None:
        nested = self.nested
        self.writer.writerows(
            [orjson.dumps(row[n]).decode() if n in nested and row[n] is not None else csv_cell(row[n])
             for n in self.names]
            for row in rows
        )

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


WRITERS = {"jsonl": _JsonlFile, "parquet": _ParquetFile, "csv": _CsvFile}


@dataclass
class BuildResult:
    rows: int = 0
    rows_per_split: dict[str, int] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)  # name, rows, bytes, sha256
    media: dict[str, str] = field(default_factory=dict)
    missing_media: list[str] = field(default_factory=list)
    tree_files: list[str] = field(default_factory=list)  # a file tree's other files (one label file per image)


def _with_authorship(records: Iterable, layout: Layout, evidence: Callable | None,
                     suggestions: Callable | None = None) -> Iterable:
    """(record, extra column values) pairs: the authorship columns of a free-text layout (``evidence(ids,
    unit)``) and the suggestion columns (``suggestions(ids, unit)``), each asked once per BATCH_ROWS records."""
    if not layout.free_text and not layout.carries_suggestions:
        for rec in records:
            yield rec, None
        return
    chunk: list = []

    def flush():
        ids = [r.id for r in chunk]
        found = evidence(ids, layout.unit) if evidence and layout.free_text else {}
        assisted = suggestions(ids, layout.unit) if suggestions and layout.carries_suggestions else {}
        for r in chunk:
            extra = dict(found.get(r.id, NO_AUTHORSHIP)) if layout.free_text else {}
            if layout.carries_suggestions:
                extra.update(assisted.get(r.id, NO_SUGGESTION))
            yield r, extra

    for rec in records:
        chunk.append(rec)
        if len(chunk) >= BATCH_ROWS:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def write_splits(
    records: Iterable, layout: Layout, fmt: str, plan: SplitPlan, workdir: Path,
    progress: Callable[[int], None] | None = None, progress_every: int = 50_000,
    evidence: Callable[[list[int], str], dict] | None = None, config: dict | None = None,
    suggestions: Callable[[list[int], str], dict] | None = None,
) -> BuildResult:
    """Stream records through the layout into one data file per split under ``workdir/data``.

    For a layout with free text, ``evidence(ids, unit)`` gives the authorship columns per annotation (or item)
    id; rows without evidence get empty values (NO_AUTHORSHIP). ``suggestions(ids, unit)`` gives the suggestion
    columns likewise (NO_SUGGESTION when none was shown). ``config`` is the campaign's, for layouts
    whose values or Parquet metadata depend on it."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    ctx = LayoutContext(config=config or {})
    writer_cls = WRITERS[fmt]
    metadata = layout.metadata_for(ctx.config)
    writers = {name: writer_cls(workdir / "data" / f"{name}.{fmt}", layout, metadata) for name in plan.names}
    buffers: dict[str, list[dict]] = {name: [] for name in plan.names}
    counts = dict.fromkeys(plan.names, 0)
    by_speaker = layout.group == "speaker" and plan.by == "speaker"
    build, split_of = layout.build, plan.split_of
    total, next_report = 0, progress_every
    try:
        for rec, authorship in _with_authorship(records, layout, evidence, suggestions):
            rows = build(rec, ctx)
            if not rows:
                continue
            if authorship is not None:
                for row in rows:
                    row.update(authorship)
            split = split_of((rec.contributor or f"anon-{rec.item_id}") if by_speaker else rec.item_id)
            buf = buffers[split]
            buf.extend(rows)
            if len(buf) >= BATCH_ROWS:
                writers[split].write(buf)
                counts[split] += len(buf)
                total += len(buf)
                buf.clear()
                if progress and total >= next_report:
                    progress(total)
                    next_report = total + progress_every
        for name, buf in buffers.items():
            if buf:
                writers[name].write(buf)
                counts[name] += len(buf)
                total += len(buf)
    finally:
        for writer in writers.values():
            writer.close()
        release_memory()
    result = BuildResult(rows=total, rows_per_split=counts, media=ctx.media)
    for name in plan.names:
        path = workdir / "data" / f"{name}.{fmt}"
        result.files.append({"name": f"data/{name}.{fmt}", "split": name, "rows": counts[name],
                             "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    return result


def write_tree(records: Iterable, tree, workdir: Path, config: dict | None = None) -> BuildResult:
    """Write a file-tree format (``exports.layouts.Tree``: COCO, YOLO, VOC) under ``workdir``.

    Top-level files (``annotations.json``, ``data.yaml``) are listed with their SHA-256 like row files;
    files in sub-folders (one label file per image) go into the archive unlisted, so the card and the
    export row stay small whatever the number of images. The images themselves are media (``ctx.media``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = LayoutContext(config=config or {})
    try:
        counts = tree.write(records, workdir, ctx)
    finally:
        release_memory()
    images = int(counts.get("images", 0))
    result = BuildResult(rows=images, rows_per_split={"train": images}, media=ctx.media)
    for path in sorted(p for p in workdir.rglob("*") if p.is_file()):
        name = path.relative_to(workdir).as_posix()
        if "/" in name:
            result.tree_files.append(name)
        else:
            result.files.append({"name": name, "split": "train", "rows": images, "bytes": path.stat().st_size,
                                 "sha256": file_sha256(path)})
    return result


def release_memory() -> None:
    """Hand freed buffers back to the OS (Arrow's pool and glibc's heap) so the card step starts low."""
    import pyarrow as pa  # imported where used: web processes load this module but never write Parquet

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def package(workdir: Path, result: BuildResult, card: str, fmt: str, final_path: Path, open_media) -> str:
    """Zip README.md + data files + media into ``final_path`` atomically; returns the archive's SHA-256.

    ``open_media(key)`` opens a stored media file (Django storage); a missing file is listed in
    ``result.missing_media`` instead of failing the whole export.
    """
    final_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
            zf.writestr(_entry("README.md", zipfile.ZIP_DEFLATED), card.encode())
            text = zipfile.ZIP_STORED if fmt == "parquet" else zipfile.ZIP_DEFLATED
            for name in [entry["name"] for entry in result.files] + result.tree_files:
                with open(workdir / name, "rb") as src, zf.open(_entry(name, text), "w",
                                                                 force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, COPY_CHUNK)
            for key, arcname in sorted(result.media.items(), key=lambda kv: kv[1]):
                try:
                    src = open_media(key)
                except (FileNotFoundError, OSError, ValueError):
                    result.missing_media.append(key)
                    continue
                with src, zf.open(_entry(arcname, zipfile.ZIP_STORED), "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, COPY_CHUNK)
            zf.close()
            raw.flush()
            os.fsync(raw.fileno())
        digest = file_sha256(Path(tmp_name))
        os.replace(tmp_name, final_path)
        dir_fd = os.open(final_path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return digest
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = compression
    if compression == zipfile.ZIP_DEFLATED:
        # Fast level: the export worker's time matters more than a few per cent of size.
        info._compresslevel = 1  # Python 3.11 spelling; 3.13 names it compress_level
    info.external_attr = 0o644 << 16
    return info
