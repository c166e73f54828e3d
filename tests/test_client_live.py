"""The client package installed into a fresh virtualenv drives a live server, end to end.

``pip install ./client`` (``pip --python`` into a ``--without-pip`` venv; build isolation from the machine's
package index, ``--no-deps``: httpx, tqdm,
pandas, datasets and pyarrow come from the project's environment through a .pth line, never the server's
code) into a new ``python3.11 -m venv``; then scripts in that venv create a campaign, import a DataFrame,
export, load ``to_datasets()``, freeze v1 and v2 with a changelog, publish to a real S3-compatible server
(moto in server mode, started here) and to a Hugging Face layout that ``datasets.load_dataset`` reads.
Three contributors label through the real task API in between. The CLI runs from a shell, and bad input
(wrong token, wrong campaign, a server field error, a refused import, a connection dropped mid-download)
gives clear messages and the documented exit codes.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import sysconfig
import textwrap
import threading
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("client-venv") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # This environment's pip installs into the new venv (--python): no ensurepip bootstrap, same package index.
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                             "--disable-pip-version-check", str(ROOT / "client")], capture_output=True, text=True,
                            cwd=venv)
    assert result.returncode == 0, result.stderr[-2000:]
    # The client's dependencies (not the server) from the project's environment, after the venv's own.
    Path(purelib, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run_in_venv(venv: Path, code: str, *args: str, env: dict | None = None) -> dict:
    """Run ``code`` with the venv's python outside the repository; it prints one JSON line last."""
    script = venv.parent / "script.py"
    script.write_text(textwrap.dedent(code))
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run([str(venv / "bin" / "python"), str(script), *args], capture_output=True, text=True,
                            cwd=venv.parent, env={**clean_env, **(env or {})}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def shell(venv: Path, command: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    path = f"{venv / 'bin'}:{clean_env.get('PATH', '')}"
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=cwd,
                          env={**clean_env, **env, "PATH": path}, timeout=120)


@pytest.fixture
def s3_server():
    """moto's S3-compatible HTTP server on a free port, with an empty bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    conf = {"bucket": "datasets", "endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1",
            "access_key": "test-key", "secret_key": "test-secret", "prefix": "published"}
    s3 = boto3.client("s3", endpoint_url=conf["endpoint_url"], region_name="us-east-1",
                      aws_access_key_id="test-key", aws_secret_access_key="test-secret")
    s3.create_bucket(Bucket="datasets")
    yield conf, s3
    server.stop()


@pytest.fixture
def dropping_server():
    """A server that promises 100 kB and closes the connection after 5 kB (a network drop)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 100000\r\n"
                             b"X-Checksum-SHA256: " + b"0" * 64 + b"\r\n\r\n" + b"x" * 5000)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


LABEL = """
def label(campaign_id, keys, per_contributor, answer="spam"):
    # Each contributor (a person with a personal token) leases and answers items through the task API.
    import httpx
    done = 0
    with httpx.Client(base_url=os.environ["VNANNOTATE_URL"], timeout=30) as http:
        for key in keys:
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(per_contributor):
                lease = http.post(f"/api/v1/campaigns/{campaign_id}/next/", headers=headers).json()
                if not lease.get("assignment"):
                    break
                res = http.post(f"/api/v1/assignments/{lease['assignment']['id']}/submit/", headers=headers,
                                json={"payload": {"categories": [answer]}, "time_spent_ms": 4000})
                assert res.status_code == 201, res.text
                done += 1
    return done
"""

