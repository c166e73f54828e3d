"""The client: ``Client(url, token)`` and handles for campaigns, exports and dataset versions.

Every call goes through ``Client.request``: writes carry an ``Idempotency-Key`` (the server replays the
first answer to a retried write, so a retry never creates a second campaign, import or export), and
429/5xx answers and dropped connections are retried with exponential back-off, honouring ``Retry-After``.
List endpoints are iterators that follow the server's cursor (``next``) page by page.
"""
from __future__ import annotations

import email.utils
import hashlib
import io
import json
import os
import random
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from .errors import (
    ChecksumError,
    DownloadError,
    JobFailed,
    NetworkError,
    NotFound,
    ValidationError,
    VNAnnotateError,
    error_for,
)

__all__ = ["Client", "Campaign", "Export", "Version"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 1024 * 1024
USER_AGENT = "vnannotate-python/0.1.0"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


class Client:
    """A connection to one platform with one organisation API token.

    ``url`` and ``token`` default to the environment (``VNANNOTATE_URL``, ``VNANNOTATE_TOKEN``).
    ``retries`` is the number of extra attempts on 429/5xx/network errors; ``backoff`` the first delay
    in seconds (doubled per attempt, capped at ``max_backoff``, a server's ``Retry-After`` wins).
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 retries: int = 4, backoff: float = 0.5, max_backoff: float = 30.0, progress: bool = True,
                 transport: httpx.BaseTransport | None = None):
        url = url or os.environ.get("VNANNOTATE_URL")
        token = token or os.environ.get("VNANNOTATE_TOKEN")
        if not url:
            raise VNAnnotateError("No server URL: pass url= or set VNANNOTATE_URL.")
        if not token:
            raise VNAnnotateError("No API token: pass token= or set VNANNOTATE_TOKEN.")
        self.url = url.rstrip("/")
        self.retries, self.backoff, self.max_backoff, self.progress = retries, backoff, max_backoff, progress
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport, headers={
            "Authorization": f"Token {token}", "User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------------

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:
            return min(hinted, self.max_backoff)
        return min(self.backoff * 2 ** attempt, self.max_backoff) * (0.5 + random.random() / 2)

    def send(self, method: str, path: str, *, stream: bool = False, idempotency_key: str | None = None,
             **kwargs) -> httpx.Response:
        """One request with retries; returns the (successful) response, or raises the server's error."""
        method = method.upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            headers.setdefault("Idempotency-Key", idempotency_key or uuid.uuid4().hex)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                request = self._http.build_request(method, path, headers=headers, **kwargs)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if last:
                    raise NetworkError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
                time.sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                delay = self._delay(attempt, response)
                response.close()
                time.sleep(delay)
                continue
            if response.status_code >= 400:
                if stream:
                    response.read()
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                response.close()
                raise error_for(response.status_code, body, method, str(response.request.url))
            return response
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, **kwargs) -> Any:
        """A JSON call: the decoded body (None for 204)."""
        response = self.send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def paginate(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every row of a cursor-paginated list, fetched page by page as the iterator advances."""
        next_url: str | None = path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        while next_url:
            page = self.request("GET", next_url, params=query)
            query = None  # the cursor URL carries the query from now on
            if isinstance(page, list):
                yield from page
                return
            yield from page.get("results", [])
            next_url = page.get("next")

    # --- organisation-level -------------------------------------------------------------------

    def campaigns(self, status: str | None = None) -> Iterator[Campaign]:
        for row in self.paginate("/api/v1/campaigns/", {"status": status}):
            yield Campaign(self, row)

    def campaign(self, campaign: int | str) -> Campaign:
        """A campaign by id, or by its exact name (NotFound when no single campaign has it)."""
        if isinstance(campaign, int) or str(campaign).isdigit():
            return Campaign(self, self.request("GET", f"/api/v1/campaigns/{int(campaign)}/"))
        matches = [c for c in self.campaigns() if c.name == campaign]
        if len(matches) != 1:
            raise NotFound(404, "not_found", f"No single campaign named {campaign!r} ({len(matches)} found); "
                           "use its id.", field="campaign")
        return matches[0]

    def create_campaign(self, name: str, task_type: str, config: dict | None = None, **settings: Any) -> Campaign:
        """A draft campaign of ``task_type`` (e.g. ``moderation``, ``rlhf``) with its task configuration and
        settings (``overlap``, ``instructions``, ``pay_per_task``…); activate it with ``transition``."""
        body = {"name": name, "task_type": task_type, "config": config or {}, **settings}
        return Campaign(self, self.request("POST", "/api/v1/campaigns/", json=body))

    def export(self, export_id: int) -> Export:
        return Export(self, self.request("GET", f"/api/v1/exports/{export_id}/"))

    def version(self, version_id: int) -> Version:
        return Version(self, self.request("GET", f"/api/v1/versions/{version_id}/"))

    def webhooks(self) -> Iterator[dict]:
        return self.paginate("/api/v1/webhooks/")

    def create_webhook(self, url: str, events: list[str] | None = None) -> dict:
        """Register a webhook; the answer's ``secret`` (shown once) verifies ``X-Webhook-Signature``."""
        return self.request("POST", "/api/v1/webhooks/", json={"url": url, "events": events or []})

    def test_webhook(self, webhook_id: int) -> dict:
        return self.request("POST", f"/api/v1/webhooks/{webhook_id}/test/")

    def webhook_deliveries(self, webhook_id: int) -> Iterator[dict]:
        return self.paginate(f"/api/v1/webhooks/{webhook_id}/deliveries/")

    def tokens(self) -> Iterator[dict]:
        """The organisation's API tokens (needs a signed-in administrator on the server side)."""
        return self.paginate("/api/v1/tokens/")

    # --- files -----------------------------------------------------------------------------------

    def download(self, path: str, dest: str | os.PathLike, *, expected_sha256: str | None = None,
                 label: str = "") -> Path:
        """Stream ``path`` to ``dest`` through a ``.part`` file, checking SHA-256 (the server's
        ``X-Checksum-SHA256`` or ``expected_sha256``). On any failure the partial file is removed and
        DownloadError (ChecksumError for a mismatch) is raised: nothing half-written is left."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        digest = hashlib.sha256()
        try:
            response = self.send("GET", path, stream=True)
            try:
                expected = expected_sha256 or response.headers.get("X-Checksum-SHA256")
                total = int(response.headers.get("Content-Length") or 0) or None
                bar = _bar(total, label or dest.name, self.progress, unit="B")
                with open(part, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
                    out.flush()
                    os.fsync(out.fileno())
                bar.close()
            finally:
                response.close()
            if total is not None and part.stat().st_size != total:
                raise DownloadError(f"{dest.name}: got {part.stat().st_size} of {total} bytes.")
            if expected and digest.hexdigest() != expected:
                raise ChecksumError(f"{dest.name}: SHA-256 {digest.hexdigest()} does not match the server's "
                                    f"{expected}; the file was removed.")
            os.replace(part, dest)
            return dest
        except (httpx.HTTPError, OSError) as exc:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{dest.name}: the download failed ({type(exc).__name__}: {exc}); the partial "
                                f"file was removed.") from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def _bar(total: int | None, desc: str, enabled: bool, unit: str = "it"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", disable=not enabled, leave=False)


class _Resource:
    _path = ""

    def __init__(self, client: Client, data: dict):
        self.client, self.data = client, data

    @property
    def id(self) -> int:
        return self.data["id"]

    def refresh(self):
        self.data = self.client.request("GET", self._path.format(id=self.id))
        return self

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


def _rows_of(source) -> tuple[bytes, str]:
    """Items as an upload (bytes, format): a list of dicts, a DataFrame, a datasets.Dataset, or a path."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower().lstrip(".")
        fmt = {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv", "parquet": "parquet"}.get(suffix)
        if fmt is None:
            raise ValidationError(400, "invalid", f"Unknown file type {path.suffix!r}; use .jsonl, .csv or .parquet.",
                                  field="file")
        if not path.is_file():
            raise ValidationError(400, "invalid", f"No such file: {path}", field="file")
        return path.read_bytes(), fmt
    if type(source).__name__ == "DataFrame":
        records = source.to_dict(orient="records")
    elif type(source).__name__ == "Dataset" and hasattr(source, "to_list"):
        records = source.to_list()
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, dict)):
        records = list(source)
    else:
        raise ValidationError(400, "invalid", "Items must be a list of dicts, a pandas DataFrame, a datasets.Dataset "
                              "or a .jsonl/.csv/.parquet path.", field="items")
    lines = []
    for n, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise ValidationError(400, "invalid", f"Item {n} is not a dict.", field=f"items[{n - 1}]")
        lines.append(json.dumps(_plain(record), ensure_ascii=False, default=str))
    return ("\n".join(lines) + "\n").encode(), "jsonl"


