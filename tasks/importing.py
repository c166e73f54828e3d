"""Item import from JSONL or CSV files: streamed, validated line by line, all-or-nothing.

A file with any bad line imports nothing; the report names every bad line (up to a cap).
Lines are read with a length limit, so a huge file without newlines cannot exhaust memory.
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction

from core.schema import SchemaError

from .models import Campaign, Item
from .services import new_item

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
# The report is stored on the job row and returned on every poll: rejected values are echoed truncated,
# and errors are kept only while the report stays under MAX_REPORT_CHARS (issue 18: ten 2 MB bad lines
# made a 20 MB row). error_count still counts every bad line.
MAX_ECHO_CHARS = 120
MAX_MESSAGE_CHARS = 400
MAX_REPORT_CHARS = 100_000
BATCH_SIZE = 2000
RESERVED_KEYS = {"payload", "gold_answer", "external_id", "priority"}


# Checks an upper app adds to every imported item, on every import path (API, admin, zip, CSV, Parquet):
# ``check(campaign=, task=, payload=)`` returns (field, message) to refuse the line, else None. The assets
# app registers its media-ownership check at start-up (assets/apps.py): it sits above tasks in the layers.
_ITEM_CHECKS: list[Callable[..., tuple[str, str] | None]] = []


def register_item_check(check: Callable[..., tuple[str, str] | None]) -> None:
    if check not in _ITEM_CHECKS:
        _ITEM_CHECKS.append(check)


# Item fields an upper app takes out of the payload on every import path and stores itself once the item has
# its id (the authenticity app: ``reference_answers``, the answers LLMs gave to the item's prompt, which must
# never reach the contributor's page). ``clean(value)`` returns the value to store or raises SchemaError
# naming the sub-field; ``store(items_and_values)`` runs in the import's transaction after each batch.
_ITEM_EXTRAS: dict[str, tuple[Callable, Callable]] = {}


def register_item_extra(key: str, clean: Callable, store: Callable) -> None:
    _ITEM_EXTRAS[key] = (clean, store)



# Called with the campaign's id once an import's items are committed (any path: API, admin, zip, CSV,
# Parquet); the assist app registers here to ask its model backends for suggestions (assist/apps.py).
_IMPORT_LISTENERS: list[Callable[[int], object]] = []


def register_import_listener(listener: Callable[[int], object]) -> None:
    if listener not in _IMPORT_LISTENERS:
        _IMPORT_LISTENERS.append(listener)


def _announce_import(campaign_id: int) -> None:
    def run() -> None:
        for listener in _IMPORT_LISTENERS:
            try:
                listener(campaign_id)
            except Exception:  # noqa: BLE001 - the items are stored; a listener's failure is its own
                log.warning("import listener %r failed", listener, exc_info=True)

    transaction.on_commit(run)

def _store_extras(items: list[Item]) -> None:
    for key, (_clean, store) in _ITEM_EXTRAS.items():
        pairs = [(item, item._import_extras[key]) for item in items
                 if key in getattr(item, "_import_extras", {})]
        if pairs:
            store(pairs)


def truncate_value(value, limit: int = MAX_ECHO_CHARS) -> str:
    """A value as echoed in an error report: at most ``limit`` characters, saying how long it was."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


@dataclass
class LineError:
    line: int
    field: str
    message: str

    def __post_init__(self):
        # Messages quote rejected values (a JSON-schema message repeats the whole string): cap them here,
        # where every import path (files, zip, parquet, API, admin) builds its errors.
        self.field = truncate_value(str(self.field or ""), 200)
        self.message = truncate_value(str(self.message or ""), MAX_MESSAGE_CHARS)

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}

    def size(self) -> int:
        return len(self.field) + len(self.message) + 40


def keep_error(report, error: LineError) -> None:
    """Count a bad line on ``report`` (errors, error_count, kept_chars) and keep it while the report is small."""
    report.error_count += 1
    if len(report.errors) < MAX_REPORTED_ERRORS and report.kept_chars + error.size() <= MAX_REPORT_CHARS:
        report.errors.append(error)
        report.kept_chars += error.size()


def omitted_note(error_count: int, kept: int) -> str:
    """What the stored report leaves out, for the job's message ("" when it holds every error)."""
    if error_count <= kept:
        return ""
    return f" The report lists the first {kept}; {error_count - kept} more were left out."


@dataclass
class ImportReport:
    format: str
    lines_read: int = 0
    imported: int = 0
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    kept_chars: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "lines_read": self.lines_read,
            "imported": self.imported,
            "ok": self.ok,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
            "errors_omitted": self.error_count - len(self.errors),
        }


class _Rollback(Exception):
    pass


def _jsonl_records(stream: BinaryIO) -> Iterator[tuple[int, dict | LineError]]:
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            yield line_no, LineError(line_no, "", f"Line longer than {MAX_LINE_BYTES} bytes.")
            return  # the rest of an overlong line is not worth reading
        text = raw.strip()
        if not text:
            continue
        try:
            record = json.loads(text.decode("utf-8"))
        except UnicodeDecodeError:
            yield line_no, LineError(line_no, "", "Not valid UTF-8.")
            continue
        except json.JSONDecodeError as exc:
            yield line_no, LineError(line_no, "", f"Invalid JSON: {exc.msg} (column {exc.colno}).")
            continue
        if not isinstance(record, dict):
            yield line_no, LineError(line_no, "", "Each line must be a JSON object.")
            continue
        yield line_no, record


class _LineTooLong(Exception):
    def __init__(self, line_no: int):
        self.line_no = line_no


