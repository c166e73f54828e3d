#!/usr/bin/env sh
# One entrypoint for every process of the platform: web | worker | beat | migrate.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn config.wsgi:application -c platform/gunicorn.conf.py ;;
  worker)
    # One BLAS/OpenMP thread per worker process (config/celery_app.py also limits it at process start).
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
           MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
    exec celery -A config worker -Q "${CELERY_QUEUES:-default,consensus,export}" -l info --concurrency "${CELERY_CONCURRENCY:-2}" ;;
  beat)
    exec celery -A config beat -l info --schedule /tmp/celerybeat-schedule ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  *)
    exec "$@" ;;
esac