def _plain(value):
    """numpy scalars/arrays and NaN from a DataFrame as JSON values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and value != value:
        return None
    return value


class Campaign(_Resource):
    _path = "/api/v1/campaigns/{id}/"

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def status(self) -> str:
        return self.data["status"]

    def update(self, **fields: Any) -> Campaign:
        """Change settings or ``config`` (PATCH); the server names a refused field in ValidationError."""
        self.data = self.client.request("PATCH", self._path.format(id=self.id), json=fields)
        return self

    def transition(self, status: str) -> Campaign:
        """Lifecycle: draft → active ⇄ paused → completed → archived."""
        return self.update(status=status)

    def progress(self) -> dict:
        return self.refresh().data["progress"]

    def quality(self) -> dict:
        return self.client.request("GET", f"/api/v1/campaigns/{self.id}/quality/")

    def items(self, **params: Any) -> Iterator[dict]:
        return self.client.paginate(f"/api/v1/campaigns/{self.id}/items/", params)

    def annotations(self, **params: Any) -> Iterator[dict]:
        return self.client.paginate(f"/api/v1/campaigns/{self.id}/annotations/", params)

    def consensus(self, **params: Any) -> Iterator[dict]:
        return self.client.paginate(f"/api/v1/campaigns/{self.id}/consensus/", params)

    def import_items(self, source, *, format: str | None = None, wait: bool = True, timeout: float = 600,
                     name: str | None = None) -> dict:
        """Import items (all or nothing on the server); returns the import job's final status.

        A refused file raises JobFailed whose ``errors`` list the bad lines (line, field, message).
        """
        data, fmt = _rows_of(source)
        fmt = format or fmt
        filename = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else f"items.{fmt}")
        job = self.client.request("POST", f"/api/v1/campaigns/{self.id}/imports/",
                                  files={"file": (filename, data)}, data={"format": fmt})
        if not wait:
            return job
        return _wait(self.client, f"/api/v1/imports/{job['id']}/", job, timeout=timeout, what="import",
                     total_key="size_bytes", done_key="bytes_read")

    def upload_media(self, path: str | os.PathLike, name: str | None = None) -> dict:
        """Upload an image or audio file; items reference it by the returned ``key``."""
        path = Path(path)
        with open(path, "rb") as fh:
            return self.client.request("POST", f"/api/v1/campaigns/{self.id}/media/",
                                       files={"file": (path.name, fh)}, data={"name": name or path.name})

    def layouts(self) -> list[dict]:
        return self.client.request("GET", f"/api/v1/campaigns/{self.id}/export-layouts/")["layouts"]

    def export(self, layout: str = "raw", format: str = "jsonl", *, finalised_only: bool | None = None,
               min_agreement: float | None = None, since: str | None = None, license: str | None = None,
               split: dict | None = None, wait: bool = False, timeout: float = 3600) -> Export:
        """Start an export. ``finalised_only`` defaults on the server: true for dpo/reward/sft."""
        body: dict[str, Any] = {"layout": layout, "format": format, "split": split or {}}
        for key, value in (("finalised_only", finalised_only), ("min_agreement", min_agreement),
                           ("since", since), ("license", license)):
            if value is not None:
                body[key] = value
        export = Export(self.client, self.client.request("POST", f"/api/v1/campaigns/{self.id}/exports/", json=body))
        return export.wait(timeout=timeout) if wait else export

    def exports(self) -> Iterator[Export]:
        for row in self.client.paginate(f"/api/v1/campaigns/{self.id}/exports/"):
            yield Export(self.client, row)

    def versions(self) -> Iterator[Version]:
        for row in self.client.paginate(f"/api/v1/campaigns/{self.id}/versions/"):
            yield Version(self.client, row)

    def version(self, name: str) -> Version:
        """A version by name (``"v2"``)."""
        for version in self.versions():
            if version.name == name:
                return version
        raise NotFound(404, "not_found", f"Campaign {self.id} has no version {name!r}.", field="version")

    def freeze(self, export: Export | int, notes: str = "") -> Version:
        """Freeze a succeeded export as the next version (v1, v2…) with its changelog."""
        export_id = export.id if isinstance(export, Export) else int(export)
        return Version(self.client, self.client.request("POST", f"/api/v1/campaigns/{self.id}/versions/",
                                                        json={"export": export_id, "notes": notes}))

    def to_datasets(self, version: str, cache_dir: str | os.PathLike | None = None):
        """A version's data as a ``datasets.DatasetDict`` (one dataset per split)."""
        return self.version(version).to_datasets(cache_dir=cache_dir)


