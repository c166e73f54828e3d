#!/usr/bin/env bash
# The README's "Running it for real" without Docker, as one script (PostgreSQL and Redis already running):
#
#   bash platform/run.sh start   migrate + collectstatic (in parallel), bootstrap (BOOTSTRAP_* variables, see
#                                docs/operations.md), then gunicorn, two named Celery workers and beat in the
#                                background; logs in $STATE_DIR/logs, pids in $STATE_DIR/run
#   bash platform/run.sh stop    stop them (TERM: gunicorn and the workers finish what they are doing)
#
# Needs DATABASE_URL, REDIS_URL and SECRET_KEY. The database must exist (createdb). A supervisor (systemd,
# docker compose) should own these processes in production: this script is the commands in order, and what
# tests/test_first_start.py runs on a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export STATE_DIR=${STATE_DIR:-$PWD/state}
LOGS=$STATE_DIR/logs RUN=$STATE_DIR/run
mkdir -p "$LOGS" "$RUN"

start_bg() {  # name, command...
  local name=$1; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

case "${1:-start}" in
  start)
    : "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}" "${SECRET_KEY:?set SECRET_KEY}"
    # Independent of each other: the schema, and the static files that whitenoise serves.
    "$VENV/bin/python" manage.py collectstatic --noinput -v0 >"$LOGS/collectstatic.log" 2>&1 &
    static=$!
    "$VENV/bin/python" manage.py migrate --noinput -v1
    wait "$static" || { cat "$LOGS/collectstatic.log"; exit 1; }
    "$VENV/bin/python" manage.py bootstrap --no-input
    start_bg web "$VENV/bin/gunicorn" config.wsgi:application -c platform/gunicorn.conf.py
    # Distinct node names (-n): two workers named alike are one node to Celery (DuplicateNodenameWarning).
    start_bg worker-scoring "$VENV/bin/celery" -A config worker -n scoring@%h -Q default,consensus \
      -c "${CELERY_CONCURRENCY:-2}" -l info
    start_bg worker-export "$VENV/bin/celery" -A config worker -n export@%h -Q export -c 1 -l info
    # Model backends (assist): waits on other servers' answers, so its own worker; a slow model delays nothing else.
    start_bg worker-assist "$VENV/bin/celery" -A config worker -n assist@%h -Q assist -c 2 -l info
    # Beat keeps its schedule in $STATE_DIR (settings.CELERY_BEAT_SCHEDULE_FILENAME), not in the repository.
    start_bg beat "$VENV/bin/celery" -A config beat -l info
    echo "started: web, worker-scoring, worker-export, worker-assist, beat (logs: $LOGS)"
    ;;
  stop)
    for name in beat worker-assist worker-export worker-scoring web; do
      if [ -f "$RUN/$name.pid" ]; then
        kill -TERM "$(cat "$RUN/$name.pid")" 2>/dev/null || true
        rm -f "$RUN/$name.pid"
      fi
    done
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
