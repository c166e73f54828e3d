"""Where a process family keeps its Prometheus samples (multiprocess mode); imports nothing of prometheus-client.

prometheus-client chooses between in-memory and file-backed values when it is imported, so the folder is set
here first: by gunicorn's master (platform/gunicorn.conf.py) and by Celery's worker and beat
(config/celery_app.py). Each family (``web``, ``celery-<node>``, ``beat``) owns one subfolder of the metrics
root and empties it when it starts; ``/metrics`` merges all of them (core/metrics.py).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def metrics_root() -> str:
    state = Path(os.environ.get("STATE_DIR", ROOT / "state"))
    return os.environ.get("METRICS_DIR", str(state / "metrics"))


def use_multiprocess_dir(root: str | os.PathLike, family: str, *, clear: bool) -> str:
    family = re.sub(r"[^A-Za-z0-9_.@-]", "_", family) or "process"
    path = Path(root) / family
    if clear and path.exists():
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return str(path)
