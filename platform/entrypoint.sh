#!/usr/bin/env sh
# One entrypoint for every process of the platform: web | worker | beat | migrate | bootstrap.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn config.wsgi:application -c platform/gunicorn.conf.py ;;
  worker)
    # One BLAS/OpenMP thread per worker process (config/celery_app.py also limits it at process start).
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
           MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
    # A node name per worker service (CELERY_NODE_NAME): two workers named alike are one node to Celery.
    exec celery -A config worker -n "${CELERY_NODE_NAME:-worker}@%h" -Q "${CELERY_QUEUES:-default,consensus,export,assist}" \
      -l info --concurrency "${CELERY_CONCURRENCY:-2}" ;;
  beat)
    # The schedule file lives in STATE_DIR (settings.CELERY_BEAT_SCHEDULE_FILENAME).
    exec celery -A config beat -l info ;;
  bootstrap)
    exec python manage.py bootstrap --no-input ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  *)
    exec "$@" ;;
esac