def _wait(client: Client, path: str, data: dict, *, timeout: float, what: str, total_key: str,
          done_key: str) -> dict:
    deadline = time.monotonic() + timeout
    bar = _bar(None, what, client.progress)
    delay = 0.2
    try:
        while data["status"] not in ("succeeded", "failed", "cancelled"):
            if time.monotonic() > deadline:
                raise VNAnnotateError(f"The {what} did not finish within {timeout:.0f} s (status {data['status']}).")
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            data = client.request("GET", path)
            if data.get(total_key):
                bar.total = data[total_key]
                bar.n = min(data.get(done_key) or 0, data[total_key])
                bar.refresh()
    finally:
        bar.close()
    if data["status"] != "succeeded":
        detail = data.get("error") or data.get("message") or data["status"]
        errors = data.get("errors") or []
        lines = "; ".join(f"line {e.get('line')}: {e.get('field')}: {e.get('message')}" for e in errors[:5])
        raise JobFailed(f"The {what} {data['status']}: {detail}" + (f" ({lines})" if lines else ""), data)
    return data


class _Downloadable(_Resource):
    _download = ""

    @property
    def sha256(self) -> str:
        return self.data["sha256"]

    def _file_name(self) -> str:
        raise NotImplementedError

    def download(self, dest: str | os.PathLike = ".", *, overwrite: bool = False) -> Path:
        """The archive (zip: README.md card, data/<split>.<format>, media/) into ``dest`` (a folder, or a
        file name ending in .zip), SHA-256 checked. An existing file with the right checksum is reused."""
        dest = Path(dest)
        target = dest if dest.suffix == ".zip" else dest / self._file_name()
        if target.exists() and not overwrite and _sha256(target) == self.sha256:
            return target
        return self.client.download(self._download.format(id=self.id), target, expected_sha256=self.sha256 or None)

    def _cached(self, cache_dir) -> Path:
        folder = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "vnannotate"
        return self.download(folder)

    def to_pandas(self, split: str | None = None, cache_dir: str | os.PathLike | None = None):
        """The rows as a pandas DataFrame (one split, or all with a ``split`` column)."""
        import pandas as pd

        tables = _read_tables(self._cached(cache_dir), self.data["format"])
        if split is not None:
            return tables[split].to_pandas()
        frames = [t.to_pandas().assign(split=name) for name, t in tables.items()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def to_datasets(self, cache_dir: str | os.PathLike | None = None):
        """A ``datasets.DatasetDict`` with one dataset per split; features come from the Arrow schema
        (exact for Parquet: the layout's schema; inferred for JSONL and CSV)."""
        import datasets

        tables = _read_tables(self._cached(cache_dir), self.data["format"])
        return datasets.DatasetDict({name: datasets.Dataset(table) for name, table in tables.items()})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_tables(archive: Path, fmt: str) -> dict:
    """{split: pyarrow.Table} from an export archive's data/ files."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    tables = {}
    with zipfile.ZipFile(archive) as zf:
        for name in sorted(zf.namelist()):
            if not name.startswith("data/"):
                continue
            split = Path(name).stem
            raw = zf.read(name)
            if fmt == "parquet":
                tables[split] = pq.read_table(io.BytesIO(raw))
            elif not raw.strip():
                tables[split] = pa.table({})
            elif fmt == "jsonl":
                tables[split] = pajson.read_json(io.BytesIO(raw))
            else:
                tables[split] = pacsv.read_csv(io.BytesIO(raw))
    return tables


class Export(_Downloadable):
    _path = "/api/v1/exports/{id}/"
    _download = "/api/v1/exports/{id}/download/"

    @property
    def status(self) -> str:
        return self.data["status"]

    def _file_name(self) -> str:
        return f"campaign-{self.data['campaign']}-{self.data['layout']}-{self.data['format']}-export-{self.id}.zip"

    def wait(self, timeout: float = 3600) -> Export:
        """Poll until the export is built (a progress bar in rows); JobFailed if it failed."""
        self.data = _wait(self.client, self._path.format(id=self.id), self.data, timeout=timeout, what="export",
                          total_key="rows_expected", done_key="rows_written")
        return self

    def freeze(self, notes: str = "") -> Version:
        return Campaign(self.client, {"id": self.data["campaign"]}).freeze(self, notes)


class Version(_Downloadable):
    _path = "/api/v1/versions/{id}/"
    _download = "/api/v1/versions/{id}/download/"

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def changelog(self) -> dict:
        return self.data["changelog"]

    @property
    def card(self) -> str:
        return self.data["card"]

    def _file_name(self) -> str:
        return f"campaign-{self.data['campaign']}-{self.name}-{self.data['layout']}-{self.data['format']}.zip"

    def publish(self, target: str = "s3") -> dict:
        """Publish to the platform's configured bucket (``s3``) or Hugging Face directory (``disk``);
        returns the publication entry (target, location, at)."""
        self.data = self.client.request("POST", f"/api/v1/versions/{self.id}/publish/", json={"target": target})
        return self.data["published"][-1]