def _capped_lines(stream: BinaryIO) -> Iterator[str]:
    """Text lines of a binary stream, each read with a length cap (a file with no newline stays bounded)."""
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise _LineTooLong(line_no)
        yield raw.decode("utf-8-sig" if line_no == 1 else "utf-8")


def _csv_records(stream: BinaryIO) -> Iterator[tuple[int, dict | LineError]]:
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.DictReader(_capped_lines(stream))
    try:
        for row in reader:
            line_no = reader.line_num
            record: dict = {}
            payload: dict = {}
            for key, value in row.items():
                if key is None:
                    yield line_no, LineError(line_no, "", "More values than header columns.")
                    break
                if key == "gold_answer" and value:
                    try:
                        record["gold_answer"] = json.loads(value)
                    except json.JSONDecodeError:
                        yield line_no, LineError(line_no, "gold_answer", "gold_answer must be JSON.")
                        break
                elif key in ("external_id", "priority"):
                    if value:
                        record[key] = value
                elif value is not None and value != "":
                    payload[key] = _csv_value(value)
            else:
                record["payload"] = payload
                yield line_no, record
    except _LineTooLong as exc:
        yield exc.line_no, LineError(exc.line_no, "", f"Line longer than {MAX_LINE_BYTES} bytes.")
    except UnicodeDecodeError:
        yield reader.line_num + 1, LineError(reader.line_num + 1, "", "Not valid UTF-8.")
    except csv.Error as exc:
        yield reader.line_num + 1, LineError(reader.line_num + 1, "", f"Unreadable CSV: {exc}")


def _csv_value(value: str):
    """CSV cells holding JSON arrays/objects (e.g. a list of responses) are decoded."""
    stripped = value.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def records_from(stream: BinaryIO, fmt: str) -> Iterator[tuple[int, dict | LineError]]:
    if fmt == "jsonl":
        return _jsonl_records(stream)
    if fmt == "csv":
        return _csv_records(stream)
    if fmt == "parquet":
        from .importing_parquet import (
            parquet_records,  # deferred with pyarrow (~100 MB) to the Parquet imports
        )

        return parquet_records(stream)
    raise SchemaError("format", f"Unsupported import format {fmt!r}; use jsonl, csv or parquet.")


def detect_format(filename: str) -> str:
    name = filename.lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(ext):
            return fmt
    raise SchemaError("file", "Unknown file type: use .jsonl, .csv or .parquet.")


def _to_item(campaign: Campaign, line_no: int, record: dict) -> Item | LineError:
    task = campaign.task
    if "payload" in record:
        payload = record["payload"]
    else:
        payload = {k: v for k, v in record.items() if k not in RESERVED_KEYS}
    extras = {}
    for key, (clean, _store) in _ITEM_EXTRAS.items():
        if isinstance(payload, dict) and key in payload:
            payload = dict(payload)
            try:
                extras[key] = clean(payload.pop(key))
            except SchemaError as exc:
                sub = exc.field if exc.field.startswith("[") or not exc.field else f".{exc.field}"
                return LineError(line_no, f"payload.{key}{sub}", exc.message)
    # Checks the apps above add (assets: media must be this organisation's own uploads), before the type
    # looks anything up.
    for check in _ITEM_CHECKS:
        refused = check(campaign=campaign, task=task, payload=payload)
        if refused:
            return LineError(line_no, *refused)
    try:
        payload = task.validate_item(payload, campaign.config)
    except SchemaError as exc:
        return LineError(line_no, f"payload.{exc.field}" if exc.field else "payload", exc.message)
    gold = record.get("gold_answer")
    if gold is not None:
        try:
            gold = task.validate_gold(gold, campaign.config, payload)
        except SchemaError as exc:
            return LineError(line_no, f"gold_answer.{exc.field}" if exc.field else "gold_answer", exc.message)
    try:
        priority = int(record.get("priority") or 0)
    except (TypeError, ValueError):
        return LineError(line_no, "priority", "priority must be an integer.")
    external_id = str(record.get("external_id") or "")[:200]
    item = new_item(campaign, payload=payload, gold_answer=gold, external_id=external_id, priority=priority)
    if extras:
        item._import_extras = extras
    return item


def import_items(*, campaign: Campaign, stream: BinaryIO, fmt: str, progress=None) -> ImportReport:
    """Validate every line and store the items in one transaction, or nothing if any line is bad.

    ``progress(lines_read)`` is called every BATCH_SIZE lines so a Celery job can publish its progress.
    """
    report = ImportReport(format=fmt)
    batch: list[Item] = []
    try:
        with transaction.atomic():
            for line_no, record in records_from(stream, fmt):
                report.lines_read = line_no
                if progress and line_no % BATCH_SIZE == 0:
                    progress(line_no)
                outcome = record if isinstance(record, LineError) else _to_item(campaign, line_no, record)
                if isinstance(outcome, LineError):
                    keep_error(report, outcome)
                    batch = []
                    continue
                if report.error_count:
                    continue  # keep validating to report every bad line, but store nothing
                batch.append(outcome)
                if len(batch) >= BATCH_SIZE:
                    Item.objects.bulk_create(batch)
                    _store_extras(batch)
                    report.imported += len(batch)
                    batch = []
            if batch and not report.error_count:
                Item.objects.bulk_create(batch)
                _store_extras(batch)
                report.imported += len(batch)
            if report.error_count:
                raise _Rollback
            if report.imported == 0:
                report.errors.append(LineError(0, "", "The file holds no items."))
                report.error_count = 1
                raise _Rollback
            _announce_import(campaign.pk)
    except _Rollback:
        report.imported = 0
    return report
