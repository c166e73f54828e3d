"""Celery application: queues split by kind of work so an export never starves scoring."""
import os
import sys
import time

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from threadpoolctl import threadpool_limits

from core.metrics_dir import metrics_root, use_multiprocess_dir

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _process_family(argv: list[str]) -> str | None:
    """``celery-<node name>`` for a worker (``-n scoring@%h``), ``beat`` for beat, None for anything else.

    Decided from the command line because prometheus-client must find its folder before Django loads it.
    """
    if "worker" in argv:
        node = "celery"
        for i, arg in enumerate(argv):
            if arg in ("-n", "--hostname") and i + 1 < len(argv):
                node = argv[i + 1]
            elif arg.startswith("--hostname="):
                node = arg.split("=", 1)[1]
        return f"celery-{node.split('@')[0].replace('%h', '').replace('%n', '') or 'celery'}"
    if "beat" in argv:
        return "beat"
    return None


_family = _process_family(sys.argv) if "PROMETHEUS_MULTIPROC_DIR" not in os.environ else None
if _family:
    use_multiprocess_dir(metrics_root(), _family, clear=True)

app = Celery("annotate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BLAS_THREADS = 1
_blas_limits = []  # the active limit, kept referenced for the life of the process


@worker_init.connect  # the solo and thread pools score in the main process
@worker_process_init.connect  # each prefork child
def limit_blas_threads(**_kwargs):
    """One BLAS/OpenMP thread per worker process: N processes on N cores, not N x N threads fighting.

    Under load a 399-item Bradley-Terry fit took 2.3 s with OpenBLAS's default threads against 0.066 s.
    The worker start script also sets OPENBLAS_NUM_THREADS etc. (platform/entrypoint.sh), which only
    helps when it is set before NumPy loads; this limit holds whatever was imported first.
    """
    _blas_limits.append(threadpool_limits(limits=BLAS_THREADS))
    return _blas_limits[-1]


# --- request ids and task metrics (core/logging.py, core/metrics.py) ------------------------------------
@before_task_publish.connect
def carry_request_id(headers=None, **_kwargs):
    """The publishing request's id rides in the message headers into the task's log lines."""
    from core.logging import request_id_var

    request_id = request_id_var.get()
    if request_id and headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id


_started: dict[str, tuple[float, object, object]] = {}


@task_prerun.connect
def start_task(task_id=None, task=None, **_kwargs):
    from core.logging import request_id_var, task_id_var

    request_id = getattr(task.request, "request_id", None) or (getattr(task.request, "headers", None) or {}).get(
        "request_id"
    )
    tokens = (request_id_var.set(request_id) if request_id else None, task_id_var.set(task_id or ""))
    _started[task_id] = (time.perf_counter(), *tokens)


@task_postrun.connect
def finish_task(task_id=None, task=None, state=None, **_kwargs):
    from core import metrics
    from core.logging import request_id_var, task_id_var

    started = _started.pop(task_id, None)
    if started is None:
        return
    seconds, request_token, task_token = time.perf_counter() - started[0], started[1], started[2]
    metrics.observe_task(task.name, (state or "unknown").lower(), seconds)
    try:
        task_id_var.reset(task_token)
        if request_token is not None:
            request_id_var.reset(request_token)
    except ValueError:  # reset from another context (eager tasks inside on_commit hooks): just clear
        task_id_var.set("")


@worker_process_shutdown.connect
def forget_process_gauges(pid=None, **_kwargs):
    from core import metrics

    metrics.mark_process_dead(pid or os.getpid())
