"""Gunicorn settings for the web process. Stateless: scale by adding processes or machines."""
import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("WEB_THREADS", "1"))
# sync: gunicorn's sync worker with each small response in one TCP segment (config.gunicorn_worker.WORKER_CLASS,
# spelled out: this file is read before gunicorn's --chdir puts the project on the import path).
worker_class = "gthread" if threads > 1 else "config.gunicorn_worker.CorkedSyncWorker"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
