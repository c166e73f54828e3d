"""Celery application: queues split by kind of work so an export never starves scoring."""
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init
from threadpoolctl import threadpool_limits

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