# One process for the whole notebook-style session: importing pandas and datasets once keeps the test short.
SESSION = """
import json, os, sys
from pathlib import Path
import pandas as pd
import vnannotate
from vnannotate import Client
assert "django" not in sys.modules, "the client must not import the server's code"
contributors = sys.argv[1].split(",")
out = {"module": vnannotate.__file__}
""" + LABEL + """
client = Client()  # VNANNOTATE_URL / VNANNOTATE_TOKEN
campaign = client.create_campaign("Kiểm duyệt bình luận", task_type="moderation", overlap=3, max_overlap=3,
    config={"categories": [{"key": "safe", "label": "An toàn"}, {"key": "spam", "label": "Spam"}]})
df = pd.DataFrame({"text": [f"Bình luận số {i}" for i in range(4)], "external_id": [f"c-{i}" for i in range(4)]})
out["imported"] = campaign.import_items(df)["imported"]
campaign.transition("active")
out.update(campaign=campaign.id, status=campaign.status)
try:
    client.create_campaign("x", task_type="no-such-type")
except vnannotate.ValidationError as exc:
    out["field_error"] = [exc.field, str(exc)]

def export_and_freeze(notes):
    export = campaign.export(layout="moderation", format="parquet", finalised_only=True).wait()
    ds = export.to_datasets(cache_dir="cache")
    frame = export.to_pandas(cache_dir="cache")
    version = campaign.freeze(export, notes=notes)
    return {"rows": ds["train"].num_rows, "pandas_rows": len(frame), "features": str(ds["train"].features), "columns": ds["train"].column_names,
            "version": version.name, "changelog": version.changelog,
            "card_has_threshold": "Finalised items only" in version.card}

# Round 1: three contributors answer two items each (the queue gives them the same two items).
out["labelled_1"] = label(campaign.id, contributors, 2)
out["v1"] = export_and_freeze("first batch")
# Round 2: the remaining items; v2's changelog names what was added since v1.
out["labelled_2"] = label(campaign.id, contributors, 4)
out["v2"] = export_and_freeze("all items")

v2 = campaign.version("v2")
out["same_bytes"] = v2.download("dl-a").read_bytes() == v2.download("dl-b").read_bytes()
out["v2_rows"] = campaign.to_datasets(version="v2", cache_dir="cache")["train"].num_rows
out["s3"] = v2.publish("s3")
out["disk"] = v2.publish("disk")
out["consensus"] = len(list(campaign.consensus(page_size=1)))  # cursor paging, one row per page
out["items"] = len(list(campaign.items(page_size=1)))
bad = Client(os.environ["VNANNOTATE_URL"], "nope.wrongtoken", retries=0)
try:
    list(bad.campaigns())
except vnannotate.AuthenticationError as exc:
    out["wrong_token"] = str(exc)
try:
    client.campaign(987654321)
except vnannotate.NotFound as exc:
    out["wrong_campaign"] = str(exc)
try:
    campaign.export(layout="dpo")
except vnannotate.ValidationError as exc:
    out["bad_layout"] = [exc.field, exc.message]
drop = Client(sys.argv[2], "any.token", retries=0, progress=False)
try:
    drop.download("/api/v1/exports/1/download/", Path("dropped") / "a.zip")
except vnannotate.DownloadError as exc:
    out["drop"] = str(exc)
out["left_on_disk"] = sorted(p.name for p in Path("dropped").iterdir()) if Path("dropped").exists() else []
print(json.dumps(out))
"""


@pytest.mark.django_db(transaction=True)
def test_client_in_a_fresh_venv_drives_a_live_server(client_venv, live_server, eager_tasks, settings, tmp_path,
                                                     org, make_contributor, s3_server, dropping_server):
    from organizations.models import ApiToken
    from organizations.services import create_api_token
    from tasks.services import create_personal_token

    s3_conf, s3 = s3_server
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.DATASET_PUBLISH_ROOT = str(tmp_path / "published")
    settings.DATASET_PUBLISH_S3 = s3_conf
    _t, key = create_api_token(organization=org, name="notebook",
                               scopes=[ApiToken.Scope.READ_DATASETS, ApiToken.Scope.MANAGE_CAMPAIGNS])
    env = {"VNANNOTATE_URL": live_server.url, "VNANNOTATE_TOKEN": key}
    contributors = [create_personal_token(user=make_contributor(), name="phone")[1] for _ in range(3)]

    out = run_in_venv(client_venv, SESSION, ",".join(contributors), dropping_server, env=env)
    assert out["module"].startswith(str(client_venv)), out["module"]  # the installed copy, not the source
    assert out["imported"] == 4 and out["status"] == "active"
    assert out["field_error"][0] == "task_type" and "no-such-type" in out["field_error"][1]
    campaign_id = out["campaign"]
    v1, v2 = out["v1"], out["v2"]
    assert out["labelled_1"] == 6
    assert v1["version"] == "v1" and v1["rows"] >= 1 and v1["card_has_threshold"]
    assert v1["pandas_rows"] == v1["rows"]
    assert "item_id" in v1["columns"] and "Value(" in v1["features"]
    assert v1["changelog"]["previous"] is None and v1["changelog"]["items_added"] == v1["rows"]
    log = v2["changelog"]
    assert v2["version"] == "v2" and log["previous"] == "v1"
    assert log["items_added"] == v2["rows"] - v1["rows"] > 0
    assert log["items_removed"] == 0 and log["labels_changed"] == 0
    assert log["rows_dropped_by_filters"] == 0
    assert out["same_bytes"] and out["v2_rows"] == v2["rows"] and out["consensus"] == out["items"] == 4
    assert "HTTP 401" in out["wrong_token"]
    assert "HTTP 404" in out["wrong_campaign"]
    assert out["bad_layout"][0] == "layout" and "moderation" in out["bad_layout"][1]
    assert "partial file was removed" in out["drop"] and out["left_on_disk"] == []

    # Read the S3 publication back from the S3-compatible server: checksums match the version's files.
    prefix = out["s3"]["location"].removeprefix("s3://datasets/")
    keys = {o["Key"].removeprefix(prefix) for o in s3.list_objects_v2(Bucket="datasets", Prefix=prefix)["Contents"]}
    assert {"README.md", "data/train.parquet", "SHA256SUMS", "version.json"} <= keys
    body = s3.get_object(Bucket="datasets", Key=prefix + "data/train.parquet")["Body"].read()
    from exports.models import DatasetVersion

    version = DatasetVersion.objects.get(campaign_id=campaign_id, number=2)
    assert hashlib.sha256(body).hexdigest() == version.files[0]["sha256"]
    assert json.loads(s3.get_object(Bucket="datasets", Key=prefix + "version.json")["Body"].read())[
        "changelog"]["previous"] == "v1"
    # The disk publication is a Hugging Face layout: datasets.load_dataset(path) reads it.
    import datasets

    loaded = datasets.load_dataset(out["disk"]["location"], cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].num_rows == v2["rows"]

    # The CLI from a shell, on the same server.
    work = tmp_path / "cli"
    work.mkdir()
    (work / "items.jsonl").write_text('{"text": "Mua ngay hôm nay"}\n{"text": "Cảm ơn bạn"}\n')
    (work / "bad.jsonl").write_text('{"text": "ok"}\n{"nội dung": "no text field"}\n')
    listed = shell(client_venv, "vnannotate campaigns list", env, work)
    assert listed.returncode == 0 and f"{campaign_id}\tactive\tmoderation" in listed.stdout
    imported = shell(client_venv, f"vnannotate import {campaign_id} items.jsonl", env, work)
    assert imported.returncode == 0 and "2 item(s) imported" in imported.stdout, imported.stderr
    exported = shell(client_venv, f"vnannotate export {campaign_id} --layout moderation --format parquet -o data/",
                     env, work)
    assert exported.returncode == 0, exported.stderr
    archive = Path(exported.stdout.strip().splitlines()[-1])
    assert (work / archive).is_file() and archive.parent.name == "data"
    status = shell(client_venv, f"vnannotate status {campaign_id}", env, work)
    assert status.returncode == 0 and "items: 6" in status.stdout, status.stdout

    refused = shell(client_venv, f"vnannotate import {campaign_id} bad.jsonl", env, work)
    assert refused.returncode == 6 and "line 2" in refused.stderr, refused.stderr
    wrong_token = shell(client_venv, "vnannotate --token nope.wrong campaigns list", env, work)
    assert wrong_token.returncode == 3 and "HTTP 401" in wrong_token.stderr
    wrong_campaign = shell(client_venv, "vnannotate status 987654321", env, work)
    assert wrong_campaign.returncode == 4 and "HTTP 404" in wrong_campaign.stderr
    bad_layout = shell(client_venv, f"vnannotate export {campaign_id} --layout dpo -o data/", env, work)
    assert bad_layout.returncode == 5 and "layout:" in bad_layout.stderr
    no_env = shell(client_venv, "env -u VNANNOTATE_URL vnannotate campaigns list", env, work)
    assert no_env.returncode == 2 and "VNANNOTATE_URL" in no_env.stderr
    assert sorted(p.name for p in (work / "data").iterdir()) == [archive.name]  # nothing half-written
